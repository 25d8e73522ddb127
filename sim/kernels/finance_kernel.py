"""The reserve's daily purchase payment, compiled (the engine's one-call market day makes it).

While the reserve buys, it pays for its purchases every day: the traders' fee, the purchase
itself and (with parties) the parties' procurement fee, each drawn partly on its loans. In
Python that was a dozen calls a day; here it is part of the compiled day
(:func:`sim.kernels.day_kernel.market_day`). The arithmetic, and its order, is that of
:meth:`sim.model.finance.Finance.spend` and ``draw``, which stay the readable statement (and
serve every other payment); ``tests/test_compiled_day.py`` holds the two to the same bits.
Interest and fees accrue by one function, :func:`accrue`, for both.

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


@njit(**JIT)
def funds(now, money, fac):
    """Cash plus what the reserve's facilities may still lend today (``Finance.funds(now, "reserve")``)."""
    room = 0.0
    for i in range(fac.shape[0]):
        if fac[i, FAC.FOR_RESERVE] > 0.0 and fac[i, FAC.CLOSE] <= now < fac[i, FAC.DRAW_END]:
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
def draw(now, day, amount, money, fac, flows, draws_out):
    """Draw up to ``amount`` on the reserve's facilities in order (``Finance.draw``); returns what was drawn."""
    got = 0.0
    for i in range(fac.shape[0]):
        if fac[i, FAC.FOR_RESERVE] == 0.0:
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
def spend(now, day, col, amount, money, fac, flows, draws_out):
    """Pay ``amount`` on ledger line ``col`` from cash, drawing on loans (``Finance.spend``); returns what is unpaid."""
    if amount <= 0:
        return 0.0
    if money[MONEY.LOAN_SHARE] > 0:
        draw(now, day, amount * money[MONEY.LOAN_SHARE], money, fac, flows, draws_out)
    cash = money[MONEY.CASH]
    if cash < amount:
        draw(now, day, amount - max(cash, 0.0), money, fac, flows, draws_out)
        cash = money[MONEY.CASH]
    paid = min(amount, max(cash, 0.0))
    money[MONEY.CASH] = cash - paid
    if paid != 0.0:
        flows[day, col] += paid
    if paid < amount - 1e-6:
        flows[day, COL_DEFAULTS] += amount - paid
        return amount - paid
    return 0.0


@njit(**JIT)
def pay_purchases(now, cost, money, fac, flows, draws_out):
    """Pay for a day's purchases: the traders' fee, the purchase, the parties' fee (in that order).

    Returns:
        Whether anything was drawn or left unpaid (then ``Finance.after_compiled_payment`` books it).

    """
    day = min(int(now), flows.shape[0] - 1)
    money[MONEY.N_DRAWS] = 0.0
    money[MONEY.UNPAID_FEE] = 0.0
    money[MONEY.UNPAID_PARTIES_FEE] = 0.0
    if money[MONEY.FEE_SHARE] > 0:
        money[MONEY.UNPAID_FEE] = spend(now, day, COL_PROCUREMENT_FEES, cost * money[MONEY.FEE_SHARE], money, fac,
                                        flows,
                                    draws_out)
    money[MONEY.UNPAID_PURCHASE] = spend(now, day, COL_PURCHASES, cost, money, fac, flows, draws_out)
    if money[MONEY.PARTIES_FEE_SHARE] > 0:
        money[MONEY.UNPAID_PARTIES_FEE] = spend(now, day, COL_PROCUREMENT_FEES, cost * money[MONEY.PARTIES_FEE_SHARE],
                                                money,
                                            fac, flows, draws_out)
    # whether Python has books to write: draws for the loans' books, unpaid amounts for the event log
    return money[MONEY.N_DRAWS] > 0 or money[MONEY.UNPAID_FEE] > 0 or money[MONEY.UNPAID_PURCHASE] > 0 or \
        money[MONEY.UNPAID_PARTIES_FEE] > 0
