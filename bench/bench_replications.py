"""Benchmark of ``run --replications N`` on the default scenario (not a test).

Runs ``python run.py run --replications N`` (the same code path: runner, results folder with
bands, plots, report) for N = 1, 10, 100 (and 1,000 with ``--with-1000``), each in a fresh
child process so that peaks do not carry over, and prints for each N:

- wall time and time per replication (the fixed costs of statistics, plots and the report
  are spread over the replications, so it should fall or stay flat as N grows);
- the child's peak resident memory (``ru_maxrss``): before the run (imports and scenario
  loaded), when the last replication has finished (before statistics, plots and report) and
  at the end; the growth over the base, and the growth per replication, which falls as 1/N
  when memory is flat in N.

``--years`` shortens the horizon (the engine takes seconds per 15-year replication).
``VAULTSIM_ROOT=DIR`` measures the code of another checkout (e.g. an older commit, to
compare memory before and after a change).

    python bench/bench_replications.py [--years 1] [--counts 1,10,100] [--with-1000] [--keep-series]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(os.environ.get("VAULTSIM_ROOT") or Path(__file__).resolve().parents[1])
SEED = 20260202


def child(n: int, years: float | None, keep_series: bool) -> dict:
    """One measured ``run --replications n`` in this process; returns its figures."""
    sys.path.insert(0, str(ROOT))
    from sim.cli import main
    from sim.scenario.loader import DEFAULT_SCENARIO, load_scenario

    overrides = [f"run.horizon_years={years:g}"] if years else []
    load_scenario(DEFAULT_SCENARIO, overrides)  # parsed once, as the run will, so imports are in the base
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    runs_done = _mark_end_of_replications()
    with tempfile.TemporaryDirectory() as tmp:
        argv = ["run", "--replications", str(n), "--seed", str(SEED), "--out", str(Path(tmp) / "out")]
        argv += [a for o in overrides for a in ("--set", o)] + (["--keep-series"] if keep_series else [])
        t0 = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            status = main(argv)
        wall = time.perf_counter() - t0
        folder_mb = sum(f.stat().st_size for f in (Path(tmp) / "out").iterdir()) / 1e6 if status == 0 else 0.0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"n": n, "status": status, "wall_s": wall, "base_rss_mb": base_rss, "peak_rss_mb": peak,
            "runs_rss_mb": runs_done.get("rss_mb", float("nan")), "runs_s": runs_done.get("t", t0) - t0,
            "folder_mb": folder_mb}


def _mark_end_of_replications() -> dict:
    """Record peak memory and time when the replications are done and the folder's summaries start."""
    import sim.report.results as res

    mark: dict = {}

    def wrap(fn):
        def marked(*args, **kwargs):
            mark.update(rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, t=time.perf_counter())
            return fn(*args, **kwargs)
        return marked

    if hasattr(res, "RunFolderWriter"):
        res.RunFolderWriter.finish = wrap(res.RunFolderWriter.finish)
    else:  # code from before streaming: every result is in memory when the folder is written
        res.write_run_folder = wrap(res.write_run_folder)
    return mark


def measure(n: int, years: float | None, keep_series: bool) -> dict:
    """Run :func:`child` in a fresh process."""
    cmd = [sys.executable, __file__, "--child", str(n)] + (["--years", str(years)] if years else [])
    cmd += ["--keep-series"] if keep_series else []
    done = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=str(ROOT))
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    """Parse arguments, measure each N in its own process, print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--years", type=float, help="horizon in years (default: the scenario's, 15)")
    ap.add_argument("--counts", default="1,10,100", help="replication counts, comma-separated (default 1,10,100)")
    ap.add_argument("--with-1000", action="store_true", help="also run 1,000 replications")
    ap.add_argument("--keep-series", action="store_true", help="run with --keep-series (every series to disk)")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child, args.years, args.keep_series)))
        return
    counts = [int(c) for c in args.counts.split(",")] + ([1000] if args.with_1000 else [])
    horizon = f"{args.years:g} years" if args.years else "15 years"
    print(f"run --replications N, default scenario, {horizon}, code from {ROOT}"
          f"{', --keep-series' if args.keep_series else ''}")
    print(f"{'N':>6} {'wall s':>8} {'s/repl':>7} {'runs s/repl':>11} {'base MB':>8} {'after runs':>10} "
          f"{'peak MB':>8} {'runs-base':>9} {'peak-base':>9} {'MB/repl':>8} {'folder MB':>9}")
    for n in counts:
        r = measure(n, args.years, args.keep_series)
        if r["status"] != 0:
            print(f"{n:>6} failed with status {r['status']}")
            continue
        base = r["base_rss_mb"]
        grown = r["peak_rss_mb"] - base
        print(f"{n:>6} {r['wall_s']:>8.1f} {r['wall_s'] / n:>7.3f} {r['runs_s'] / n:>11.3f} {base:>8.0f} "
              f"{r['runs_rss_mb']:>10.0f} {r['peak_rss_mb']:>8.0f} {r['runs_rss_mb'] - base:>9.0f} {grown:>9.0f} "
              f"{grown / n:>8.2f} {r['folder_mb']:>9.1f}", flush=True)


if __name__ == "__main__":
    main()
