"""The compiled day (sim/kernels) against independent numpy statements of its rules (tests/oracles).

The oracles (market.py, welfare.py, demand.py) state the model's rules vectorised; the kernels
must compute the same numbers. Each test drives a kernel's formula through the engine or directly and
compares with the numpy reference on the same inputs.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim import simulate
from sim.kernels.party_kernels import draw_tonnes
from sim.kernels.price_kernel import _clearing_ratio
from sim.model.welfare import DeadweightCurve
from tests.builders import scenario
from tests.oracles.market import clearing_price_ratio
from tests.oracles.welfare import curve_loss_usd

_TINY = 1e-12


@pytest.mark.parametrize("newton", [True, False])
def test_clearing_ratio_matches_the_numpy_solver(newton):
    rng = np.random.default_rng(3)
    for _ in range(200):
        e_b = rng.uniform(0.05, 1.5)
        e_w = rng.uniform(0.05, 1.5) if newton else e_b
        amounts = rng.uniform(0.0, 50.0, 2)
        residual = rng.uniform(-5.0, 80.0)
        guess = rng.uniform(0.3, 4.0)
        floor, cap = 0.2, rng.uniform(2.0, 30.0)
        ref = clearing_price_ratio(amounts.reshape(2, 1, 1), np.array([e_b, e_w]).reshape(2, 1, 1),
                                   np.array([[residual]]), np.array([[guess]]), np.array([floor]), np.array([cap]))
        got = _clearing_ratio(amounts[0], amounts[1], e_b, e_w, residual, guess, math.log(floor), math.log(cap), cap,
                              newton)
        assert got == pytest.approx(float(ref[0, 0]), rel=1e-12)


def test_recorded_surplus_loss_is_the_numpy_deadweight_loss():
    """A single buyer's recorded surplus loss equals the numpy oracle of welfare on its recorded consumption."""
    s = scenario(
        commodities={"ga": {"price_adjust_per_day": 0.05, "demand_elasticity": 0.4, "price_cap_ratio": 8.0}},
        manufacturers={"m1": {"critical_share": 0.2, "demand_cv": 0.1}},
        shocks={"ban": {"kind": "export_restriction", "country": "A", "commodities": ["ga"], "start": 60,
                        "duration_days": 120, "severity": 0.5}},
    )
    r = simulate(s, seed=1)
    ts = r.timeseries
    cf = ts[ts.arm == "counterfactual"]
    assert (cf.loss_surplus_usd > 0).sum() > 30  # the ban bites
    curve = DeadweightCurve(np.array([0.4]), np.array([1000.0]), np.array([8.0]), np.array([[0.2]]))
    ref = curve_loss_usd(curve, cf.delivered_t.to_numpy()[:, None, None],
                         cf.reference_demand_t.to_numpy()[:, None, None])
    assert cf.loss_surplus_usd.to_numpy() == pytest.approx(ref[:, 0, 0], rel=1e-12, abs=1e-9)


def _draws_numpy(need, transit, fired, ent, out_swap, pending, entitled, major, can, room, free_stock_sales):
    """The draw decision in numpy, as Parties.draw computed it before it was compiled (the oracle)."""
    need = np.maximum(0.0, need - transit) * fired[:, None]
    undrawn = np.maximum(0.0, ent - out_swap - pending)
    limit = undrawn
    if major.any():
        out = out_swap + pending
        scale = (can + (out * entitled).sum(-1)) / np.maximum((ent * entitled).sum(-1), _TINY)
        opened = np.maximum(0.0, np.maximum(1.0, scale)[:, None] * ent - out)
        limit = np.where(major[:, None], opened, undrawn)
    ask = np.minimum(need, limit) * entitled
    tot = ask.sum(-1)
    d = ask * np.minimum(1.0, room / np.maximum(tot, _TINY))[:, None]
    if free_stock_sales:
        ask2 = need * ~entitled
        free = np.maximum(0.0, can - d.sum(-1) - np.maximum(0.0, undrawn - d).sum(-1))
        left = np.minimum(np.maximum(0.0, room - d.sum(-1)), free)
        d = d + ask2 * np.minimum(1.0, left / np.maximum(ask2.sum(-1), _TINY))[:, None]
    return np.where(d > 1e-12, d, 0.0)


@pytest.mark.parametrize("free_stock_sales", [False, True])
def test_draw_kernel_matches_the_numpy_draw_decision(free_stock_sales):
    rng = np.random.default_rng(11)
    C, K = 4, 6
    for _ in range(300):
        need = rng.uniform(0, 10, (C, K)) * (rng.random((C, K)) < 0.7)
        transit = rng.uniform(0, 3, (C, K)) * (rng.random((C, K)) < 0.3)
        fired = rng.random(C) < 0.8
        ent = rng.uniform(0, 20, (C, K))
        out_swap = rng.uniform(0, 5, (C, K)) * (rng.random((C, K)) < 0.3)
        pending = rng.uniform(0, 5, (C, K)) * (rng.random((C, K)) < 0.3)
        entitled = rng.random(K) < 0.6
        major = rng.random(C) < 0.3
        can = rng.uniform(0, 60, C)
        room = rng.uniform(0, 40, C)
        ref = _draws_numpy(need, transit, fired, ent, out_swap, pending, entitled, major, can, room, free_stock_sales)
        d = np.zeros((C, K))
        drew = draw_tonnes(need.copy(), transit, fired, ent, out_swap, pending, entitled, major, can, room,
                           free_stock_sales, d)
        assert d == pytest.approx(ref, rel=1e-12, abs=1e-15)
        assert drew == bool(ref.any())


