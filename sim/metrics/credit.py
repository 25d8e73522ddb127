"""The programme view (the vehicle's cash and debt) and the federal budget view (FCRA).

Programme view (``programme.*``), at the vehicle's own loan rate: debt service coverage per
loan year, the liabilities left at the horizon (principal not yet due, a bullet after the
horizon included, plus arrears and accrued interest), whether its cash and the stock's
terminal value cover them, and the net cost to its owners: the present value of the private
capital paid in less what is left for them at the horizon (cash + terminal value -
liabilities). Discounting at the loan rate makes the loan itself cost-neutral, so interest is
counted once, through the discount, not on top of the purchases it paid for.

Federal budget view (``budget.*``), in the manner of the Federal Credit Reform Act: for every
federal loan (``financing.facilities.*.federal_credit``), the subsidy cost is the present value
at the Treasury rate (bond-equivalent, semi-annual compounding) of the disbursements less the
expected receipts: interest, principal and fees paid, guarantee calls and expected recoveries
on defaults, and the payments still scheduled after the horizon. The programme's post-horizon
payments are expected in the share its cash and stock's terminal value cover; the rest
defaults and ``evaluation.recovery_rate`` of it is recovered. A performing project loan is
expected to be paid in full after the horizon. The model has no grants; a loan at the Treasury
rate that is repaid costs nothing.
"""

from __future__ import annotations

import math

import numpy as np

from sim.core.ledger import Ledger, LoanBook
from sim.metrics.terminal import daily_discount, discount
from sim.model.world import World
from sim.scenario.schema import Evaluation

#: Money ratios are undefined (NaN) below a micro-dollar of denominator: below it the ratio is rounding
#: and may overflow to infinity (hypothesis found denormal commitments and loan shares).
MICRO_USD = 1e-6

#: Loan-book flows the lender receives.
RECEIPTS = ("interest", "principal", "fee", "guarantee", "recovery")


def _programme_loans(ledger: Ledger) -> list[LoanBook]:
    return [b for b in ledger.loans.values() if b.borrower == "programme"]


def loan_rate(ledger: Ledger, fallback: float) -> tuple[float, float]:
    """(nominal rate, effective annual rate) of the programme's loans, weighted by drawn amount."""
    books = _programme_loans(ledger)
    if not books:
        return (math.nan, fallback)
    w = np.array([b.total("draw") for b in books])
    if w.sum() <= 0:
        w = np.ones(len(books))
    nominal = np.array([b.rate for b in books])
    eff = np.array([(1.0 + b.rate / b.payments_per_year) ** b.payments_per_year - 1.0 for b in books])
    return (float(w @ nominal / w.sum()), float(w @ eff / w.sum()))


def yearly_dscr(ledger: Ledger) -> np.ndarray:
    """Cash available for debt service / debt service due, per loan year (NaN when none is due).

    Cash available: sales + member fees - storage - procurement fees - guarantee calls; the
    stock's purchases are investment, paid for by the loans and private capital.
    """
    col = ledger.column
    cfads = (col("sales_usd") + col("member_fees_usd") - col("storage_cost_usd") - col("procurement_fees_usd")
             - col("guarantee_calls_usd"))
    due = col("debt_service_due_usd")
    H = ledger.horizon_days
    edges = np.arange(0, H, 365)
    cf_y = np.add.reduceat(cfads, edges)
    due_y = np.add.reduceat(due, edges)
    return np.divide(cf_y, due_y, out=np.full(len(edges), np.nan), where=due_y > MICRO_USD)


