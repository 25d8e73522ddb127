"""The world market against theory: welfare integrals, equilibrium prices,
rationing, targeted restrictions, the reserve as a buyer, and capped, lagged releases."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.optimize import brentq

from sim import simulate
from tests.builders import merge, scenario
from tests.oracles.welfare import deadweight_loss_usd, deadweight_share

SUPPLY_TPY = 3650.0  # world supply at day 0, t/yr (10 t/day)


def world(x_cut: float, e: float, es: float, bloc_share: float = 0.1, **over):
    """A balanced world of two producers (A has share x_cut of supply), a bloc buying ``bloc_share``
    and the rest of the world the rest, no noise and no stocks, fast price adjustment and supply response."""
    base = dict(
        run={"horizon_years": 4},
        commodities={"ga": {
            "demand_elasticity": e, "supply_elasticity": es, "supply_response_days": 20.0,
            "spare_capacity_share": 10.0, "price_adjust_per_day": 0.2, "price_cap_ratio": 50.0,
            "price_floor_ratio": 0.01, "market_stock_days": 0.0,
            "rest_of_world": {"demand_tpy": (1 - bloc_share) * SUPPLY_TPY},
        }},
        suppliers={
            "s1": {"country": "A", "capacity_tpy": x_cut * SUPPLY_TPY, "lead_time_days": 5},
            "s2": {"commodity": "ga", "country": "B", "capacity_tpy": (1 - x_cut) * SUPPLY_TPY, "lead_time_days": 5},
        },
        manufacturers={"m1": {"demand_tpy": {"ga": bloc_share * SUPPLY_TPY}, "safety_stock_days": 0.0}},
    )
    return scenario(**merge(base, over))


def ban(country="A", **kw):
    return {"ban": {"kind": "export_restriction", "country": country, "commodities": ["ga"], "start": 30,
                    "duration_days": 5000, "severity": 1.0, **kw}}


def final(ts, arm: str, col: str) -> float:
    return float(ts.loc[ts.arm == arm, col].iloc[-1])


@pytest.mark.parametrize(("e", "m"), [(0.2, 10.0), (0.5, 3.0), (1.0, 10.0), (2.0, 50.0)])
def test_surplus_integral_matches_its_closed_form(e, m):
    """Component (a) equals the numerical integral of (P(q) - p0) with P capped at the choke price."""
    q0, p0, k = 120.0, 800.0, 0.25
    for q1 in (0.0, 5.0, 40.0, 89.0, 119.0, 130.0):
        resp = (1 - k) * q0
        used = max(q1 - k * q0, 0.0)

        def inverse(q: float, resp: float = resp) -> float:
            return min(m * p0, p0 * (q / resp) ** (-1 / e)) - p0

        want = quad(inverse, min(used, resp), resp, points=[resp * m**-e], limit=200)[0] if used < resp else 0.0
        got = deadweight_loss_usd(np.array([[q1]]), np.array([[q0]]), np.array([[k]]), np.array([e]),
                                  np.array([p0]), np.array([m]))[0, 0]
        assert got == pytest.approx(want, rel=1e-9, abs=1e-9)
    assert deadweight_share(np.array(1.0), np.array(e), np.array(m)) == 0.0


@pytest.mark.parametrize(("x_cut", "e", "es"), [(0.2, 0.3, 0.0), (0.2, 0.3, 0.2), (0.4, 0.6, 0.1), (0.1, 0.15, 0.3)])
def test_permanent_cut_reaches_the_analytic_equilibrium_price(x_cut, e, es):
    """Cut a share x of world supply for good: demand x^-e = (1 - x) x^es, so x* = (1 - x)^(-1/(e + es))."""
    r = simulate(world(x_cut, e, es, shocks=ban()), seed=1)
    ratio = final(r.timeseries, "counterfactual", "price_usd_per_t") / 1000.0
    assert ratio == pytest.approx((1 - x_cut) ** (-1 / (e + es)), rel=0.01)


def test_rationed_shortfall_falls_as_demand_elasticity_rises():
    """Half of supply cut and the price at its choke level (3x): the more buyers respond to price, the
    less must be rationed (bloc and rest of world), down to none once 3^-e < 1/2."""
    short = []
    for e in (0.05, 0.2, 0.4, 1.0):
        s = world(0.5, e, 0.0, shocks=ban(), commodities={"ga": {"price_cap_ratio": 3.0}},
                  run={"horizon_years": 1})
        k = simulate(s, seed=1).summary
        short.append(k["counterfactual.ga.shortfall_t"] + k["counterfactual.ga.row_shortfall_t"])
    assert all(a > b for a, b in zip(short[:-1], short[1:-1])), short
    assert short[0] > 0 and short[-1] < 0.02 * short[0]


def test_targeted_ban_with_full_leakage_leaves_the_bloc_unchanged():
    calm = simulate(world(0.5, 0.3, 0.0), seed=1).timeseries
    leaky = simulate(world(0.5, 0.3, 0.0, shocks=ban(targets=["bloc"], leakage_share=1.0)), seed=1).timeseries
    np.testing.assert_array_equal(calm.delivered_t.to_numpy(), leaky.delivered_t.to_numpy())


def test_targeted_ban_reroutes_when_others_can_supply_the_bloc():
    """A ban on sales to the bloc only: the restricting country's material goes to other buyers and
    theirs to the bloc, so with enough supply elsewhere nothing changes; if the bloc cannot reach
    enough, it is short while the rest of the world is not."""
    calm = simulate(world(0.5, 0.3, 0.0), seed=1).summary
    rerouted = simulate(world(0.5, 0.3, 0.0, shocks=ban(targets=["bloc"])), seed=1).summary
    assert rerouted["counterfactual.ga.delivered_t"] == pytest.approx(calm["counterfactual.ga.delivered_t"], rel=1e-9)
    assert rerouted["counterfactual.ga.peak_price_ratio"] == pytest.approx(calm["counterfactual.ga.peak_price_ratio"])
    cornered = simulate(world(0.95, 0.3, 0.0, shocks=ban(targets=["bloc"])), seed=1).summary
    assert cornered["counterfactual.ga.shortfall_t"] > 0.3 * cornered["counterfactual.ga.demand_t"]
    assert cornered["counterfactual.ga.row_shortfall_t"] == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize(("b", "e", "es"), [(0.05, 0.3, 0.1), (0.1, 0.5, 0.3), (0.02, 0.2, 0.0)])
def test_reserve_buying_raises_the_price_by_the_analytic_amount(b, e, es):
    """A reserve buying a share b of world supply for good: x^-e + b = x^es at equilibrium."""
    # manufacturers hold stock, so the first days of competition leave no gap that would trigger releases
    s = world(0.5, e, es, reserve={"ga": {"target_t": 1e9, "buy": {
        "max_rate_tpy": b * SUPPLY_TPY, "mode": "compete", "price_ceiling_ratio": 100.0}}},
        financing={"equity_usd": 1e12}, manufacturers={"m1": {"safety_stock_days": 30.0}})
    ts = simulate(s, seed=1).timeseries
    want = brentq(lambda x: x**-e + b - x**es, 1.0, 100.0)
    assert final(ts, "reserve", "price_usd_per_t") / 1000.0 == pytest.approx(want, rel=0.02)
    assert final(ts, "counterfactual", "price_usd_per_t") / 1000.0 == pytest.approx(1.0, rel=1e-6)
    assert final(ts, "reserve", "reserve_purchases_t") == pytest.approx(b * SUPPLY_TPY / 365, rel=1e-6)


def test_releases_respect_drawdown_capacity_and_arrive_after_the_lag():
    lag, cap_tpy = 9, 365.0 * 0.3
    s = world(0.8, 0.3, 0.0, 1.0, shocks=ban(), run={"horizon_years": 1},
              manufacturers={"m1": {"safety_stock_days": 20.0}},
              reserve={"ga": {"initial_stock_t": 200.0, "target_t": 200.0,
                              "release": {"max_rate_tpy": cap_tpy, "delivery_lag_days": lag, "floor_share": 0.0,
                                          "trigger": "price", "trigger_price_ratio": 1.5}}})
    ts = simulate(s, seed=1).timeseries.query("arm == 'reserve'")
    rel, got = ts.reserve_releases_t.to_numpy(), ts.release_deliveries_t.to_numpy()
    assert rel.max() <= cap_tpy / 365 * (1 + 1e-12) and rel.sum() > 0
    np.testing.assert_allclose(got[lag:], rel[:-lag], atol=1e-12)
    assert got[:lag].sum() == 0.0


def test_drawdown_days_default_caps_releases_at_target_over_days():
    s = world(0.8, 0.3, 0.0, 1.0, shocks=ban(), run={"horizon_years": 1},
              manufacturers={"m1": {"safety_stock_days": 20.0}}, commodities={"ga": {"price_cap_ratio": 5.0}},
              reserve={"ga": {"initial_stock_t": 90.0, "target_t": 90.0,
                              "release": {"drawdown_days": 45.0, "delivery_lag_days": 0, "floor_share": 0.0,
                                          "trigger": "price", "trigger_price_ratio": 1.5}}})
    rel = simulate(s, seed=1).timeseries.query("arm == 'reserve'").reserve_releases_t
    assert rel.max() == pytest.approx(2.0)


def test_early_release_beats_late_release_when_drawdown_is_capped():
    """Releases capped at the bloc's daily use and delivered after 20 days: a price trigger starts
    releasing as soon as the price jumps, before manufacturers' stocks run out; the shortfall
    trigger starts only once they have, so it loses at least the lag's worth of use."""
    def run(trigger):
        s = world(0.8, 0.1, 0.0, 1.0, run={"horizon_years": 1}, shocks=ban(duration_days=120),
                  manufacturers={"m1": {"safety_stock_days": 20.0, "critical_share": 1.0}},
                  reserve={"ga": {"initial_stock_t": 150.0, "target_t": 150.0, "release": {
                      "trigger": trigger, "trigger_price_ratio": 1.5, "max_rate_tpy": 0.1 * SUPPLY_TPY,
                      "delivery_lag_days": 20, "floor_share": 0.0, "allocation": "pro_rata"}}})
        return simulate(s, seed=1).summary
    late, early = run("shortfall"), run("price")
    assert late["counterfactual.ga.shortfall_t"] > 0
    assert early["reserve.ga.shortfall_t"] < late["reserve.ga.shortfall_t"] - 10.0
    assert early["reserve.ga.loss_critical_npv_usd"] < late["reserve.ga.loss_critical_npv_usd"]
