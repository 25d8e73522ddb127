"""Material and money balance on random valid scenarios (property-based)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import simulate
from sim.core.rng import Streams
from sim.engine.engine import Engine
from sim.model.world import build_world
from sim.scenario.loader import validate_data
from sim.simulation.simulate import ConservationError, check_conservation
from tests.builders import scenario

pos = st.floats(min_value=0.1, max_value=1e4, allow_nan=False)
share = st.floats(min_value=0.0, max_value=1.0)


@st.composite
def scenarios(draw):
    n_c = draw(st.integers(1, 3))
    cids = [f"c{i}" for i in range(n_c)]
    countries = ["A", "B", "C"]
    commodities = {}
    for c in cids:
        e = draw(st.floats(0.05, 2.0))
        commodities[c] = {
            "reference_price_usd_per_t": draw(pos), "value_of_lost_output_usd_per_t": draw(pos),
            "demand_elasticity": e, "price_adjust_per_day": draw(st.floats(0.0, 1.0)),
            "long_run_demand_elasticity": draw(st.one_of(st.none(), st.floats(e, 3.0))),
            "substitution_time_days": draw(st.floats(1, 1000)),
            "substitution_hysteresis_share": draw(share),
            "supply_elasticity": draw(st.floats(0, 2)), "supply_response_days": draw(st.floats(1, 400)),
            "spare_capacity_share": draw(st.floats(0, 1)), "price_cap_ratio": draw(st.floats(1, 20)),
            "precautionary_cover_days": draw(st.floats(0, 60)),
            "rest_of_world": {"demand_tpy": draw(st.floats(0, 1e4)), "growth_per_year": draw(st.floats(-0.1, 0.2)),
                              "demand_elasticity": draw(st.one_of(st.none(), st.floats(0.05, 2))),
                              "critical_share": draw(share)},
        }
    suppliers = {}
    for c in cids:
        for j in range(draw(st.integers(1, 3))):
            sup = {"commodity": c, "country": draw(st.sampled_from(countries)), "capacity_tpy": draw(pos),
                   "lead_time_days": draw(st.integers(0, 90)), "output_cv": draw(st.floats(0, 0.5)),
                   "capacity_growth_per_year": draw(st.floats(-0.2, 0.2))}
            if draw(st.booleans()):
                a = draw(st.floats(0.0, 1.0))
                sup["origin_mix"] = {"A": a, "B": 1.0 - a}
            suppliers[f"{c}_s{j}"] = sup
    manufacturers = {}
    for m in range(draw(st.integers(1, 3))):
        manufacturers[f"m{m}"] = {
            "demand_tpy": {c: draw(pos) for c in cids if draw(st.booleans()) or c == cids[0]},
            "growth_per_year": draw(st.floats(-0.1, 0.2)), "demand_cv": draw(st.floats(0, 0.5)),
            "safety_stock_days": draw(st.floats(0, 60)), "priority": draw(st.integers(1, 3)),
            "member": draw(st.booleans()), "critical_share": draw(share),
        }
    reserve = {}
    for c in cids:
        if draw(st.booleans()):
            r = {"initial_stock_t": draw(st.floats(0, 1e4)),
                 "buy": {"max_rate_tpy": draw(pos), "mode": draw(st.sampled_from(["spare", "compete"])),
                         "price_ceiling_ratio": draw(st.floats(0.5, 3)),
                         "review_interval_days": draw(st.integers(1, 90))},
                 "release": {"trigger": draw(st.sampled_from(["shortfall", "price", "cover"])),
                             "max_rate_tpy": draw(st.one_of(st.none(), pos)), "offset_share": draw(share),
                             "allocation": draw(st.sampled_from(["members_first", "members_only", "pro_rata"])),
                             "price_ratio": draw(st.one_of(st.none(), st.floats(0, 3))),
                             "floor_share": draw(share),
                             "drawdown_days": draw(st.one_of(st.none(), st.floats(1, 365))),
                             "delivery_lag_days": draw(st.integers(0, 60))},
                 "capacity_t": draw(st.one_of(st.none(), pos))}
            if draw(st.booleans()):
                r["target_t"] = draw(st.floats(0, 1e4))
            else:
                r["target_days"] = draw(st.floats(0, 180))
            reserve[c] = r
    kinds = draw(st.lists(st.sampled_from(["export_restriction", "supplier_outage", "demand_surge",
                                           "logistics_delay"]), max_size=4))
    shocks = {}
    for k, kind in enumerate(kinds):
        sh = {"kind": kind, "duration_days": {"dist": "exponential", "mean": draw(st.floats(1, 200))},
              "severity": draw(share) if kind != "logistics_delay" else draw(st.floats(0, 60))}
        if draw(st.booleans()):
            sh["rate_per_year"] = draw(st.floats(0.1, 5))
        else:
            sh["start"] = draw(st.integers(-50, 400))
        if kind == "export_restriction":
            used = {x["country"] for x in suppliers.values()}
            used.update(k for x in suppliers.values() for k in x.get("origin_mix", {}))
            sh["country"] = draw(st.sampled_from(sorted(used)))
            if draw(st.booleans()):
                sh["targets"] = ["bloc"]
                sh["leakage_share"] = draw(share)
        if kind == "supplier_outage":
            sh["suppliers"] = [draw(st.sampled_from(sorted(suppliers)))]
        else:
            sh["commodities"] = [draw(st.sampled_from(cids))]
        shocks[f"k{k}"] = sh
    facilities = {}
    if draw(st.booleans()):
        facilities["L"] = {"lender": "X", "commitment_usd": draw(st.floats(0, 1e9)),
                           "interest_rate": draw(st.floats(0, 0.2)), "tenor_years": draw(st.floats(0.2, 3)),
                           "payments_per_year": draw(st.sampled_from([1, 2, 4, 12])),
                           "repayment": draw(st.sampled_from(["level", "linear", "bullet"])),
                           "drawdown": draw(st.sampled_from(["on_demand", "at_close"])),
                           "commitment_fee_share": draw(st.floats(0, 0.02)),
                           "upfront_fee_share": draw(st.floats(0, 0.02))}
    projects = {}
    if facilities and draw(st.booleans()):
        facilities["L"]["purpose"] = "projects"  # a project company borrows on it; the programme cannot
        projects["p"] = {"commodity": cids[0], "country": "C", "capacity_tpy": draw(pos),
                         "capex_usd": draw(st.floats(0, 1e8)), "facility": "L",
                         "start": draw(st.integers(0, 200)), "build_time_days": draw(st.floats(1, 300)),
                         "failure_probability": draw(share), "in_counterfactual": draw(st.booleans())}
    return validate_data({
        "run": {"horizon_years": draw(st.floats(0.1, 1.5)), "seed": draw(st.integers(0, 2**32))},
        "commodities": commodities, "suppliers": suppliers, "manufacturers": manufacturers,
        "reserve": reserve, "shocks": shocks, "projects": projects,
        "financing": {"facilities": facilities, "equity_usd": draw(st.floats(0, 1e9)),
                      "loan_share_of_spend": draw(share),
                      "member_fees": {"upfront_usd": draw(st.floats(0, 1e7)),
                                      "carrying_charge_share": draw(share)}},
    })


@settings(max_examples=100, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_material_and_money_balance_on_random_scenarios(s):
    r = simulate(s)  # raises ConservationError on imbalance
    assert r.summary["check.material_residual_t"] <= 1e-6 * max(1.0, r.summary["reserve.total.demand_t"])
    ts = r.timeseries
    assert (ts.shortfall_t >= -1e-9).all()
    assert (ts.reserve_stock_t >= -1e-9).all()
    assert (ts.delivered_t <= ts.demand_t * (1 + 1e-9) + 1e-9).all()
    assert (ts.row_consumption_t <= ts.row_demand_t * (1 + 1e-9) + 1e-9).all()
    assert (ts.price_usd_per_t > 0).all()
    fin = r.finance
    assert fin.cash_usd.iloc[-1] == pytest.approx(r.summary["finance.end_cash_usd"])


def test_conservation_check_can_fail():
    """The check is not vacuous: material that vanishes is caught."""
    s = scenario(reserve={"ga": {"initial_stock_t": 10.0, "target_t": 10.0}})
    streams = Streams(1, 0)
    eng = Engine(s, build_world(s, streams), streams)
    eng.run()
    check_conservation(eng)
    eng.rstock[0, 0] -= 1.0
    with pytest.raises(ConservationError, match="material of ga"):
        check_conservation(eng)
    eng.rstock[0, 0] += 1.0
    eng.finance.cash += 5.0
    with pytest.raises(ConservationError, match="cash"):
        check_conservation(eng)
