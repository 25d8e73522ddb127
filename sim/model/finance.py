"""Loans, cash and fees of the reserve programme.

Interest accrues continuously on the drawn balance at ``rate/365`` per day (Actual/365)
and is paid on the payment dates ``close + k * 365 / payments_per_year``; so over a full
period the interest is exactly ``balance * rate / payments_per_year`` and a level
(annuity) loan pays exactly the textbook annuity. A payment that cash cannot cover is
a recorded default: the unpaid part stays owed (arrears) and is asked for again at the
next payment date.

Facilities with purpose ``projects`` are not the programme's: project companies borrow on
them (:mod:`sim.model.projects`). Every loan keeps a :class:`~sim.core.ledger.LoanBook`
with its flows at their exact times and, after the run, what it still owes and when.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np
import simpy

from sim.core.ledger import LINES, Ledger, LoanBook
from sim.kernels import finance_kernel as fk
from sim.kernels.layout import FAC, MONEY
from sim.scenario.schema import Facility, Financing

EventLog = Callable[[float, str, str, str, float], None]


def payment_counts(spec: Facility) -> tuple[int, int]:
    """(number of payment dates over the tenor, number of them in the grace period)."""
    p = spec.payments_per_year
    return int(round(spec.tenor_years * p)), int(round(spec.grace_years * p))


def scheduled_principal(spec: Facility, k: int, performing: float) -> float:
    """Principal due on payment date ``k`` (1-based) of a loan with ``performing`` balance."""
    n_total, n_grace = payment_counts(spec)
    if k <= n_grace:
        return 0.0
    n_rem = n_total - k + 1
    if spec.repayment == "level":
        i = spec.interest_rate / spec.payments_per_year
        # expm1/log1p keep the annuity factor exact for tiny rates, where (1+i)^-n rounds to 1
        denom = -math.expm1(-n_rem * math.log1p(i))
        pmt = performing * i / denom if i > 0 and denom > 0 else performing / n_rem
        return pmt - performing * i
    if spec.repayment == "linear":
        return performing / n_rem
    return performing if k == n_total else 0.0


def schedule_after(
    spec: Facility, close: float, horizon: float, balance: float, principal_arrears: float, owed_now: float
) -> list[tuple[float, float]]:
    """Payments (time, USD) a loan would make after ``horizon`` if it paid in full.

    Args:
        spec: the loan's terms.
        close: day of financial close (payment dates count from it).
        horizon: end of the run, days.
        balance: principal outstanding at the horizon (arrears included).
        principal_arrears: part of ``balance`` already overdue.
        owed_now: interest and fees accrued or overdue at the horizon.

    """
    p = spec.payments_per_year
    n_total, _ = payment_counts(spec)
    period = 365.0 / p
    k0 = max(1, math.ceil((horizon - close) / period - 1e-9))
    out: list[tuple[float, float]] = []
    if k0 > n_total:
        owed = balance + owed_now
        return [(horizon, owed)] if owed > 0 else []
    performing = balance - principal_arrears
    for k in range(k0, n_total + 1):
        t = close + k * period
        principal = scheduled_principal(spec, k, performing)
        if k == k0:
            due = owed_now + balance * spec.interest_rate * (t - horizon) / 365.0 + principal + principal_arrears
            balance -= principal_arrears
        else:
            due = balance * spec.interest_rate / p + principal
        balance -= principal
        performing -= principal
        out.append((t, due))
    return out


def _state(col: int, doc: str) -> property:
    """A float field of a facility kept in its row of the finance's state array (the compiled payment reads it)."""

    def get(self: FacilityState) -> float:
        return float(self.row[col])

    def set_(self: FacilityState, value: float) -> None:
        self.row[col] = value

    return property(get, set_, doc=doc)


