"""The parties' daily arithmetic, compiled (on arrays this small, numpy's call overhead costs more than the sums).

- :func:`morning`: purchases arriving in the vehicle's stock buy back drawn tonnes (pro rata),
  and major disruptions are declared or ended;
- :func:`draw_tonnes`: who gets how many tonnes when the reserve's trigger holds (the arithmetic
  of :meth:`sim.model.parties.Parties.draw`);
- :func:`book`: the day's entitlement series.

Holders are the columns [C, K]: the manufacturers first, then the allies. Everything is the
reserve arm's.
"""

from __future__ import annotations

import math

from numba import njit

from sim.kernels.jit import JIT

_TINY = 1e-12


@njit(**JIT)
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



@njit(**JIT)
def morning(arrived, price, lost, pending, flows_arrivals, major, flipped, major_price_usd, major_loss, has_reserve,
            state):
    """Buy back drawn tonnes from today's arrivals; declare major disruptions.

    Args:
        arrived: [C] purchases arriving in the vehicle's stock today, t.
        price: [C] market price, USD/t.
        lost: [C] share of the bloc's normal supply that shocks cut today.
        pending: [C, K] drawn tonnes awaiting buy-back (reduced in place).
        flows_arrivals: [C] cumulative arrivals (the vehicle's stock account).
        major: [C] major disruption declared (updated in place).
        flipped: [C] output: the declaration started or ended today.
        major_price_usd: [C] price at which a major disruption is declared (inf: never).
        major_loss: supply-loss share at which it is declared (nan: not tested).
        has_reserve: [C] the reserve holds the commodity.
        state: [PENDING_ON, OUTSTANDING] flags (PENDING_ON updated).

    Returns:
        Whether a major disruption started or ended today (the caller logs it).

    """
    C, K = pending.shape
    pending_on = state[0]
    still = False
    changed = False
    for c in range(C):
        flows_arrivals[c] += arrived[c]
        if pending_on and arrived[c] > 0.0:
            tot = 0.0
            for k in range(K):
                tot += pending[c, k]
            if tot > 0.0:
                f = 1.0 - min(tot, arrived[c]) / max(tot, _TINY)
                for k in range(K):
                    pending[c, k] *= f
        if pending_on:
            for k in range(K):
                if pending[c, k] != 0.0:
                    still = True
        m = price[c] >= major_price_usd[c] or (not math.isnan(major_loss) and lost[c] >= major_loss - 1e-12)
        m = m and has_reserve[c]
        flipped[c] = m != major[c]
        changed = changed or flipped[c]
        major[c] = m
    state[0] = still
    return changed


@njit(**JIT)
def book(t, ent_entitled, drawn_today, out_swap, pending, entitled, state, rec_ent, rec_drawn, rec_outstanding):
    """The day's entitlement series [C]: entitlements, drawn today, outstanding (swaps and buy-backs)."""
    C, K = pending.shape
    for c in range(C):
        rec_ent[t, 0, c] = ent_entitled[c]
        rec_drawn[t, 0, c] = drawn_today[c]
        drawn_today[c] = 0.0
        if state[1]:
            out = 0.0
            for k in range(K):
                if entitled[k]:
                    out += out_swap[c, k] + pending[c, k]
            rec_outstanding[t, 0, c] = out


