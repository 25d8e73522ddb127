"""The compiled market day, steps 1-9 in one call (DESIGN.md, "One day in the model"), and the reserve's review.

When nothing in Python must act between the market's steps (no allies' draws to serve, no
other public stocks), the engine's day makes one call, :func:`market_day`, that runs steps 1-5
(:mod:`sim.kernels.market_kernel`), pays for the day's purchases (:mod:`sim.kernels.finance_kernel`),
tests the reserve's release trigger (:func:`triggers`), runs the parties' morning (buy-back,
major disruptions: :func:`sim.kernels.party_kernels.morning`) and, when the trigger holds, their
draw decision (:func:`decide_draws`). With parties and no project companies, and unless a major
disruption was declared or ended, it goes on to book the draws (:func:`take_draws`) and through
steps 7-9 (:mod:`sim.kernels.price_kernel`), so the whole day is one call. Python then books only
the money and events of the draws, on the days there are any. The readable, step-by-step form of
the same day is in ``Engine`` (used with allies or other public stocks);
``tests/test_compiled_day.py`` holds the two to the same bits. The reserve's periodic review of
its buying (:func:`review`, :func:`set_drawdown`) is compiled here too; its events are logged
by ``Engine.review``.
"""

from __future__ import annotations

import math

from numba import njit

from sim.kernels.finance_kernel import funds as finance_funds
from sim.kernels.finance_kernel import pay_purchases
from sim.kernels.layout import AC, ACM, C1, CB, CK, CM, DC, FAC, FLAG, HOLD, WC
from sim.kernels.market_kernel import JIT, clear_and_ship, supply_and_demand
from sim.kernels.party_kernels import book_draws, draw_tonnes, morning, numpy_sum
from sim.kernels.price_kernel import consume_and_price
from sim.kernels.release_kernel import release_requests, release_room


@njit(**JIT)
def review(t, cs, ac, c1, wc, cb, flags, target_t, target_days, expected, p_target, p_calm, changed):
    """The reserve's review of commodities ``cs`` (``Engine.review``), in place.

    ``changed`` [len(cs)] gets where buying switched on or off. Targets in days of demand follow
    today's expected demand; the reserve buys until the next review while calm (its trigger has
    not held since the last review), below its target and at or under its price ceiling. With
    parties (``p_target``, ``p_calm``: ``Parties.target``, ``Parties.calm``), entitlements follow
    the targets (held commodities only) and members learn which commodities are calm.
    """
    target, buy_on, triggered = c1[C1.TARGET], cb[CB.BUY_ON], cb[CB.TRIGGERED]
    day = min(t, expected.shape[0] - 1)
    for i in range(cs.shape[0]):
        c = cs[i]
        if math.isnan(target_t[c]):
            target[c] = target_days[c] * numpy_sum(expected[day, c])
        calm = not triggered[c]
        below = ac[AC.RSTOCK, 0, c] + ac[AC.TRANSIT_R, 0, c] < target[c]
        on = calm and ac[AC.PRICE, 0, c] <= wc[WC.R_BUY_CEILING_USD, c] and below and wc[WC.BUY_MAX_RESERVE, c] > 0
        changed[i] = on != buy_on[c]
        buy_on[c] = on
        triggered[c] = False
        if flags[FLAG.PARTIES]:
            p_calm[c] = calm
    any_on = False
    for c in range(target.shape[0]):
        any_on = any_on or buy_on[c]
        if flags[FLAG.PARTIES]:
            p_target[c] = target[c] if cb[CB.HAS_RESERVE, c] else 0.0
    flags[FLAG.BUYING] = any_on


@njit(**JIT)
def set_drawdown(c1, ac, capacity, drawdown_days, release_max_tpd):
    """Room below the targets and drawdown capacity after reviews (``Engine._set_drawdown``), in place."""
    target, room_cap, drawdown = c1[C1.TARGET], c1[C1.R_ROOM_CAP], ac[AC.DRAWDOWN]
    for c in range(target.shape[0]):
        room_cap[c] = min(target[c], capacity[c])
        from_target = math.inf if math.isinf(drawdown_days[c]) else target[c] / drawdown_days[c]
        for a in range(drawdown.shape[0]):
            fixed = release_max_tpd[a, c]
            drawdown[a, c] = from_target if math.isnan(fixed) else fixed


@njit(**JIT)
def triggers(t, x, want_m, gap, price, eligible, is_shortfall, is_price, trigger_price_usd, is_cover,
             trigger_cover, de_tot, fired):
    """Step 6: where the reserve's release trigger holds today [A, C] (written into ``fired``)."""
    A, C, M = x.shape
    anyf = False
    for a in range(A):
        for c in range(C):
            g = 0.0
            after = 0.0
            for m in range(M):
                if eligible[c, m]:
                    g += gap[a, c, m]
                after += max(x[a, c, m] - want_m[a, c, m], 0.0)
            f = is_shortfall[c] and g > 1e-9
            f = f or (is_price[c] and price[a, c] >= trigger_price_usd[c])
            f = f or (is_cover[c] and after < trigger_cover[c] * de_tot[t, c])
            fired[a, c] = f
            anyf = anyf or f
    return anyf


