"""Analytic cases with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from sim import simulate
from tests.builders import scenario


@pytest.mark.parametrize(
    ("demand_tpd", "ban_days", "reserve_t", "lead"),
    [(1.0, 40, 25.0, 10), (2.0, 30, 100.0, 0), (3.0, 100, 150.0, 45), (0.5, 60, 30.0, 20)],
)
def test_ban_against_stock_gives_known_shortfall(demand_tpd, ban_days, reserve_t, lead):
    """One supplier, constant demand d, no manufacturer stock, a total ban of T days,
    reserve R with uncapped release: shortfall = max(0, d*T - R); without reserve d*T."""
    s = scenario(
        run={"horizon_years": 1},
        suppliers={"s1": {"capacity_tpy": demand_tpd * 365, "lead_time_days": lead}},
        manufacturers={"m1": {"demand_tpy": {"ga": demand_tpd * 365}}},
        shocks={
            "ban": {
                "kind": "export_restriction", "country": "A", "commodities": ["ga"],
                "start": 100, "duration_days": ban_days, "severity": 1.0,
            }
        },
        reserve={
            "ga": {
                "initial_stock_t": reserve_t, "target_t": reserve_t,
                "release": {"max_rate_tpy": None, "drawdown_days": None, "delivery_lag_days": 0,
                                "floor_share": 0.0, "allocation": "pro_rata"},
            }
        },
    )
    r = simulate(s, seed=1)
    expected = max(0.0, demand_tpd * ban_days - reserve_t)
    assert r.summary["reserve.ga.shortfall_t"] == pytest.approx(expected, abs=1e-6)
    assert r.summary["counterfactual.ga.shortfall_t"] == pytest.approx(demand_tpd * ban_days, abs=1e-6)
    assert r.summary["difference.ga.shortfall_avoided_t"] == pytest.approx(
        min(reserve_t, demand_tpd * ban_days), abs=1e-6
    )
    # shortfall starts only when the pipeline has drained
    ts = r.timeseries[r.timeseries.arm == "counterfactual"]
    first_short = int(ts.loc[ts.shortfall_t > 1e-9, "day"].min())
    assert first_short == 100 + lead


def test_capped_release_rate_limits_offset():
    """With release capped at c t/day against a gap of d t/day, shortfall = (d - c) * T."""
    s = scenario(
        shocks={"ban": {"kind": "export_restriction", "country": "A", "commodities": ["ga"],
                        "start": 50, "duration_days": 20, "severity": 1.0}},
        reserve={"ga": {"initial_stock_t": 1000.0, "target_t": 1000.0,
                        "release": {"max_rate_tpy": 0.25 * 365, "floor_share": 0.0,
                                    "delivery_lag_days": 0}}},
    )
    r = simulate(s, seed=1)
    assert r.summary["reserve.ga.shortfall_t"] == pytest.approx(0.75 * 20, abs=1e-6)


def test_floor_is_never_released():
    s = scenario(
        shocks={"ban": {"kind": "export_restriction", "country": "A", "commodities": ["ga"],
                        "start": 50, "duration_days": 100, "severity": 1.0}},
        reserve={"ga": {"initial_stock_t": 40.0, "target_t": 40.0,
                        "release": {"floor_share": 0.25, "drawdown_days": None, "delivery_lag_days": 0}}},
    )
    r = simulate(s, seed=1)
    stock = r.timeseries.query("arm == 'reserve'").reserve_stock_t
    assert stock.min() == pytest.approx(10.0)
    assert r.summary["reserve.ga.shortfall_t"] == pytest.approx(100 - 30, abs=1e-6)


def test_no_shocks_spare_capacity_no_shortfall_and_reserve_fills_at_buy_rate():
    """(a) With spare capacity and no shocks: no shortfall; the reserve buys at its max rate
    and reaches its target (target / rate) days after it starts, plus the lead time."""
    lead, target, rate_tpd = 10, 50.0, 0.5
    s = scenario(
        suppliers={"s1": {"capacity_tpy": 2.0 * 365, "lead_time_days": lead}},
        reserve={"ga": {"target_t": target, "buy": {"max_rate_tpy": rate_tpd * 365}}},
        financing={"equity_usd": 1e9},
    )
    r = simulate(s, seed=3)
    assert r.summary["reserve.total.shortfall_t"] == 0.0
    assert r.summary["counterfactual.total.shortfall_t"] == 0.0
    ts = r.timeseries.query("arm == 'reserve'")
    buys = ts.reserve_purchases_t.to_numpy()
    assert np.allclose(buys[: int(target / rate_tpd)], rate_tpd)
    assert buys.sum() == pytest.approx(target)
    reached = int(ts.loc[ts.reserve_stock_t >= target - 1e-9, "day"].min())
    assert reached == int(target / rate_tpd) - 1 + lead
    assert r.summary["reserve.ga.reserve_end_t"] == pytest.approx(target)


def test_purchases_need_money():
    """Without cash or loans the reserve cannot buy."""
    s = scenario(reserve={"ga": {"target_t": 50.0, "buy": {"max_rate_tpy": 365}}},
                 suppliers={"s1": {"capacity_tpy": 2 * 365}})
    assert simulate(s, seed=1).summary["reserve.ga.purchases_t"] == 0.0


def test_buy_only_spare_supply():
    """In 'spare' mode the reserve never takes supply manufacturers ordered."""
    s = scenario(
        suppliers={"s1": {"capacity_tpy": 1.2 * 365}},
        reserve={"ga": {"target_t": 1000.0, "buy": {"max_rate_tpy": 5 * 365, "mode": "spare"}}},
        financing={"equity_usd": 1e9},
    )
    r = simulate(s, seed=3)
    ts = r.timeseries.query("arm == 'reserve'")
    assert ts.reserve_purchases_t.max() == pytest.approx(0.2)
    assert r.summary["reserve.total.shortfall_t"] == 0.0


def _loan_scenario(repayment: str, rate: float, years: int, per_year: int, grace: float = 0.0):
    return scenario(
        run={"horizon_years": years + 0.2},
        financing={"equity_usd": 1e9, "facilities": {"L": {
            "lender": "EXIM", "commitment_usd": 1e9, "drawdown": "at_close", "interest_rate": rate,
            "tenor_years": years, "grace_years": grace, "payments_per_year": per_year,
            "repayment": repayment,
        }}},
    )


@pytest.mark.parametrize(("rate", "years", "per_year"), [(0.0503, 15, 2), (0.08, 5, 12), (0.03, 10, 4)])
def test_level_loan_total_interest_equals_annuity_formula(rate, years, per_year):
    """(c) A level-payment loan pays n * PMT - B in interest, PMT = B i / (1 - (1 + i)^-n)."""
    r = simulate(_loan_scenario("level", rate, years, per_year), seed=1)
    B, i, n = 1e9, rate / per_year, years * per_year
    pmt = B * i / (1 - (1 + i) ** -n)
    assert r.summary["finance.interest_paid_usd"] == pytest.approx(n * pmt - B, rel=1e-9)
    assert r.summary["finance.principal_paid_usd"] == pytest.approx(B, rel=1e-9)
    assert r.summary["finance.end_debt_usd"] == pytest.approx(0.0, abs=1e-3)
    assert r.summary["finance.defaults"] == 0


def test_linear_and_bullet_interest():
    B, rate, years, p = 1e9, 0.06, 6, 2
    i, n = rate / p, years * p
    lin = simulate(_loan_scenario("linear", rate, years, p), seed=1).summary
    bul = simulate(_loan_scenario("bullet", rate, years, p), seed=1).summary
    assert lin["finance.interest_paid_usd"] == pytest.approx(B * i * (n + 1) / 2, rel=1e-9)
    assert bul["finance.interest_paid_usd"] == pytest.approx(B * i * n, rel=1e-9)


def test_grace_period_is_interest_only():
    B, rate, years, p, grace = 1e9, 0.05, 10, 2, 3
    r = simulate(_loan_scenario("level", rate, years, p, grace), seed=1)
    fin = r.finance
    assert fin.loc[fin.day < grace * 365, "principal_usd"].sum() == 0.0
    i, n = rate / p, (years - grace) * p
    pmt = B * i / (1 - (1 + i) ** -n)
    assert r.summary["finance.interest_paid_usd"] == pytest.approx(B * i * grace * p + n * pmt - B, rel=1e-9)


def test_unmet_payment_is_recorded_default_not_crash():
    """A loan whose cash is spent elsewhere defaults on schedule and the run completes."""
    s = scenario(
        run={"horizon_years": 3},
        reserve={"ga": {"target_t": 1e6, "buy": {"max_rate_tpy": 1e6}}},
        suppliers={"s1": {"capacity_tpy": 1e5}},
        financing={"facilities": {"L": {
            "lender": "X", "commitment_usd": 2e8, "interest_rate": 0.1, "tenor_years": 2,
            "availability_years": 2, "payments_per_year": 2, "repayment": "level",
        }}},
    )
    r = simulate(s, seed=1)
    assert r.summary["finance.defaults"] >= 1
    assert (r.events.event == "default").sum() == r.summary["finance.defaults"]
    assert r.summary["finance.defaults_usd"] > 0


def test_defaults_count_each_missed_dollar_once():
    """A loan that is never serviced defaults on exactly its principal plus the interest accrued."""
    B = 2e8
    s = scenario(
        run={"horizon_years": 2.5},
        commodities={"ga": {"reference_price_usd_per_t": 1e7}},
        suppliers={"s1": {"capacity_tpy": 1e5}},
        reserve={"ga": {"target_t": 1e6, "buy": {"max_rate_tpy": 1e6}, "holding_cost_share_per_year": 0.0}},
        financing={"facilities": {"L": {
            "lender": "X", "commitment_usd": B, "drawdown": "at_close", "interest_rate": 0.08,
            "tenor_years": 2, "payments_per_year": 4, "repayment": "level",
        }}},
    )
    r = simulate(s, seed=1)
    assert r.summary["finance.interest_paid_usd"] == 0.0 and r.summary["finance.principal_paid_usd"] == 0.0
    accrued = r.finance.interest_accrued_usd.sum()
    assert r.summary["finance.defaults"] == 8
    assert r.summary["finance.defaults_usd"] == pytest.approx(B + accrued, rel=1e-9)


def test_growth_by_commodity_overrides_manufacturer_growth():
    s = scenario(
        run={"horizon_years": 2},
        commodities={"co": {"reference_price_usd_per_t": 10.0, "value_of_lost_output_usd_per_t": 1.0,
                            "price_adjust_per_day": 0.0}},
        suppliers={"s2": {"commodity": "co", "country": "A", "capacity_tpy": 1e4}},
        manufacturers={"m1": {"demand_tpy": {"ga": 365.0, "co": 365.0}, "growth_per_year": 0.0,
                              "growth_by_commodity": {"co": 0.5}}},
    )
    ts = simulate(s, seed=1).timeseries.query("arm == 'reserve'")
    last = ts[ts.day == 365]
    assert last.loc[last.commodity == "ga", "demand_t"].item() == pytest.approx(1.0)
    assert last.loc[last.commodity == "co", "demand_t"].item() == pytest.approx(1.5)


def test_loss_multiplier_makes_release_allocation_matter():
    """Two manufacturers short of the same tonnes; releasing to the high-loss member first
    avoids more loss than releasing pro rata."""
    base = dict(
        manufacturers={
            "m1": {"demand_tpy": {"ga": 365.0}, "member": True, "loss_multiplier": 3.0, "critical_share": 1.0},
            "m2": {"demand_tpy": {"ga": 365.0}, "member": False, "loss_multiplier": 1.0, "safety_stock_days": 0,
                   "critical_share": 1.0},
        },
        suppliers={"s1": {"capacity_tpy": 2 * 365.0}},
        shocks={"ban": {"kind": "export_restriction", "country": "A", "commodities": ["ga"],
                        "start": 50, "duration_days": 30, "severity": 1.0}},
    )
    out = {}
    for alloc in ("members_first", "pro_rata"):
        s = scenario(**base, reserve={"ga": {"initial_stock_t": 30.0, "target_t": 30.0,
                                             "release": {"floor_share": 0.0, "allocation": alloc,
                                                         "max_rate_tpy": 365.0, "delivery_lag_days": 0}}})
        out[alloc] = simulate(s, seed=1).summary
    # 60 t short without reserve: 30 t at x3 and 30 t at x1 loss
    assert out["pro_rata"]["counterfactual.ga.loss_usd"] == pytest.approx((30 * 3 + 30) * 1e4)
    assert out["pro_rata"]["reserve.ga.shortfall_t"] == pytest.approx(30.0)
    assert out["members_first"]["reserve.ga.shortfall_t"] == pytest.approx(30.0)
    assert out["members_first"]["reserve.ga.loss_usd"] == pytest.approx(30 * 1e4)
    assert out["pro_rata"]["reserve.ga.loss_usd"] == pytest.approx((15 * 3 + 15) * 1e4)


def test_price_trigger_also_releases_on_shortfall():
    """An early (price) trigger whose price threshold is never reached still covers a shortfall."""
    s = scenario(
        shocks={"ban": {"kind": "export_restriction", "country": "A", "commodities": ["ga"],
                        "start": 50, "duration_days": 20, "severity": 1.0}},
        reserve={"ga": {"initial_stock_t": 100.0, "target_t": 100.0,
                        "release": {"trigger": "price", "trigger_price_ratio": 1e6, "floor_share": 0.0,
                                    "drawdown_days": None, "delivery_lag_days": 0}}},
    )
    r = simulate(s, seed=1).summary
    assert r["counterfactual.ga.shortfall_t"] == pytest.approx(20.0)
    assert r["reserve.ga.shortfall_t"] == pytest.approx(0.0, abs=1e-9)
