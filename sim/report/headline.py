"""Which KPIs are shown where, with labels and scales: shared by the terminal, report and compare.

The three evaluation views are listed apart (:data:`VIEWS`) so every output shows them side
by side, each with the rate it discounts at.
"""

from __future__ import annotations

from sim.metrics.views import COMMODITY_KPIS

BN = 1e-9

#: Physical KPIs printed after a run: (KPI, label with unit, scale).
OUTCOMES = (
    ("counterfactual.total.shortfall_t", "shortfall without reserve, t", 1.0),
    ("reserve.total.shortfall_t", "shortfall with reserve, t", 1.0),
    ("difference.total.shortfall_avoided_t", "shortfall avoided, t", 1.0),
    ("reserve.total.fill_rate", "fill rate with reserve", 1.0),
    ("counterfactual.total.fill_rate", "fill rate without reserve", 1.0),
    ("reserve.total.peak_price_ratio", "peak price / reference, with reserve", 1.0),
)

#: The three views: (key, title, how it counts, rows of (KPI, label with unit, scale)).
VIEWS = (
    (
        "economic",
        "National economic view",
        "Real resource costs against the loss avoided, at the real discount rate (OMB A-94); interest, "
        "member fees, sales inside the bloc and guarantee calls are transfers and net out; the stock left "
        "at the horizon counts at its liquidation value.",
        (
            ("economic.loss_avoided_npv_usd", "loss avoided (NPV), USD bn", BN),
            ("economic.purchases_npv_usd", "purchases (NPV), USD bn", BN),
            ("economic.storage_npv_usd", "storage (NPV), USD bn", BN),
            ("economic.projects_npv_usd", "projects, net (NPV), USD bn", BN),
            ("economic.resource_cost_npv_usd", "resource cost (NPV), USD bn", BN),
            ("economic.terminal_value_usd", "terminal value at horizon, USD bn", BN),
            ("economic.terminal_value_npv_usd", "terminal value (NPV), USD bn", BN),
            ("economic.net_cost_npv_usd", "net cost (NPV), USD bn", BN),
            ("economic.net_benefit_npv_usd", "net benefit (NPV), USD bn", BN),
            ("economic.benefit_cost_ratio", "benefit-cost ratio (ratio of means)", 1.0),
            ("economic.discount_rate_per_year", "real discount rate, per year", 1.0),
        ),
    ),
    (
        "programme",
        "Programme view (the vehicle)",
        "The vehicle's cash and debt at its loan rate: debt service coverage, defaults, what it owes at the "
        "horizon (a bullet due later included) and the net cost to its owners.",
        (
            ("programme.net_cost_npv_usd", "net cost to owners (NPV at loan rate), USD bn", BN),
            ("finance.interest_paid_usd", "interest paid, USD bn", BN),
            ("programme.min_dscr", "lowest yearly debt service coverage", 1.0),
            ("finance.defaults", "payment defaults", 1.0),
            ("programme.liabilities_at_horizon_usd", "liabilities at horizon, USD bn", BN),
            ("programme.principal_after_horizon_usd", "principal due after horizon, USD bn", BN),
            ("finance.end_cash_usd", "cash at horizon, USD bn", BN),
            ("programme.asset_cover_at_horizon", "(cash + terminal value) / liabilities", 1.0),
            ("programme.guarantee_calls_usd", "project guarantees paid, USD bn", BN),
            ("programme.loan_rate_per_year", "loan rate, per year", 1.0),
        ),
    ),
    (
        "budget",
        "Federal budget view (FCRA)",
        "Subsidy cost of the federal loans: present value at the Treasury rate of disbursements less "
        "expected receipts (defaults, recoveries and payments due after the horizon included).",
        (
            ("budget.disbursements_usd", "disbursed, USD bn", BN),
            ("budget.subsidy_cost_usd", "subsidy cost, USD bn", BN),
            ("budget.subsidy_rate", "subsidy rate (ratio of means)", 1.0),
            ("budget.programme_subsidy_cost_usd", "of which the programme's loan, USD bn", BN),
            ("budget.projects_subsidy_cost_usd", "of which project loans, USD bn", BN),
            ("budget.expected_loss_after_horizon_usd", "expected loss after horizon, USD bn", BN),
            ("budget.treasury_rate_per_year", "Treasury rate, per year", 1.0),
        ),
    ),
)

#: KPIs printed after a run and shown first in reports and comparisons.
HEADLINE = OUTCOMES + tuple(row for _, _, _, rows in VIEWS for row in rows if "rate_per_year" not in row[0])

#: Per-commodity economic columns: (KPI suffix, label).
COMMODITY_COLUMNS = tuple(
    zip(
        COMMODITY_KPIS,
        ("resource cost", "terminal value", "net cost", "loss avoided", "net benefit"),
    )
)


def commodity_kpi(commodity: str, suffix: str) -> str:
    """Key of a per-commodity economic KPI."""
    return f"economic.{commodity}.{suffix}"
