"""The three evaluation views, terminal value, days of cover and per-commodity attribution."""

from __future__ import annotations

import numpy as np
import pytest

from sim import simulate
from sim.metrics.terminal import discount, liquidation_discount
from sim.scenario.schema import Evaluation
from tests.builders import merge, scenario

PRICE = 1000.0
STOCK_T = 100.0
HOLD_USD_PER_T_DAY = 0.5
#: Supply, t/yr: demand is 365, so the reserve can buy 10 t/day of spare supply.
CAPACITY_TPY = 4015.0


def stockpile(loan_rate: float, discount_rate: float, **over) -> dict:
    """The reserve buys STOCK_T early with a loan and holds it; the price never moves.

    Supply is eleven times demand, so the reserve buys spare supply and the price stays at
    the reference; buying is over within weeks, so nothing is in transit at the end.
    """
    base = {
        "run": {"horizon_years": 3},
        "evaluation": {"discount_rate_per_year": discount_rate, "liquidation_discount_max": 0.0},
        "commodities": {"ga": {"reference_price_usd_per_t": PRICE, "value_of_lost_output_usd_per_t": 10 * PRICE}},
        "suppliers": {"s1": {"capacity_tpy": CAPACITY_TPY}},
        "reserve": {"ga": {"target_t": STOCK_T, "buy": {"max_rate_tpy": 3650.0, "review_interval_days": 10},
                           "holding_cost_share_per_year": 0.0, "holding_cost_usd_per_t_day": HOLD_USD_PER_T_DAY}},
        "financing": {
            "equity_usd": 1e6,  # pays the interest; the purchases are all borrowed
            "loan_share_of_spend": 1.0,
            "facilities": {"L": {"lender": "EXIM", "purpose": "reserve", "commitment_usd": 1e6,
                                 "interest_rate": loan_rate, "tenor_years": 10, "repayment": "bullet"}},
        },
    }
    return merge(base, over)


def run(over: dict, seed: int = 1) -> dict:
    return simulate(scenario(**over), seed=seed).summary


# ------------------------------------------------------------------ national economic view


def test_stock_bought_with_a_free_loan_and_sold_at_the_same_price_costs_only_its_storage():
    """At r = 0 (loan and discount) the purchase comes back whole at the end: storage is the only cost."""
    s = run(stockpile(0.0, 0.0))
    assert s["reserve.ga.reserve_end_t"] == pytest.approx(STOCK_T)
    storage = STOCK_T * HOLD_USD_PER_T_DAY * 3 * 365
    assert s["economic.storage_npv_usd"] == pytest.approx(storage, rel=0.05)  # a few days filling up
    assert s["economic.net_cost_npv_usd"] == pytest.approx(s["economic.storage_npv_usd"], rel=1e-9)


@pytest.mark.parametrize("r", [0.03, 0.07])
def test_loan_interest_is_a_transfer_and_the_capital_cost_is_counted_once(r):
    """Bought with a loan at r, discounted at r, stock worth the same at the end.

    The net economic cost is storage plus the time value of the money tied up in the stock,
    purchases x (1 - discount factor at the horizon), which is what interest at r pays for: it
    does not depend on the loan's rate, and it is NOT storage alone unless r = 0 (the issue's
    wording): a non-yielding asset at a constant real price costs its carry. The old
    ``finance.net_cost_npv_usd`` counted the purchases AND the interest, so the capital twice.
    """
    at_r = run(stockpile(r, r))
    free = run(stockpile(0.0, r))
    dear = run(stockpile(2 * r, r))
    assert at_r["economic.net_cost_npv_usd"] == pytest.approx(free["economic.net_cost_npv_usd"], rel=1e-9)
    assert at_r["economic.net_cost_npv_usd"] == pytest.approx(dear["economic.net_cost_npv_usd"], rel=1e-9)
    carry = at_r["economic.purchases_npv_usd"] - at_r["economic.terminal_value_npv_usd"]
    assert carry == pytest.approx(STOCK_T * PRICE * (1 - float(discount(3 * 365, r))), rel=0.02)
    assert at_r["economic.net_cost_npv_usd"] == pytest.approx(at_r["economic.storage_npv_usd"] + carry, rel=1e-9)
    # the loan's interest roughly equals that carry; the old KPI adds it on top
    assert at_r["finance.interest_paid_usd"] > 0.5 * carry
    assert at_r["finance.net_cost_npv_usd"] > at_r["economic.net_cost_npv_usd"] + 0.4 * carry