@njit(**JIT)
def decide_draws(ac, acm, c1, wc, flags, cb, p_ck, fired):
    """The parties' draw decision while the trigger holds (as the step-by-step day's ``ReserveStep._draw``, no allies).

    Manufacturers ask for their gap (and, with an early trigger, the refill of their safety stock)
    times the release offset; the vehicle can release its stock above the floor, at most its
    drawdown capacity. The draws are written into ``p_ck[CK.D]``.

    Returns:
        Whether anyone draws or buys anything.

    """
    need, can, room = p_ck[CK.NEED], c1[C1.CAN], c1[C1.ROOM]
    release_requests(0, acm, wc, flags, can, wc[WC.R_OFFSET, :0], need)  # (the one-call day has no allies)
    release_room(0, ac, c1, wc, can, room)
    drew = draw_tonnes(need, p_ck[CK.TRANSIT], fired, p_ck[CK.ENT], p_ck[CK.OUT_SWAP], p_ck[CK.PENDING],
                       p_ck[CK.ENTITLED, 0], cb[CB.MAJOR], can, room, flags[FLAG.FREE_STOCK_SALES], p_ck[CK.D])
    if not drew:  # what Parties.draw books on a day nothing is drawn
        for c in range(can.shape[0]):
            c1[C1.P_DRAWN_TODAY, c] = 0.0
    return drew


@njit(**JIT)
def take_draws(t, ac, c1, wc, flags, p_ck, p_hold, p_tonnes, p_pay, p_swap, value_in, p_ring):
    """Book the draws decided today and take them from the reserve arm (``Parties.book_decided``, ``_take_draws``).

    The same arithmetic in the same order as the Python: what entitled holders drew today, the draws into the
    parties' books (:func:`sim.kernels.party_kernels.book_draws`: pipelines, swaps or buy-backs, tonnes, the
    day's money by party in ``p_pay`` [3, parties] and new swaps in ``p_swap[1:]``), the reference value
    received added to ``value_in[t]``; then the tonnes released leave the reserve arm's stock for the
    manufacturers' pipeline. Python books the money and events after (``Parties.after_draws``).

    Returns:
        Whether any member drew a swap (Python starts its return process).

    """
    d, work, entitled = p_ck[CK.D], p_ck[CK.WORK], p_ck[CK.ENTITLED, 0]
    C, K = d.shape
    M = p_swap.shape[2]
    drawn_today = c1[C1.P_DRAWN_TODAY]
    for c in range(C):
        for k in range(K):
            work[c, k] = d[c, k] * entitled[k]
        drawn_today[c] = numpy_sum(work[c])
    for j in range(p_pay.shape[1]):
        p_pay[0, j] = 0.0
        p_pay[1, j] = 0.0
        p_pay[2, j] = 0.0
    any_swap = book_draws(t, d, p_hold[HOLD.LAG, :C], p_ring, p_ck[CK.TRANSIT], c1[C1.P_DRAWN], p_tonnes[0],
                          p_tonnes[1],
                          p_hold[HOLD.PARTY_OF, :K], p_hold[HOLD.IS_MEMBER, :K], p_hold[HOLD.IS_ALLY, :K], entitled,
                          flags[FLAG.SWAP], wc[WC.PREMIUM_SHARE, 0], p_ck[CK.OUT_SWAP], p_swap[0], p_ck[CK.PENDING],
                          wc[WC.LOCKED_PRICE_USD], ac[AC.PRICE, 0], wc[WC.REF_PRICE], p_pay[0], p_pay[1], p_pay[2],
                          p_swap[1], p_swap[2])
    for j in range(p_pay.shape[1]):
        value_in[t, j] += p_pay[0, j]
    flags[FLAG.PENDING_ON] = True  # draws await buy-back or return (Parties.state)
    flags[FLAG.OUTSTANDING] = True
    flags[FLAG.DELIVERIES] = True  # draws with no lag reach their holders today
    for c in range(C):
        to_makers = numpy_sum(d[c, :M])
        released = to_makers + numpy_sum(d[c, M:])
        ac[AC.RELEASES, 0, c] = released
        ac[AC.RSTOCK, 0, c] -= released
        ac[AC.TRANSIT_REL, 0, c] += to_makers
    return any_swap


