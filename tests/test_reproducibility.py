"""Seeded runs are reproducible, pinned, and use common random numbers."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim import load_scenario, simulate
from sim.cli import main
from sim.kernels.layout import DCM

PINNED = Path(__file__).parent / "data" / "pinned.yaml"

# Seed 11 of tests/data/pinned.yaml. A change here means the model's arithmetic changed:
# update the pins only on purpose, and say why in the commit message.
PINS = {
    "reserve.total.shortfall_t": 0.0,
    "counterfactual.total.shortfall_t": 0.014587953667423235,
    "reserve.ga.peak_price_ratio": 9.929265729176981,
    "counterfactual.co.loss_usd": 170897430.3588826,
    "finance.interest_paid_usd": 1774387.0536966287,
    "finance.net_cost_npv_usd": -4241822.785970941,
    "finance.member_fees_usd": 4837065.33425856,
    "reserve.ga.releases_t": 0.32821935982717715,
    "reserve.co.purchases_t": 1000.0000000000018,
    "finance.capex_usd": 0.0,
    "finance.defaults": 0,
    "finance.defaults_usd": 0.0,
    "counterfactual.total.loss_surplus_npv_usd": 15614273.109166149,
    "counterfactual.total.loss_import_npv_usd": 155732323.85878417,
    "project.co_new.capex_usd": 300000000.0,
    "project.co_new.revenue_usd": 119754229.59688924,
    "project.co_new.min_dscr": 1.0059231742230887,
    "budget.subsidy_cost_usd": -2953493.4634313285,
    "economic.net_cost_npv_usd": 22652633.464662023,
    "programme.net_cost_npv_usd": 18278740.69897218,
}


@pytest.fixture(scope="module")
def pinned():
    return load_scenario(PINNED)


def test_pinned_seeded_output(pinned):
    s = simulate(pinned, seed=11).summary
    for key, value in PINS.items():
        assert s[key] == pytest.approx(value, rel=1e-9, abs=1e-9), key


def test_same_seed_identical_results(pinned):
    a, b = simulate(pinned, seed=5, replication=2), simulate(pinned, seed=5, replication=2)
    pd.testing.assert_frame_equal(a.timeseries, b.timeseries)
    pd.testing.assert_frame_equal(a.finance, b.finance)
    pd.testing.assert_frame_equal(a.events, b.events)
    assert {k: v for k, v in a.summary.items()} == pytest.approx(b.summary, nan_ok=True)


def test_replications_and_seeds_differ(pinned):
    r0 = simulate(pinned, seed=5, replication=0).summary
    r1 = simulate(pinned, seed=5, replication=1).summary
    r2 = simulate(pinned, seed=6, replication=0).summary
    key = "counterfactual.total.demand_t"
    assert len({r0[key], r1[key], r2[key]}) == 3


def test_arms_share_draws(pinned):
    """Counterfactual and reserve arm see the same demand draws and the same supply (no projects).

    Demand at the market price differs between arms (the reserve moves the price); the draws
    behind it, demand at the reference price, do not."""
    ts = simulate(pinned, seed=3).timeseries
    res = ts[ts.arm == "reserve"].reset_index(drop=True)
    cf = ts[ts.arm == "counterfactual"].reset_index(drop=True)
    np.testing.assert_array_equal(res.reference_demand_t.to_numpy(), cf.reference_demand_t.to_numpy())
    ga = res.commodity == "ga"
    np.testing.assert_array_equal(res.capacity_t[ga].to_numpy(), cf.capacity_t[ga].to_numpy())


def test_adding_a_shock_does_not_shift_other_streams(pinned):
    """Named streams: a new stochastic source leaves the other sources' draws alone."""
    extra = load_scenario(PINNED, [
        "shocks.port.severity=0",
    ])
    a = simulate(pinned, seed=4).timeseries
    b = simulate(extra, seed=4).timeseries
    np.testing.assert_array_equal(a.reference_demand_t.to_numpy(), b.reference_demand_t.to_numpy())


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_cli_same_seed_same_bytes(tmp_path):
    outs = []
    for name in ("a", "b"):
        out = tmp_path / name
        assert main(["run", str(PINNED), "--seed", "9", "--replications", "2", "--out", str(out), "--no-plots"]) == 0
        outs.append(out)
    for f in ("timeseries.parquet", "finance.parquet", "events.csv", "kpis.csv", "summary.json"):
        assert _digest(outs[0] / f) == _digest(outs[1] / f), f


