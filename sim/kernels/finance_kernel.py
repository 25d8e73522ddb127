"""Every payment of the reserve programme: funds, loan draws, spending, interest and fees accruing.

The one statement of the programme's money rules. The compiled day pays for each day's purchases
here (:func:`pay_purchases`, from :func:`sim.kernels.day_kernel.market_day`); every other payment
(storage, fees, guarantee calls, purchases on the step-by-step day) goes through the same
:func:`spend` and :func:`draw` from :class:`sim.model.finance.Finance`, which books what only Python
keeps (the loans' books, the event log). Which facilities a payment may draw on is an
``eligible`` mask [facility] (1.0 where a facility may lend for the payment's purpose).

The finance's state is shared with Python: ``money`` (MONEY: cash and the settings the payment
needs), ``fac`` [facility, FAC] (one row per programme facility) and the ledger's ``flows``
[day, line]. Draws made here are reported in ``draws_out`` [draw, 2] (facility row, USD)
for Python to write into the loans' books, and unpaid amounts in ``money`` for it to log.
"""

from __future__ import annotations

from numba import njit

from sim.core.ledger import LINES
from sim.kernels.jit import JIT
from sim.kernels.layout import FAC, MONEY

COL_DRAWS = LINES.index("draws_usd")
COL_PURCHASES = LINES.index("purchases_usd")
COL_PROCUREMENT_FEES = LINES.index("procurement_fees_usd")
COL_DEFAULTS = LINES.index("defaults_usd")
#: Less than this left unpaid is rounding, not a default, USD.
UNPAID_USD = 1e-6


@njit(**JIT)
def funds(now, money, fac, eligible):
    """Cash plus what the ``eligible`` facilities may still lend today."""
    room = 0.0
    for i in range(fac.shape[0]):
        if eligible[i] > 0.0 and fac[i, FAC.CLOSE] <= now < fac[i, FAC.DRAW_END]:
            room += max(0.0, fac[i, FAC.COMMITMENT] - fac[i, FAC.DRAWN])
    return money[MONEY.CASH] + room


@njit(**JIT)
def accrue(row, now):
    """Accrue a facility's interest and commitment fee up to ``now``, on its ``row`` (FAC columns), in place."""
    t_last = row[FAC.T_LAST]
    dt = now - t_last
    if dt > 0:
        balance = row[FAC.BALANCE]
        if balance > 0:
            row[FAC.ACCRUED_INTEREST] += balance * row[FAC.RATE] * dt / 365.0
        if row[FAC.FEE_SHARE] > 0 and t_last < row[FAC.AVAIL_END]:
            span = min(now, row[FAC.AVAIL_END]) - max(t_last, row[FAC.CLOSE])
            if span > 0:
                undrawn = max(0.0, row[FAC.COMMITMENT] - row[FAC.DRAWN])
                row[FAC.ACCRUED_FEE] += undrawn * row[FAC.FEE_SHARE] * span / 365.0
        row[FAC.T_LAST] = now


@njit(**JIT)
def draw(now, day, amount, money, fac, flows, draws_out, eligible):
    """Draw up to ``amount`` on the ``eligible`` facilities in order; returns what was drawn.

    Each draw is reported in ``draws_out`` (facility row, USD; ``MONEY.N_DRAWS`` counts them).
    """
    got = 0.0
    for i in range(fac.shape[0]):
        if eligible[i] == 0.0:
            continue
        if got >= amount:
            break
        if not fac[i, FAC.CLOSE] <= now < fac[i, FAC.DRAW_END]:
            continue
        take = min(amount - got, max(0.0, fac[i, FAC.COMMITMENT] - fac[i, FAC.DRAWN]))
        if take <= 0:
            continue
        accrue(fac[i], now)
        fac[i, FAC.BALANCE] += take
        fac[i, FAC.DRAWN] += take
        money[MONEY.CASH] += take
        flows[day, COL_DRAWS] += take
        n = int(money[MONEY.N_DRAWS])
        draws_out[n, 0] = i
        draws_out[n, 1] = take
        money[MONEY.N_DRAWS] = n + 1
        got += take
    return got


@njit(**JIT)
def spend(now, day, col, amount, money, fac, flows, draws_out, eligible, loan_share):
    """Pay ``amount`` on ledger line ``col`` from cash, drawing on loans; returns what was paid.

    A ``loan_share`` of every payment is drawn on the ``eligible`` facilities, and whatever cash
    cannot cover; what stays unpaid (more than a micro-dollar) is booked as a default.
    """
    if amount <= 0:
        return 0.0
    if loan_share > 0:
        draw(now, day, amount * loan_share, money, fac, flows, draws_out, eligible)
    cash = money[MONEY.CASH]
    if cash < amount:
        draw(now, day, amount - max(cash, 0.0), money, fac, flows, draws_out, eligible)
        cash = money[MONEY.CASH]
    paid = min(amount, max(cash, 0.0))
    money[MONEY.CASH] = cash - paid
    if paid != 0.0:
        flows[day, col] += paid
    if paid < amount - UNPAID_USD:
        flows[day, COL_DEFAULTS] += amount - paid
    return paid


@njit(**JIT)
def unpaid(amount, paid):
    """What :func:`spend` left unpaid and booked as a default (0 within a micro-dollar)."""
    return amount - paid if paid < amount - UNPAID_USD else 0.0


@njit(**JIT)
def pay_purchases(now, cost, money, fac, flows, draws_out):
    """Pay for a day's purchases: the traders' fee, the purchase, the parties' fee (in that order).

    Only facilities that lend for the reserve are drawn on.

    Returns:
        Whether anything was drawn or left unpaid (then ``Finance.after_compiled_payment`` books it).

    """
    day = min(int(now), flows.shape[0] - 1)
    eligible = fac[:, FAC.FOR_RESERVE]
    loan_share = money[MONEY.LOAN_SHARE]
    money[MONEY.N_DRAWS] = 0.0
    money[MONEY.UNPAID_FEE] = 0.0
    money[MONEY.UNPAID_PARTIES_FEE] = 0.0
    if money[MONEY.FEE_SHARE] > 0:
        fee = cost * money[MONEY.FEE_SHARE]
        paid = spend(now, day, COL_PROCUREMENT_FEES, fee, money, fac, flows, draws_out, eligible, loan_share)
        money[MONEY.UNPAID_FEE] = unpaid(fee, paid)
    paid = spend(now, day, COL_PURCHASES, cost, money, fac, flows, draws_out, eligible, loan_share)
    money[MONEY.UNPAID_PURCHASE] = unpaid(cost, paid)
    if money[MONEY.PARTIES_FEE_SHARE] > 0:
        fee = cost * money[MONEY.PARTIES_FEE_SHARE]
        paid = spend(now, day, COL_PROCUREMENT_FEES, fee, money, fac, flows, draws_out, eligible, loan_share)
        money[MONEY.UNPAID_PARTIES_FEE] = unpaid(fee, paid)
    # whether Python has books to write: draws for the loans' books, unpaid amounts for the event log
    return money[MONEY.N_DRAWS] > 0 or money[MONEY.UNPAID_FEE] > 0 or money[MONEY.UNPAID_PURCHASE] > 0 or \
        money[MONEY.UNPAID_PARTIES_FEE] > 0
