"""The day's arithmetic, compiled: the market parts of "One day in the model" (DESIGN.md).

The engine's day (:mod:`sim.engine.day`) calls ``supply_and_demand`` and ``clear_and_ship``
(or, with more of the day, ``market_day`` of :mod:`sim.kernels.day_kernel`), then ``triggers``
and, last, ``consume_and_price`` (:mod:`sim.kernels.price_kernel`), with the parts that touch
money, parties and events (funds, purchases, releases, draws) in Python between them. Each
kernel is one compiled loop over arms, commodities and manufacturers (or suppliers), so a day
costs a few calls instead of a hundred numpy calls on arrays of a few dozen numbers (on arrays
that small, call overhead, not arithmetic, is the cost). ``tests/oracles`` states the same rules
vectorised in numpy, and ``tests/test_kernels.py`` compares the two.

Shapes: A arms, C commodities, S suppliers, M manufacturers, R pipeline ring slots.
State arrays are updated in place; series are written into ``rec`` [series, day, A, C]
at the rows of :class:`sim.kernels.layout.REC`.
"""

from __future__ import annotations

from numba import njit

from sim.kernels.jit import JIT
from sim.kernels.layout import AC, ACM, AS, C1, CB, CM, DC, DCM, DS, FLAG, REC, S1, SB, SI, WC
from sim.kernels.storage_kernel import carry_out, price_ratio_at_use

