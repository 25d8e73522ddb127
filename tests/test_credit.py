"""The federal budget view (FCRA subsidy cost) and project companies."""

from __future__ import annotations

import pytest

from sim import simulate
from sim.core.ledger import INFLOWS, OUTFLOWS
from tests.builders import scenario

COMMITMENT = 1e6


def treasury_loan(loan_rate: float, treasury: float, tenor: float, repayment: str = "level", **fin) -> dict:
    """No reserve: the programme draws one loan at close and holds the cash; equity pays the service."""
    return {
        "run": {"horizon_years": 3},
        "evaluation": {"treasury_rate_per_year": treasury},
        "financing": {
            "equity_usd": 2e6,
            "facilities": {"L": {"lender": "EXIM", "commitment_usd": COMMITMENT, "drawdown": "at_close",
                                 "interest_rate": loan_rate, "tenor_years": tenor, "repayment": repayment, **fin}},
        },
    }


@pytest.mark.parametrize(("tenor", "repayment"), [(2, "level"), (3, "linear"), (5, "bullet"), (10, "level")])
def test_a_loan_at_the_treasury_rate_that_is_repaid_has_no_subsidy_cost(tenor, repayment):
    """Repaid within the horizon or, with the vehicle able to pay, on schedule after it."""
    s = simulate(scenario(**treasury_loan(0.045, 0.045, tenor, repayment)), seed=1).summary
    assert s["finance.defaults"] == 0
    assert s["budget.disbursements_usd"] == pytest.approx(COMMITMENT)
    assert abs(s["budget.subsidy_cost_usd"]) < 1e-6 * COMMITMENT
    if tenor > 3:
        assert s["programme.principal_after_horizon_usd"] > 0  # the after-horizon schedule was counted


def test_a_loan_below_the_treasury_rate_is_subsidised_and_one_above_it_is_not():
    cheap = simulate(scenario(**treasury_loan(0.02, 0.045, 5, "bullet")), seed=1).summary
    dear = simulate(scenario(**treasury_loan(0.07, 0.045, 5, "bullet")), seed=1).summary
    assert cheap["budget.subsidy_cost_usd"] > 0.05 * COMMITMENT
    assert dear["budget.subsidy_cost_usd"] < -0.05 * COMMITMENT
    assert cheap["budget.subsidy_rate"] == pytest.approx(cheap["budget.subsidy_cost_usd"] / COMMITMENT, rel=1e-9)


def test_expected_defaults_after_the_horizon_cost_the_budget_less_what_is_recovered():
    """Cash covers only part of the bullet: the rest is expected to default, recovery_rate of it comes back."""
    def run(recovery: float) -> dict:
        over = treasury_loan(0.045, 0.045, 5, "bullet")
        over["financing"]["equity_usd"] = 0.0
        over["financing"]["facilities"]["L"]["upfront_fee_share"] = 0.5  # half the loan is gone at close
        over["evaluation"]["recovery_rate"] = recovery
        return simulate(scenario(**over), seed=1).summary

    none, half, full = run(0.0), run(0.5), run(1.0)
    assert none["programme.asset_cover_at_horizon"] < 1
    assert none["budget.subsidy_cost_usd"] > half["budget.subsidy_cost_usd"] > full["budget.subsidy_cost_usd"]
    assert none["budget.expected_loss_after_horizon_usd"] > 0 and full["budget.expected_loss_after_horizon_usd"] == 0
    assert half["budget.subsidy_cost_usd"] == pytest.approx(
        (none["budget.subsidy_cost_usd"] + full["budget.subsidy_cost_usd"]) / 2, rel=1e-9)


# ------------------------------------------------------------------ project companies

CAPEX = 1e5


def with_project(**project) -> dict:
    """A reserve financed by a loan, and a project financed by its own lender on a 'projects' facility."""
    spec = {"commodity": "ga", "country": "United States", "capacity_tpy": 365.0, "capex_usd": CAPEX,
            "facility": "P", "start": 0, "build_time_days": 100, "opex_usd_per_t": 100.0, "lead_time_days": 10,
            "guarantee_share": 1.0, **project}
    return {
        "run": {"horizon_years": 4},
        "suppliers": {"s1": {"capacity_tpy": 4015.0}},
        "reserve": {"ga": {"target_t": 100.0, "buy": {"max_rate_tpy": 3650.0}}},
        "projects": {"p": spec} if project is not None else {},
        "financing": {
            "equity_usd": 1e5,
            "loan_share_of_spend": 1.0,
            "facilities": {
                "L": {"lender": "EXIM", "purpose": "reserve", "commitment_usd": 1e6, "interest_rate": 0.05,
                      "tenor_years": 10, "repayment": "bullet"},
                "P": {"lender": "DFC", "purpose": "projects", "commitment_usd": 2 * CAPEX, "interest_rate": 0.05,
                      "tenor_years": 8, "repayment": "level"},
            },
        },
    }


def programme_money(r) -> object:
    return r.finance[[*INFLOWS, *OUTFLOWS, "cash_usd", "debt_usd"]]


def test_a_project_whose_revenue_covers_its_debt_service_never_draws_programme_cash():
    alone = simulate(scenario(**with_project()), seed=2)
    over = with_project()
    over["projects"] = {}
    without = simulate(scenario(**over), seed=2)
    s = alone.summary
    assert s["project.p.revenue_usd"] > 0 and s["project.p.min_dscr"] > 1
    assert s["project.p.defaulted"] == 0 and s["programme.guarantee_calls_usd"] == 0
    assert s["finance.capex_usd"] == 0
    assert programme_money(alone).equals(programme_money(without))
    assert s["budget.projects_subsidy_cost_usd"] < 0  # a 5% loan repaid: a budget gain at 4.45%


def test_a_failed_project_is_a_loan_loss_and_the_programme_pays_only_its_guarantee():
    r = simulate(scenario(**with_project(failure_probability=1.0, guarantee_share=0.4)), seed=2)
    s = r.summary
    loss = s["project.p.loan_loss_usd"]
    assert CAPEX < loss < CAPEX * 1.01  # the capex it borrowed plus interest while building
    assert s["finance.capex_usd"] == 0
    assert s["programme.guarantee_calls_usd"] == pytest.approx(0.4 * loss)
    assert s["budget.written_off_usd"] == pytest.approx(loss)
    assert (r.events.event == "project_default").sum() == 1
    # the economic view still counts the capex: the resources were used
    assert s["economic.projects_npv_usd"] == pytest.approx(CAPEX, rel=0.05)


def test_a_project_that_cannot_cover_its_debt_service_defaults_on_its_own_loan():
    r = simulate(scenario(**with_project(opex_usd_per_t=999.0, guarantee_share=0.0)), seed=2)
    s = r.summary
    assert s["project.p.defaulted"] == 1 and s["project.p.min_dscr"] < 1
    assert s["project.p.loan_loss_usd"] > 0
    assert s["programme.guarantee_calls_usd"] == 0 and s["finance.defaults"] == 0
    assert s["project.p.revenue_usd"] > 0  # the plant keeps producing after its owner's default


def test_a_project_must_borrow_on_a_projects_facility():
    from sim.scenario.loader import ScenarioError

    over = with_project()
    over["projects"]["p"]["facility"] = "L"
    with pytest.raises(ScenarioError, match="purpose 'projects'"):
        scenario(**over)
