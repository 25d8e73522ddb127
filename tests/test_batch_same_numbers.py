"""Same numbers: a sweep's KPIs and series do not depend on where its runs ran.

The default scenario, cut to a quarter of a year with frequent shocks so reserves are drawn,
runs as a small sweep on 1 worker (in process), on 2 local worker processes (one
replication per task, so points are split and their series reduced from blocks) and on a
Dask LocalCluster (threads); every KPI of every run must equal, bit for bit, the KPI of the same
replication simulated alone with ``simulate(scenario.with_changes(...), seed, r)``.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from sim import load_scenario, simulate
from sim.batch.spec import load_sweep
from sim.batch.sweep import run_sweep

ROOT = Path(__file__).resolve().parents[1]
HORIZON_YEARS = 0.25
SWEEP = f"""\
name: same_numbers
base: {ROOT / "scenarios" / "project_vault.yaml"}
set: [run.horizon_years={HORIZON_YEARS}]
levers:
  reserve.*.target_days: [30, 90]
uncertainties:
  shocks.*.rate_per_year: {{low: 1.0, high: 4.0}}
sampler: lhs
samples: 2
replications: 2
seed: 7
outcomes: ["*"]
series: [shortfall_t, reserve_stock_t, price_usd_per_t, debt_usd]
"""
VOLATILE = ["runtime_s", "worker", "session"]


def _runs(out: Path) -> pd.DataFrame:
    df = pd.read_parquet(out / "runs.parquet").sort_values("run_id").reset_index(drop=True)
    return df.drop(columns=VOLATILE)


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory) -> dict[str, Path]:
    """The one sweep run on 1 worker and on 2 local processes; its resolved form."""
    tmp = tmp_path_factory.mktemp("same")
    (tmp / "whole.yaml").write_text(SWEEP)
    (tmp / "split.yaml").write_text(SWEEP + "runs_per_task: 1\n")
    outs = {}
    for label, file, workers in (("one", "whole.yaml", 1), ("two", "split.yaml", 2)):
        outs[label] = tmp / label
        report, summary = run_sweep(load_sweep(tmp / file), outs[label], workers=workers, progress=False,
                                    plots=False)
        assert summary is not None and summary.ok == summary.runs == 8
        assert report.runs_per_task == (2 if workers == 1 else 1)
    outs["file"] = tmp / "whole.yaml"
    return outs


def test_every_kpi_equals_the_replication_run_alone(sweeps):
    sweep = load_sweep(sweeps["file"])
    runs = _runs(sweeps["one"])
    kpi_keys = sweep.kpi_keys
    assert len(kpi_keys) > 500 and set(kpi_keys) <= set(runs.columns)  # every KPI is kept
    base = load_scenario(ROOT / "scenarios" / "project_vault.yaml")
    for _, row in runs.iterrows():
        changes = {"run.horizon_years": HORIZON_YEARS, **dict(sweep.design.overrides(int(row["point"])))}
        alone = simulate(base.with_changes(changes), seed=sweep.seed, replication=int(row["replication"])).summary
        assert set(alone) == set(kpi_keys)
        differ = [k for k in kpi_keys
                  if not (float(alone[k]) == row[k] or (math.isnan(float(alone[k])) and math.isnan(row[k])))]
        assert not differ, f"run {row['run_id']}: {differ[:5]} differ from the run alone"
    # the design matters, so equality is not the trivial kind
    assert runs["reserve.total.purchases_t"].nunique() > 1
    assert runs.groupby("point")["counterfactual.total.loss_npv_usd"].nunique().gt(1).all()


def test_one_and_two_workers_agree_exactly(sweeps):
    pd.testing.assert_frame_equal(_runs(sweeps["one"]), _runs(sweeps["two"]), check_exact=True)
    pd.testing.assert_frame_equal(pd.read_parquet(sweeps["one"] / "series.parquet"),
                                  pd.read_parquet(sweeps["two"] / "series.parquet"), check_exact=True)
    pd.testing.assert_frame_equal(pd.read_csv(sweeps["one"] / "points.csv"),
                                  pd.read_csv(sweeps["two"] / "points.csv"), check_exact=True)


def test_dask_cluster_agrees_exactly(sweeps, tmp_path):
    distributed = pytest.importorskip("distributed")
    # worker threads in this process: the scheduler's path (scatter, submit, gather) without
    # the ~10 s of starting worker processes; pickling across processes is covered by the
    # local pool above
    with distributed.LocalCluster(n_workers=2, processes=False, threads_per_worker=1,
                                  dashboard_address=":0") as cluster:
        report, summary = run_sweep(load_sweep(sweeps["file"]), tmp_path / "dask",
                                    scheduler=cluster.scheduler_address, progress=False, plots=False)
    assert "Dask cluster" in report.executor and summary.ok == 8
    workers = set(pd.read_parquet(tmp_path / "dask" / "runs.parquet")["worker"])
    assert all(":" in w for w in workers)
    pd.testing.assert_frame_equal(_runs(sweeps["one"]), _runs(tmp_path / "dask"), check_exact=True)
    pd.testing.assert_frame_equal(pd.read_parquet(sweeps["one"] / "series.parquet"),
                                  pd.read_parquet(tmp_path / "dask" / "series.parquet"), check_exact=True)
