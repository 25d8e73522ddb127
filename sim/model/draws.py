"""The parties' draw decision, compiled: who gets how many tonnes when the reserve's trigger holds.

:meth:`sim.model.parties.Parties.draw` calls this once per day on which the trigger holds; it
is the arithmetic of that method's docstring as one loop over commodities and holders
(issue 12: a hundred small numpy calls cost more than the arithmetic). Holders are the columns
[C, K]: the manufacturers first, then the allies.
"""

from __future__ import annotations

from numba import njit

_TINY = 1e-12


@njit(cache=True, error_model="numpy")
def draw_tonnes(need, transit, fired, ent, out_swap, pending, entitled, major, can, room, free_stock_sales, d):
    """Draws and sales of each holder today [C, K], written into ``d``.

    Args:
        need: [C, K] each holder's request before what is already on its way to it.
        transit: [C, K] draws on their way to each holder.
        fired: [C] the reserve's trigger holds.
        ent: [C, K] entitlements today.
        out_swap: [C, K] swaps drawn and not yet returned or settled.
        pending: [C, K] draws paid for or settled and not yet bought back.
        entitled: [K] holder is a member's manufacturer or an ally.
        major: [C] a major disruption is declared (entitlements scale up to the stock above the floor).
        can: [C] stock above the floor.
        room: [C] most the vehicle can release today.
        free_stock_sales: non-members may buy stock no member is entitled to.
        d: [C, K] output.

    Returns:
        Whether any holder draws or buys anything.

    """
    C, K = ent.shape
    anything = False
    for c in range(C):
        scale = 1.0
        if major[c]:
            # entitlements scale up until they cover the stock above the floor plus what is out: each
            # holder's access stays pro rata to its entitlement however the draws fall over the days
            out_e = 0.0
            ent_e = 0.0
            for k in range(K):
                if entitled[k]:
                    out_e += out_swap[c, k] + pending[c, k]
                    ent_e += ent[c, k]
            scale = max(1.0, (can[c] + out_e) / max(ent_e, _TINY))
        tot = 0.0
        for k in range(K):
            n = max(0.0, need[c, k] - transit[c, k]) if fired[c] else 0.0
            need[c, k] = n
            undrawn = max(0.0, ent[c, k] - out_swap[c, k] - pending[c, k])
            if major[c]:
                limit = max(0.0, scale * ent[c, k] - (out_swap[c, k] + pending[c, k]))
            else:
                limit = undrawn
            ask = min(n, limit) if entitled[k] else 0.0
            d[c, k] = ask
            tot += ask
        f = min(1.0, room[c] / max(tot, _TINY))
        drawn = 0.0
        for k in range(K):
            d[c, k] *= f
            drawn += d[c, k]
        if free_stock_sales:
            unclaimed = 0.0
            ask2 = 0.0
            for k in range(K):
                unclaimed += max(0.0, max(0.0, ent[c, k] - out_swap[c, k] - pending[c, k]) - d[c, k])
                if not entitled[k]:
                    ask2 += need[c, k]
            free = max(0.0, can[c] - drawn - unclaimed)
            left = min(max(0.0, room[c] - drawn), free)
            g = min(1.0, left / max(ask2, _TINY))
            for k in range(K):
                if not entitled[k]:
                    d[c, k] += need[c, k] * g
        for k in range(K):
            if d[c, k] > 1e-12:
                anything = True
            else:
                d[c, k] = 0.0
    return anything