def programme_view(w: World, ledger: Ledger, ev: Evaluation, terminal_value: float) -> dict[str, float]:
    """``programme.*`` KPIs (see module docstring)."""
    nominal, eff = loan_rate(ledger, ev.discount_rate_per_year)
    H = w.horizon
    disc = daily_discount(H, eff)
    d_end = float(discount(H, eff))
    books = _programme_loans(ledger)
    liabilities = sum(b.outstanding_usd for b in books)
    principal = sum(b.principal_usd for b in books)
    end_cash = float(ledger.cash_series()[-1])
    residual = end_cash + terminal_value - liabilities
    dscr = yearly_dscr(ledger)
    k = "programme."
    return {
        k + "loan_rate_per_year": nominal,
        k + "min_dscr": float(np.nanmin(dscr)) if np.isfinite(dscr).any() else math.nan,
        k + "years_dscr_below_1": int(np.sum(dscr < 1.0)),
        k + "liabilities_at_horizon_usd": liabilities,
        k + "principal_after_horizon_usd": principal,
        k + "asset_cover_at_horizon": ((end_cash + terminal_value) / liabilities if liabilities > MICRO_USD
                                       else math.nan),
        k + "residual_value_usd": residual,
        k + "guarantee_calls_usd": float(ledger.column("guarantee_calls_usd").sum()),
        k + "net_cost_npv_usd": float(disc @ ledger.column("equity_usd") - d_end * residual),
    }


def _pv(book: LoanBook, kinds: tuple[str, ...], rate: float) -> float:
    t = np.array([f[0] for f in book.flows if f[1] in kinds])
    a = np.array([f[2] for f in book.flows if f[1] in kinds])
    return float(discount(t, rate, 2) @ a) if t.size else 0.0


def budget_view(w: World, ledger: Ledger, ev: Evaluation, terminal_value: float) -> dict[str, float]:
    """``budget.*`` KPIs: FCRA-style subsidy cost of the federal loans (see module docstring)."""
    y = ev.treasury_rate_per_year
    prog = _programme_loans(ledger)
    owed = sum(b.outstanding_usd for b in prog)
    assets = max(0.0, float(ledger.cash_series()[-1]) + terminal_value)
    cover = min(1.0, assets / owed) if owed > 0 else 1.0
    totals = {"programme": 0.0, "projects": 0.0}
    disbursed = disbursed_pv = written_off = shortfall = 0.0
    for b in ledger.loans.values():
        if not b.federal:
            continue
        draws_pv = _pv(b, ("draw",), y)
        receipts_pv = _pv(b, RECEIPTS, y)
        sched = np.array(b.after_horizon, dtype=float).reshape(-1, 2)
        sched_pv = float(discount(sched[:, 0], y, 2) @ sched[:, 1]) if sched.size else 0.0
        share = cover if b.borrower == "programme" else 1.0
        expected_pv = sched_pv * (share + (1.0 - share) * ev.recovery_rate)
        totals["programme" if b.borrower == "programme" else "projects"] += draws_pv - receipts_pv - expected_pv
        disbursed += b.total("draw")
        disbursed_pv += draws_pv
        written_off += b.total("loss")
        shortfall += float(sched[:, 1].sum()) * (1.0 - share) * (1.0 - ev.recovery_rate) if sched.size else 0.0
    subsidy = totals["programme"] + totals["projects"]
    k = "budget."
    return {
        k + "treasury_rate_per_year": y,
        k + "disbursements_usd": disbursed,
        k + "disbursements_pv_usd": disbursed_pv,
        k + "subsidy_cost_usd": subsidy,
        k + "subsidy_rate": subsidy / disbursed_pv if disbursed_pv > MICRO_USD else math.nan,
        k + "programme_subsidy_cost_usd": totals["programme"],
        k + "projects_subsidy_cost_usd": totals["projects"],
        k + "written_off_usd": written_off,
        k + "expected_loss_after_horizon_usd": shortfall,
    }


def project_kpis(ledger: Ledger) -> dict[str, float]:
    """``project.<id>.*``: each project company's sales, capex, coverage and default."""
    out: dict[str, float] = {}
    for pid, book in ledger.projects.items():
        loan = next((b for b in ledger.loans.values() if b.borrower == f"project:{pid}"), None)
        k = f"project.{pid}."
        out[k + "capex_usd"] = float(book.lines["capex"].sum())
        out[k + "revenue_usd"] = float(book.lines["revenue"].sum())
        out[k + "opex_usd"] = float(book.lines["opex"].sum())
        out[k + "min_dscr"] = book.min_dscr
        out[k + "defaulted"] = int(loan is not None and not loan.performing)
        out[k + "loan_loss_usd"] = float(book.lines["loss"].sum())
    return out