_TINY = 1e-12
_TINY_W = 1e-300  # the welfare integral's guard against a zero base
@njit(**JIT)
def supply_and_demand(t, ac, acm, as_, c1, s1, cm, wc, flags, cb, sb, si, hs, hc, hcm, p_cut_value, storage_fn,
                      rec):  # noqa: PLR0912, PLR0915
    """Steps 1-2: supply after shocks and supply response; demand at today's price; orders.

    Every kernel takes the day ``t``, the engine's packs (``ac``, ``acm``, ``as_``, ``c1``, ``s1``, ``cm``,
    ``cb``, ``sb``, ``si``: laid out as AC, ACM, AS, C1, S1, CM, CB, SB and SI of :mod:`sim.kernels.layout`),
    the world's fixed arrays per commodity (``wc``, WC), the ``flags`` (FLAG), the world's daily packs (``hs``,
    ``hc``, ``hcm``: DS, DC, DCM, from :mod:`sim.model.daily`), and the
    series record ``rec`` [series, day, A, C]. Each array argument costs about 0.2 us to pass, hence
    the packs. Here ``p_cut_value`` [H, M] gets, with parties, the reference value of each
    manufacturer's safety-stock cut (crowding out). Where the price clears with holders' stocks (WC.STORAGE_ON),
    the day's price is set here, from the availability of the day (traders' stock carried in and output,
    less the reserve's purchases at yesterday's pace) on the holders' carry-out function ``storage_fn``
    [2, C, 2, G] (availability, stock; normal or cut regime; normalised to the day's world reference demand),
    before anyone's demand: the stock holders carry out (AC.CARRY) stays off the market.

    Returns:
        Cost of the reserve arm's wanted purchases at today's price (USD), before the funds cap.

    """
    price, subst = ac[AC.PRICE], ac[AC.SUBSTITUTION]
    peak, supply_factor = ac[AC.PEAK_SUBSTITUTION], ac[AC.SUPPLY_FACTOR]
    transit_m, transit_rel, transit_r = ac[AC.TRANSIT_M], ac[AC.TRANSIT_REL], ac[AC.TRANSIT_R]
    rstock, wstock, output, supply, reach = ac[AC.RSTOCK], ac[AC.WSTOCK], ac[AC.OUTPUT], ac[AC.SUPPLY], ac[AC.REACH]
    want_tot, row_want, row_crit, order = ac[AC.WANT_TOT], ac[AC.ROW_WANT], ac[AC.ROW_CRIT], ac[AC.ORDER]
    want_r, crit_e_sum = ac[AC.WANT_R], ac[AC.CRIT_E_SUM]
    resp_e, keep, curve_ac = ac[AC.RESP_E], ac[AC.KEEP], ac[AC.CURVE]
    mstock, want_m, crit_q, q0, safety = acm[ACM.MSTOCK], acm[ACM.WANT_M], acm[ACM.CRIT_Q], acm[ACM.Q0], acm[ACM.SAFETY]
    ref_price, elasticity, row_elasticity = wc[WC.REF_PRICE], wc[WC.ELASTICITY], wc[WC.ROW_ELASTICITY]
    out_s, reach_s, factor = as_[AS.OUT_S], as_[AS.REACH_S], as_[AS.FACTOR]
    surge, restricted_c, r_room_cap = c1[C1.SURGE], c1[C1.RESTRICTED_C], c1[C1.R_ROOM_CAP]
    mult, bloc_keep = s1[S1.MULT], s1[S1.BLOC_KEEP]
    crowd_cut, owed_calm, base_safety, safety_days = cm[CM.CROWD_CUT], cm[CM.OWED_CALM], cm[CM.BASE_SAFETY], \
        cm[CM.SAFETY_DAYS]
    row_critical, long_run_gap, hysteresis = wc[WC.ROW_CRITICAL], wc[WC.LONG_RUN_GAP], wc[WC.HYSTERESIS]
    subst_rate, supply_elasticity, supply_rate = wc[WC.SUBST_RATE], wc[WC.SUPPLY_ELASTICITY], wc[WC.SUPPLY_RATE]
    supply_max, precaution_days, pipeline_days = wc[WC.SUPPLY_MAX], wc[WC.PRECAUTION_DAYS], wc[WC.PIPELINE_DAYS]
    restock_rate, r_buy_ceiling_usd = wc[WC.RESTOCK_RATE], wc[WC.R_BUY_CEILING_USD]
    any_substitution, any_supply_response = flags[FLAG.SUBSTITUTION], flags[FLAG.SUPPLY_RESPONSE]
    has_parties, buying = flags[FLAG.PARTIES], flags[FLAG.BUYING]
    expected_supply, supply_lost = ac[AC.EXPECTED_SUPPLY], ac[AC.SUPPLY_LOST]
    active, restricted = sb[SB.ACTIVE_RESERVE:SB.ACTIVE_RESERVE + 2], sb[SB.RESTRICTED]
    buy_on, sup_c = cb[CB.BUY_ON], si[SI.SUP_C]
    cap_noise, cap_expected, row_demand = hs[DS.CAP_NOISE], hs[DS.CAP_EXPECTED], hc[DC.ROW_DEMAND]
    demand, expected, critical_t, critical_expected = hcm[DCM.DEMAND], hcm[DCM.EXPECTED], hcm[DCM.CRITICAL_T], \
        hcm[DCM.CRITICAL_EXPECTED]
    normal, left = c1[C1.NORMAL_SUPPLY], c1[C1.SUPPLY_LEFT]  # scratch: the kernels allocate nothing (JIT)
    storage_on, de_tot = wc[WC.STORAGE_ON], hc[DC.DE_TOT]
    price_cap, price_floor = wc[WC.PRICE_CAP], wc[WC.PRICE_FLOOR]
    A, C = price.shape
    S = sup_c.shape[0]
    M = want_m.shape[2]
    cost = 0.0
    for a in range(A):
        # 1. the slow state: substitution away from a dear material, producers' response (oracle: demand.py)
        for c in range(C):
            ratio = price[a, c] / ref_price[c]
            if any_substitution:
                goal = 1.0 - ratio ** (-long_run_gap[c]) if ratio > 1.0 else 0.0
                goal = max(goal, hysteresis[c] * peak[a, c])
                subst[a, c] += (goal - subst[a, c]) * subst_rate[c]
                peak[a, c] = max(peak[a, c], subst[a, c])
            if any_supply_response:
                goal = min(supply_max[c], ratio ** supply_elasticity[c])
                supply_factor[a, c] += (goal - supply_factor[a, c]) * supply_rate[c]
            output[a, c] = 0.0
            reach[a, c] = 0.0
            expected_supply[a, c] = 0.0
            normal[c] = 0.0
            left[c] = 0.0
        # supply: output less restrictions; unrestricted producers follow the slow supply factor
        for s in range(S):
            c = sup_c[s]
            f = (mult[s] if restricted[s] else supply_factor[a, c]) if active[a, s] else 0.0
            factor[a, s] = f
            out_s[a, s] = cap_noise[t, s] * f
            reach_s[a, s] = out_s[a, s] * bloc_keep[s]
            output[a, c] += out_s[a, s]
            reach[a, c] += reach_s[a, s]
            expected_supply[a, c] += cap_expected[t, s] * f  # what the market expects (the price clears it)
            if active[a, s]:  # the share of the bloc's normal supply that shocks cut (major disruptions)
                normal[c] += cap_expected[t, s]
                left[c] += cap_expected[t, s] * mult[s] * bloc_keep[s]
        for c in range(C):
            supply_lost[a, c] = 1.0 - left[c] / max(normal[c], _TINY) if normal[c] > 0 else 0.0
            supply[a, c] = output[a, c] + wstock[a, c]
            reach[a, c] += wstock[a, c]
            if storage_on[c] > 0.0:  # competitive storage: the price clears today's availability
                world = (de_tot[t, c] + row_demand[t, c]) * surge[c]
                cut = 1 if restricted_c[c] > 0.0 else 0
                z = max(supply[a, c] - ac[AC.BUY, a, c], 0.0) / world
                carried = carry_out(storage_fn[0, c, cut], storage_fn[1, c, cut], z)
                ratio = price_ratio_at_use(z - carried, elasticity[c], price_cap[c])
                price[a, c] = max(ratio, price_floor[c]) * ref_price[c]
                ac[AC.CARRY, a, c] = carried * world
            # 2. demand at today's price: critical use, then the responsive part on its curve
            ratio = price[a, c] / ref_price[c]
            sm = surge[c]
            kp = 1.0 - subst[a, c]
            keep[a, c] = kp
            curve = ratio ** (-elasticity[c]) * kp
            curve_ac[a, c] = curve
            # the same power when the world's elasticity is the bloc's (the usual case): one pow less
            row_curve = curve if row_elasticity[c] == elasticity[c] else ratio ** (-row_elasticity[c]) * kp
            ce = 0.0
            qe = 0.0
            qsum = 0.0
            wt = 0.0
            stock = 0.0
            cover_extra = precaution_days[c] * restricted_c[c]
            safety_tot = 0.0
            for m in range(M):
                q = demand[t, c, m] * sm
                cq = critical_t[t, c, m] * sm
                q0[a, c, m] = q
                qsum += q
                crit_q[a, c, m] = cq
                ce += critical_expected[t, c, m] * sm
                qe += expected[t, c, m] * sm
                wm = cq + (q - cq) * curve
                want_m[a, c, m] = wm
                wt += wm
                stock += mstock[a, c, m]
                sf = expected[t, c, m] * (safety_days[c, m] + cover_extra)
                if has_parties and a == 0:
                    # members' own stocks after crowding out, plus (while calm) the swaps they owe
                    b = max(0.0, sf - crowd_cut[c, m])
                    base_safety[c, m] = b
                    p_cut_value[t, m] += (sf - b) * ref_price[c]
                    sf = b + owed_calm[c, m]
                safety[a, c, m] = sf
                safety_tot += sf
            crit_e_sum[a, c] = ce
            resp_e[a, c] = qe - ce
            want_tot[a, c] = wt
            r0 = row_demand[t, c] * sm
            rc = row_critical[c] * r0
            row_crit[a, c] = rc
            row_want[a, c] = rc + (r0 - rc) * row_curve
            # manufacturers order what they use plus part of the gap to their target stock and pipeline
            position = stock + transit_m[a, c] + transit_rel[a, c]
            pipeline = (ce + (qe - ce) * curve) * pipeline_days[c]
            order[a, c] = max(0.0, wt + (pipeline + safety_tot - position) * restock_rate[c])
            # the reserve's purchases are demand like any other
            wr = 0.0
            if buying:
                ok = buy_on[c] and price[a, c] <= r_buy_ceiling_usd[c]
                room = max(0.0, r_room_cap[c] - rstock[a, c] - transit_r[a, c])
                wr = min(wc[WC.BUY_MAX_RESERVE + a, c] if ok else 0.0, room)
                if a == 0:
                    cost += wr * price[a, c]
            want_r[a, c] = wr
            rec[REC.REFERENCE_DEMAND_T, t, a, c] = qsum
            rec[REC.DEMAND_T, t, a, c] = wt
            rec[REC.ORDERS_T, t, a, c] = order[a, c]
            rec[REC.ROW_DEMAND_T, t, a, c] = row_want[a, c]
            rec[REC.CAPACITY_T, t, a, c] = output[a, c]
    return cost