@njit(**JIT)
def book_draws(t, d, lag, ring, transit, flows_drawn, tonnes_draws, tonnes_sale, party_of, is_member, is_ally,
               entitled, swap, premium, out_swap, owed, pending, locked_price, price, ref_price, value_in_t, pay_draw,
               pay_buy, principal, owed_new):
    """Book today's draws ``d`` [C, K]: pipelines, outstanding swaps or buy-backs, tonnes and money by party.

    Members' draws are swaps (owed back with the premium: ``principal`` and ``owed_new`` [C, M] are
    written for the return process) or sales at the locked price (``pay_draw`` by party); allies'
    draws await buy-back; non-members pay the market price (``pay_buy`` by party). ``value_in_t``
    [parties] gets the reference value of the tonnes each party received today.

    Returns:
        Whether any member drew a swap (the caller starts its return process).

    """
    C, K = d.shape
    M = principal.shape[1]
    R = ring.shape[2]
    any_swap = False
    for c in range(C):
        slot_m = (t + lag[c]) % R
        # allies' tonnes go to rest-of-world buyers in the next market (never today's, already cleared)
        slot_a = (t + max(lag[c], 1)) % R
        for k in range(K):
            x = d[c, k]
            if k < M:
                principal[c, k] = 0.0
                owed_new[c, k] = 0.0
            if x == 0.0:
                continue
            p = party_of[k]
            ring[c, k, slot_m if k < M else slot_a] += x
            transit[c, k] += x
            flows_drawn[c] += x
            tonnes_draws[c, p] += x
            value_in_t[p] += x * ref_price[c]
            if is_member[k]:
                if swap:
                    principal[c, k] = x
                    owed_new[c, k] = x * (1.0 + premium)
                    out_swap[c, k] += x
                    owed[c, k] += owed_new[c, k]
                    any_swap = True
                else:
                    pending[c, k] += x
                    pay_draw[p] += x * locked_price[c]
                    tonnes_sale[c, p] += x
            if is_ally[k]:
                pending[c, k] += x
            if not entitled[k]:
                pay_buy[p] += x * price[c]
    return any_swap


@njit(**JIT)
def swap_return(mstock, base_safety, owed_all, owed, principal, out_swap, pending, party_of, ref_price, price,
                t_returns, t_premium, t_late, t_settled, value_in_day, cash, ret, late, stock, returned, rows):
    """Members return swaps falling due today (``Parties._due``): the arithmetic, in place.

    Each member returns what it holds above its own safety stock (``mstock`` [C, M] of the reserve
    arm less ``base_safety``), up to what it owes (``owed`` [C, M], principal and premium); the rest
    is late and paid at today's ``price``. Updates members' stocks, what they owe (``owed_all``), the
    swaps out and tonnes awaiting buy-back ([C, K], members' columns) and the parties' tonnes
    [C, parties]; writes ``ret`` and ``late`` [C, M], the reference value handed back into
    ``value_in_day`` and the cash due into ``cash`` [parties]. Sums by party add member by member,
    as ``Parties._by_party``'s product does. The tonnes returned join the vehicle's ``stock`` [C] and
    its ``returned`` account [C]; each swap still owed (over 1e-12 t) gets a row of ``rows`` [C * M, 5]
    for the event log: commodity, member, tonnes returned, tonnes late, tonnes owed. Sums over members
    and parties are in numpy's order (:func:`numpy_sum`), so the results are those of numpy's sums.

    Returns:
        (cash due in all, USD; the number of rows written).
    """
    C, M = owed.shape
    P = cash.shape[0]
    for c in range(C):
        for m in range(M):
            held = max(0.0, mstock[c, m] - base_safety[c, m])
            r = min(owed[c, m], held)
            ret[c, m] = r
            late[c, m] = owed[c, m] - r
            mstock[c, m] -= r
    for c in range(C):
        for m in range(M):
            owed_all[c, m] = max(0.0, owed_all[c, m] - owed[c, m])
            r_p = min(ret[c, m], principal[c, m])
            l_p = principal[c, m] - r_p
            out_swap[c, m] -= principal[c, m]
            pending[c, m] += l_p
    for p in range(P):
        value = 0.0
        due = 0.0
        for c in range(C):
            a_ret = 0.0
            a_prem = 0.0
            a_late = 0.0
            a_set = 0.0
            a_val = 0.0
            a_cash = 0.0
            for m in range(M):
                if party_of[m] != p:
                    continue
                r_p = min(ret[c, m], principal[c, m])
                a_ret += r_p
                a_prem += ret[c, m] - r_p
                a_late += late[c, m]
                a_set += principal[c, m] - r_p
                a_val += (ret[c, m] + late[c, m]) * ref_price[c]
                a_cash += late[c, m] * price[c]
            t_returns[c, p] += a_ret
            t_premium[c, p] += a_prem
            t_late[c, p] += a_late
            t_settled[c, p] += a_set
            value += a_val
            due += a_cash
        value_in_day[p] -= value
        cash[p] = due
    n = 0
    for c in range(C):
        r_tot = numpy_sum(ret[c])
        stock[c] += r_tot
        returned[c] += r_tot
        for m in range(M):
            if owed[c, m] > 1e-12:
                rows[n, 0], rows[n, 1], rows[n, 2], rows[n, 3], rows[n, 4] = c, m, ret[c, m], late[c, m], owed[c, m]
                n += 1
    return numpy_sum(cash), n


