"""The reserve's releases: what holders ask for, what the reserve can give, how deliveries are shared.

Every path of step 6 (the compiled draw decision, the step-by-step draws, the releases without
parties) calls these, so each rule is stated once.
"""

from __future__ import annotations

from numba import njit

from sim.kernels.jit import JIT
from sim.kernels.layout import AC, ACM, C1, FLAG, WC
from sim.kernels.party_kernels import numpy_sum

_TINY = 1e-12


@njit(**JIT)
def release_requests(a, acm, wc, flags, row_gap, ally_share, need):
    """What each holder asks the reserve for today in arm ``a``, t [C, K] (written into ``need``).

    The one statement of the release request, for every path (draws or releases, one call or step
    by step). A manufacturer (the first M columns) asks for its gap and, with an early trigger
    (flag FLAG.EARLY), the refill of its safety stock at the commodity's ``R_EARLY`` share; an ally
    (the columns after, if any) for its ``ally_share`` [K - M] of the rest-of-world demand the
    market left unmet (``row_gap`` [C]). Every request is scaled by the release offset ``R_OFFSET``.
    """
    gap, x, want_m, safety = acm[ACM.GAP, a], acm[ACM.X, a], acm[ACM.WANT_M, a], acm[ACM.SAFETY, a]
    C, M = gap.shape
    for c in range(C):
        offset = wc[WC.R_OFFSET, c]
        for m in range(M):
            n = gap[c, m]
            if flags[FLAG.EARLY]:
                n = n + wc[WC.R_EARLY, c] * max(0.0, safety[c, m] - max(x[c, m] - want_m[c, m], 0.0))
            need[c, m] = n * offset
        for j in range(ally_share.shape[0]):
            need[c, M + j] = row_gap[c] * offset * ally_share[j]


@njit(**JIT)
def release_room(a, ac, c1, wc, can, room):
    """The reserve's stock above its floor (``can``) and what it can release today (``room``) in arm ``a``, t [C].

    The floor is ``R_FLOOR_SHARE`` of the target; the release is capped by the drawdown capacity.
    """
    for c in range(can.shape[0]):
        cn = max(0.0, ac[AC.RSTOCK, a, c] - wc[WC.R_FLOOR_SHARE, c] * c1[C1.TARGET, c])
        can[c] = cn
        room[c] = min(ac[AC.DRAWDOWN, a, c], cn)


@njit(**JIT)
def deliver_releases(slot, ring_rel, transit_rel, x, want_m, safety, classes, eligible_share, scratch, delivered):
    """Releases due today (``ring_rel[:, :, slot]``) reach manufacturers' stocks ``x`` [A, C, M], in place.

    Each manufacturer needs what tops its stock up to today's use plus its safety stock. The
    delivery is shared by release class (``classes`` [K, C, M], highest priority first): a class
    gets what the classes before it left, pro rata to need within it; what no one needs goes to
    the eligible manufacturers by ``eligible_share`` [C, M]. Sums follow numpy's order (a class's
    total by :func:`numpy_sum`, classes one after another), so the result has the bits of the
    vectorised statement in ``tests/oracles``. ``scratch`` is [3, M] work space.

    Returns:
        Whether anything was delivered (then ``delivered`` [A, C] holds the tonnes).

    """
    A, C, M = x.shape
    due = False
    for a in range(A):
        for c in range(C):
            if ring_rel[a, c, slot] != 0.0:
                due = True
    if not due:
        return False
    need, given, work = scratch[0], scratch[1], scratch[2]
    for a in range(A):
        for c in range(C):
            d = ring_rel[a, c, slot]
            delivered[a, c] = d
            ring_rel[a, c, slot] = 0.0
            transit_rel[a, c] -= d
            for m in range(M):
                need[m] = max(0.0, want_m[a, c, m] + safety[a, c, m] - x[a, c, m])
                given[m] = 0.0
            cum = 0.0
            for k in range(classes.shape[0]):
                for m in range(M):
                    work[m] = need[m] * classes[k, c, m]
                total = numpy_sum(work)
                cum += total
                frac = min(1.0, max(d - (cum - total), 0.0) / max(total, _TINY))
                for m in range(M):
                    given[m] += work[m] * frac
            left = d - numpy_sum(given)
            for m in range(M):
                x[a, c, m] += given[m] + left * eligible_share[c, m]
    return True
