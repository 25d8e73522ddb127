"""Benchmark of ``run --replications N`` on the default scenario (not a test).

Runs ``python run.py run --replications N`` (the same code path: runner, results folder with
bands, plots, report) for N = 1, 10, 100 (and 1,000 with ``--with-1000``), each in a fresh
child process so that peaks do not carry over, and prints for each N:

- wall time and time per replication (the fixed costs of statistics, plots and the report
  are spread over the replications, so it should fall or stay flat as N grows);
- the child's peak resident memory (``ru_maxrss``), its resident memory before the run
  (imports and scenario loaded), the difference, and that difference per replication, which
  should fall as 1/N when memory is flat in N.

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
            "folder_mb": folder_mb}


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
    print(f"{'N':>6} {'wall s':>9} {'s/repl':>8} {'base MB':>9} {'peak MB':>9} {'peak-base':>10} "
          f"{'MB/repl':>8} {'folder MB':>10}")
    for n in counts:
        r = measure(n, args.years, args.keep_series)
        if r["status"] != 0:
            print(f"{n:>6} failed with status {r['status']}")
            continue
        grown = r["peak_rss_mb"] - r["base_rss_mb"]
        print(f"{n:>6} {r['wall_s']:>9.1f} {r['wall_s'] / n:>8.3f} {r['base_rss_mb']:>9.0f} {r['peak_rss_mb']:>9.0f} "
              f"{grown:>10.0f} {grown / n:>8.2f} {r['folder_mb']:>10.1f}", flush=True)


if __name__ == "__main__":
    main()
