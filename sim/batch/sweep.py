"""Running a sweep end to end: plan it, run it, store it, report it.

This module is the end of the batch pipeline and the only one that knows every stage::

    design -> spec -> plan -> worker -> runner -> store -> outputs, sensitivity, plots -> sweep

Each stage takes the resolved sweep (:class:`sim.batch.spec.ResolvedSweep`) or what the
stage before it made from it, and hands its results on; none imports a later stage
(``tests/test_batch_imports.py`` checks this).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import TextIO

from sim.batch.outputs import Summary, merge_runs, merge_series, points_table, write_resolved
from sim.batch.plan import Plan, make_plan
from sim.batch.plots import plot_sweep
from sim.batch.runner import Progress, SessionReport, default_workers, execute_plan, make_executor
from sim.batch.sensitivity import sensitivity_table, write_sensitivity
from sim.batch.spec import ResolvedSweep
from sim.batch.store import Recorder, Store
from sim.report.results import json_safe, write_atomic
from sim.version import __version__


def finalize(plan: Plan, store: Store, out: Path, plots: bool = True) -> Summary:
    """Merge parts into the final files, then sensitivity indices, plots and ``summary.json``."""
    sweep = plan.sweep
    summary = Summary(str(out), points=sweep.design.n_points)
    stats = merge_runs(plan, store, out, summary)
    merge_series(plan, store, out, summary)
    points = points_table(sweep, stats)
    write_atomic(out / "points.csv", points.to_csv(index=False))
    files = ["runs.parquet", "points.csv", "sweep.resolved.yaml", "scenario.resolved.yaml"]
    if sweep.series:
        files.insert(1, "series.parquet")
    if sweep.spec.sampler in ("sobol", "morris"):
        files += write_sensitivity(sensitivity_table(sweep, points), sweep, out, plots=plots)
    if plots:
        files += [str(p.relative_to(out)) for p in plot_sweep(sweep, points, out)]
    summary.files = files
    doc = {"sweep": sweep.name, "version": __version__, "written": dt.datetime.now().isoformat(timespec="seconds"),
           "seed": sweep.seed, "sampler": sweep.spec.sampler, "replications": sweep.spec.replications,
           "design_points": sweep.design.n_points, **asdict(summary)}
    write_atomic(out / "summary.json", json.dumps(json_safe(doc), indent=2))
    return summary


def run_sweep(
    sweep: ResolvedSweep,
    out: Path,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    retry_failed: bool = False,
    progress: bool = True,
    stop_after: int | None = None,
    stream: TextIO | None = None,
    plots: bool = True,
) -> tuple[SessionReport, Summary | None]:
    """Run a resolved sweep into ``out`` and write the merged outputs.

    Args:
        sweep: from :func:`sim.batch.spec.load_sweep`.
        out: output folder (created); must not hold another sweep's parts unless ``resume``.
        workers: local processes (default: all cores); 1 runs in this process.
        scheduler: address of a dask.distributed scheduler; overrides ``workers``.
        resume: skip runs already on disk.
        retry_failed: with ``resume``, run failed runs again too.
        progress: show a progress bar (or plain lines when not on a terminal).
        stop_after: test hook: behave as if interrupted after this many tasks.
        stream: where progress goes (default stderr).
        plots: write the PNG plots.

    Returns:
        ``(SessionReport, Summary | None)``; the summary is None when interrupted.

    Raises:
        FileExistsError: ``out`` holds sweep results and ``resume`` is not set.
    """
    t0 = time.perf_counter()
    out = Path(out)
    store = Store(out)
    if store.has_results() and not resume:
        raise FileExistsError(f"{out} already holds sweep results; use --resume to continue it or another --out")
    store.create()
    write_resolved(sweep, out)
    executor = make_executor(sweep.base, workers or default_workers(), scheduler)
    on_disk = store.on_disk(sweep.outcomes, bool(sweep.series)) if resume else None
    plan = make_plan(sweep, max(1, executor.capacity // 2), on_disk, retry_failed=retry_failed)
    report = SessionReport(plan.total_runs, plan.skipped_runs, plan.duplicate_runs, session=store.next_session(),
                           executor=executor.label, runs_per_task=plan.runs_per_task)
    recorder = Recorder(plan, store, report.session)
    bar = Progress(plan.total_runs, plan.skipped_runs + plan.duplicate_runs, stream=stream, enabled=progress)
    t_run = time.perf_counter()
    try:
        execute_plan(plan, executor, recorder, report, bar, stop_after)
    finally:
        recorder.flush()
        bar.close()
    recorder.reduce_ready()
    t_final = time.perf_counter()
    report.run_s = t_final - t_run
    summary = None if report.interrupted else finalize(plan, store, out, plots=plots)
    report.wall_s = time.perf_counter() - t0
    report.finalize_s = report.wall_s - (t_final - t0)
    return report, summary
