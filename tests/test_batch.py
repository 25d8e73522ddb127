"""Batch sweeps: sweep-file errors, designs, identical results on any number of workers,
streaming and resume, failures recorded, outputs and sensitivity indices."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from sim import ScenarioError
from sim.batch.command import main as sweep_main
from sim.batch.plots import efficient_frontier
from sim.batch.spec import load_sweep
from sim.batch.sweep import run_sweep
from sim.metrics.stats import mean_ci
from tests.builders import base_dict, merge

ID_COLS = ["run_id", "point", "replication", "seed", "run_key"]


def small_scenario() -> dict:
    """One commodity from two countries, a stochastic ban by one, a reserve: fast and noisy."""
    return merge(base_dict(), {
        "run": {"horizon_years": 1, "seed": 5},
        "suppliers": {
            "s1": {"output_cv": 0.05},
            "s2": {"commodity": "ga", "country": "B", "capacity_tpy": 200.0, "lead_time_days": 20},
        },
        "manufacturers": {"m1": {"demand_cv": 0.1, "safety_stock_days": 10.0, "member": True,
                                 "critical_share": 1.0}},
        "shocks": {"ban": {
            "kind": "export_restriction", "country": "A", "commodities": ["ga"], "rate_per_year": 3.0,
            "duration_days": {"dist": "lognormal", "mean": 60, "cv": 0.5},
            "severity": {"dist": "beta", "mean": 0.8, "sd": 0.1},
        }},
        "reserve": {"ga": {"target_days": 30, "buy": {"max_rate_tpy": 150.0, "price_ceiling_ratio": 5.0}}},
        "financing": {
            "equity_usd": 20000.0, "loan_share_of_spend": 0.5,
            "facilities": {"bank": {"lender": "bank", "commitment_usd": 100000.0, "interest_rate": 0.05,
                                    "tenor_years": 5}},
        },
    })


@pytest.fixture
def scen(tmp_path: Path) -> Path:
    p = tmp_path / "scenario.yaml"
    p.write_text(yaml.safe_dump(small_scenario(), sort_keys=False))
    return p


def write_sweep(tmp_path: Path, text: str, name: str = "sweep.yaml") -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


GRID = """\
    name: grid
    base: scenario.yaml
    levers:
      reserve.ga.target_days: [0, 30, 60]
      reserve.*.release.trigger: [shortfall, cover]
    replications: 3
    seed: 11
    outcomes: [reserve.total.shortfall_t, counterfactual.total.*, finance.peak_debt_usd]
    series: [shortfall_t, reserve_stock_t]
    series_step_days: 7
