"""Steps 7 and 9 of the day, compiled: consumption, the bloc's loss, and the price moving toward clearing.

The third of the day's kernels (the first two are in :mod:`sim.kernels.market_kernel`). The welfare
measure is described in :mod:`sim.model.welfare`; ``tests/oracles`` states the loss and the clearing
price in numpy (``welfare.py``, ``market.clearing_price_ratio``) and ``tests/test_kernels.py`` compares.
"""

from __future__ import annotations

import math

from numba import njit

from sim.kernels.layout import AC, ACM, C1, CK, CM, DC, DCM, FLAG, REC, WC
from sim.kernels.market_kernel import _TINY, _TINY_W, JIT
from sim.kernels.party_kernels import book, deliver_draws


@njit(**JIT)
def consume_and_price(t, ac, acm, as_, c1, cm, wc, flags, hc, hcm, p_loss, p_value, p_ck, p_entitled, p_ring,
                      rec):  # noqa: PLR0915
    """Steps 7 and 9: consumption and the bloc's loss (welfare.py); the price moves toward clearing.

    The price closes part of the gap to the price that clears the world market; it clears expected
    flows (daily noise is absorbed by stocks, not priced) plus stock building. With parties, each
    manufacturer's loss and its desired and consumed value are booked into ``p_loss`` [H, A, M] and
    ``p_value`` [2, A, M] (desired, consumed), and the day's entitlement series are recorded
    (:func:`sim.kernels.party_kernels.book`, from the swaps outstanding and the tonnes awaiting buy-back
    in ``p_ck`` [CK, C, K], the entitled holders ``p_entitled`` [K] and the C1 rows ``P_*``).
    On the one-call day (flag FLAG.KERNEL_DELIVERS) the members' draws due today in ``p_ring``
    [C, K, R] are delivered first (:func:`sim.kernels.party_kernels.deliver_draws`).

    Returns:
        Storage cost accrued today by the reserve arm (USD).

    """
    price, subst, transit_m, transit_rel, transit_r = ac[AC.PRICE], ac[AC.SUBSTITUTION], ac[AC.TRANSIT_M], \
        ac[AC.TRANSIT_REL], ac[AC.TRANSIT_R]
    rstock, want_tot = ac[AC.RSTOCK], ac[AC.WANT_TOT]
    row_crit, order, want_r = ac[AC.ROW_CRIT], ac[AC.ORDER], ac[AC.WANT_R]
    crit_e_sum, resp_e, keep = ac[AC.CRIT_E_SUM], ac[AC.RESP_E], ac[AC.KEEP]
    mstock, want_m, crit_q, q0 = acm[ACM.MSTOCK], acm[ACM.WANT_M], acm[ACM.CRIT_Q], acm[ACM.Q0]
    ref_price, elasticity, row_elasticity = wc[WC.REF_PRICE], wc[WC.ELASTICITY], wc[WC.ROW_ELASTICITY]
    row_own, imports = ac[AC.ROW_OWN], ac[AC.IMPORTS]
    clearing, releases = ac[AC.CLEARING], ac[AC.RELEASES]
    other_rel, delivered_rel = ac[AC.OTHER_REL], ac[AC.DELIVERED_REL]
    x, bought, curve = acm[ACM.X], acm[ACM.BOUGHT], ac[AC.CURVE]
    surge, target = c1[C1.SURGE], c1[C1.TARGET]
    critical, voll_m = cm[CM.CRITICAL], cm[CM.VOLL_M]
    price_adjust, log_floor, log_cap, price_cap = wc[WC.PRICE_ADJUST], wc[WC.LOG_PRICE_FLOOR], wc[WC.LOG_PRICE_CAP], \
        wc[WC.PRICE_CAP]
    dwl_a, dwl_g1 = wc[WC.DWL_A], wc[WC.DWL_G1]
    dwl_xc, dwl_log, hold = wc[WC.DWL_XC], wc[WC.DWL_LOG], wc[WC.R_HOLD_USD_PER_T_DAY]
    has_parties, newton = flags[FLAG.PARTIES], flags[FLAG.NEWTON]
    share, row_demand = hcm[DCM.SHARE], hc[DC.ROW_DEMAND]
    p_demand_value, p_consumed_value = p_value[0], p_value[1]
    storage_on = wc[WC.STORAGE_ON]
    A, C = price.shape
    M = want_m.shape[2]
    storage = 0.0
    if flags[FLAG.KERNEL_DELIVERS]:  # the one-call day: members' draws due today reach them first (step 6's end)
        if flags[FLAG.DELIVERIES]:
            deliver_draws(t, p_ring, p_ck[CK.TRANSIT], acm[ACM.X, 0], ac[AC.DELIVERED_REL, 0], ac[AC.TRANSIT_REL, 0],
                          acm[ACM.NEED_CRIT, 0])
        else:
            for c in range(C):
                ac[AC.DELIVERED_REL, 0, c] = 0.0
    for a in range(A):
        for c in range(C):
            clearing_supply = ac[AC.EXPECTED_SUPPLY, a, c]
            p0 = ref_price[c]
            dwl = 0.0
            crit_loss = 0.0
            cons_tot = 0.0
            crit_short = 0.0
            stock = 0.0
            import_loss = (price[a, c] - p0) * imports[a, c]
            tot_bought = 0.0
            for m in range(M):
                tot_bought += bought[a, c, m]
            # a manufacturer served in full consumes its responsive demand on the curve at today's price, a
            # share `curve` of the reference: its loss share is the commodity's, worked out once (a power
            # per manufacturer and day was 11.5% of a sweep run's instructions)
            x_full = min(curve[a, c], 1.0)
            shr_full = _surplus_share(x_full, dwl_a[c], dwl_g1[c], dwl_xc[c], dwl_log[c], price_cap[c])
            for m in range(M):
                # 7. consumption and the bloc's loss against the reference
                cons = min(want_m[a, c, m], x[a, c, m])
                mstock[a, c, m] = x[a, c, m] - cons
                stock += mstock[a, c, m]
                cons_tot += cons
                crit_short += max(crit_q[a, c, m] - cons, 0.0)
                # (a) the deadweight loss on the responsive part of the curve, capped at the choke price
                ref = q0[a, c, m]
                k_q = critical[c, m] * ref
                responsive = ref - k_q
                if cons < want_m[a, c, m]:  # short: the share it consumed
                    x1 = min(max(cons - k_q, 0.0) / max(responsive, _TINY_W), 1.0)
                    shr = _surplus_share(x1, dwl_a[c], dwl_g1[c], dwl_xc[c], dwl_log[c], price_cap[c])
                else:
                    shr = shr_full
                d = shr * responsive * p0
                # (c) critical demand not served x value of lost output
                cl_m = max(critical[c, m] * ref - cons, 0.0) * voll_m[c, m]
                dwl += d
                crit_loss += cl_m
                if has_parties:
                    # (b) the extra import bill falls on who bought today's arrivals
                    sh = bought[a, c, m] / max(tot_bought, _TINY) if tot_bought > 0.0 else share[t, c, m]
                    p_loss[t, a, m] += d + cl_m + import_loss * sh
                    p_demand_value[a, m] += want_m[a, c, m] * p0
                    p_consumed_value[a, m] += cons * p0
            if a == 0:
                storage += rstock[a, c] * hold[c]
            # 9. the price: a share of the way toward the price that clears expected flows
            fixed = crit_e_sum[a, c] + (order[a, c] - want_tot[a, c]) + row_crit[a, c] + want_r[a, c]
            residual = clearing_supply + releases[a, c] - fixed + other_rel[a, c]
            resp_b = resp_e[a, c] * keep[a, c]
            resp_w = (row_demand[t, c] * surge[c] - row_crit[a, c]) * keep[a, c]
            if storage_on[c] > 0.0:  # the price cleared the day's market with holders' stocks (supply_and_demand)
                clearing[a, c] = price[a, c] / p0
            else:
                clearing[a, c] = _clearing_ratio(resp_b, resp_w, elasticity[c], row_elasticity[c], residual,
                                                 clearing[a, c], log_floor[c], log_cap[c], price_cap[c], newton)
                price[a, c] += price_adjust[c] * (clearing[a, c] * p0 - price[a, c])
            rec[REC.DELIVERED_T, t, a, c] = cons_tot
            rec[REC.SHORTFALL_T, t, a, c] = want_tot[a, c] - cons_tot
            rec[REC.CRITICAL_SHORTFALL_T, t, a, c] = crit_short
            rec[REC.ROW_CONSUMPTION_T, t, a, c] = ac[AC.ROW_USE, a, c] + row_own[a, c]
            rec[REC.PRICE_USD_PER_T, t, a, c] = price[a, c]
            rec[REC.CLEARING_PRICE_USD_PER_T, t, a, c] = clearing[a, c] * p0
            rec[REC.SUBSTITUTION_SHARE, t, a, c] = subst[a, c]
            rec[REC.RESERVE_STOCK_T, t, a, c] = rstock[a, c]
            if a == 0:
                rec[REC.RESERVE_TARGET_T, t, a, c] = target[c]
            rec[REC.RESERVE_RELEASES_T, t, a, c] = releases[a, c]
            rec[REC.RELEASE_DELIVERIES_T, t, a, c] = delivered_rel[a, c] + row_own[a, c]
            rec[REC.MANUFACTURER_STOCK_T, t, a, c] = stock
            rec[REC.IN_TRANSIT_T, t, a, c] = transit_m[a, c] + transit_r[a, c] + transit_rel[a, c]
            rec[REC.LOSS_SURPLUS_USD, t, a, c] = dwl
            rec[REC.LOSS_IMPORT_USD, t, a, c] = import_loss
            rec[REC.LOSS_CRITICAL_USD, t, a, c] = crit_loss
            rec[REC.LOSS_USD, t, a, c] = dwl + import_loss + crit_loss
    if has_parties:
        book(t, c1[C1.P_ENT_ENTITLED], c1[C1.P_DRAWN_TODAY], p_ck[0], p_ck[1], p_entitled,
             flags[FLAG.PENDING_ON:FLAG.OUTSTANDING + 1], rec[REC.ENTITLEMENT_T], rec[REC.ENTITLEMENT_DRAWN_T],
             rec[REC.ENTITLEMENT_OUTSTANDING_T])
    return storage