def test_kept_noise_is_the_noise_drawn_afresh(monkeypatch):
    """A sweep's points reuse the noise of (seed, replication, stream): the same bits as a fresh draw, read only."""
    from sim.core import rng

    monkeypatch.setattr(rng, "_NOISE", rng.KeptCache(rng.NOISE_CACHE_BYTES))
    assert rng.Streams(5, 2).lognormal_noise("supplier:x", 0.1, 40) is not rng.Streams(5, 2).lognormal_noise(
        "supplier:x", 0.1, 40)  # kept only inside keep_noise (sweeps' workers)
    with rng.keep_noise():
        first = rng.Streams(5, 2).lognormal_noise("supplier:x", 0.1, 40)
        again = rng.Streams(5, 2).lognormal_noise("supplier:x", 0.1, 40)
        other = rng.Streams(5, 3).lognormal_noise("supplier:x", 0.1, 40)  # another replication draws its own
    assert again is first and not first.flags.writeable
    fresh = rng.lognormal_noise(rng.Streams(5, 2).stream("supplier:x"), 0.1, 40)
    np.testing.assert_array_equal(first, fresh)
    assert not np.array_equal(other, first)
    with pytest.raises(RuntimeError, match="twice"):
        s = rng.Streams(5, 2)
        s.lognormal_noise("supplier:x", 0.1, 40)
        s.stream("supplier:x")


def test_kept_noise_is_bounded(monkeypatch):
    from sim.core import rng

    monkeypatch.setattr(rng, "_NOISE", rng.KeptCache(10 * 8 * 100))  # ten arrays of 100 values
    with rng.keep_noise():
        for rep in range(25):
            rng.Streams(1, rep).lognormal_noise("s", 0.2, 100)
    assert rng._NOISE._bytes <= rng._NOISE.max_bytes and len(rng._NOISE) == 10
    assert (1, 24, "s", 0.2, 100) in rng._NOISE and (1, 0, "s", 0.2, 100) not in rng._NOISE


def test_kept_daily_arrays_are_those_computed_afresh(pinned, monkeypatch):
    """A sweep's points share the world's daily arrays: kept per (spec, seed, replication), read only, same bits.

    A point whose manufacturers (or suppliers, or rest of the world) differ gets its own arrays, not the kept ones.
    """
    from sim.core import rng
    from sim.model import daily
    from sim.model.world import build_world

    monkeypatch.setattr(rng, "_NOISE", rng.KeptCache(rng.NOISE_CACHE_BYTES))
    monkeypatch.setattr(daily, "_DAILY", rng.KeptCache(daily.DAILY_CACHE_BYTES))
    more_demand = pinned.model_copy(deep=True)
    m = next(iter(more_demand.manufacturers.values()))
    c = next(iter(m.demand_tpy))
    m.demand_tpy[c] *= 2.0
    with rng.keep_noise():
        kept = build_world(pinned, rng.Streams(11, 1)).daily
        again = build_world(pinned, rng.Streams(11, 1)).daily
        other = build_world(more_demand, rng.Streams(11, 1)).daily
        result = simulate(pinned, seed=11, replication=1)
    assert again is kept and other is not kept and len(daily._DAILY) == 2
    fresh = build_world(pinned, rng.Streams(11, 1)).daily
    for name in ("cm", "c", "s", "sup_noise", "sup_growth"):
        np.testing.assert_array_equal(getattr(kept, name), getattr(fresh, name))
        assert not getattr(kept, name).flags.writeable
    assert not np.array_equal(other.cm[DCM.EXPECTED], kept.cm[DCM.EXPECTED])
    alone = simulate(pinned, seed=11, replication=1)
    assert result.summary == pytest.approx(alone.summary, rel=0, abs=0, nan_ok=True)
    np.testing.assert_array_equal(result.series.values, alone.series.values)
