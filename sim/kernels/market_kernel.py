"""The day's arithmetic, compiled: the market parts of "One day in the model" (DESIGN.md).

The engine's daily step (``Engine.step``) calls ``supply_and_demand`` and ``clear_and_ship``
(or, with more of the day, ``market_day`` of :mod:`sim.kernels.day_kernel`), then ``triggers``
and, last, ``consume_and_price`` (:mod:`sim.kernels.price_kernel`), with the parts that touch
money, parties and events (funds, purchases, releases, draws) in Python between them. Each
kernel is one compiled loop over arms, commodities and manufacturers (or suppliers), so a day
costs a few calls instead of a hundred numpy calls on arrays of a few dozen numbers (issue 12:
call overhead, not arithmetic, was the cost). The formulas are
those of :mod:`sim.model.market`, :mod:`sim.model.demand` and :mod:`sim.model.welfare`,
which stay the readable, vectorised reference (tests compare the two).

Shapes: A arms, C commodities, S suppliers, M manufacturers, R pipeline ring slots.
State arrays are updated in place; series are written into ``rec`` [series, day, A, C]
at the indices of :data:`SERIES`.
"""

from __future__ import annotations

from numba import njit

from sim.kernels.jit import JIT
from sim.model.parties import PARTY_SERIES
from sim.model.world import (
    D_CAP_EXPECTED,
    D_CAP_NOISE,
    D_CRITICAL_EXPECTED,
    D_CRITICAL_T,
    D_DEMAND,
    D_EXPECTED,
    D_MARKET_STOCK,
    D_ROW_DEMAND,
    D_SHARE,
)

#: Daily series recorded per day, arm and commodity (tonnes unless stated).
SERIES = (
    "capacity_t",
    "production_t",
    "market_stock_t",
    "orders_t",
    "shipped_t",
    "arrivals_t",
    "reference_demand_t",
    "demand_t",
    "delivered_t",
    "shortfall_t",
    "critical_shortfall_t",
    "imports_t",
    "row_demand_t",
    "row_consumption_t",
    "price_usd_per_t",
    "clearing_price_usd_per_t",
    "substitution_share",
    "reserve_stock_t",
    "reserve_target_t",
    "reserve_purchases_t",
    "reserve_releases_t",
    "release_deliveries_t",
    "manufacturer_stock_t",
    "in_transit_t",
    "loss_surplus_usd",
    "loss_import_usd",
    "loss_critical_usd",
    "loss_usd",
    *PARTY_SERIES,
)
(CAPACITY, PRODUCTION, MARKET_STOCK, ORDERS, SHIPPED, ARRIVALS, REFERENCE_DEMAND, DEMAND, DELIVERED, SHORTFALL,
 CRITICAL_SHORTFALL, IMPORTS, ROW_DEMAND, ROW_CONSUMPTION, PRICE, CLEARING_PRICE, SUBSTITUTION, RESERVE_STOCK,
 RESERVE_TARGET, RESERVE_PURCHASES, RESERVE_RELEASES, RELEASE_DELIVERIES, MANUFACTURER_STOCK, IN_TRANSIT,
 LOSS_SURPLUS, LOSS_IMPORT, LOSS_CRITICAL, LOSS) = range(28)
#: The parties' series follow (PARTY_SERIES); the kernels write the first three.
ENTITLEMENT, ENTITLEMENT_DRAWN, ENTITLEMENT_OUTSTANDING = range(28, 31)
#: The engine's state and scratch arrays, packed so a kernel call passes a few arrays, not a hundred
#: (unboxing each array argument costs about 0.2 us). The engine holds named views into the packs.
PACK_AC = ("price", "substitution", "peak_substitution", "supply_factor", "transit_m", "transit_rel", "transit_r",
           "rstock", "wstock", "output", "supply", "reach", "want_tot", "row_want", "row_crit", "order", "want_r",
           "crit_e_sum", "resp_e", "keep", "row_own", "buy", "row_got", "produced", "shipped", "imports", "arr_m",
           "arr_r", "src", "m_share", "clearing", "releases", "other_rel", "delivered_rel", "expected_supply",
           "supply_lost", "drawdown", "curve")  # [A, C] each
