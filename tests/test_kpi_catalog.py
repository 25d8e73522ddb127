"""The KPI catalog against real runs: every key declared once, expand lists a run's keys, NaN rules hold.

Short runs of scenarios that between them write every kind of key: the default, one with
project companies (one starting first, one after the horizon), one with allies, one without
parties, one with a public stock, and two whose ratios have nothing to divide by.
"""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path

import pytest

from sim import load_scenario, simulate
from sim.metrics import catalog
from sim.metrics.credit import MICRO_USD
from sim.metrics.kpi_patterns import key_at
from sim.metrics.kpi_reference import DOC_PATH, render
from sim.report.headline import COMMODITY_COLUMNS, HEADLINE, VIEWS
from sim.scenario.schema import Scenario
from sim.simulation.simulate import series_names

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ROOT / "scenarios" / "policies"
ID_COLUMNS = {"day", "date", "commodity", "arm", "time_days"}


def _idle(s: Scenario) -> dict:
    """No buying and no shocks: the arms are the same, so no loss is avoided to share."""
    return {**{f"reserve.{c}.target_days": 0 for c in s.reserve}, **{f"shocks.{k}.enabled": False for k in s.shocks}}


#: name -> (scenario file, years, changes (or a function of the scenario giving them))
CASES = {
    "default": (None, 1, {}),
    "projects": (POLICIES / "supply_projects.yaml", 2,
                 {"projects.kazakhstan_tungsten.start": 0, "projects.us_rare_earths.start": 5000}),
    "allies": (POLICIES / "vault_copper_allies.yaml", 1, {}),
    "no_parties": (None, 1, {"parties": None}),
    "public_stocks": (POLICIES / "vault_with_nds.yaml", 1, {}),
    "no_reserve": (POLICIES / "no_reserve.yaml", 1, {}),
    "idle_reserve": (None, 1, _idle),
}


@cache
def case(name: str) -> tuple[Scenario, dict]:
    path, years, changes = CASES[name]
    base = load_scenario(path)
    changes = changes(base) if callable(changes) else changes
    scenario = base.with_changes({"run.horizon_years": years, **changes})
    return scenario, simulate(scenario, seed=1).summary


@pytest.mark.parametrize("name", CASES)
def test_every_key_a_run_writes_matches_exactly_one_entry(name):
    _, summary = case(name)
    for key in summary:
        assert catalog.find(key) is catalog.match(key) is not None  # match raises unless exactly one


@pytest.mark.parametrize("name", CASES)
def test_expand_lists_the_keys_of_the_run_in_its_order(name):
    scenario, summary = case(name)
    assert catalog.expand(scenario) == list(summary)


def test_expand_follows_the_projects_and_parties_of_the_scenario():
    scenario, summary = case("projects")
    projects = [k.split(".")[1] for k in summary if k.startswith("project.") and k.endswith(".capex_usd")]
    assert projects[0] == "kazakhstan_tungsten" and "us_rare_earths" not in projects  # starts first; too late
    assert not any(k.startswith(("party.", "parties.", "check.party_")) for k in case("no_parties")[1])
    assert "party.members.fees_usd" in case("default")[1]


def test_every_entry_is_written_by_some_run():
    written = {catalog.match(k).pattern for name in CASES for k in case(name)[1]}
    assert [k.pattern for k in catalog.CATALOG if k.pattern not in written] == []


def test_no_two_entries_claim_one_key():
    # a key made from each entry's pattern (sample values for its placeholders) is that entry's only
    for kpi in catalog.CATALOG:
        for commodity in ("gallium", "total"):
            key = key_at(kpi, {"arm": "counterfactual", "commodity": commodity, "project": "p", "party": "m"})
            if key is not None:
                assert catalog.match(key) is kpi, key


def test_an_undeclared_key_is_a_clear_key_error():
    with pytest.raises(KeyError, match="'reserve.total.nonsense_t' is not declared once in sim/metrics/catalog.py"):
        catalog.match("reserve.total.nonsense_t")
    assert catalog.find("reserve.total.row_shortfall_t") is None  # per commodity only
    assert catalog.find("party.vehicle.fill_rate") is None  # the vehicle is not a <party>


@pytest.mark.parametrize("name", CASES)
def test_only_kpis_the_catalog_allows_are_nan_and_none_is_infinite(name):
    _, summary = case(name)
    bad = [k for k, v in summary.items() if not math.isfinite(v) and not (catalog.nan_ok(k) and math.isnan(v))]
    assert bad == []


def test_every_nan_allowed_kpi_is_nan_in_some_run():
    nan = {catalog.match(k).pattern for name in CASES for k, v in case(name)[1].items() if math.isnan(v)}
    assert [k.pattern for k in catalog.CATALOG if k.nan_ok and k.pattern not in nan] == []


@pytest.mark.parametrize("name", CASES)
def test_every_ratio_is_its_parts_divided(name):
    _, summary = case(name)
    ratios = catalog.ratios(summary)
    assert {"economic.benefit_cost_ratio", "finance.benefit_cost_ratio", "budget.subsidy_rate"} <= set(ratios)
    for key, (num, den) in ratios.items():
        assert num in summary and den in summary, key
        if math.isnan(summary[key]):
            assert summary[den] <= MICRO_USD, key
        else:
            assert summary[key] == summary[num] / summary[den], key


def test_headline_rows_are_keys_of_a_run_with_catalog_labels():
    _, summary = case("default")
    rows = list(HEADLINE) + [row for *_, view in VIEWS for row in view]
    assert rows and all(key in summary and label and scale > 0 for key, label, scale in rows)
    assert ("economic.loss_avoided_npv_usd", "loss avoided (NPV), USD bn", 1e-9) in rows
    assert ("reserve.total.shortfall_t", "shortfall with reserve, t", 1.0) in rows
    assert ("budget.subsidy_rate", "subsidy rate (ratio of means)", 1.0) in rows
    assert [s for s, _ in COMMODITY_COLUMNS] == ["resource_cost_npv_usd", "terminal_value_npv_usd",
                                                 "net_cost_npv_usd", "loss_avoided_npv_usd", "net_benefit_npv_usd"]


def test_series_names_are_the_columns_of_a_run():
    result = simulate(load_scenario(None).with_changes({"run.horizon_years": 0.05}), seed=1)
    columns = [c for c in result.timeseries.columns if c not in ID_COLUMNS]
    columns += [c for c in result.finance.columns if c not in ID_COLUMNS and c not in columns]
    assert series_names() == columns


def test_kpi_reference_is_up_to_date():
    committed = DOC_PATH.read_text(encoding="utf-8")
    assert committed == render(), "run: python -m sim.metrics.kpi_reference --write"
