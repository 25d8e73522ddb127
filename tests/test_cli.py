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
    assert main(["run", *SHORT, "--replications", "2", "--out", str(out), "--csv"]) == 0
    printed = capsys.readouterr().out
    assert f"results: {out}" in printed and "shortfall avoided" in printed and "95% CI" in printed
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

    monkeypatch.setattr(results_mod, "plot_all", boom)
    out = tmp_path / "res"
    assert main(["run", *SHORT, "--out", str(out)]) == 130
    assert not out.exists()
    assert not any(p.name.startswith(".res") for p in tmp_path.iterdir())