@njit(**JIT)
def market_day(t, ac, acm, as_, c1, s1, cm, wc, flags, cb, sb, si, hs, hc, hcm, p_cut_value, storage_fn, claim_classes,
               ring, p_ck, fired, money, fac, flows, draws_out, p_loss, p_value, p_entitled, p_ring, p_hold, p_tonnes,
               p_pay, p_swap, value_in, rec):
    """Steps 1-5 and the start of step 6 in one call; on a quiet day, the whole day.

    The same as :func:`supply_and_demand`; the funds cap (the reserve orders only what its cash and
    loans can pay for); :func:`clear_and_ship`; the payment for today's purchases
    (:func:`sim.kernels.finance_kernel.pay_purchases` on the finance's ``money``, ``fac``, the ledger's
    ``flows`` and ``draws_out``); and, if a reserve holds anything (flag FLAG.RESERVE),
    :func:`triggers`, with parties (flag FLAG.PARTIES) their morning and, where the trigger holds, their
    draw decision (:func:`decide_draws`, on the parties' ``p_ck`` pack, CK). If then nothing
    is left for Python before consumption (flag FLAG.WHOLE_DAY: parties, no project companies; and
    no major disruption declared or ended today), it books the day's draws (:func:`take_draws`, on
    the parties' ``p_hold``, ``p_tonnes``, ``p_pay``, ``p_swap`` and ``value_in``) and runs steps
    7-9 (:func:`sim.kernels.price_kernel.consume_and_price` with the parties' ``p_loss``,
    ``p_value``, ``p_entitled`` and ``p_ring``).

    Returns:
        (whether today's payment left draws or defaults for Python to book; whether the release
        trigger holds anywhere; whether a major disruption started or ended today; whether the
        parties draw anything; whether steps 7-9 ran (and so the draws were booked); the storage
        cost they accrued, USD; whether a member drew a swap).

    """
    now = t + 0.5
    funds = max(finance_funds(now, money, fac, fac[:, FAC.FOR_RESERVE]), 0.0) if flags[FLAG.BUYING] else 0.0
    cost = supply_and_demand(t, ac, acm, as_, c1, s1, cm, wc, flags, cb, sb, si, hs, hc, hcm, p_cut_value, storage_fn,
                             rec)
    if cost > funds:
        f = funds / cost
        for c in range(ac.shape[2]):
            ac[AC.WANT_R, 0, c] *= f
    paid = clear_and_ship(t, ac, acm, as_, wc, sb, si, claim_classes, ring, hs, hc, hcm, rec)
    to_book = False
    if paid > 0:
        to_book = pay_purchases(now, paid, money, fac, flows, draws_out)
    fired_any = False
    flipped = False
    drew = False
    if flags[FLAG.RESERVE]:
        fired_any = triggers(t, acm[ACM.X], acm[ACM.WANT_M], acm[ACM.GAP], ac[AC.PRICE], cm[CM.ELIGIBLE],
                             cb[CB.IS_SHORTFALL],
                             cb[CB.IS_PRICE], wc[WC.R_TRIGGER_PRICE_USD], cb[CB.IS_COVER], wc[WC.R_TRIGGER_COVER],
                             hc[DC.DE_TOT], fired)
        if flags[FLAG.PARTIES]:
            flipped = morning(ac[AC.ARR_R, 0], ac[AC.PRICE, 0], ac[AC.SUPPLY_LOST, 0], p_ck[CK.PENDING],
                              c1[C1.P_ARRIVALS],
                              cb[CB.MAJOR], cb[CB.FLIPPED], wc[WC.MAJOR_PRICE_USD], wc[WC.MAJOR_LOSS, 0],
                              cb[CB.HAS_RESERVE], flags[FLAG.PENDING_ON:FLAG.OUTSTANDING + 1])
        if fired_any:
            for c in range(ac.shape[2]):
                if fired[0, c]:
                    cb[CB.TRIGGERED, c] = True
            if flags[FLAG.PARTIES]:
                drew = decide_draws(ac, acm, c1, wc, flags, cb, p_ck, fired[0])
    if flags[FLAG.WHOLE_DAY] and not flipped:  # step 6 leaves Python only the draws' money and events
        for a in range(ac.shape[1]):
            for c in range(ac.shape[2]):
                ac[AC.RELEASES, a, c] = 0.0
                ac[AC.OTHER_REL, a, c] = 0.0
                ac[AC.DELIVERED_REL, a, c] = 0.0
        any_swap = False
        if drew:
            any_swap = take_draws(t, ac, c1, wc, flags, p_ck, p_hold, p_tonnes, p_pay, p_swap, value_in, p_ring)
        storage = consume_and_price(t, ac, acm, as_, c1, cm, wc, flags, hc, hcm, p_loss, p_value, p_ck, p_entitled,
                                    p_ring, rec)
        return to_book, fired_any, flipped, drew, True, storage, any_swap
    return to_book, fired_any, flipped, drew, False, 0.0, False