class FacilityState:
    """Running state of one loan facility.

    The balances live in ``row``, the facility's row of :attr:`Finance.fac` (columns ``FAC_*`` of
    :mod:`sim.kernels.finance_kernel`), so the engine's compiled day can pay for purchases.
    """

    balance = _state(FAC.BALANCE, "Principal outstanding, USD.")
    drawn = _state(FAC.DRAWN, "Drawn to date, USD.")
    accrued_interest = _state(FAC.ACCRUED_INTEREST, "Interest accrued since the last payment, USD.")
    accrued_fee = _state(FAC.ACCRUED_FEE, "Commitment fee accrued since the last payment, USD.")
    t_last = _state(FAC.T_LAST, "Time accrued to, days.")

    def __init__(self, fid: str, spec: Facility, row: np.ndarray, eligible_reserve: bool):
        self.fid = fid
        self.spec = spec
        self.row = row
        self.arrears = 0.0  # unpaid interest and fees, due at the next payment date
        self.principal_arrears = 0.0  # unpaid principal (part of balance), due at the next date
        self.book: LoanBook | None = None  # the loan's book on the ledger (set by Finance)
        self.close = float(spec.close_day)
        self.commitment = float(spec.commitment_usd)
        self._avail_end = self.close + spec.availability_years * 365.0
        self._draw_end = min(self._avail_end, self.close + spec.tenor_years * 365.0)
        row[FAC.T_LAST] = self.close
        row[FAC.CLOSE], row[FAC.DRAW_END], row[FAC.AVAIL_END] = self.close, self._draw_end, self._avail_end
        row[FAC.COMMITMENT], row[FAC.RATE] = self.commitment, spec.interest_rate
        row[FAC.FEE_SHARE] = spec.commitment_fee_share
        row[FAC.FOR_RESERVE] = eligible_reserve

    def available_until(self) -> float:
        return self._avail_end

    def can_draw(self, now: float) -> bool:
        return self.close <= now < self._draw_end

    def undrawn(self) -> float:
        return max(0.0, self.commitment - self.drawn)

    def accrue(self, now: float) -> None:
        """Accrue interest and the commitment fee up to ``now`` (:func:`sim.kernels.finance_kernel.accrue`)."""
        fk.accrue(self.row, float(now))


