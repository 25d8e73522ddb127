"""Project companies: each supply project is its own firm with its own loan.

A project company draws its capex on its facility (purpose ``projects``) in monthly
instalments while it builds; whatever the facility cannot lend (commitment used up,
availability over) is the sponsor's equity. Interest is capitalised while the plant is
built, and until the first payment date a full period after completion (the usual
construction-to-term conversion); from then on the company pays interest and principal on
the facility's schedule out of its own cash: sales of its output at the market price less
opex. When its cash falls short of what is due, or the project fails, the company defaults:
the lender writes the loan off, the programme pays the guaranteed share of the loss (its only
exposure) and the lender expects to recover ``evaluation.recovery_rate`` of the rest. A plant
that was built keeps producing after a default (under new owners); its output still counts.

The engine records each project's shipped tonnes and revenue per day in
:attr:`ProjectCompanies.output_t` and :attr:`ProjectCompanies.revenue_usd`; companies read
those days when they settle, never the current day, so the order of same-time events does
not matter.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np
import simpy

from sim.core.ledger import Ledger, LoanBook, ProjectBook
from sim.model.finance import Finance, payment_counts, schedule_after, scheduled_principal
from sim.model.world import World
from sim.scenario.schema import Project, Scenario

#: Days between capex instalments.
CAPEX_INSTALMENT_DAYS = 30.0
EventLog = Callable[[float, str, str, str, float], None]


class ProjectCompanies:
    """The project companies of one run and the daily output record the engine fills.

    Attributes:
        ids: project ids in world order.
        rows: their supplier rows in the world.
        commodity: their commodity indices.
        output_t: [H, P] tonnes each project shipped per day (reserve arm).
        revenue_usd: [H, P] those tonnes at the day's market price.

    """

    def __init__(self, scenario: Scenario, world: World, ledger: Ledger, finance: Finance, log: EventLog):
        self.scenario = scenario
        self.ledger = ledger
        self.finance = finance
        self.log = log
        self.horizon = world.horizon
        self.ids = list(world.project_rows)
        self.rows = np.array([world.project_rows[p] for p in self.ids], dtype=np.intp)
        self.commodity = world.sup_c[self.rows]
        self.output_t = np.zeros((world.horizon, len(self.ids)))
        self.revenue_usd = np.zeros((world.horizon, len(self.ids)))
        facilities = scenario.financing.facilities
        self.undrawn = {fid: f.commitment_usd for fid, f in facilities.items() if f.purpose == "projects"}
        self.companies: dict[str, ProjectCompany] = {}

    def open(self, env: simpy.Environment, pid: str) -> ProjectCompany:
        """Found the company of project ``pid`` and start servicing its loan."""
        company = ProjectCompany(self, pid, self.scenario.projects[pid], self.ids.index(pid))
        self.companies[pid] = company
        env.process(company.service(env))
        return company

    def close_books(self) -> None:
        """Settle every company at the horizon and add their lines to the ledger totals."""
        for company in self.companies.values():
            company.close_books()
        for book in self.ledger.projects.values():
            for line, name in (("project_capex_usd", "capex"), ("project_revenue_usd", "revenue"),
                               ("project_opex_usd", "opex"), ("project_debt_service_usd", "debt_service"),
                               ("project_loan_losses_usd", "loss")):
                self.ledger.column(line)[:] += book.lines[name]

    def residuals(self) -> tuple[float, float]:
        """Largest (cash, debt) imbalance of any company's accounts against its books."""
        cash = debt = 0.0
        for c in self.companies.values():
            cash = max(cash, abs(c.cash - c.cash_from_books()))
            debt = max(debt, abs(c.balance - c.debt_from_books()))
        return cash, debt