def test_member_fees_and_interest_do_not_change_the_economic_view():
    base = run(stockpile(0.05, 0.07))
    fees = run(stockpile(0.05, 0.07, financing={"member_fees": {"upfront_usd": 5e5, "carrying_charge_share": 1.0}},
                         manufacturers={"m1": {"member": True}}))
    assert fees["finance.member_fees_usd"] > 0
    assert fees["economic.net_cost_npv_usd"] == pytest.approx(base["economic.net_cost_npv_usd"], rel=1e-12)
    assert fees["programme.net_cost_npv_usd"] < base["programme.net_cost_npv_usd"]  # the vehicle is better off


# ------------------------------------------------------------------ terminal value


def test_liquidation_discount_grows_with_stock_against_world_supply():
    ev = Evaluation(liquidation_discount_max=0.4, liquidation_half_supply_years=0.1)
    supply = np.array([1000.0, 1000.0, 1000.0, 0.0])
    d = liquidation_discount(np.array([0.0, 100.0, 1e9, 5.0]), supply, ev)
    assert d[0] == 0.0
    assert d[1] == pytest.approx(0.2)  # x = x_half: half of the largest discount
    assert d[2] == pytest.approx(0.4, rel=1e-6)
    assert d[3] == pytest.approx(0.4)  # no world supply at all: the largest discount


def test_terminal_value_is_the_stock_at_market_price_less_the_discount():
    over = stockpile(0.0, 0.07, evaluation={"liquidation_discount_max": 0.5, "liquidation_half_supply_years": 0.1})
    s = run(over)
    x = STOCK_T / CAPACITY_TPY  # one year of world supply = the supplier's capacity
    d = 0.5 * x / (x + 0.1)
    assert s["economic.ga.liquidation_discount"] == pytest.approx(d)
    assert s["economic.terminal_market_value_usd"] == pytest.approx(STOCK_T * PRICE)
    assert s["economic.terminal_value_usd"] == pytest.approx(STOCK_T * PRICE * (1 - d))


# ------------------------------------------------------------------ days of cover


def test_days_of_cover_measures_stock_against_the_days_demand():
    over = {"reserve": {"ga": {"initial_stock_t": 30.0, "target_t": 30.0}},
            "manufacturers": {"m1": {"demand_cv": 0.1}}, "suppliers": {"s1": {"capacity_tpy": 730.0}}}
    r = simulate(scenario(**over), seed=3)
    ts = r.timeseries[r.timeseries.arm == "reserve"]
    assert np.allclose(ts.days_of_cover, ts.reserve_stock_t / ts.demand_t)
    last = ts.iloc[-1]
    assert r.summary["reserve.ga.days_of_cover_end"] == pytest.approx(last.reserve_stock_t / last.demand_t)
    assert r.summary["reserve.ga.days_of_cover_end"] != pytest.approx(30.0)  # measured, not the target echoed
    assert r.summary["counterfactual.ga.days_of_cover_end"] == 0.0


# ------------------------------------------------------------------ per commodity


def test_a_commodity_no_shock_reaches_shows_no_benefit_and_its_full_carrying_cost():
    over = stockpile(0.05, 0.07)
    over["commodities"]["cu"] = {"reference_price_usd_per_t": 500.0, "value_of_lost_output_usd_per_t": 1500.0,
                                 "price_adjust_per_day": 0.0, "market_stock_days": 0.0}
    over["manufacturers"] = {"m1": {"critical_share": 1.0}}
    over["suppliers"]["cu1"] = {"commodity": "cu", "country": "B", "capacity_tpy": 730.0}
    over["manufacturers"] = {"m1": {"demand_tpy": {"ga": 365.0, "cu": 365.0}, "safety_stock_days": 0.0,
                                    "critical_share": 1.0}}
    over["reserve"]["cu"] = {"target_t": 50.0, "buy": {"max_rate_tpy": 3650.0}, "holding_cost_share_per_year": 0.02}
    over["shocks"] = {"ban": {"kind": "export_restriction", "country": "A", "commodities": ["ga"], "start": 200,
                              "duration_days": 200, "severity": 1.0}}
    s = run(over)
    assert s["economic.cu.loss_avoided_npv_usd"] == 0.0
    assert s["economic.cu.net_cost_npv_usd"] > 0
    assert s["economic.cu.net_benefit_npv_usd"] == pytest.approx(-s["economic.cu.net_cost_npv_usd"])
    assert s["economic.ga.loss_avoided_npv_usd"] > 0
    assert s["economic.ga.net_benefit_npv_usd"] > s["economic.cu.net_benefit_npv_usd"]
    for kpi in ("resource_cost_npv_usd", "net_cost_npv_usd", "loss_avoided_npv_usd", "net_benefit_npv_usd"):
        total = {"resource_cost_npv_usd": "economic.resource_cost_npv_usd"}.get(kpi, f"economic.{kpi}")
        assert s[f"economic.ga.{kpi}"] + s[f"economic.cu.{kpi}"] == pytest.approx(s[total], rel=1e-9, abs=1e-6)