@njit(**JIT)
def clear_and_ship(t, ac, acm, as_, wc, sb, si, claim_classes, ring, hs, hc, hcm, rec):  # noqa: PLR0912, PLR0915
    """Steps 3-5: the world market in tiers at today's price; shipments; arrivals shared out.

    Tiers: critical use, then everyone's use, then stock building (manufacturers' restocking, then
    a 'spare' reserve), pro rata within each; a targeted restriction caps what the bloc can reach.

    Returns:
        Cost of the reserve arm's purchases today (USD).

    """
    price, transit_m, transit_r = ac[AC.PRICE], ac[AC.TRANSIT_M], ac[AC.TRANSIT_R]
    rstock, wstock, supply, reach = ac[AC.RSTOCK], ac[AC.WSTOCK], ac[AC.SUPPLY], ac[AC.REACH]
    want_tot, row_want, row_crit, order, want_r = ac[AC.WANT_TOT], ac[AC.ROW_WANT], ac[AC.ROW_CRIT], ac[AC.ORDER], \
        ac[AC.WANT_R]
    mstock, want_m, crit_q, safety = acm[ACM.MSTOCK], acm[ACM.WANT_M], acm[ACM.CRIT_Q], acm[ACM.SAFETY]
    row_own, buy = ac[AC.ROW_OWN], ac[AC.BUY]
    row_got, produced, shipped = ac[AC.ROW_GOT], ac[AC.PRODUCED], ac[AC.SHIPPED]
    imports, arr_m, arr_r, src, m_share = ac[AC.IMPORTS], ac[AC.ARR_M], ac[AC.ARR_R], ac[AC.SRC], ac[AC.M_SHARE]
    x, gap, bought = acm[ACM.X], acm[ACM.GAP], acm[ACM.BOUGHT]
    reach_s, ship_s = as_[AS.REACH_S], as_[AS.SHIP_S]
    compete = wc[WC.R_BUY_COMPETE]
    sup_c, lead, domestic, ring_m, ring_r = si[SI.SUP_C], si[SI.LEAD], sb[SB.DOMESTIC], ring[0], ring[1]
    cap_expected, share, market_stock_level = hs[DS.CAP_EXPECTED], hcm[DCM.SHARE], hc[DC.MARKET_STOCK_LEVEL]
    storage_on = wc[WC.STORAGE_ON]
    row_stock, row_use, row_safety_days = ac[AC.ROW_STOCK], ac[AC.ROW_USE], wc[WC.ROW_SAFETY_DAYS]
    row_demand_ref, restock_rate = hc[DC.ROW_DEMAND], wc[WC.RESTOCK_RATE]
    A, C = price.shape
    S = sup_c.shape[0]
    M = want_m.shape[2]
    R = ring.shape[1]
    K = claim_classes.shape[0]
    slot_today = t % R
    cost = 0.0
    for a in range(A):
        for c in range(C):
            # manufacturers' claims on today's arrivals (step 5): critical use, then the rest, each [M]
            need = acm[ACM.NEED_CRIT:ACM.NEED_REST + 1, a, c]
            # 3. the world market at today's price
            wt = want_tot[a, c]
            ck = 0.0
            for m in range(M):
                ck += crit_q[a, c, m]
            use_b = min(order[a, c], wt)
            crit_b = min(use_b, ck)
            rest_b = use_b - crit_b
            build_b = order[a, c] - use_b
            row_mkt = row_want[a, c] - row_own[a, c]
            row_crit_mkt = max(0.0, row_crit[a, c] - row_own[a, c])
            rest_row = row_mkt - row_crit_mkt
            wr = want_r[a, c]
            holding = storage_on[c] > 0.0
            left = supply[a, c] - ac[AC.CARRY, a, c] if holding else supply[a, c]  # holders keep their carry-out
            ask1 = crit_b + row_crit_mkt
            f1 = min(1.0, left / max(ask1, _TINY))
            left = max(left - ask1, 0.0)
            ask2 = rest_b + rest_row + (wr if compete[c] > 0.0 else 0.0)
            f2 = min(1.0, left / max(ask2, _TINY))
            left = max(left - ask2, 0.0)
            # the rest of the world's stock building, in the same tier as the bloc's (with a safety stock)
            row_days = row_safety_days[c]
            build_w = 0.0
            if row_days > 0.0:
                target_w = row_demand_ref[t, c] * row_days
                build_w = max(0.0, target_w - row_stock[a, c]) * restock_rate[c]
            f3 = min(1.0, left / max(build_b + build_w, _TINY))
            left = max(left - build_b - build_w, 0.0)
            ask4 = 0.0 if compete[c] > 0.0 else wr
            f4 = min(1.0, left / max(ask4, _TINY))
            ship_m = crit_b * f1 + rest_b * f2 + build_b * f3
            b = wr * (f2 if compete[c] > 0.0 else f4)
            rg = row_crit_mkt * f1 + rest_row * f2 + build_w * f3
            # a targeted restriction caps what the bloc can reach; the rest goes to other buyers
            bloc = ship_m + b
            over = bloc - reach[a, c]
            if over > 0.0:
                cut = 1.0 - over / max(bloc, _TINY)
                ship_m *= cut
                b *= cut
                rg = min(row_mkt + build_w, rg + over)
            buy[a, c] = b
            row_got[a, c] = rg
            if row_days > 0.0:  # the rest of the world uses what it got and its stock, up to its demand
                have = row_stock[a, c] + rg
                use_w = min(row_mkt, have)
                row_stock[a, c] = have - use_w
                row_use[a, c] = use_w
            else:
                row_use[a, c] = rg
            if a == 0:
                cost += b * price[a, c]
            sh = ship_m + b
            shipped[a, c] = sh
            # unsold output refills traders' stocks up to their normal level; beyond it, it is not produced.
            # With competitive storage, holders carry all that is not sold (at least what they chose to carry)
            before = wstock[a, c]
            wstock[a, c] = supply[a, c] - sh - rg if holding else min(supply[a, c] - sh - rg, market_stock_level[t, c])
            produced[a, c] = sh + rg + wstock[a, c] - before
            m_share[a, c] = ship_m / max(sh, _TINY) if sh > 0.0 else 1.0
            transit_m[a, c] += ship_m
            transit_r[a, c] += b
            src[a, c] = 0.0
            imports[a, c] = 0.0
        # 4. ship into the pipeline: each producer delivers after its lead time (+ delays); what the
        # bloc draws from traders' stocks travels like its producers' output
        for s in range(S):
            src[a, sup_c[s]] += reach_s[a, s] + 1e-9 * cap_expected[t, s]
        for c in range(C):  # each producer ships its share of what the bloc's buyers got (one division each)
            src[a, c] = shipped[a, c] / src[a, c]
        for s in range(S):
            c = sup_c[s]
            q = (reach_s[a, s] + 1e-9 * cap_expected[t, s]) * src[a, c]
            ship_s[a, s] = q
            slot = slot_today + lead[s]  # lead < R (delays are capped), so no modulo (a division) per producer
            if slot >= R:
                slot -= R
            ms = m_share[a, c]
            ring_m[slot, a, c] += q * ms
            ring_r[slot, a, c] += q * (1.0 - ms)
            if not domestic[s]:
                imports[a, c] += q
        for c in range(C):
            imports[a, c] *= m_share[a, c]
            # 5. arrivals; manufacturers share them: critical use first, then priority classes
            am = ring_m[slot_today, a, c]
            ring_m[slot_today, a, c] = 0.0
            transit_m[a, c] -= am
            arr_m[a, c] = am
            ar = ring_r[slot_today, a, c]
            ring_r[slot_today, a, c] = 0.0
            transit_r[a, c] -= ar
            rstock[a, c] += ar
            arr_r[a, c] = ar
            for m in range(M):
                nd = max(0.0, want_m[a, c, m] + safety[a, c, m] - mstock[a, c, m])
                cn = min(nd, crit_q[a, c, m])
                need[0, m] = cn
                need[1, m] = nd - cn
            # claims by class: class k's share is what is left after classes before it, pro rata within it
            given_tot = 0.0
            before_k = 0.0
            for m in range(M):
                x[a, c, m] = 0.0
            for k in range(K):  # claim j = h * M + m is manufacturer m's critical (h = 0) or other (h = 1) use
                tot_k = 0.0
                for h in range(2):
                    for m in range(M):
                        tot_k += need[h, m] * claim_classes[k, h * M + m]
                frac = min(1.0, max(am - before_k, 0.0) / max(tot_k, _TINY))
                before_k += tot_k
                for h in range(2):
                    for m in range(M):
                        share_k = claim_classes[k, h * M + m]
                        if share_k != 0.0:
                            x[a, c, m] += need[h, m] * frac * share_k
            for m in range(M):
                given_tot += x[a, c, m]
            leftover = am - given_tot
            for m in range(M):
                got = x[a, c, m] + leftover * share[t, c, m]
                bought[a, c, m] = got
                xm = mstock[a, c, m] + got
                x[a, c, m] = xm
                gap[a, c, m] = max(0.0, want_m[a, c, m] - xm)
            rec[REC.PRODUCTION_T, t, a, c] = produced[a, c]
            rec[REC.MARKET_STOCK_T, t, a, c] = wstock[a, c]
            rec[REC.SHIPPED_T, t, a, c] = shipped[a, c]
            rec[REC.ARRIVALS_T, t, a, c] = am + ar
            rec[REC.IMPORTS_T, t, a, c] = imports[a, c]
            rec[REC.RESERVE_PURCHASES_T, t, a, c] = buy[a, c]
    return cost