def test_recorded_substitution_follows_the_numpy_slow_state():
    """Substitution in the engine (kernel) equals demand.SlowState stepped on the recorded prices."""
    from sim.core.rng import Streams
    from sim.model.world import build_world
    from tests.oracles.demand import SlowState

    s = scenario(
        commodities={"ga": {"price_adjust_per_day": 0.05, "demand_elasticity": 0.3, "long_run_demand_elasticity": 0.9,
                            "substitution_time_days": 60, "substitution_hysteresis_share": 0.5,
                            "supply_elasticity": 0.4, "supply_response_days": 90}},
        shocks={"ban": {"kind": "export_restriction", "country": "A", "commodities": ["ga"], "start": 30,
                        "duration_days": 150, "severity": 0.6}},
    )
    r = simulate(s, seed=2)
    ts = r.timeseries
    world = build_world(s, Streams(2, 0))
    slow = SlowState(world)
    subst = ts.pivot(index="day", columns="arm", values="substitution_share")[["reserve", "counterfactual"]].to_numpy()
    price = ts.pivot(index="day", columns="arm", values="price_usd_per_t")[["reserve", "counterfactual"]].to_numpy()
    ratio = np.vstack([np.ones((1, 2)), price[:-1] / 1000.0])  # day t's step sees the price set on day t-1
    out = np.empty_like(subst)
    for t in range(len(ratio)):
        slow.step(ratio[t][:, None])
        out[t] = slow.substitution[:, 0]
    assert subst.max() > 0.05  # the ban makes substitution build up
    assert subst == pytest.approx(out, rel=1e-12, abs=1e-15)


def test_numpy_sum_follows_numpy_up_to_its_limit_and_refuses_beyond():
    from sim.kernels.party_kernels import NUMPY_SUM_MAX, numpy_sum
    from sim.scenario.schema import MAX_HOLDERS

    rng = np.random.default_rng(5)
    for n in range(NUMPY_SUM_MAX + 1):
        for _ in range(20):
            a = rng.normal(size=n) * 10.0 ** rng.uniform(-3, 9, size=n)
            assert numpy_sum(a) == a.sum(), n
    with pytest.raises(ValueError, match="more than 128"):
        numpy_sum(np.ones(NUMPY_SUM_MAX + 1))
    assert MAX_HOLDERS == NUMPY_SUM_MAX  # a valid scenario never reaches the refusal


def test_a_scenario_with_too_many_holders_is_refused():
    from sim import ScenarioError, load_scenario
    from sim.scenario.schema import MAX_HOLDERS

    s = load_scenario(None)
    data = s.model_dump(mode="json")
    proto = next(iter(data["manufacturers"].values()))
    for i in range(MAX_HOLDERS + 1 - len(data["manufacturers"])):
        data["manufacturers"][f"extra{i}"] = proto
    from sim.scenario.loader import validate_data

    with pytest.raises(ScenarioError, match="at most 128"):
        validate_data(data)


@pytest.mark.parametrize("M", [1, 3, 5, 9, 12])
def test_release_deliveries_follow_the_allocation_oracle(M):
    """deliver_releases shares a delivery by class as the vectorised allocation does, bit for bit."""
    from sim.kernels.release_kernel import deliver_releases
    from tests.oracles.market import allocate

    rng = np.random.default_rng(M)
    A, C, K, R, slot = 2, 4, 2, 6, 3
    for _ in range(30):
        ring = np.zeros((A, C, R))
        ring[:, :, slot] = rng.uniform(0, 50, (A, C)) * (rng.uniform(size=(A, C)) < 0.7)
        transit = ring.sum(-1) + rng.uniform(0, 10, (A, C))
        x = rng.uniform(0, 20, (A, C, M))
        want_m, safety = rng.uniform(0, 15, (A, C, M)), rng.uniform(0, 10, (A, C, M))
        classes = (rng.uniform(size=(K, C, M)) < 0.5).astype(float)
        share = rng.uniform(size=(C, M))
        share /= share.sum(-1, keepdims=True)
        # the oracle
        d = ring[:, :, slot].copy()
        given = allocate(d, np.maximum(0.0, want_m + safety - x), classes)
        x_ref = x + (given + (d - given.sum(-1))[..., None] * share)
        delivered = np.zeros((A, C))
        assert deliver_releases(slot, ring, transit, x, want_m, safety, classes, share, np.zeros((3, M)), delivered)
        assert np.array_equal(x, x_ref)
        assert np.array_equal(delivered, d)
        assert not ring[:, :, slot].any()


def test_recorded_critical_loss_is_the_oracle_on_recorded_consumption():
    """Critical demand not served, at the value of lost output, as the welfare oracle states it."""
    from tests.oracles.welfare import critical_loss_usd

    s = scenario(
        commodities={"ga": {"price_adjust_per_day": 0.05}},
        manufacturers={"m1": {"critical_share": 0.8, "demand_cv": 0.1}},
        shocks={"ban": {"kind": "export_restriction", "country": "A", "commodities": ["ga"], "start": 60,
                        "duration_days": 120, "severity": 1.0}},
    )
    cf = simulate(s, seed=1).timeseries.query("arm == 'counterfactual'")
    assert (cf.loss_critical_usd > 0).sum() > 30  # the ban reaches critical use
    ref = critical_loss_usd(cf.delivered_t.to_numpy(), cf.reference_demand_t.to_numpy(), np.array(0.8),
                            np.array(10000.0))
    assert cf.loss_critical_usd.to_numpy() == pytest.approx(ref, rel=1e-12, abs=1e-9)
