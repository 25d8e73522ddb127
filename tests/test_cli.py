"""The command line: results folder contents, located errors, atomic writes."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml

import sim.report.results as results_mod
from sim import load_scenario, simulate
from sim.cli import main
from tests.builders import base_dict

SHORT = ["--set", "run.horizon_years=1"]


def test_run_default_scenario_writes_complete_folder(tmp_path, capsys):
    out = tmp_path / "res"
    assert main(["run", *SHORT, "--replications", "2", "--out", str(out), "--csv", "--png"]) == 0
    printed = capsys.readouterr().out
    assert f"results: {out}" in printed and "avoided, t" in printed and "95% CI" in printed
    assert printed.index("The answer") < printed.index("National economic view")
    for f in ("scenario.resolved.yaml", "summary.json", "timeseries.parquet", "finance.parquet", "events.csv",
              "kpis.csv", "kpi_summary.csv", "timeseries.csv", "finance.csv", "series_quantiles.parquet",
              "reserve.png", "supply_demand.png", "price.png", "finance.png", "report.html"):
        assert (out / f).is_file(), f
    ts = pd.read_parquet(out / "timeseries.parquet")
    for col in ("replication", "day", "date", "commodity", "arm", "capacity_t", "arrivals_t", "demand_t",
                "delivered_t", "shortfall_t", "price_usd_per_t", "reserve_stock_t", "reserve_purchases_t",
                "reserve_releases_t", "manufacturer_stock_t"):
        assert col in ts.columns, col
    assert set(ts.arm.unique()) == {"reserve", "counterfactual"}
    assert sorted(ts.replication.unique()) == [0]  # every replication's only with --keep-series
    bands = pd.read_parquet(out / "series_quantiles.parquet")
    assert set(bands.replications) == {2} and {"mean", "p5", "p50", "p95"} <= set(bands.columns)
    fin = pd.read_parquet(out / "finance.parquet")
    for col in ("cash_usd", "debt_usd", "draws_usd", "interest_usd", "principal_usd", "fees_usd",
                "sales_usd", "purchases_usd", "storage_cost_usd"):
        assert col in fin.columns, col
    summary = json.loads((out / "summary.json").read_text())
    assert summary["replications"] == 2 and len(summary["per_replication"]) == 2
    key = "difference.total.shortfall_avoided_t"
    lo, hi = summary["ci95"][key]
    assert lo <= summary["kpis"][key] <= hi
    assert len(pd.read_csv(out / "kpis.csv")) == 2


def test_static_panels_only_on_request(tmp_path):
    out = tmp_path / "res"
    assert main(["run", *SHORT, "--out", str(out)]) == 0
    # the report embeds these two; the series panels are interactive charts
    assert sorted(p.name for p in out.glob("*.png")) == ["commodities.png", "entitlements.png"]


def test_resolved_scenario_reproduces_the_run(tmp_path):
    out = tmp_path / "res"
    assert main(["run", *SHORT, "--seed", "77", "--out", str(out), "--no-plots"]) == 0
    resolved = load_scenario(out / "scenario.resolved.yaml")
    assert resolved.run.seed == 77 and resolved.run.horizon_years == 1
    again = simulate(resolved, seed=resolved.run.seed)
    first = json.loads((out / "summary.json").read_text())["per_replication"][0]
    assert again.summary["reserve.total.shortfall_t"] == pytest.approx(first["reserve.total.shortfall_t"])


def test_bad_input_exits_nonzero_and_writes_nothing(tmp_path, capsys):
    d = base_dict()
    d["suppliers"]["s1"]["capacity_tpy"] = -3
    f = tmp_path / "bad.yaml"
    f.write_text(yaml.safe_dump(d, sort_keys=False))
    out = tmp_path / "res"
    assert main(["run", str(f), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{f}:" in err and "suppliers.s1.capacity_tpy" in err and "greater than or equal to 0" in err
    assert not out.exists() and list(tmp_path.iterdir()) == [f]


def test_unknown_set_path_suggests(tmp_path, capsys):
    assert main(["run", "--set", "reserve.galium.target_days=90", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "did you mean 'gallium'" in err
    assert not (tmp_path / "x").exists()


def test_validate_command(tmp_path, capsys):
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(base_dict()))
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({**base_dict(), "colour": "red"}))
    assert main(["validate", str(good)]) == 0
    assert main(["validate", str(good), str(bad)]) == 2
    err = capsys.readouterr().err
    assert "unknown key 'colour'" in err


def test_interrupted_write_leaves_no_folder(tmp_path, monkeypatch):
    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(results_mod, "write_run_report", boom)  # the last file written
    out = tmp_path / "res"
    assert main(["run", *SHORT, "--out", str(out)]) == 130
    assert not out.exists()
    assert not any(p.name.startswith(".res") for p in tmp_path.iterdir())


def test_shell_split_brace_pattern_is_named_with_the_fix(capsys, tmp_path):
    # what bash leaves of --set reserve.{gallium,germanium}.target_days=90
    argv = ["run", "--set", "reserve.gallium.target_days=90", "reserve.germanium.target_days=90",
            "--out", str(tmp_path / "x")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "reserve.germanium.target_days=90: looks like a piece of a --set the shell split" in err
    assert "--set 'reserve.{gallium,germanium}.target_days=90'" in err
    assert not (tmp_path / "x").exists()


def test_set_key_space_value_gets_a_clear_message(capsys):
    assert main(["run", "--set", "reserve.gallium.target_days", "90"]) == 2
    err = capsys.readouterr().err
    assert "expected KEY.PATH=VALUE in one argument, e.g. --set reserve.gallium.target_days=90" in err


def test_a_scenario_file_after_a_set_is_not_mistaken_for_a_piece(tmp_path):
    from sim.cli import argv_problems

    assert argv_problems(["run", "--set", "run.seed=1", "scenarios/project_vault.yaml"]) == []
    assert argv_problems(["run", "--set=run.seed=1", "--seed", "2"]) == []


def test_stress_runs_a_ban_without_yaml_and_focuses_on_it(tmp_path, capsys):
    out = tmp_path / "stress"
    assert main(["stress", "--ban", "China:gallium:90d", "--start", "30", *SHORT, "--out", str(out),
                 "--no-plots"]) == 0
    printed = capsys.readouterr().out
    assert "stress: China stops 100% of its exports of gallium for 90 days from day 30" in printed
    assert "Focus: gallium" in printed
    resolved = load_scenario(out / "scenario.resolved.yaml")
    ban = resolved.shocks["stress_ban_1"]
    assert ban.kind == "export_restriction" and ban.country == "China" and ban.commodities == ["gallium"]
    assert [s for s, x in resolved.shocks.items() if x.enabled] == ["stress_ban_1"]


@pytest.mark.parametrize(("ban", "message"), [
    ("Chna:gallium:1y", "unknown country 'Chna'"), ("China:galium:1y", "unknown commodity galium"),
    ("China:gallium:1q", "duration '1q'"), ("China:gallium", "expected COUNTRY:COMMODITY"),
])
def test_stress_names_a_bad_ban(ban, message, capsys):
    assert main(["stress", "--ban", ban, *SHORT]) == 2
    assert message in capsys.readouterr().err


def test_xlsx_holds_the_kpi_and_commodity_tables(tmp_path, capsys):
    out = tmp_path / "res"
    assert main(["run", *SHORT, "--out", str(out), "--no-plots", "--xlsx", "--focus", "cobalt"]) == 0
    assert "Focus: cobalt" in capsys.readouterr().out
    sheets = pd.read_excel(out / "results.xlsx", sheet_name=None)
    assert list(sheets) == ["Answer", "KPIs", "Per commodity"]
    summary = json.loads((out / "summary.json").read_text())
    kpis = sheets["KPIs"].set_index("kpi")
    key = "economic.net_cost_npv_usd"
    assert kpis.loc[key, "mean"] == pytest.approx(summary["kpis"][key])
    assert kpis.loc[key, "unit"] == "USD" and "ci_low" not in kpis.columns  # one replication: no interval
    per = sheets["Per commodity"].set_index("commodity")
    cobalt = summary["kpis"]["economic.cobalt.net_cost_npv_usd"]
    assert per.loc["cobalt", "net cost, USD (NPV)"] == pytest.approx(cobalt)
    assert sheets["Answer"].iloc[0, 0].startswith("Did:")


def test_focus_on_an_unknown_commodity_fails_before_running(capsys):
    assert main(["run", *SHORT, "--focus", "unobtainium"]) == 2
    assert "--focus: unknown commodity 'unobtainium'" in capsys.readouterr().err


def test_sweep_shrinks_from_the_command_line():
    from sim.batch.command import resize
    from sim.batch.spec import load_sweep

    sweep = load_sweep("scenarios/sweeps/reserve_size_x_release.yaml")
    small = resize(sweep, replications=1, combos=2)
    assert (small.design.n_points, small.spec.replications) == (2, 1)
    assert small.design.overrides(1) == sweep.design.overrides(1)
    morris = load_sweep("scenarios/sweeps/gallium_ban_morris.yaml")
    assert resize(morris, samples=2).design.n_points < morris.design.n_points
    with pytest.raises(ValueError, match="--replications must be >= 1"):
        resize(sweep, replications=0)
