"""The arms' KPIs against their per-commodity definitions, on a run of the default scenario."""

from __future__ import annotations

import pytest

from sim import load_scenario
from sim.core.rng import Streams
from sim.engine.engine import Engine
from sim.metrics.kpis import LOSS_COMPONENTS, SHORTFALL_EPS_T, compute_kpis, discount_factors, longest_run
from sim.model.world import ARMS
from sim.simulation.simulate import build_world


@pytest.fixture(scope="module")
def ran():
    scenario = load_scenario(None)
    streams = Streams(7, 0)
    world = build_world(scenario, streams)
    eng = Engine(scenario, world, streams)
    eng.run()
    return scenario, world, eng


def test_arm_kpis_follow_their_definitions(ran):
    """Each arm's KPIs as the per-commodity formulas define them (counts and extremes exact, sums to 1e-12)."""
    scenario, w, eng = ran
    rate = scenario.evaluation.discount_rate_per_year
    got = compute_kpis(eng.rec, w, eng.ledger, rate, 0)
    rec, disc = eng.rec, discount_factors(w.horizon, rate)
    checked = 0
    for a, arm in enumerate(ARMS):
        short = rec["shortfall_t"][:, a, :]
        for c, cid in enumerate(w.commodity_ids):
            k = f"{arm}.{cid}."
            flags = short[:, c] > SHORTFALL_EPS_T
            assert got[k + "shortfall_days"] == int(flags.sum())
            assert got[k + "longest_shortfall_days"] == longest_run(flags)
            for name, key in (("demand_t", "demand_t"), ("shortfall_t", "shortfall_t"), ("loss_usd", "loss_usd"),
                              ("purchases_t", "reserve_purchases_t"), ("releases_t", "reserve_releases_t")):
                assert got[k + name] == pytest.approx(float(rec[key][:, a, c].sum()), rel=1e-12, abs=1e-9), k + name
            assert got[k + "loss_npv_usd"] == pytest.approx(float(rec["loss_usd"][:, a, c] @ disc), rel=1e-12)
            for part in LOSS_COMPONENTS:
                assert got[k + f"loss_{part}_npv_usd"] == pytest.approx(
                    float(rec[f"loss_{part}_usd"][:, a, c] @ disc), rel=1e-12, abs=1e-6)
            ratio = rec["price_usd_per_t"][:, a, c] / w.ref_price[c]
            assert got[k + "peak_price_ratio"] == float(ratio.max())
            assert got[k + "mean_price_ratio"] == pytest.approx(float(ratio.mean()), rel=1e-14)
            assert got[k + "reserve_end_t"] == float(rec["reserve_stock_t"][-1, a, c])
            day_demand = rec["demand_t"][-1, a, c]  # measured cover: the last day's stock in days of its demand
            cover = rec["reserve_stock_t"][-1, a, c] / day_demand if day_demand > 0 else 0.0
            assert got[k + "days_of_cover_end"] == float(cover)
            checked += 1
        any_short = (short > SHORTFALL_EPS_T).any(axis=1)
        assert got[f"{arm}.total.shortfall_days"] == int(any_short.sum())
        assert got[f"{arm}.total.longest_shortfall_days"] == longest_run(any_short)
    assert checked == 2 * len(w.commodity_ids)
    # the arms differ (the reserve acts), so an arm's KPIs were not read from the other arm
    assert got["reserve.total.loss_usd"] != got["counterfactual.total.loss_usd"]
