"""Benchmark of batch sweeps on the default scenario (not a test).

Runs N paired runs of scenarios/project_vault.yaml (15 years) as a sweep of N/10 design
points (an LHS sample of gallium's price elasticity in a narrow band, so every run is the
default scenario in all but name) x 10 replications, with weekly series quantiles kept:

1. 100 runs on 1 worker (in process) and on 2 local workers: the speed-up;
2. N runs on 2 local workers: wall time and runs/s;
3. the driver's peak memory (its own max RSS and tracemalloc peak; pool workers are
   separate processes) at 100 and N runs on 2 workers, to show it does not grow with the
   runs (with 1 worker the simulation runs in the driver, so its memory is not the
   driver's; tracemalloc is off there because it would slow the simulation down).

Each measurement runs in a fresh child process, so peaks do not carry over.

    python bench/bench_sweep.py [--runs 1000] [--subset 100] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPLICATIONS = 10

SWEEP = """\
name: bench
base: {base}
uncertainties:
  commodities.gallium.demand_elasticity: {{low: 0.29, high: 0.31}}
sampler: lhs
samples: {points}
replications: {reps}
seed: 20260202
outcomes: [reserve.total.*, counterfactual.total.*, difference.total.*, finance.*]
series: [shortfall_t, reserve_stock_t]
series_step_days: 7
"""


def child(runs: int, workers: int) -> dict:
    """One measured sweep in this process; returns its figures."""
    sys.path.insert(0, str(ROOT))
    from sim.batch.spec import load_sweep
    from sim.batch.sweep import run_sweep

    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "bench.yaml"
        f.write_text(SWEEP.format(base=ROOT / "scenarios" / "project_vault.yaml", points=runs // REPLICATIONS,
                                  reps=REPLICATIONS))
        sweep = load_sweep(f)
        # tracemalloc would also trace (and slow down) the simulation itself when it runs
        # in this process, so the in-process timing goes without it
        traced = workers > 1
        if traced:
            tracemalloc.start()
        t0 = time.perf_counter()
        report, summary = run_sweep(sweep, Path(tmp) / "out", workers=workers, progress=False, plots=False)
        wall = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1] if traced else float("nan")
        tracemalloc.stop()
        runs_file = (Path(tmp) / "out" / "runs.parquet").stat().st_size
    return {
        "runs": summary.runs, "ok": summary.ok, "workers": workers, "wall_s": wall,
        "runs_per_s": summary.runs / wall, "rss_base_mb": base_rss,
        "rss_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "tracemalloc_peak_mb": peak / 2**20, "runs_parquet_kb": runs_file / 1024,
        "runs_per_task": report.runs_per_task,
    }


def measure(runs: int, workers: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", str(runs), str(workers)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=1000, help="paired runs in the large sweep (multiple of 10)")
    p.add_argument("--subset", type=int, default=100, help="runs used for the speed-up and the small memory point")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--child", nargs=2, type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return
    rows = []
    for runs, workers in ((args.subset, 1), (args.subset, args.workers), (args.runs, args.workers)):
        print(f"measuring {runs} runs on {workers} worker(s) ...", file=sys.stderr, flush=True)
        rows.append(measure(runs, workers))
    print(f"\nbatch sweep benchmark: default scenario (15 years), {REPLICATIONS} replications per design point")
    print(f"{'runs':>6} {'workers':>7} {'wall s':>8} {'runs/s':>7} {'driver RSS MB':>14} {'(at start)':>10} "
          f"{'tracemalloc MB':>14}")
    for r in rows:
        print(f"{r['runs']:>6} {r['workers']:>7} {r['wall_s']:>8.1f} {r['runs_per_s']:>7.2f} {r['rss_peak_mb']:>14.0f} "
              f"{r['rss_base_mb']:>10.0f} {r['tracemalloc_peak_mb']:>14.1f}")
    one, two, big = rows
    print(f"\nspeed-up of {args.workers} workers over 1 on {args.subset} runs: {one['wall_s'] / two['wall_s']:.2f}x")
    print(f"driver peak RSS at {two['runs']} vs {big['runs']} runs: {two['rss_peak_mb']:.0f} vs "
          f"{big['rss_peak_mb']:.0f} MB; tracemalloc peak {two['tracemalloc_peak_mb']:.1f} vs "
          f"{big['tracemalloc_peak_mb']:.1f} MB")


if __name__ == "__main__":
    main()
