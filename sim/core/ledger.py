"""Daily buckets of money flows, and the books of each loan and each project company.

The programme's cash lines (``INFLOWS``, ``OUTFLOWS``) add up to its cash balance; the
other lines are memoranda (accruals, defaults, debt service due) and the project companies'
totals, which are not programme cash. Loan books keep every flow of one loan at its exact
time (the budget view discounts them), project books keep a project company's daily lines
(the economic view attributes them to the project's commodity).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Finance lines, in USD. Inflows are positive for cash, outflows are recorded positive too.
INFLOWS = ("draws_usd", "equity_usd", "member_fees_usd", "sales_usd", "ally_payments_usd")
OUTFLOWS = (
    "purchases_usd",
    "procurement_fees_usd",
    "storage_cost_usd",
    "interest_usd",
    "principal_usd",
    "fees_usd",
    "capex_usd",
    "guarantee_calls_usd",
)
#: Memoranda of the programme: not cash movements.
OTHER = ("interest_accrued_usd", "defaults_usd", "debt_service_due_usd")
#: Totals over the project companies (their own money, not the programme's).
PROJECT_LINES = (
    "project_capex_usd",
    "project_revenue_usd",
    "project_opex_usd",
    "project_debt_service_usd",
    "project_loan_losses_usd",
)
LINES = INFLOWS + OUTFLOWS + OTHER + PROJECT_LINES

#: Kinds of flow in a loan book, seen from the lender.
LOAN_FLOWS = ("draw", "interest", "principal", "fee", "guarantee", "recovery", "loss")


@dataclass
class LoanBook:
    """Every flow of one loan at its exact time, and what is left of it at the horizon.

    Attributes:
        facility: facility id.
        borrower: ``programme`` or ``project:<id>``.
        lender: lender name.
        federal: counted in the federal budget view.
        rate: annual interest rate.
        payments_per_year: payment frequency (compounding of the rate).
        flows: (time in days, kind, USD) with kind in :data:`LOAN_FLOWS`; ``loss`` is written
            off, ``recovery`` the part of a loss the lender expects to get back.
        after_horizon: (time, USD) receipts scheduled after the horizon if paid in full.
        outstanding_usd: principal, arrears and accrued interest owed at the horizon.
        principal_usd: principal outstanding at the horizon.
        performing: False once the borrower has defaulted and the loan is written off.

    """

    facility: str
    borrower: str
    lender: str
    federal: bool
    rate: float
    payments_per_year: int
    flows: list[tuple[float, str, float]] = field(default_factory=list)
    after_horizon: list[tuple[float, float]] = field(default_factory=list)
    outstanding_usd: float = 0.0
    principal_usd: float = 0.0
    performing: bool = True

    def add(self, now: float, kind: str, amount: float) -> None:
        """Record a flow (ignored when zero)."""
        if amount != 0.0:
            self.flows.append((float(now), kind, float(amount)))

    def total(self, kind: str) -> float:
        """Sum of one kind of flow."""
        return float(sum(a for _, k, a in self.flows if k == kind))


@dataclass
class ProjectBook:
    """Daily lines of one project company, USD (output in tonnes).

    ``capex`` is the whole capital cost spent, whoever funded it; ``sponsor`` the part its
    loan did not fund. ``status`` is ``planned``, ``building``, ``operating``, ``failed`` or
    ``defaulted`` (written off; the plant, if built, keeps producing under new owners).
    """

    pid: str
    commodity: int
    domestic: bool
    in_counterfactual: bool
    horizon_days: int
    status: str = "planned"
    min_dscr: float = float("nan")
    lines: dict[str, np.ndarray] = field(default_factory=dict)

    NAMES = ("capex", "sponsor", "output_t", "revenue", "opex", "debt_service", "loss", "guarantee")

    def __post_init__(self) -> None:
        self.lines = {n: np.zeros(self.horizon_days) for n in self.NAMES}

    def book(self, now: float, line: str, amount: float) -> None:
        """Add ``amount`` to ``line`` on the day containing ``now``."""
        day = min(max(int(now), 0), self.horizon_days - 1)
        self.lines[line][day] += amount


class Ledger:
    """Money flows booked per day; balances are kept by the finance model, not here."""

    def __init__(self, horizon_days: int):
        self.horizon_days = horizon_days
        self.flows = np.zeros((horizon_days, len(LINES)))
        self._col = {name: i for i, name in enumerate(LINES)}
        self.loans: dict[str, LoanBook] = {}
        self.projects: dict[str, ProjectBook] = {}

    def book(self, now: float, line: str, amount: float) -> None:
        """Record ``amount`` USD on ``line`` on the day containing time ``now``."""
        if amount == 0.0:
            return
        day = int(now)
        if day >= self.horizon_days:
            day = self.horizon_days - 1
        self.flows[day, self._col[line]] += amount

    def column(self, line: str) -> np.ndarray:
        """Daily series of one line."""
        return self.flows[:, self._col[line]]

    def cash_series(self) -> np.ndarray:
        """End-of-day cash implied by the booked flows."""
        net = sum(self.column(c) for c in INFLOWS) - sum(self.column(c) for c in OUTFLOWS)
        return np.cumsum(net)

    def debt_series(self) -> np.ndarray:
        """End-of-day principal outstanding implied by the booked flows."""
        return np.cumsum(self.column("draws_usd") - self.column("principal_usd"))