(I_PRICE, I_SUBSTITUTION, I_PEAK_SUBSTITUTION, I_SUPPLY_FACTOR, I_TRANSIT_M, I_TRANSIT_REL, I_TRANSIT_R, I_RSTOCK,
 I_WSTOCK, I_OUTPUT, I_SUPPLY, I_REACH, I_WANT_TOT, I_ROW_WANT, I_ROW_CRIT, I_ORDER, I_WANT_R, I_CRIT_E_SUM, I_RESP_E,
 I_KEEP, I_ROW_OWN, I_BUY, I_ROW_GOT, I_PRODUCED, I_SHIPPED, I_IMPORTS, I_ARR_M, I_ARR_R, I_SRC, I_M_SHARE,
 I_CLEARING, I_RELEASES, I_OTHER_REL, I_DELIVERED_REL, I_EXPECTED_SUPPLY, I_SUPPLY_LOST, I_DRAWDOWN,
 I_CURVE) = range(38)
PACK_ACM = ("mstock", "want_m", "crit_q", "q0", "safety", "x", "gap", "bought", "need_crit",
            "need_rest")  # [A, C, M] each
I_MSTOCK, I_WANT_M, I_CRIT_Q, I_Q0, I_SAFETY, I_X, I_GAP, I_BOUGHT, I_NEED_CRIT, I_NEED_REST = range(10)
PACK_AS = ("out_s", "reach_s", "factor", "ship_s")  # [A, S] each
I_OUT_S, I_REACH_S, I_FACTOR, I_SHIP_S = range(4)
PACK_C = ("surge", "restricted_c", "target", "r_room_cap", "p_arrivals", "p_ent_entitled",
          "p_drawn_today", "normal_supply", "supply_left", "can", "room", "p_drawn")  # [C] each: engine, parties
(I_SURGE, I_RESTRICTED_C, I_TARGET, I_ROOM_CAP, I_P_ARRIVALS, I_P_ENT_ENTITLED, I_P_DRAWN_TODAY, I_NORMAL_SUPPLY,
 I_SUPPLY_LEFT, I_CAN, I_ROOM, I_P_DRAWN) = range(12)
PACK_CB = ("buy_on", "major", "flipped", "has_reserve", "is_shortfall", "is_price", "is_cover",
           "triggered")  # [C] bool each
I_BUY_ON, I_MAJOR, I_FLIPPED, I_HAS_RESERVE, I_IS_SHORTFALL, I_IS_PRICE, I_IS_COVER, I_TRIGGERED = range(8)
#: The parties' [C, K] arrays (K holders): swaps out, drawn tonnes awaiting buy-back, entitlements, draws on
#: their way, and the draw decision's requests and draws; ``entitled`` is each holder's 0/1 in every row; ``work``
#: is scratch space.
PACK_CK = ("out_swap", "pending", "ent", "transit", "need", "d", "entitled", "work")
K_OUT_SWAP, K_PENDING, K_ENT, K_TRANSIT, K_NEED, K_D, K_ENTITLED, K_WORK = range(8)
#: The parties' fixed integers: each holder's party, whether it is a member, an ally [K]; each commodity's
#: release lag, days [C] (rows padded to the longer of K and C).
PACK_HOLD = ("party_of", "is_member", "is_ally", "lag")
H_PARTY_OF, H_IS_MEMBER, H_IS_ALLY, H_LAG = range(4)
PACK_SB = ("active_reserve", "active_counterfactual", "restricted", "domestic")  # [S] bool each
I_ACTIVE, I_RESTRICTED, I_DOMESTIC = 0, 2, 3  # the two arms' active rows are sb[I_ACTIVE:I_ACTIVE + 2]
PACK_SI = ("sup_c", "lead")  # [S] int each: commodity and days from shipment to arrival (incl. delays)
I_SUP_C, I_LEAD = range(2)
PACK_S = ("mult", "bloc_keep")  # [S] each: shares of output left to every buyer, and to the bloc (shocks)
I_MULT, I_BLOC_KEEP = range(2)
PACK_CM = ("critical", "voll_m", "crowd_cut", "owed_calm", "base_safety", "safety_days", "eligible")  # [C, M]
I_CRITICAL, I_VOLL_M, I_CROWD_CUT, I_OWED_CALM, I_BASE_SAFETY, I_SAFETY_DAYS, I_ELIGIBLE = range(7)
WORLD_C = ("ref_price", "elasticity", "row_elasticity", "row_critical", "long_run_gap", "hysteresis", "subst_rate",
           "supply_elasticity", "supply_rate", "supply_max", "precaution_days", "pipeline_days", "restock_rate",
           "r_buy_ceiling_usd", "price_adjust", "price_floor", "price_cap", "dwl_a", "dwl_g1", "dwl_xc", "dwl_log",
           "r_hold_usd_per_t_day", "r_buy_compete", "buy_max_reserve", "buy_max_counterfactual",
           "r_trigger_price_usd", "r_trigger_cover", "major_price_usd", "major_loss", "r_floor_share", "r_offset",
           "r_early", "locked_price_usd", "premium_share", "log_price_floor", "log_price_cap")  # [C] each, fixed