"""


def run(sweep_path: Path, out: Path, **kw):
    kw.setdefault("workers", 1)
    kw.setdefault("progress", False)
    kw.setdefault("plots", False)
    return run_sweep(load_sweep(sweep_path), out, **kw)


def kpis(out: Path) -> pd.DataFrame:
    df = pd.read_parquet(out / "runs.parquet").sort_values("run_id").reset_index(drop=True)
    return df.drop(columns=["runtime_s", "worker", "session"])


# --------------------------------------------------------------------------- sweep files


def problems_of(path: Path):
    with pytest.raises(ScenarioError) as e:
        load_sweep(path)
    return e.value.problems


def test_unknown_lever_path_is_located_with_suggestion(tmp_path, scen):
    p = write_sweep(tmp_path, """\
        base: scenario.yaml
        levers:
          reserve.ga.target_dayz: [10, 20]
    """)
    (prob,) = problems_of(p)
    assert (prob.source, prob.line) == (str(p), 3)
    assert "levers.reserve.ga.target_dayz" in str(prob)
    assert "did you mean 'target_days'" in prob.message


def test_schema_errors_are_located(tmp_path, scen):
    p = write_sweep(tmp_path, """\
        base: scenario.yaml
        replication: 3
        uncertainties:
          commodities.ga.demand_elasticity: {low: 0.5, high: 0.1}
          commodities.ga.price_adjust_per_day: {dist: gamma, mean: 1}
        sampler: sobool
    """)
    probs = {p.path: p for p in problems_of(p)}
    assert "did you mean 'replications'" in probs["replication"].message and probs["replication"].line == 2
    assert probs["uncertainties.commodities.ga.demand_elasticity"].line == 4
    assert "low < high" in probs["uncertainties.commodities.ga.demand_elasticity"].message
    assert "unknown dist 'gamma'" in probs["uncertainties.commodities.ga.price_adjust_per_day"].message
    assert probs["sampler"].line == 6


def test_outcomes_series_and_sampler_checks(tmp_path, scen):
    p = write_sweep(tmp_path, """\
        base: scenario.yaml
        uncertainties:
          commodities.ga.demand_elasticity: {low: 0.1, high: 0.5}
        sampler: sobol
        samples: 6
    """)
    (prob,) = problems_of(p)
    assert prob.path == "samples" and "power of 2" in prob.message
    p = write_sweep(tmp_path, """\
        base: scenario.yaml
        outcomes: [reserve.total.shortfal_t, finance.*]
        series: [shortfall_tt]
    """)
    probs = {p.path: p for p in problems_of(p)}
    assert "did you mean 'reserve.total.shortfall_t'" in probs["outcomes[0]"].message
    assert probs["outcomes[0]"].line == 2 and probs["series[0]"].line == 3


def test_bad_base_and_set_are_reported(tmp_path, scen):
    p = write_sweep(tmp_path, "base: nowhere.yaml\n")
    assert "file not found" in problems_of(p)[0].message
    p = write_sweep(tmp_path, "base: scenario.yaml\nset: [run.horizon_yearz=2]\n")
    (prob,) = problems_of(p)
    assert prob.line == 2 and "horizon_years" in prob.message


def test_wildcards_expand_over_scenario_entries(tmp_path, scen):
    sweep = load_sweep(write_sweep(tmp_path, GRID))
    assert sweep.design.lever_paths["reserve.*.release.trigger"] == ["reserve.ga.release.trigger"]
    braces = load_sweep(write_sweep(tmp_path, """\
        base: scenario.yaml
        set: [suppliers.*.lead_time_days=12, shocks.*.enabled=false]
        levers:
          suppliers.{s1,s2}.capacity_tpy: [300, 400]
    """, "braces.yaml"))
    assert braces.design.lever_paths["suppliers.{s1,s2}.capacity_tpy"] == [
        "suppliers.s1.capacity_tpy", "suppliers.s2.capacity_tpy"]
    assert braces.scenario.suppliers["s2"].lead_time_days == 12 and not braces.scenario.shocks["ban"].enabled
    assert braces.design.overrides(1) == [("suppliers.s1.capacity_tpy", 400), ("suppliers.s2.capacity_tpy", 400)]
    p = write_sweep(tmp_path, "base: scenario.yaml\nlevers:\n  suppliers.{s1,s3}.capacity_tpy: [1]\n", "bad.yaml")
    assert "unknown entry 's3'" in problems_of(p)[0].message
    assert sweep.design.n_points == 6
    assert "counterfactual.total.shortfall_t" in sweep.outcomes
    assert "finance.net_cost_npv_usd" in sweep.outcomes  # always kept for the cost-benefit plot


# --------------------------------------------------------------------------- designs


def test_lhs_design_is_stratified_and_seeded(tmp_path, scen):
    text = """\
        base: scenario.yaml
        uncertainties:
          commodities.ga.demand_elasticity: {low: 0.1, high: 0.5}
          suppliers.s2.capacity_tpy: {low: 10, high: 50}
        sampler: lhs
        samples: 10
        seed: SEED
    """
    d1 = load_sweep(write_sweep(tmp_path, text.replace("SEED", "1"))).design
    d2 = load_sweep(write_sweep(tmp_path, text.replace("SEED", "1"), "b.yaml")).design
    d3 = load_sweep(write_sweep(tmp_path, text.replace("SEED", "2"), "c.yaml")).design
    x = np.array(d1.samples)
    assert x.shape == (10, 2)
    strata = np.floor((x - [0.1, 10]) / [0.4, 40] * 10).astype(int)
    for j in range(2):
        assert sorted(strata[:, j]) == list(range(10))
    assert d1.samples == d2.samples and d1.samples != d3.samples


def test_integer_fields_need_integer_samples(tmp_path, scen):
    p = write_sweep(tmp_path, """\
        base: scenario.yaml
        uncertainties:
          suppliers.s2.lead_time_days: {low: 10, high: 51}
        sampler: lhs
    """)
    (prob,) = problems_of(p)
    assert prob.line == 3 and "integer: true" in prob.message
    text = p.read_text().replace("high: 51}", "high: 51, integer: true}")
    d = load_sweep(write_sweep(tmp_path, text, "ok.yaml")).design
    assert all(isinstance(s[0], int) and 10 <= s[0] <= 51 for s in d.samples)


def test_grid_of_uncertainties_and_choice(tmp_path, scen):
    d = load_sweep(write_sweep(tmp_path, """\
        base: scenario.yaml
        levers:
          reserve.ga.release.allocation: [members_first, pro_rata]
        uncertainties:
          commodities.ga.demand_elasticity: {low: 0.0, high: 0.6}
          reserve.ga.release.trigger: {values: [shortfall, price, cover]}
        sampler: grid
        samples: 2
    """)).design
    assert d.n_points == 2 * 2 * 3
    assert sorted({round(s[0], 6) for s in d.samples}) == [0.15, 0.45]
    assert {s[1] for s in d.samples} == {"shortfall", "price", "cover"}


def test_efficient_frontier():
    cost = np.array([1.0, 2.0, 2.0, 3.0, 0.5, np.nan])
    benefit = np.array([1.0, 3.0, 2.0, 2.5, 0.2, 9.0])
    assert efficient_frontier(cost, benefit).tolist() == [4, 0, 1]


# --------------------------------------------------------------------------- running


def test_grid_sweep_outputs_and_common_random_numbers(tmp_path, scen):
    out = tmp_path / "out"
    report, summary = run(write_sweep(tmp_path, GRID), out)
    assert (report.executed_runs, summary.ok, summary.failed) == (18, 18, 0)
    df = kpis(out)
    assert len(df) == 18 and df["run_id"].tolist() == list(range(18))
    assert set(df["lever.reserve.ga.target_days"]) == {0, 30, 60}
    assert (df["seed"] == 11).all() and (df["status"] == "ok").all()
    # Common random numbers: reserve levers never change the no-reserve arm of replication r.
    cf = df.groupby("replication")["counterfactual.total.shortfall_t"].nunique()
    assert (cf == 1).all()
    assert df.groupby("replication")["counterfactual.total.shortfall_t"].first().nunique() == 3
    # The reserve arm does respond to the levers.
    assert df.groupby("point")["reserve.total.shortfall_t"].mean().nunique() > 1
    series = pd.read_parquet(out / "series.parquet")
    assert set(series["variable"]) == {"shortfall_t", "reserve_stock_t"}
    assert set(series["arm"]) == {"reserve", "counterfactual"}
    assert series["point"].nunique() == 6 and (series["n"] == 3).all()
    q = series[["q05", "q25", "q50", "q75", "q95"]].to_numpy()
    assert (np.diff(q, axis=1) >= 0).all()
    assert series["day"].max() == 364 // 7 * 7
    # Point 0 has no reserve: its reserve stock is zero throughout.
    p0 = series[(series["point"] == 0) & (series["variable"] == "reserve_stock_t")]
    assert (p0["q95"] == 0).all()
    points = pd.read_csv(out / "points.csv")
    key = "reserve.total.shortfall_t"
    for p in (0, 5):
        m, lo, hi = mean_ci(df.loc[df["point"] == p, key])
        row = points.loc[points["point"] == p].iloc[0]
        assert row[f"{key}.mean"] == pytest.approx(m, rel=1e-9, abs=1e-9)
        assert row[f"{key}.ci_high"] == pytest.approx(hi, rel=1e-9, abs=1e-9)
    resolved = yaml.safe_load((out / "sweep.resolved.yaml").read_text())
    assert resolved["seed"] == 11 and resolved["base"] == "scenario.resolved.yaml"


def test_resolved_sweep_reproduces_the_runs(tmp_path, scen):
    out = tmp_path / "a"
    run(write_sweep(tmp_path, GRID), out)
    again = tmp_path / "b"
    run(out / "sweep.resolved.yaml", again)
    a, b = kpis(out), kpis(again)
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_split_points_reduce_to_the_same_series(tmp_path, scen):
    text = GRID.replace("replications: 3", "replications: 5")
    run(write_sweep(tmp_path, text), tmp_path / "whole")
    split = text + "    runs_per_task: 2\n"
    report, _ = run(write_sweep(tmp_path, split, "split.yaml"), tmp_path / "split")
    assert report.runs_per_task == 2
    assert not any((tmp_path / "split" / "series" / "blocks").iterdir())  # scratch removed
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "whole" / "series.parquet"),
                                  pd.read_parquet(tmp_path / "split" / "series.parquet"), check_exact=True)
    pd.testing.assert_frame_equal(kpis(tmp_path / "whole"), kpis(tmp_path / "split"), check_exact=True)


def test_interrupted_sweep_resumes_only_missing_runs(tmp_path, scen):
    p = write_sweep(tmp_path, GRID + "    runs_per_task: 2\n")
    out = tmp_path / "out"
    report, summary = run(p, out, stop_after=4)
    assert report.interrupted and summary is None
    done_first = sum(len(pd.read_parquet(f)) for f in (out / "runs").glob("part-*.parquet"))
    assert done_first == 6  # the 4 tasks that finished: points 0 and 1, replications (0, 1) and (2,)
    with pytest.raises(FileExistsError):
        run(p, out)
    report, summary = run(p, out, resume=True)
    assert report.skipped_runs == done_first
    assert report.executed_runs == 18 - done_first
    df = pd.read_parquet(out / "runs.parquet")
    assert df["session"].value_counts().to_dict() == {1: done_first, 2: 18 - done_first}
    run(p, tmp_path / "straight")
    pd.testing.assert_frame_equal(kpis(out), kpis(tmp_path / "straight"), check_exact=True)
    pd.testing.assert_frame_equal(pd.read_parquet(out / "series.parquet"),
                                  pd.read_parquet(tmp_path / "straight" / "series.parquet"), check_exact=True)
    report, _ = run(p, out, resume=True)
    assert report.executed_runs == 0 and report.skipped_runs == 18


def test_runs_stream_to_disk_in_bounded_parts(tmp_path, scen, monkeypatch):
    # a part is written as soon as PART_ROWS runs wait: the driver never holds more
    monkeypatch.setattr("sim.batch.store.PART_ROWS", 4)
    monkeypatch.setattr("sim.batch.store.PART_SECONDS", 1e9)
    out = tmp_path / "out"
    run(write_sweep(tmp_path, GRID), out)  # 6 tasks of 3 runs
    parts = sorted((out / "runs").glob("part-*.parquet"))
    assert [len(pd.read_parquet(f)) for f in parts] == [6, 6, 6]
    assert kpis(out)["run_id"].tolist() == list(range(18))


def test_deleted_parts_are_rerun_on_resume(tmp_path, scen, monkeypatch):
    monkeypatch.setattr("sim.batch.store.PART_SECONDS", 0.0)  # a part per task
    p = write_sweep(tmp_path, GRID)
    out = tmp_path / "out"
    run(p, out)
    before = kpis(out)
    parts = sorted((out / "runs").glob("part-*.parquet"))
    lost = sum(len(pd.read_parquet(f)) for f in parts[1:3])
    for f in parts[1:3]:
        f.unlink()
    report, summary = run(p, out, resume=True)
    assert report.executed_runs == lost == 6 and summary.runs == 18
    pd.testing.assert_frame_equal(kpis(out), before, check_exact=True)


def test_resume_with_new_outcomes_reruns_the_runs(tmp_path, scen):
    p = write_sweep(tmp_path, GRID)
    out = tmp_path / "out"
    run(p, out)
    more = write_sweep(tmp_path, GRID.replace("finance.peak_debt_usd]", "finance.peak_debt_usd, reserve.ga.*]"),
                       "more.yaml")
    report, _ = run(more, out, resume=True)
    assert report.executed_runs == 18
    assert kpis(out)["reserve.ga.purchases_t"].notna().all()
    report, _ = run(p, out, resume=True)  # the latest parts answer the old outcomes too
    assert report.executed_runs == 0


def test_failing_design_point_is_recorded_and_others_finish(tmp_path, scen, capsys):
    p = write_sweep(tmp_path, """\
        base: scenario.yaml
        levers:
          reserve.ga.buy.max_rate_tpy: [100, -5, 200]
        replications: 2
        outcomes: [reserve.total.shortfall_t]
    """)
    out = tmp_path / "out"
    code = sweep_main([str(p), "--workers", "1", "--out", str(out), "--no-plots", "--quiet"])
    assert code == 1
    df = kpis(out)
    bad = df[df["point"] == 1]
    assert (bad["status"] == "failed").all() and bad["reserve.total.shortfall_t"].isna().all()
    assert bad["error"].str.contains("max_rate_tpy").all()
    assert (df.loc[df["point"] != 1, "status"] == "ok").all()
    text = capsys.readouterr().out
    assert "4 ok, 2 failed" in text and "max_rate_tpy" in text


@pytest.mark.slow
def test_killed_worker_loses_only_runs_in_flight(tmp_path, scen, monkeypatch):
    from sim.batch.worker import KILL_ENV

    p = write_sweep(tmp_path, GRID)
    out = tmp_path / "out"
    monkeypatch.setenv(KILL_ENV, "2")
    report, summary = run(p, out, workers=2)
    df = kpis(out)
    assert (df.loc[df["point"] == 2, "status"] == "lost").all()
    assert df.loc[df["point"] == 2, "error"].str.contains("died").all()
    assert (summary.ok, summary.lost) == (15, 3)  # tasks that shared the pool ran again
    monkeypatch.delenv(KILL_ENV)
    report, summary = run(p, out, resume=True)
    assert report.executed_runs == 18 - report.skipped_runs and summary.ok == 18
    run(p, tmp_path / "straight")
    pd.testing.assert_frame_equal(kpis(out), kpis(tmp_path / "straight"), check_exact=True)


def test_a_run_that_raises_is_recorded(tmp_path, scen, monkeypatch):
    import sim.simulation.simulate as simulate_module

    real = simulate_module.simulate

    def flaky(scenario, seed=None, replication=0):
        if replication == 1:
            raise RuntimeError("boom in replication 1")
        return real(scenario, seed=seed, replication=replication)

    monkeypatch.setattr(simulate_module, "simulate", flaky)
    report, summary = run(write_sweep(tmp_path, GRID), tmp_path / "out")
    assert (summary.ok, summary.failed) == (12, 6)
    df = kpis(tmp_path / "out")
    assert df.loc[df["replication"] == 1, "error"].str.contains("boom in replication 1").all()
    series = pd.read_parquet(tmp_path / "out" / "series.parquet")
    assert (series["n"] == 2).all()


def test_sobol_indices_find_the_influential_input(tmp_path, scen):
    out = tmp_path / "out"
    p = write_sweep(tmp_path, """\
        base: scenario.yaml
        uncertainties:
          commodities.ga.value_of_lost_output_usd_per_t: {low: 1000, high: 100000}
          reserve.ga.holding_cost_share_per_year: {low: 0.0, high: 0.1}
        sampler: sobol
        samples: 8
        replications: 2
        outcomes: [counterfactual.total.loss_critical_npv_usd]
        series: []
    """)
    _, summary = run(p, out)
    assert summary.runs == 8 * 4 * 2
    sens = pd.read_csv(out / "sensitivity.csv")
    loss = sens[sens["outcome"] == "counterfactual.total.loss_critical_npv_usd"].set_index("parameter")
    assert loss.loc["commodities.ga.value_of_lost_output_usd_per_t", "ST"] > 0.9
    assert abs(loss.loc["reserve.ga.holding_cost_share_per_year", "ST"]) < 0.05
    assert not (out / "series.parquet").exists()


def test_morris_reports_mu_star_and_sigma(tmp_path, scen):
    out = tmp_path / "out"
    p = write_sweep(tmp_path, """\
        base: scenario.yaml
        levers:
          reserve.ga.target_days: [0, 30]
        uncertainties:
          commodities.ga.value_of_lost_output_usd_per_t: {low: 1000, high: 100000}
          reserve.ga.holding_cost_share_per_year: {dist: lognormal, mean: 0.03, cv: 0.5}
        sampler: morris
        samples: 4
        outcomes: [counterfactual.total.loss_critical_npv_usd]
        series: []
    """)
    run(p, out, plots=True)
    sens = pd.read_csv(out / "sensitivity.csv")
    assert {"mu", "mu_star", "mu_star_conf", "sigma"} <= set(sens.columns)
    assert set(sens["lever.reserve.ga.target_days"]) == {0, 30}
    loss = sens[sens["outcome"] == "counterfactual.total.loss_critical_npv_usd"]
    by = loss.groupby("parameter")["mu_star"].min()
    assert by["commodities.ga.value_of_lost_output_usd_per_t"] > 0 and by["reserve.ga.holding_cost_share_per_year"] == 0
    # Reserve holding cost moves net cost only where there is a reserve to hold.
    cost = sens[(sens["outcome"] == "finance.net_cost_npv_usd")
                & (sens["parameter"] == "reserve.ga.holding_cost_share_per_year")]
    assert cost.set_index("lever.reserve.ga.target_days")["mu_star"].to_dict()[0] == 0
    assert cost.set_index("lever.reserve.ga.target_days")["mu_star"].to_dict()[30] > 0
    assert (out / "plots" / "sensitivity_0.png").exists()


# --------------------------------------------------------------------------- command line


def test_command_end_to_end_with_plots(tmp_path, scen, capsys):
    out = tmp_path / "out"
    p = write_sweep(tmp_path, GRID.replace("replications: 3", "replications: 2"))
    assert sweep_main([str(p), "--workers", "1", "--out", str(out), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "6 design point(s) x 2 replication(s) = 12 runs" in text and "12 ok, 0 failed" in text
    names = {f.name for f in (out / "plots").iterdir()}
    assert {"cost_benefit.png", "kpis_vs_reserve_ga_target_days_p1.png", "kpis_vs_reserve_ga_target_days_p2.png",
            "fan_reserve_ga_target_days_shortfall_t.png",
            "fan_reserve_all_release_trigger_reserve_stock_t.png"} <= names
    assert sweep_main([str(p), "--workers", "1", "--out", str(out)]) == 2
    assert "--resume" in capsys.readouterr().err


def test_command_bad_input_exits_2_with_location(tmp_path, scen, capsys):
    p = write_sweep(tmp_path, "base: scenario.yaml\nlevers:\n  reserve.ga.targt_days: [1]\n")
    assert sweep_main([str(p), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert f"{p}:3: levers.reserve.ga.targt_days" in err
    assert sweep_main([str(p), "--resume"]) == 2


def test_progress_prints_plain_lines_when_not_a_terminal(tmp_path, scen):
    stream = io.StringIO()
    run(write_sweep(tmp_path, GRID), tmp_path / "out", progress=True, stream=stream)
    lines = stream.getvalue().strip().splitlines()
    assert lines and lines[-1].startswith("sweep: 18/18 runs (100%), 0 failed")
    assert "ETA" in lines[0]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_terminal_counts_runs_and_failures(tmp_path, scen):
    stream = _Terminal()
    p = write_sweep(tmp_path, GRID.replace("[0, 30, 60]", "[0, -30, 60]"))
    run(p, tmp_path / "out", progress=True, stream=stream)
    final = stream.getvalue().replace("\r", "\n").strip().splitlines()[-1]
    assert final.startswith("sweep: 100%") and "18/18" in final and "failed=6" in final


def test_a_task_that_raises_loses_only_its_own_runs(tmp_path, scen, monkeypatch):
    import sim.batch.runner as runner_module

    real = runner_module.execute_task

    def broken(base, task):
        if task.point == 4:
            raise MemoryError("no room for point 4")
        return real(base, task)

    monkeypatch.setattr(runner_module, "execute_task", broken)
    report, summary = run(write_sweep(tmp_path, GRID), tmp_path / "out")
    assert (report.failed_runs, summary.ok, summary.failed) == (3, 15, 3)
    df = kpis(tmp_path / "out")
    bad = df[df["point"] == 4]
    assert bad["error"].str.startswith("task error: MemoryError: no room for point 4").all()
    assert (df.loc[df["point"] != 4, "status"] == "ok").all()
    series = pd.read_parquet(tmp_path / "out" / "series.parquet")
    assert set(series["point"]) == {0, 1, 2, 3, 5}


def test_sensitivity_tick_labels_are_wrapped_not_cut():
    from sim.batch.sensitivity import _wrap

    label = "{rare_earths_ndpr,rare_earths_heavy,rare_earths_light}.target_days"
    wrapped = _wrap(label)
    assert wrapped.replace("\n", "") == label
    assert max(len(line) for line in wrapped.splitlines()) <= 22
    assert _wrap("*.rate_per_year") == "*.rate_per_year"