class Finance:
    """Cash and debt of the reserve programme; every movement is booked on the ledger."""

    def __init__(self, spec: Financing, ledger: Ledger, log: EventLog, n_members: int):
        self.spec = spec
        self.ledger = ledger
        self.log = log
        self.n_members = n_members
        # cash and the money settings the compiled purchase payment reads (MONEY_* of finance_kernel)
        self.money = np.zeros(len(MONEY))
        self.money[MONEY.FEE_SHARE] = spec.procurement_fee_share
        self.money[MONEY.LOAN_SHARE] = spec.loan_share_of_spend
        own = {fid: f for fid, f in spec.facilities.items() if f.purpose != "projects"}
        self.fac = np.zeros((len(own), len(FAC)))  # one row per facility (FAC_* of finance_kernel)
        self.facilities = {fid: FacilityState(fid, f, self.fac[i], f.purpose in ("reserve", "any"))
                           for i, (fid, f) in enumerate(own.items())}
        self._rows = list(self.facilities.values())
        # the compiled payment's draws (facility row, USD): three payments, two draws each, on every facility
        self.draws_out = np.zeros((6 * max(len(own), 1), 2))
        for fid, f in self.facilities.items():
            f.book = ledger.loans[fid] = LoanBook(
                fid, "programme", f.spec.lender, f.spec.federal_credit, f.spec.interest_rate, f.spec.payments_per_year
            )
        self._masks: dict[tuple[str, str | None], np.ndarray] = {}

    # ------------------------------------------------------------------ balances
    @property
    def cash(self) -> float:
        """Cash held, USD."""
        return float(self.money[MONEY.CASH])

    @cash.setter
    def cash(self, value: float) -> None:
        self.money[MONEY.CASH] = value

    @property
    def debt(self) -> float:
        """Principal outstanding over all facilities."""
        return sum(f.balance for f in self.facilities.values())

    def _eligible(self, purpose: str, only: str | None = None) -> np.ndarray:
        """Which facilities may lend for ``purpose`` (or only facility ``only``): 1.0 or 0.0 per row."""
        key = (purpose, only)
        mask = self._masks.get(key)
        if mask is None:
            mask = np.array([float(fid == only if only is not None else f.spec.purpose in (purpose, "any"))
                             for fid, f in self.facilities.items()])
            self._masks[key] = mask
        return mask

    def funds(self, now: float, purpose: str) -> float:
        """Cash plus what may still be drawn for ``purpose`` today."""
        return fk.funds(float(now), self.money, self.fac, self._eligible(purpose))

    # ------------------------------------------------------------------ movements
    def receive(self, now: float, line: str, amount: float) -> None:
        """Cash in (sales, fees from members, equity)."""
        self.cash += amount
        self.ledger.book(now, line, amount)

    def draw(self, now: float, amount: float, purpose: str, only: str | None = None) -> float:
        """Draw up to ``amount`` from eligible facilities (:func:`sim.kernels.finance_kernel.draw`); what was drawn."""
        self.money[MONEY.N_DRAWS] = 0.0
        got = fk.draw(float(now), self._day(now), float(amount), self.money, self.fac, self.ledger.flows,
                      self.draws_out, self._eligible(purpose, only))
        self._book_draws(now)
        return got

    def spend(self, now: float, line: str, amount: float, purpose: str, only: str | None = None) -> float:
        """Pay an expense from cash, drawing on loans when cash is short (:func:`sim.kernels.finance_kernel.spend`).

        The traders' fee rides on every purchase, paid like it, first; no loan share is drawn for
        loan fees. Returns what was paid; an unpaid remainder is booked and logged as a default.
        """
        if amount <= 0:
            return 0.0
        if line == "purchases_usd" and self.spec.procurement_fee_share > 0:
            self.spend(now, "procurement_fees_usd", amount * self.spec.procurement_fee_share, purpose, only)
        loan_share = self.spec.loan_share_of_spend if line != "fees_usd" else 0.0
        self.money[MONEY.N_DRAWS] = 0.0
        paid = fk.spend(float(now), self._day(now), LINES.index(line), float(amount), self.money, self.fac,
                        self.ledger.flows, self.draws_out, self._eligible(purpose, only), float(loan_share))
        self._book_draws(now)
        left = fk.unpaid(float(amount), paid)
        if left > 0:  # booked as a default by the kernel
            self.log(now, "default", "finance", f"{line} unpaid", left)
        return paid

    def _day(self, now: float) -> int:
        """The ledger's day of time ``now`` (the last day for anything after the horizon)."""
        return min(max(int(now), 0), self.ledger.horizon_days - 1)

    def _book_draws(self, now: float) -> None:
        """Write the draws a payment just made (``draws_out``) into the loans' books."""
        n_draws = int(self.money[MONEY.N_DRAWS])
        for i, take in self.draws_out[:n_draws].tolist():
            self._rows[int(i)].book.flows.append((float(now), "draw", take))

    def after_compiled_payment(self, now: float) -> None:
        """Write the draws of the engine's compiled purchase payment into the loans' books; log what went unpaid."""
        fee, purchase, parties_fee, n_draws = self.money[MONEY.UNPAID_FEE: MONEY.N_DRAWS + 1].tolist()
        if n_draws:
            for i, take in self.draws_out[: int(n_draws)].tolist():
                self._rows[int(i)].book.flows.append((now, "draw", take))
        if fee or purchase or parties_fee:  # booked as defaults by the kernel; logged here
            for amount, line in ((fee, "procurement_fees_usd"), (purchase, "purchases_usd"),
                                 (parties_fee, "procurement_fees_usd")):
                if amount > 0:
                    self.log(now, "default", "finance", f"{line} unpaid", amount)

    # ------------------------------------------------------------------ processes
    def start(self, env: simpy.Environment, horizon: float) -> None:
        """Register the finance processes on ``env``."""
        if self.spec.equity_usd > 0:
            self.receive(0.0, "equity_usd", self.spec.equity_usd)
        for f in self.facilities.values():
            env.process(self._facility(env, f, horizon))
        fees = self.spec.member_fees
        if self.n_members and (fees.upfront_usd or fees.annual_usd or fees.carrying_charge_share):
            env.process(self._member_fees(env, horizon))

    def _facility(self, env: simpy.Environment, f: FacilityState, horizon: float) -> Iterator:
        spec = f.spec
        if f.close >= horizon:
            return
        yield env.timeout(f.close - env.now)
        if spec.upfront_fee_share > 0:
            paid = self.spend(env.now, "fees_usd", spec.upfront_fee_share * spec.commitment_usd, "any")
            self.ledger.loans[f.fid].add(env.now, "fee", paid)
        if spec.drawdown == "at_close":
            self.draw(env.now, spec.commitment_usd, spec.purpose, only=f.fid)
        p = spec.payments_per_year
        n_total, _ = payment_counts(spec)
        for k in range(1, n_total + 1):
            t = f.close + k * 365.0 / p
            if t >= horizon:
                return
            yield env.timeout(t - env.now)
            f.accrue(env.now)
            # schedule principal on the performing balance; missed principal is carried as arrears
            principal = scheduled_principal(spec, k, f.balance - f.principal_arrears)
            self._pay_service(env.now, f, principal)

    def close_books(self, horizon: float) -> None:
        """Record in each loan book what is owed at the horizon and when it falls due after it."""
        for f in self.facilities.values():
            book = self.ledger.loans[f.fid]
            if f.close >= horizon:
                continue
            f.accrue(horizon)
            owed_now = f.accrued_interest + f.accrued_fee + f.arrears
            book.principal_usd = f.balance
            book.outstanding_usd = f.balance + owed_now
            book.after_horizon = schedule_after(f.spec, f.close, horizon, f.balance, f.principal_arrears, owed_now)

    def _pay_service(self, now: float, f: FacilityState, principal: float) -> None:
        """Pay fees, interest and principal due, oldest arrears included; record any shortfall."""
        fee = f.accrued_fee
        interest = f.accrued_interest
        f.accrued_fee = 0.0
        f.accrued_interest = 0.0
        self.ledger.book(now, "interest_accrued_usd", interest)
        carried = f.arrears + f.principal_arrears
        due_items = (
            ("fees_usd", fee),
            ("interest_usd", interest + f.arrears),
            ("principal_usd", principal + f.principal_arrears),
        )
        f.arrears = 0.0
        f.principal_arrears = 0.0
        self.ledger.book(now, "debt_service_due_usd", fee + interest + principal)
        book = self.ledger.loans[f.fid]
        unpaid = 0.0
        for line, due in due_items:
            paid = min(due, max(self.cash, 0.0))
            if paid > 0:
                self.cash -= paid
                self.ledger.book(now, line, paid)
                book.add(now, {"fees_usd": "fee", "interest_usd": "interest"}.get(line, "principal"), paid)
                if line == "principal_usd":
                    f.balance -= paid
            if line == "principal_usd":
                f.principal_arrears = due - paid  # still in the balance, due again next date
            else:
                f.arrears += due - paid
            unpaid += due - paid
        if unpaid > 1e-6:
            # book only what newly went unpaid; carried arrears were booked when first missed
            self.ledger.book(now, "defaults_usd", max(0.0, unpaid - carried))
            self.log(now, "default", "finance", f"loan {f.fid} payment short by {unpaid:,.0f} USD", unpaid)

    def _member_fees(self, env: simpy.Environment, horizon: float) -> Iterator:
        fees = self.spec.member_fees
        self.receive(env.now, "member_fees_usd", fees.upfront_usd * self.n_members)
        year = 1
        while year * 365 < horizon:
            yield env.timeout(year * 365 - env.now)
            lo, hi = (year - 1) * 365, year * 365
            carrying = 0.0
            if fees.carrying_charge_share:
                for line in ("interest_usd", "fees_usd", "storage_cost_usd"):
                    carrying += float(self.ledger.column(line)[lo:hi].sum())
            amount = fees.annual_usd * self.n_members + fees.carrying_charge_share * carrying
            self.receive(env.now, "member_fees_usd", amount)
            year += 1