(W_REF_PRICE, W_ELASTICITY, W_ROW_ELASTICITY, W_ROW_CRITICAL, W_LONG_RUN_GAP, W_HYSTERESIS, W_SUBST_RATE,
 W_SUPPLY_ELASTICITY, W_SUPPLY_RATE, W_SUPPLY_MAX, W_PRECAUTION_DAYS, W_PIPELINE_DAYS, W_RESTOCK_RATE,
 W_BUY_CEILING_USD, W_PRICE_ADJUST, W_PRICE_FLOOR, W_PRICE_CAP, W_DWL_A, W_DWL_G1, W_DWL_XC, W_DWL_LOG, W_HOLD,
 W_COMPETE, W_BUY_MAX_RESERVE, W_BUY_MAX_COUNTERFACTUAL, W_TRIGGER_PRICE_USD, W_TRIGGER_COVER, W_MAJOR_PRICE_USD,
 W_MAJOR_LOSS, W_FLOOR_SHARE, W_OFFSET, W_EARLY, W_LOCKED_PRICE_USD, W_PREMIUM_SHARE, W_LOG_PRICE_FLOOR,
 W_LOG_PRICE_CAP) = range(36)
#: Flags: substitution on, supply response on, parties, reserve buying, Newton (bloc and world elasticities
#: differ), a reserve holds something; the parties' state flags (drawn tonnes await buy-back, a draw was made);
#: some reserve releases early (price or cover trigger); non-members may buy free stock; the kernel delivers the
#: parties' draws (the one-call day), and draws may be due today; the one-call day may also book the draws and
#: consume and price (steps 7-9), leaving Python only the draws' money and events; members' draws are swaps.
(F_SUBSTITUTION, F_SUPPLY_RESPONSE, F_PARTIES, F_BUYING, F_NEWTON, F_RESERVE, F_PENDING_ON, F_OUTSTANDING, F_EARLY,
 F_FREE_STOCK_SALES, F_KERNEL_DELIVERS, F_DELIVERIES, F_WHOLE_DAY, F_SWAP) = range(14)
