"""Project Vault's own mechanism: entitlements, draws and returns, allies, crowding out, accounts."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import ScenarioError, load_scenario, simulate
from tests.builders import base_dict, merge, scenario
from tests.test_conservation import scenarios as random_scenarios

P0 = 1000.0  # builders' reference price, USD/t (held fixed unless a test sets price dynamics)


def outage(start: int, days: float, severity: float = 1.0) -> dict:
    return {"cut": {"kind": "supplier_outage", "suppliers": ["s1"], "start": start, "duration_days": days,
                    "severity": severity}}


def vault(stock: float, **release) -> dict:
    """A full reserve that does not buy, releasing without lag, cap or floor unless told."""
    rel = {"floor_share": 0.0, "delivery_lag_days": 0, "drawdown_days": None, **release}
    return {"ga": {"initial_stock_t": stock, "target_t": stock, "holding_cost_share_per_year": 0.0,
                   "buy": {"max_rate_tpy": 0.0}, "release": rel}}


def draws_by(r, who: str) -> float:
    ev = r.events
    return float(ev.loc[(ev.event == "draw") & (ev.source == who), "value"].sum())


def test_full_swap_cycle_restores_stock_and_cash_plus_fees_and_premium():
    s = scenario(
        manufacturers={"m1": {"member": True, "restock_days": 1}},
        suppliers={"s1": {"capacity_tpy": 500.0}},
        reserve=vault(100.0),
        shocks=outage(50, 20),
        financing={"member_fees": {"upfront_usd": 1000.0}},
        parties={"members": {"a": {"manufacturers": ["m1"], "entitlements_t": {"ga": 100.0}}},
                 "draws": {"mode": "swap", "return_days": 120, "premium_share": 0.1}},
    )
    r = simulate(s)
    k = r.summary
    drawn = k["party.a.draws_t"]
    assert drawn == pytest.approx(20.0)  # one day's use for each day of the outage
    assert k["party.a.returns_t"] == pytest.approx(drawn)
    assert k["party.a.premium_t"] == pytest.approx(0.1 * drawn)
    assert k["party.a.late_returns"] == 0
    assert k["reserve.ga.reserve_end_t"] == pytest.approx(100.0 + 0.1 * drawn)
    # cash: the member paid its fee and nothing else; the vehicle holds exactly that
    assert k["party.a.fees_usd"] == pytest.approx(1000.0)
    assert k["party.a.payments_usd"] == 0.0
    assert k["finance.end_cash_usd"] == pytest.approx(1000.0)
    assert k["reserve.ga.shortfall_t"] == pytest.approx(0.0, abs=1e-9)
    ev = r.events
    assert (ev.event == "return").sum() == (ev.event == "draw").sum() == 20
    assert (ev.loc[ev.event == "return", "day"] - ev.loc[ev.event == "draw", "day"].to_numpy()).eq(120).all()
    ts = r.timeseries[r.timeseries.arm == "reserve"]
    assert ts.entitlement_outstanding_t.max() == pytest.approx(drawn)
    assert ts.entitlement_outstanding_t.iloc[-1] == pytest.approx(0.0, abs=1e-9)


def _two_members(mode: str, major: dict | None = None, sales: str = "none"):
    return scenario(
        run={"horizon_years": 0.5},
        manufacturers={"m1": {"member": True}, "m2": {"member": True, "demand_tpy": {"ga": 365.0}},
                   "m3": {"demand_tpy": {"ga": 365.0}}},
        suppliers={"s1": {"capacity_tpy": 3 * 365.0}},
        reserve=vault(100.0),
        shocks=outage(20, 200),
        parties={"members": {"a": {"manufacturers": ["m1"], "entitlements_t": {"ga": 10.0}},
                             "b": {"manufacturers": ["m2"], "entitlements_t": {"ga": 20.0}}},
                 "draws": {"mode": mode, "return_days": 1000, "non_member_sales": sales,
                           "major_disruption": major or {}}},
    )


@pytest.mark.parametrize("mode", ["sale", "swap"])
def test_draws_never_exceed_entitlement_outside_a_major_disruption(mode):
    r = simulate(_two_members(mode))
    assert draws_by(r, "m1") == pytest.approx(10.0)
    assert draws_by(r, "m2") == pytest.approx(20.0)
    assert draws_by(r, "m3") == 0.0  # the vehicle sells nothing to non-members here
    ts = r.timeseries[r.timeseries.arm == "reserve"]
    assert (ts.entitlement_outstanding_t <= ts.entitlement_t + 1e-9).all()
    assert r.summary["reserve.ga.reserve_end_t"] == pytest.approx(70.0)
    assert not (r.events.event == "major_disruption_start").any()
    if mode == "sale":  # sale draws pay the locked price (reference here)
        assert r.summary["party.members.payments_usd"] == pytest.approx(30.0 * P0)


def test_major_disruption_opens_the_stock_pro_rata_to_entitlements():
    r = simulate(_two_members("sale", {"supply_loss_share": 0.5}))
    a, b = draws_by(r, "m1"), draws_by(r, "m2")
    assert a > 10.0 and b > 20.0
    assert a + b == pytest.approx(100.0)  # the whole stock, beyond entitlements
    # each draws its own use until its pro-rata share of the stock (1:2) runs out
    assert a == pytest.approx(100.0 / 3, rel=0.05) and b == pytest.approx(200.0 / 3, rel=0.05)
    assert (r.events.event == "major_disruption_start").sum() == 1


def test_non_members_buy_only_free_stock_at_the_market_price():
    r = simulate(_two_members("swap", sales="free_stock"))
    free = 100.0 - 30.0
    assert draws_by(r, "m3") == pytest.approx(free)
    assert r.summary["party.non_members.payments_usd"] == pytest.approx(free * P0)
    assert draws_by(r, "m1") == pytest.approx(10.0) and draws_by(r, "m2") == pytest.approx(20.0)


def test_a_member_that_never_returns_pays_market_value_on_the_due_date():
    s = scenario(
        commodities={"ga": {"price_adjust_per_day": 0.05, "demand_elasticity": 0.3,
                            "rest_of_world": {"demand_tpy": 365.0}}},
        manufacturers={"m1": {"member": True}},
        suppliers={"s1": {"capacity_tpy": 730.0}},
        reserve=vault(40.0),
        shocks=outage(30, 400, 0.5),
        parties={"members": {"a": {"manufacturers": ["m1"], "entitlements_t": {"ga": 40.0}}},
                 "draws": {"mode": "swap", "return_days": 60, "premium_share": 0.05}},
    )
    r = simulate(s)
    ev, k = r.events, r.summary
    late = ev[ev.event == "late_return"]
    assert len(late) > 0 and not (ev.event == "return").any()  # short all along: nothing returned
    price = r.timeseries[r.timeseries.arm == "reserve"].set_index("day").price_usd_per_t
    # due at the start of day d: the price then is the one set at the end of day d - 1
    value = float((late.value.to_numpy() * price.loc[late.day - 1].to_numpy()).sum())
    assert k["party.a.payments_usd"] == pytest.approx(value)
    assert price.loc[late.day - 1].max() > 1.05 * P0  # market value, not the reference or locked price
    draws = ev[ev.event == "draw"]
    due = draws[draws.day + 60 < 365]
    assert k["party.a.late_returns_t"] == pytest.approx(1.05 * due.value.sum())
    assert k["finance.sales_usd"] == pytest.approx(value)


def _crowding(share: float):
    return scenario(
        run={"horizon_years": 3},
        manufacturers={"m1": {"member": True, "safety_stock_days": 30, "restock_days": 10}},
        suppliers={"s1": {"capacity_tpy": 365 * 1.3, "output_cv": 0.05}},
        reserve={"ga": {"initial_stock_t": 30.0, "target_t": 30.0,
                        "buy": {"max_rate_tpy": 365 * 0.3, "review_interval_days": 1, "price_ceiling_ratio": 5,
                                "mode": "compete"},
                        "release": {"floor_share": 0.0, "delivery_lag_days": 0, "drawdown_days": None}}},
        shocks={"cut": {"kind": "supplier_outage", "suppliers": ["s1"], "rate_per_year": 0.7,
                        "duration_days": {"dist": "exponential", "mean": 20}, "severity": 1.0}},
        parties={"members": {"a": {"manufacturers": ["m1"], "entitlements_t": {"ga": 30.0}}},
                 "crowding_out_share": share, "draws": {"mode": "swap", "return_days": 30}},
    )


def _mean_ci(values: list[float]) -> tuple[float, float]:
    v = np.asarray(values)
    return float(v.mean()), float(1.96 * v.std(ddof=1) / np.sqrt(len(v)))


def test_full_crowding_out_leaves_members_about_no_loss_avoided():
    """Members who cut their own 30-day stock by a 30-day entitlement gain ~nothing; without the cut they do."""
    reps = range(12)
    full = [simulate(_crowding(1.0), seed=3, replication=i).summary for i in reps]
    none = [simulate(_crowding(0.0), seed=3, replication=i).summary for i in reps]
    m_full, ci_full = _mean_ci([k["party.members.loss_avoided_npv_usd"] for k in full])
    m_none, ci_none = _mean_ci([k["party.members.loss_avoided_npv_usd"] for k in none])
    assert abs(m_full) <= ci_full + 1e-6 * m_none
    assert m_none - ci_none > 100 * (abs(m_full) + ci_full)
    # the cut is real: members hold less in the reserve arm than in the counterfactual
    r = simulate(_crowding(1.0), seed=3)
    ts = r.timeseries.set_index(["arm", "day"]).manufacturer_stock_t
    assert ts.loc["reserve", 0] == pytest.approx(0.0, abs=1e-9) and ts.loc["counterfactual", 0] == pytest.approx(30.0)


def _joint(**over):
    base = {
        "run": {"horizon_years": 1},
        "commodities": {"ga": {"rest_of_world": {"demand_tpy": 730.0}}},
        "manufacturers": {"m1": {"member": True}},
        "suppliers": {"s1": {"capacity_tpy": 4 * 365.0}},
        "reserve": {"ga": {"target_t": 150.0, "holding_cost_share_per_year": 0.05,
                           "buy": {"max_rate_tpy": 3650.0, "review_interval_days": 5},
                           "release": {"floor_share": 0.0, "delivery_lag_days": 5}}},
        "financing": {"equity_usd": 1.0e6, "member_fees": {"carrying_charge_share": 1.0}},
        "parties": {"members": {"us": {"manufacturers": ["m1"], "entitlements_t": {"ga": 100.0}}},
                    "allies": {"allies": {"entitlements_t": {"ga": 50.0}}},
                    "fees": {"procurement_fee_share": 0.02}},
    }
    return scenario(**merge(base, over))


def test_joint_purchase_costs_split_exactly_by_stake():
    r = simulate(_joint())
    k, fin = r.summary, r.finance
    costs = k["finance.purchases_usd"] + k["finance.procurement_fees_usd"] + k["finance.storage_cost_usd"]
    assert k["finance.purchases_usd"] > 0 and k["finance.storage_cost_usd"] > 0
    assert k["finance.procurement_fees_usd"] == pytest.approx(0.02 * k["finance.purchases_usd"])
    assert k["finance.ally_payments_usd"] == pytest.approx(costs * 50.0 / 150.0)
    assert k["party.allies.payments_usd"] == pytest.approx(costs / 3.0)
    # members' carrying charge recharges only the US share of storage and procurement fees
    year = fin[fin.day < 365]
    us_share = (year.storage_cost_usd.sum() + year.procurement_fees_usd.sum()) * 100.0 / 150.0
    assert k["party.us.fees_usd"] == pytest.approx(us_share)


def test_allies_draw_their_stake_for_rest_of_world_buyers():
    r = simulate(_joint(shocks=outage(200, 60, 0.6)))
    k = r.summary
    assert 0.0 < k["party.allies.draws_t"] <= 50.0 + 1e-9
    ts = r.timeseries.set_index(["arm", "day"])
    row = ts.row_consumption_t.groupby("arm", observed=True).sum()
    ally_in = ts.loc["reserve"].release_deliveries_t.sum() - draws_by(r, "m1")
    assert ally_in == pytest.approx(k["party.allies.draws_t"])
    # rest-of-world buyers need that much less from the world market, so they and the bloc share the relief
    assert 0.2 * ally_in < row["reserve"] - row["counterfactual"] <= ally_in + 1e-9
    # the allies' undrawn stake is theirs, not the vehicle's, at the end
    assert k["party.vehicle.end_stock_value_usd"] < k["reserve.total.reserve_end_value_usd"]


def test_public_stock_is_in_both_arms_and_serves_only_its_users():
    nds = {"nds": {"serves": ["m1"], "stocks_t": {"ga": 20.0}, "drawdown_days": 1.0, "delivery_lag_days": 0}}
    base = {"manufacturers": {"m1": {"restock_days": 1}, "m2": {"demand_tpy": {"ga": 365.0}, "safety_stock_days": 0.0}},
            "suppliers": {"s1": {"capacity_tpy": 1000.0}}, "shocks": outage(50, 20)}
    r = simulate(scenario(**base, public_stocks=nds))
    assert r.summary["difference.total.loss_avoided_usd"] == 0.0  # no reserve: both arms alike
    assert r.summary["counterfactual.ga.shortfall_t"] == pytest.approx(40.0 - 20.0)
    # with a reserve on top, the public stock still serves m1 first, so m1 draws less from the vault
    with_vault = merge(base, {"manufacturers": {"m1": {"member": True}},
                              "reserve": vault(100.0),
                              "parties": {"members": {"a": {"manufacturers": ["m1"],
                                                            "entitlements_t": {"ga": 100.0}}}}})
    on_top = simulate(scenario(**with_vault, public_stocks=nds))
    alone = simulate(scenario(**with_vault))
    assert draws_by(on_top, "m1") == pytest.approx(draws_by(alone, "m1") - 20.0)


def test_member_losses_add_up_to_the_bloc_loss():
    r = simulate(_two_members("swap", sales="free_stock"))
    k = r.summary
    assert k["parties.loss_avoided_npv_usd"] == pytest.approx(k["difference.total.loss_avoided_npv_usd"])
    assert k["party.members.loss_avoided_npv_usd"] == pytest.approx(
        k["party.a.loss_avoided_npv_usd"] + k["party.b.loss_avoided_npv_usd"])


def _party_file(tmp_path, parties: dict, manufacturers: dict | None = None):
    data = merge(base_dict(), {"reserve": {"ga": {"target_t": 100.0}}, "parties": parties,
                               "manufacturers": manufacturers or {"m1": {"member": True}}})
    p = tmp_path / "s.yaml"
    p.write_text(yaml.safe_dump(data, sort_keys=False))
    return p


@pytest.mark.parametrize(
    ("parties", "manufacturers", "path", "message"),
    [
        ({"members": {"a": {"manufacturers": ["mx"]}}}, None, "parties.members.a.manufacturers.0",
         "unknown manufacturer 'mx'"),
        ({"members": {"a": {"manufacturers": ["m1"]}}}, {"m1": {"member": False}},
         "parties.members.a.manufacturers.0", "expected member: true"),
        ({"members": {"a": {"manufacturers": ["m1"], "entitlements_t": {"ga": 120.0}}}}, None, "parties",
         "add up to 1.2"),
        ({"members": {"a": {"manufacturers": ["m1"], "entitlement_shares": {"cu": 0.5}}}}, None,
         "parties.members.a.entitlement_shares.cu", "unknown reserve commodity 'cu'"),
        ({"members": {"a": {"manufacturers": ["m1"]}}, "draws": {"mode": "lend"}}, None, "parties.draws.mode",
         "sale"),
    ],
)
def test_bad_parties_are_located_errors(tmp_path, parties, manufacturers, path, message):
    f = _party_file(tmp_path, parties, manufacturers)
    with pytest.raises(ScenarioError) as e:
        load_scenario(f)
    hits = [p for p in e.value.problems if p.path == path]
    assert hits and message in hits[0].message, [str(p) for p in e.value.problems]
    assert hits[0].line is not None


@st.composite
def scenarios_with_parties(draw):
    s = draw(random_scenarios())
    data = s.model_dump(mode="json", warnings=False)
    members = [m for m, man in s.manufacturers.items() if man.member]
    held = list(s.reserve)
    if not held:
        data["reserve"] = {c: {"target_t": draw(st.floats(0, 1e4)), "initial_stock_t": draw(st.floats(0, 1e4))}
                           for c in s.commodities}
        held = list(s.commodities)
    if not members:
        mid = next(iter(s.manufacturers))
        data["manufacturers"][mid]["member"] = True
        members = [mid]
    n = len(members) + 1
    data["parties"] = {
        "members": {f"p{i}": {"manufacturers": [m], "entitlement_shares": {c: draw(st.floats(0, 1)) / n for c in held}}
                    for i, m in enumerate(members)},
        "allies": {"ally": {"entitlement_shares": {c: draw(st.floats(0, 1)) / n for c in held},
                            "rest_of_world_share": draw(st.floats(0.1, 1))}} if draw(st.booleans()) else {},
        "draws": {"mode": draw(st.sampled_from(["sale", "swap"])), "return_days": draw(st.integers(1, 400)),
                  "premium_share": draw(st.floats(0, 0.5)),
                  "non_member_sales": draw(st.sampled_from(["none", "free_stock"])),
                  "major_disruption": {"price_ratio": draw(st.one_of(st.none(), st.floats(1, 5))),
                                       "supply_loss_share": draw(st.one_of(st.none(), st.floats(0.1, 1)))}},
        "fees": {"procurement_fee_share": draw(st.floats(0, 0.1)),
                 "upfront_share_of_locked_value": draw(st.floats(0, 0.1))},
        "crowding_out_share": draw(st.floats(0, 1)),
        "own_stock_cost_share_per_year": draw(st.floats(0, 0.2)),
    }
    if draw(st.booleans()):
        data["public_stocks"] = {"nds": {"serves": [next(iter(s.manufacturers))],
                                         "stocks_t": {c: draw(st.floats(0, 1e3)) for c in s.commodities},
                                         "drawdown_days": draw(st.floats(1, 200)),
                                         "delivery_lag_days": draw(st.integers(0, 30))}}
    from sim.scenario.loader import validate_data

    return validate_data(data)


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios_with_parties())
def test_party_accounts_close_on_random_scenarios(s):
    r = simulate(s)  # raises ConservationError when material or any party's account does not close
    k = r.summary
    assert k["parties.loss_avoided_npv_usd"] == pytest.approx(k["difference.total.loss_avoided_npv_usd"],
                                                              rel=1e-9, abs=1e-3)
    ts = r.timeseries[r.timeseries.arm == "reserve"]
    assert (ts.reserve_stock_t >= -1e-9).all()
    assert (ts.entitlement_outstanding_t >= -1e-9).all()


def test_run_folder_has_the_party_table_and_the_entitlement_plot(tmp_path):
    from sim.cli import main

    data = merge(base_dict(), {
        "manufacturers": {"m1": {"member": True}, "m2": {"demand_tpy": {"ga": 365.0}}},
        "suppliers": {"s1": {"capacity_tpy": 1000.0}},
        "reserve": vault(50.0),
        "shocks": outage(50, 20),
        "parties": {"members": {"a": {"manufacturers": ["m1"], "entitlements_t": {"ga": 30.0}}}},
    })
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    out = tmp_path / "out"
    assert main(["run", str(path), "--replications", "2", "--out", str(out)]) == 0
    import pandas as pd

    table = pd.read_csv(out / "parties.csv")
    assert list(table.party) == ["a", "members", "non_members", "vehicle", "lender", "bloc"]
    assert 20.0 <= table.set_index("party").loc["a", "draws_t"] <= 30.0 + 1e-9  # outage use, within entitlement
    assert (out / "entitlements.png").stat().st_size > 10_000
    html = (out / "report.html").read_text()
    assert "Who pays and who gains" in html and "entitlements.png" not in html  # embedded, not linked
    events = pd.read_csv(out / "events.csv")
    assert {"draw", "return"} <= set(events.event)