@njit(**JIT)
def refresh(ent, ent_fixed, ent_share, target, entitled, ent_entitled, crowd_cut, crowding, is_member, work):
    """What follows from the entitlements once the targets change (``Parties.refresh``), in place.

    Each holder's entitlement ``ent`` [C, K] (fixed tonnes plus its share of the target), the entitled
    holders' total ``ent_entitled`` [C], and members' safety-stock cut ``crowd_cut`` [C, M]
    (``crowding`` times their entitlement); ``work`` [C, K] is scratch space.
    """
    C, K = ent.shape
    M = crowd_cut.shape[1]
    for c in range(C):
        for k in range(K):
            ent[c, k] = ent_fixed[c, k] + ent_share[c, k] * target[c]
            work[c, k] = ent[c, k] * entitled[k]
        ent_entitled[c] = numpy_sum(work[c])
        for m in range(M):
            crowd_cut[c, m] = crowding * ent[c, m] * is_member[m]


#: Most values :func:`numpy_sum` adds in numpy's order; beyond it numpy splits the array in halves.
NUMPY_SUM_MAX = 128


@njit(**JIT)
def numpy_sum(a):
    """``a.sum()`` of a 1-D array of up to ``NUMPY_SUM_MAX`` values in numpy's order: a compiled sum with its bits.

    numpy adds fewer than 8 values one by one, and up to 128 in eight interleaved partial sums;
    beyond that it splits in halves, which needs recursion (not allowed in a cached kernel), so a
    longer array is refused rather than summed in another order. The callers' arrays are a
    commodity's manufacturers or holders.

    Raises:
        ValueError: ``a`` has more than ``NUMPY_SUM_MAX`` values.
    """
    n = a.shape[0]
    if n > NUMPY_SUM_MAX:
        raise ValueError("numpy_sum: more than 128 values; numpy would sum them in another order")
    if n < 8:
        res = 0.0
        for i in range(n):
            res += a[i]
        return 0.0 + res
    r0, r1, r2, r3, r4, r5, r6, r7 = a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]
    i = 8
    while i < n - n % 8:
        r0 += a[i]
        r1 += a[i + 1]
        r2 += a[i + 2]
        r3 += a[i + 3]
        r4 += a[i + 4]
        r5 += a[i + 5]
        r6 += a[i + 6]
        r7 += a[i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[i]
        i += 1
    return 0.0 + res


@njit(**JIT)
def deliver_draws(t, ring, transit, x, delivered, transit_rel, scratch):
    """Members' draws due today reach their stocks (``Parties.deliver`` and ``Engine._deliver_draws``).

    ``ring`` [C, K, R] holds draws by arrival day, ``transit`` [C, K] those on their way, ``x``
    [C, M] the manufacturers' stocks; ``delivered`` [C] gets the tonnes delivered and
    ``transit_rel`` [C] loses them; ``scratch`` [C, M] is work space.
    """
    C, M = x.shape
    slot = t % ring.shape[2]
    anything = False
    for c in range(C):
        for m in range(M):
            if ring[c, m, slot] != 0.0:
                anything = True
    for c in range(C):
        if not anything:
            delivered[c] = 0.0
            continue
        for m in range(M):
            g = ring[c, m, slot]
            ring[c, m, slot] = 0.0
            transit[c, m] -= g
            x[c, m] += g
            scratch[c, m] = g
        got = numpy_sum(scratch[c])
        delivered[c] = got
        transit_rel[c] -= got