N_FLAGS = 14
_TINY = 1e-12
_TINY_W = 1e-300  # welfare.py's guard
@njit(**JIT)
def supply_and_demand(t, ac, acm, as_, c1, s1, cm, wc, flags, cb, sb, si, hs, hc, hcm, p_cut_value,
                      rec):  # noqa: PLR0912, PLR0915
    """Steps 1-2: supply after shocks and supply response; demand at today's price; orders.

    Every kernel takes the day ``t``, the engine's packs (``ac``, ``acm``, ``as_``, ``c1``, ``s1``, ``cm``,
    ``cb``, ``sb``, ``si``: PACK_AC, PACK_ACM, PACK_AS, PACK_C, PACK_S, PACK_CM, PACK_CB, PACK_SB,
    PACK_SI), the world's fixed arrays per commodity (``wc``, WORLD_C), the F_* ``flags``, the world's
    daily packs (``hs``, ``hc``, ``hcm``: DAILY_S, DAILY_C, DAILY_CM of :mod:`sim.model.world`), and the
    series record ``rec`` [series, day, A, C]. Each array argument costs about 0.2 us to pass, hence
    the packs. Here ``p_cut_value`` [H, M] gets, with parties, the reference value of each
    manufacturer's safety-stock cut (crowding out).

    Returns:
        Cost of the reserve arm's wanted purchases at today's price (USD), before the funds cap.

    """
    price, subst, peak, supply_factor = ac[I_PRICE], ac[I_SUBSTITUTION], ac[I_PEAK_SUBSTITUTION], ac[I_SUPPLY_FACTOR]
    transit_m, transit_rel, transit_r = ac[I_TRANSIT_M], ac[I_TRANSIT_REL], ac[I_TRANSIT_R]
    rstock, wstock, output, supply, reach = ac[I_RSTOCK], ac[I_WSTOCK], ac[I_OUTPUT], ac[I_SUPPLY], ac[I_REACH]
    want_tot, row_want, row_crit, order = ac[I_WANT_TOT], ac[I_ROW_WANT], ac[I_ROW_CRIT], ac[I_ORDER]
    want_r, crit_e_sum, resp_e, keep, curve_ac = ac[I_WANT_R], ac[I_CRIT_E_SUM], ac[I_RESP_E], ac[I_KEEP], ac[I_CURVE]
    mstock, want_m, crit_q, q0, safety = acm[I_MSTOCK], acm[I_WANT_M], acm[I_CRIT_Q], acm[I_Q0], acm[I_SAFETY]
    ref_price, elasticity, row_elasticity = wc[W_REF_PRICE], wc[W_ELASTICITY], wc[W_ROW_ELASTICITY]
    out_s, reach_s, factor = as_[I_OUT_S], as_[I_REACH_S], as_[I_FACTOR]
    surge, restricted_c, r_room_cap = c1[I_SURGE], c1[I_RESTRICTED_C], c1[I_ROOM_CAP]
    mult, bloc_keep = s1[I_MULT], s1[I_BLOC_KEEP]
    crowd_cut, owed_calm, base_safety, safety_days = cm[I_CROWD_CUT], cm[I_OWED_CALM], cm[I_BASE_SAFETY], \
        cm[I_SAFETY_DAYS]
    row_critical, long_run_gap, hysteresis = wc[W_ROW_CRITICAL], wc[W_LONG_RUN_GAP], wc[W_HYSTERESIS]
    subst_rate, supply_elasticity, supply_rate = wc[W_SUBST_RATE], wc[W_SUPPLY_ELASTICITY], wc[W_SUPPLY_RATE]
    supply_max, precaution_days, pipeline_days = wc[W_SUPPLY_MAX], wc[W_PRECAUTION_DAYS], wc[W_PIPELINE_DAYS]
    restock_rate, r_buy_ceiling_usd = wc[W_RESTOCK_RATE], wc[W_BUY_CEILING_USD]
    any_substitution, any_supply_response = flags[F_SUBSTITUTION], flags[F_SUPPLY_RESPONSE]
    has_parties, buying = flags[F_PARTIES], flags[F_BUYING]
    expected_supply, supply_lost = ac[I_EXPECTED_SUPPLY], ac[I_SUPPLY_LOST]
    active, restricted, buy_on, sup_c = sb[I_ACTIVE:I_ACTIVE + 2], sb[I_RESTRICTED], cb[I_BUY_ON], si[I_SUP_C]
    cap_noise, cap_expected, row_demand = hs[D_CAP_NOISE], hs[D_CAP_EXPECTED], hc[D_ROW_DEMAND]
    demand, expected, critical_t, critical_expected = hcm[D_DEMAND], hcm[D_EXPECTED], hcm[D_CRITICAL_T], \
        hcm[D_CRITICAL_EXPECTED]
    normal, left = c1[I_NORMAL_SUPPLY], c1[I_SUPPLY_LEFT]  # scratch: the kernels allocate nothing (JIT)
    A, C = price.shape
    S = sup_c.shape[0]
    M = want_m.shape[2]
    cost = 0.0
    for a in range(A):
        # 1. the slow state: substitution away from a dear material, producers' response (model/demand.py)
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
                wr = min(wc[W_BUY_MAX_RESERVE + a, c] if ok else 0.0, room)
                if a == 0:
                    cost += wr * price[a, c]
            want_r[a, c] = wr
            rec[REFERENCE_DEMAND, t, a, c] = qsum
            rec[DEMAND, t, a, c] = wt
            rec[ORDERS, t, a, c] = order[a, c]
            rec[ROW_DEMAND, t, a, c] = row_want[a, c]
            rec[CAPACITY, t, a, c] = output[a, c]
    return cost