@njit(**JIT)
def _surplus_share(x1, a, g1, xc, log_form, cap):
    """Component (a) per reference tonne of responsive demand and USD of reference price, at consumed share ``x1``.

    The area between the demand curve and the reference price over the responsive tonnes not consumed
    (the oracle ``curve_loss_usd`` over ``responsive * p0``): ``g1`` is G(1), ``a`` the exponent of G,
    ``xc`` the share demanded at the choke price ``cap`` (over reference), ``log_form`` > 0 where the elasticity is 1.
    """
    if x1 >= 1.0:  # at or above the reference the integral is empty
        return 0.0
    lo = max(x1, xc)
    g_lo = math.log(lo) if log_form > 0.0 else lo ** a / a
    return max(g1 - g_lo + cap * max(xc - x1, 0.0) - (1.0 - x1), 0.0)


@njit(**JIT)
def _clearing_ratio(resp_b, resp_w, e_b, e_w, residual, guess, lo, hi, cap, newton):
    """Price ratio at which responsive demand equals the supply left for it (market.clearing_price_ratio).

    Newton's method on log x from yesterday's answer (at most 3 steps), or the closed form where the
    bloc's and the rest of the world's elasticities are equal. ``lo`` and ``hi`` are the logs of the
    floor and ``cap`` ratios.
    """
    log_r = math.log(max(residual, _TINY))
    if not newton or e_b == e_w:
        y = (math.log(max(resp_b + resp_w, _TINY)) - log_r) / e_b
        return math.exp(min(max(y, lo), hi)) if residual > 0 else cap
    y = min(max(math.log(max(guess, _TINY)), lo), hi)
    for _ in range(3):
        tb = resp_b * math.exp(-e_b * y)
        tw = resp_w * math.exp(-e_w * y)
        total = tb + tw
        g = math.log(max(total, _TINY)) - log_r
        if abs(g) < 1e-15:  # converged (from yesterday's answer, usually at once): a further step moves nothing
            break
        y = min(max(y + g * total / max(e_b * tb + e_w * tw, _TINY), lo), hi)
    return math.exp(y) if residual > 0 else cap
