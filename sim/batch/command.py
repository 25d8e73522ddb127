"""``python run.py sweep SWEEP.yaml [--replications N] [--samples N] [--workers N] [--out DIR] [--resume]``.

``--replications``, ``--samples`` and ``--combos`` shrink (or grow) a sweep from the command line without
editing its file: a quick look at a large design before the full run.

Exit status: 0 when every run succeeded; 1 when the sweep finished but some runs failed
or were lost (their rows and errors are in runs.parquet); 2 on bad input (sweep file,
base scenario, options), with located messages on stderr; 130 when interrupted (the runs
finished so far are on disk: continue with ``--resume``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

EXIT_OK, EXIT_RUNS_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130
SWEEPS_DIR = Path("results") / "sweeps"


def build_parser() -> argparse.ArgumentParser:
    """Options of the ``sweep`` command."""
    p = argparse.ArgumentParser(
        prog="run.py sweep",
        description="Run replications and parameter sweeps (levers x uncertainty samples) on local cores "
        "or a Dask cluster; results stream to DIR and can be resumed.",
        epilog="Exit status: 0 all runs ok; 1 some runs failed (recorded in runs.parquet); 2 bad input; "
        "130 interrupted (continue with --resume).",
    )
    p.add_argument("sweep", help="sweep YAML file (see docs/batch.md)")
    p.add_argument("--replications", type=int, metavar="N",
                   help="paired replications per design point (default: the sweep file's)")
    p.add_argument("--samples", type=int, metavar="N",
                   help="the sampler's size (grid: levels per uncertainty; lhs: points; sobol: base samples, a "
                   "power of 2; default: the sweep file's)")
    p.add_argument("--combos", type=int, metavar="N",
                   help="keep only the first N lever combinations (each still sees every uncertainty sample)")
    p.add_argument("--workers", type=int, help="local worker processes (default: all cores; 1 runs in this process)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="dask.distributed scheduler, e.g. tcp://10.0.0.5:8786")
    p.add_argument("--out", metavar="DIR", help="output folder (default: results/sweeps/<name>-<time>)")
    p.add_argument("--resume", action="store_true", help="continue the sweep in --out: skip runs already on disk")
    p.add_argument("--retry-failed", action="store_true", help="with --resume, run failed runs again too")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.add_argument("--stop-after", type=int, help=argparse.SUPPRESS)  # test hook: stop after K tasks
    return p


def resize(sweep, replications: int | None = None, samples: int | None = None, combos: int | None = None):
    """The sweep with its replications, sampler size or lever combinations cut down (or raised).

    A new ``samples`` draws the uncertainty samples again; ``combos`` keeps the first lever
    combinations, so every policy kept still sees the same samples.

    Raises:
        ValueError: a size below 1, or a Sobol size that is not a power of 2.

    """
    import dataclasses

    from sim.batch.design import build_design

    spec, d = sweep.spec, sweep.design
    if replications is None and samples is None and combos is None:
        return sweep
    for flag, n in (("--replications", replications), ("--samples", samples), ("--combos", combos)):
        if n is not None and n < 1:
            raise ValueError(f"{flag} must be >= 1, got {n}")
    if samples is not None and spec.sampler == "sobol" and spec.uncertainties and samples & (samples - 1):
        lo = 1 << (samples.bit_length() - 1)
        raise ValueError(f"--samples: sobol needs a power of 2, got {samples} (try {lo} or {2 * lo})")
    spec = spec.model_copy(update={k: v for k, v in (("replications", replications), ("samples", samples))
                                   if v is not None})
    if samples is not None:
        d = build_design(spec.levers, dict(spec.uncertainties), spec.sampler, spec.n_samples_param, sweep.seed,
                         spec.second_order, spec.morris_levels, d.lever_paths, d.unc_paths)
    if combos is not None:
        d = dataclasses.replace(d, combos=d.combos[:combos])
    return dataclasses.replace(sweep, spec=spec, design=d)


def _duration(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else (f"{m}m{s:02d}s" if m else f"{seconds:.1f}s")


def _points_preview(out: Path, sweep, limit: int = 20) -> str:
    """The first design points with the mean of up to three KPIs."""
    import pandas as pd

    from sim.batch.spec import REQUIRED_OUTCOMES

    points = pd.read_csv(out / "points.csv")
    keys = [k for k in sweep.outcomes if k not in REQUIRED_OUTCOMES][:1] + list(REQUIRED_OUTCOMES)
    keys = [k for k in keys if f"{k}.mean" in points]
    cols = list(sweep.param_columns.values())
    table = points[["point", *cols]].copy()
    for k in keys:
        scale, unit = (1e-9, " USD bn") if k.endswith("_usd") else (1.0, "")
        table[f"{k}{unit}"] = points[f"{k}.mean"] * scale
    table.columns = [c.removeprefix("lever.").removeprefix("uncertainty.") for c in table.columns]
    text = table.head(limit).to_string(index=False, float_format=lambda v: f"{v:,.4g}")
    if len(points) > limit:
        text += f"\n  ... {len(points) - limit} more in points.csv"
    return text


def main(argv: list[str]) -> int:
    """Run the ``sweep`` command; returns the exit status."""
    from sim.batch.runner import default_workers
    from sim.batch.spec import load_sweep
    from sim.batch.sweep import run_sweep
    from sim.scenario.loader import ScenarioError

    args = build_parser().parse_args(argv)
    if args.resume and not args.out:
        print("error: --resume needs --out DIR (the folder of the sweep to continue)", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.workers is not None and args.workers < 1:
        print(f"error: --workers must be >= 1, got {args.workers}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        sweep = resize(load_sweep(args.sweep), args.replications, args.samples, args.combos)
    except ScenarioError as e:
        print(f"error: invalid sweep\n{e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    spec, d = sweep.spec, sweep.design
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = Path(args.out) if args.out else SWEEPS_DIR / f"{sweep.name}-{stamp}"
    where = f"Dask scheduler {args.scheduler}" if args.scheduler else (
        f"{args.workers or default_workers()} local worker(s)")
    print(f"sweep {sweep.name}: {d.n_points} design point(s) x {spec.replications} replication(s) = "
          f"{d.n_points * spec.replications} runs; sampler {spec.sampler}, seed {sweep.seed}")
    print(f"base: {sweep.base_path} ({sweep.scenario.run.horizon_years:g} years); running on {where}; output: {out}",
          flush=True)
    try:
        report, summary = run_sweep(
            sweep, out, workers=args.workers, scheduler=args.scheduler, resume=args.resume,
            retry_failed=args.retry_failed, progress=not args.quiet, stop_after=args.stop_after,
            plots=not args.no_plots,
        )
    except FileExistsError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (OSError, TimeoutError) as e:
        if args.scheduler:
            print(f"error: cannot use the Dask scheduler {args.scheduler}: {e}", file=sys.stderr)
            return EXIT_BAD_INPUT
        raise
    except KeyboardInterrupt:
        print(f"interrupted; finished runs are in {out}: continue with --resume --out {out}", file=sys.stderr)
        return EXIT_INTERRUPTED
    rate = report.executed_runs / report.wall_s if report.wall_s > 0 else 0.0
    notes = [f"{report.skipped_runs} already on disk"] if report.skipped_runs else []
    if report.duplicate_runs:
        notes.append(f"{report.duplicate_runs} shared by design points with identical settings")
    resumed = f" ({'; '.join(notes)})" if notes else ""
    print(f"ran {report.executed_runs} run(s){resumed} in {_duration(report.wall_s)} ({rate:.2f} runs/s, "
          f"{report.runs_per_task} per task, {report.executor or 'nothing to run'}): "
          f"{report.failed_runs} failed, {report.lost_runs} lost")
    if report.interrupted or summary is None:
        print(f"interrupted; finished runs are in {out}: continue with --resume --out {out}", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(f"results: {summary.runs} runs in runs.parquet: {summary.ok} ok, {summary.failed} failed, "
          f"{summary.lost} lost" + (f", {summary.missing} missing" if summary.missing else ""))
    for e in summary.errors:
        print(f"  run {e['run_id']} (point {e['point']}, replication {e['replication']}) {e['status']}: "
              f"{e['error'].splitlines()[0] if e['error'] else ''}")
    print(_points_preview(out, sweep))
    if (out / "points.csv").is_file():
        from sim.report.sweep_report import write_sweep_report

        print(f"report: {write_sweep_report(out, sweep.name)}")
    print(f"files in {out}: " + ", ".join(summary.files[:8]) + (" ..." if len(summary.files) > 8 else ""))
    return EXIT_RUNS_FAILED if (summary.failed or summary.lost or summary.missing) else EXIT_OK