@njit(**JIT)
def clear_and_ship(t, ac, acm, as_, wc, sb, si, claim_classes, ring, hs, hc, hcm, rec):  # noqa: PLR0912, PLR0915
    """Steps 3-5: the world market in tiers at today's price; shipments; arrivals shared out.

    Tiers: critical use, then everyone's use, then stock building (manufacturers' restocking, then
    a 'spare' reserve), pro rata within each; a targeted restriction caps what the bloc can reach.

    Returns:
        Cost of the reserve arm's purchases today (USD).

    """
    price, transit_m, transit_r = ac[I_PRICE], ac[I_TRANSIT_M], ac[I_TRANSIT_R]
    rstock, wstock, supply, reach = ac[I_RSTOCK], ac[I_WSTOCK], ac[I_SUPPLY], ac[I_REACH]
    want_tot, row_want, row_crit, order, want_r = ac[I_WANT_TOT], ac[I_ROW_WANT], ac[I_ROW_CRIT], ac[I_ORDER], \
        ac[I_WANT_R]
    mstock, want_m, crit_q, safety = acm[I_MSTOCK], acm[I_WANT_M], acm[I_CRIT_Q], acm[I_SAFETY]
    row_own, buy, row_got, produced, shipped = ac[I_ROW_OWN], ac[I_BUY], ac[I_ROW_GOT], ac[I_PRODUCED], ac[I_SHIPPED]
    imports, arr_m, arr_r, src, m_share = ac[I_IMPORTS], ac[I_ARR_M], ac[I_ARR_R], ac[I_SRC], ac[I_M_SHARE]
    x, gap, bought = acm[I_X], acm[I_GAP], acm[I_BOUGHT]
    reach_s, ship_s = as_[I_REACH_S], as_[I_SHIP_S]
    compete = wc[W_COMPETE]
    sup_c, lead, domestic, ring_m, ring_r = si[I_SUP_C], si[I_LEAD], sb[I_DOMESTIC], ring[0], ring[1]
    cap_expected, share, market_stock_level = hs[D_CAP_EXPECTED], hcm[D_SHARE], hc[D_MARKET_STOCK]
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
            need = acm[I_NEED_CRIT:I_NEED_REST + 1, a, c]
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
            left = supply[a, c]
            ask1 = crit_b + row_crit_mkt
            f1 = min(1.0, left / max(ask1, _TINY))
            left = max(left - ask1, 0.0)
            ask2 = rest_b + rest_row + (wr if compete[c] > 0.0 else 0.0)
            f2 = min(1.0, left / max(ask2, _TINY))
            left = max(left - ask2, 0.0)
            f3 = min(1.0, left / max(build_b, _TINY))
            left = max(left - build_b, 0.0)
            ask4 = 0.0 if compete[c] > 0.0 else wr
            f4 = min(1.0, left / max(ask4, _TINY))
            ship_m = crit_b * f1 + rest_b * f2 + build_b * f3
            b = wr * (f2 if compete[c] > 0.0 else f4)
            rg = row_crit_mkt * f1 + rest_row * f2
            # a targeted restriction caps what the bloc can reach; the rest goes to other buyers
            bloc = ship_m + b
            over = bloc - reach[a, c]
            if over > 0.0:
                cut = 1.0 - over / max(bloc, _TINY)
                ship_m *= cut
                b *= cut
                rg = min(row_mkt, rg + over)
            buy[a, c] = b
            row_got[a, c] = rg
            if a == 0:
                cost += b * price[a, c]
            sh = ship_m + b
            shipped[a, c] = sh
            # unsold output refills traders' stocks up to their normal level; beyond it, it is not produced
            before = wstock[a, c]
            wstock[a, c] = min(supply[a, c] - sh - rg, market_stock_level[t, c])
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
            rec[PRODUCTION, t, a, c] = produced[a, c]
            rec[MARKET_STOCK, t, a, c] = wstock[a, c]
            rec[SHIPPED, t, a, c] = shipped[a, c]
            rec[ARRIVALS, t, a, c] = am + ar
            rec[IMPORTS, t, a, c] = imports[a, c]
            rec[RESERVE_PURCHASES, t, a, c] = buy[a, c]
    return cost
