"""The day's price in a competitive-storage market, read off the holders' carry-out function.

:mod:`sim.model.storage_market` solves, once per commodity, how much stock holders carry out of a
day at each availability (stock carried in plus the day's output), per regime (normal or cut),
for a market whose reference use is 1. Here the day's availability, in units of the day's world
reference demand, gives the stock carried out and so the use; the price is the demand curve's at
that use (constant elasticity, flat at the choke price).
"""

from __future__ import annotations

from numba import njit

from sim.kernels.jit import JIT


@njit(**JIT)
def carry_out(zs, ss, z):
    """Stock carried out at availability ``z`` on one regime's grid (``zs`` -> ``ss``, increasing), normalised.

    None below the grid's first point (holders start to carry there); linear between points; beyond the
    grid, everything above the last point's use.
    """
    n = zs.shape[0]
    if z <= zs[0]:
        return 0.0
    if z >= zs[n - 1]:
        return z - (zs[n - 1] - ss[n - 1])
    lo, hi = 0, n - 1
    while hi - lo > 1:  # the interval holding z (bisection: the grid is uneven)
        mid = (lo + hi) // 2
        if zs[mid] <= z:
            lo = mid
        else:
            hi = mid
    w = (z - zs[lo]) / (zs[hi] - zs[lo])
    return ss[lo] + w * (ss[hi] - ss[lo])


@njit(**JIT)
def price_ratio_at_use(use, elasticity, cap):
    """Price over reference at normalised use ``use`` on the constant-elasticity curve, capped at ``cap``."""
    choke = cap ** (-elasticity)
    return min(max(use, choke) ** (-1.0 / elasticity), cap)


@njit(**JIT)
def _price_walk(zs, s, a, start, p0, q_ref, elasticity, cap):
    """(price at availability ``a``, the grid interval holding it) for queries in increasing order.

    The search for ``a``'s interval starts at ``start``, the interval of the previous, smaller
    query: a pass over sorted queries costs one walk along the grid, not a bisection each.
    """
    n = zs.shape[0]
    if a <= zs[0]:
        carried = 0.0
        k = 0
    elif a >= zs[n - 1]:
        carried = a - (zs[n - 1] - s[n - 1])
        k = n - 2
    else:
        k = start
        while zs[k + 1] < a:
            k += 1
        w = (a - zs[k]) / (zs[k + 1] - zs[k])
        carried = s[k] + w * (s[k + 1] - s[k])
    use = a - carried
    choke = q_ref * cap ** (-elasticity)
    return min(p0 * (max(use, choke) / q_ref) ** (-1.0 / elasticity), cap * p0), k


@njit(**JIT)
def solve_carry(s, supply, trans, beta, carry_cost, keep, p0, q_ref, elasticity, cap, z, nxt, z_new, tol,
                max_iter):
    """Iterate the storage arbitrage condition on the carry-out grid ``s`` [G] until it settles, in place.

    ``z`` [R, G] holds, on entry, the availability at which each regime's holders carry out ``s``
    (a guess) and, on return, the equilibrium's; ``nxt`` and ``z_new`` [R, G] are work space. For
    each stock carried out, tomorrow's expected price (over ``trans`` [R, R], supply ``supply`` [R],
    the stock kept at ``keep``) discounted by ``beta`` less ``carry_cost`` is today's price, and
    use at that price plus the stock is the availability. Both passes query availabilities in
    increasing order (more stock carried out means a lower price, so more use), so each walks the
    grid once.

    Returns:
        The iterations taken, or -1 if the largest change still exceeded ``tol`` x ``p0`` after
        ``max_iter``.
    """
    R, G = z.shape
    lo, hi = 1e-6 * p0, cap * p0
    for it in range(1, max_iter + 1):
        for j in range(R):
            k = 0
            for g in range(G):
                nxt[j, g], k = _price_walk(z[j], s, keep * s[g] + supply[j], k, p0, q_ref, elasticity, cap)
        change = 0.0
        for r in range(R):
            k = 0
            for g in range(G):
                expected = 0.0
                for j in range(R):
                    expected += trans[r, j] * nxt[j, g]
                p = min(max(beta * expected - carry_cost, lo), hi)
                zn = q_ref * (p / p0) ** (-elasticity) + s[g]
                old, k = _price_walk(z[r], s, zn, k, p0, q_ref, elasticity, cap)
                change = max(change, abs(old - p))
                z_new[r, g] = zn
        for r in range(R):
            for g in range(G):
                z[r, g] = z_new[r, g]
        if change < tol * p0:
            return it
    return -1