class ProjectCompany:
    """One project's firm: its cash, its loan and its books."""

    def __init__(self, owner: ProjectCompanies, pid: str, spec: Project, j: int):
        s = owner.scenario
        self.owner = owner
        self.pid = pid
        self.spec = spec
        self.j = j
        self.fac = s.financing.facilities[spec.facility]
        self.close = float(self.fac.close_day)
        self.period = 365.0 / self.fac.payments_per_year
        self.recovery = s.evaluation.recovery_rate
        self.book = ProjectBook(pid, int(owner.commodity[j]), spec.country == s.evaluation.bloc_country,
                                spec.in_counterfactual, owner.horizon)
        owner.ledger.projects[pid] = self.book
        self.loan = LoanBook(spec.facility, f"project:{pid}", self.fac.lender, self.fac.federal_credit,
                             self.fac.interest_rate, self.fac.payments_per_year)
        owner.ledger.loans[f"{spec.facility}:{pid}"] = self.loan
        self.balance = 0.0  # principal, capitalised interest included
        self.capitalised = 0.0
        self.accrued = 0.0
        self.t_last = 0.0
        self.cash = 0.0
        self.read_until = 0  # days before this one have been collected
        self.period_cash = 0.0  # operating cash flow since the last payment date
        self.first_service = math.inf

    # ------------------------------------------------------------------ helpers
    def _accrue(self, now: float) -> None:
        if now > self.t_last and self.balance > 0:
            self.accrued += self.balance * self.fac.interest_rate * (now - self.t_last) / 365.0
        self.t_last = max(self.t_last, now)

    def _collect(self, now: float) -> None:
        """Take in sales less opex of the days before the one containing ``now``."""
        a, b = self.read_until, min(int(now), self.owner.horizon)
        if b <= a:
            return
        out = self.owner.output_t[a:b, self.j]
        rev = self.owner.revenue_usd[a:b, self.j]
        opex = out * self.spec.opex_usd_per_t
        lines = self.book.lines
        lines["output_t"][a:b] += out
        lines["revenue"][a:b] += rev
        lines["opex"][a:b] += opex
        net = float(rev.sum() - opex.sum())
        self.read_until = b
        if self.loan.performing:
            self.cash += net
            self.period_cash += net

    def _can_draw(self, now: float) -> bool:
        end = self.close + min(self.fac.availability_years, self.fac.tenor_years) * 365.0
        return self.close <= now < end

    # ------------------------------------------------------------------ life cycle
    def spend_capex(self, now: float, amount: float) -> None:
        """Pay a capex instalment: from the loan while it lends, the rest from the sponsor."""
        if amount <= 0:
            return
        self._accrue(now)
        draw = 0.0
        if self.loan.performing and self._can_draw(now):
            draw = min(amount, self.owner.undrawn[self.spec.facility])
        if draw > 0:
            self.owner.undrawn[self.spec.facility] -= draw
            self.balance += draw
            self.loan.add(now, "draw", draw)
        self.book.book(now, "capex", amount)
        self.book.book(now, "sponsor", amount - draw)
        if self.book.status == "planned":
            self.book.status = "building"

    def build(self, env: simpy.Environment, end: float, rate_per_day: float) -> Iterator:
        """Spend capex at ``rate_per_day`` in monthly instalments until ``end``."""
        t = env.now
        while t < end:
            span = min(CAPEX_INSTALMENT_DAYS, end - t)
            self.spend_capex(env.now, rate_per_day * span)
            t += span
            yield env.timeout(t - env.now)

    def complete(self, now: float) -> None:
        """The plant produces from ``now``; debt service starts a full period later."""
        if self.book.status == "building" or self.book.status == "planned":
            self.book.status = "operating"
        self.first_service = now + self.period

    def fail(self, now: float) -> None:
        """The project will never produce: its company defaults on the whole loan."""
        self._accrue(now)
        if self.loan.performing and self.balance + self.accrued > 0:
            self._default(now, 0.0, "project failed")
        self.book.status = "failed"

    def service(self, env: simpy.Environment) -> Iterator:
        """Pay (or capitalise) interest and principal on the facility's payment dates."""
        n_total, _ = payment_counts(self.fac)
        horizon = float(self.owner.horizon)
        for k in range(1, n_total + 1):
            t = self.close + k * self.period
            if t >= horizon:
                return
            if t <= env.now:
                continue
            yield env.timeout(t - env.now)
            if not self.loan.performing:
                return
            self._accrue(t)
            self._collect(t)
            if self.book.status != "operating" or t < self.first_service:
                if k < n_total:
                    # construction: interest is added to the loan, no principal is due yet
                    self.balance += self.accrued
                    self.capitalised += self.accrued
                    self.accrued = 0.0
                    self.period_cash = 0.0
                    continue
            principal = scheduled_principal(self.fac, k, self.balance)
            due = self.accrued + principal
            if due <= 0:
                continue
            dscr = self.period_cash / due
            self.book.min_dscr = dscr if math.isnan(self.book.min_dscr) else min(self.book.min_dscr, dscr)
            self.period_cash = 0.0
            if self.cash + 1e-9 >= due:
                self.cash -= due
                self.loan.add(t, "interest", self.accrued)
                self.loan.add(t, "principal", principal)
                self.book.book(t, "debt_service", due)
                self.balance -= principal
                self.accrued = 0.0
            else:
                self._default(t, max(self.cash, 0.0), f"debt service short by {due - max(self.cash, 0.0):,.0f} USD")
                return

    def _default(self, now: float, paid: float, why: str) -> None:
        """Write the loan off after ``paid``; the programme pays its guarantee, the lender expects a recovery."""
        owed = self.balance + self.accrued
        to_interest = min(paid, self.accrued)
        self.loan.add(now, "interest", to_interest)
        self.loan.add(now, "principal", paid - to_interest)
        self.book.book(now, "debt_service", paid)
        self.cash -= paid
        loss = owed - paid
        self.loan.add(now, "loss", loss)
        self.book.book(now, "loss", loss)
        guaranteed = 0.0
        if self.spec.guarantee_share > 0 and loss > 0:
            call = self.spec.guarantee_share * loss
            guaranteed = self.owner.finance.spend(now, "guarantee_calls_usd", call, "reserve")
            self.loan.add(now, "guarantee", guaranteed)
            self.book.book(now, "guarantee", guaranteed)
        self.loan.add(now, "recovery", self.recovery * (loss - guaranteed))
        self.loan.performing = False
        self.balance = self.accrued = 0.0
        self.book.status = "defaulted"
        self.owner.log(now, "project_default", self.pid, why, loss)

    def close_books(self) -> None:
        """Collect the last days' sales and record what the loan still owes after the horizon."""
        horizon = float(self.owner.horizon)
        self._collect(horizon)
        if not self.loan.performing:
            return
        self._accrue(horizon)
        self.loan.principal_usd = self.balance
        self.loan.outstanding_usd = self.balance + self.accrued
        if self.loan.outstanding_usd > 0:
            self.loan.after_horizon = schedule_after(self.fac, self.close, horizon, self.balance, 0.0, self.accrued)

    # ------------------------------------------------------------------ checks
    def cash_from_books(self) -> float:
        """Cash implied by the books: operating cash flow while performing, less debt service."""
        lines = self.book.lines
        if self.loan.performing:
            return float(lines["revenue"].sum() - lines["opex"].sum() - lines["debt_service"].sum())
        return self.cash  # after a default the company's cash is no longer tracked

    def debt_from_books(self) -> float:
        """Principal implied by the loan book: draws and capitalised interest less repayments."""
        if not self.loan.performing:
            return 0.0
        return self.loan.total("draw") + self.capitalised - self.loan.total("principal")
