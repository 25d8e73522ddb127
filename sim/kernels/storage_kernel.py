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
