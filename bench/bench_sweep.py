"""Benchmark of a large sweep of the default scenario (not a test).

Runs a Sobol (default) or LHS study of scenarios/project_vault.yaml with one paired
replication per design point, as an analyst would: three uncertainties, the reserve
targets of gallium and germanium, those of the rare earths, and the rate of every
disruption shock; the default outcomes; plots and (Sobol) sensitivity indices on. The
sweep runs through :func:`sim.batch.sweep.run_sweep` in a fresh child process (so peaks
do not carry over) on ``--workers`` local processes, and prints:

- runs/s while running, the workers' CPU seconds per run (which another engineer's load
  on a shared machine does not change) against one run of the base scenario alone, and
  the time of 10,000 runs projected from both; the merge and reports' time;
- the driver's peak memory: its max RSS (``getrusage``; imports included, the RSS after
  imports and loading the sweep is shown too), with ``--tracemalloc`` its tracemalloc peak
  (Python objects only), and the growth per run between two sweep sizes (``--small``), for
  extrapolating. tracemalloc is off by default because it slows the driver, so a timed sweep
  would be slower than an analyst's: measured on 640 runs, merging and reports took 35.4 s
  with it and 6.3 s without, and the driver's CPU while running was 38 s against 7 s.
  Pool workers are separate processes and not counted; with ``--workers 1`` the runs
  happen in the driver, so tracemalloc is off there (it would slow them down).

The driver's memory does not depend on the horizon (it holds KPIs, never a run's time
series), so ``--horizon-years 0.1`` measures a full 10,000-run sweep's driver in minutes
while the engine is slow; the throughput of the real 15-year runs needs the default horizon.

    python bench/bench_sweep.py --runs 200 --small 40                 # 15-year runs, throughput
    python bench/bench_sweep.py --runs 10000 --small 1000 --horizon-years 0.1   # driver memory
    python bench/bench_sweep.py --design lhs --runs 10000             # the full study

Sobol makes N x (3 + 2) points with N a power of 2, so the sweep has the multiple of 5
nearest to ``--runs`` that it can make (10,240 for 10,000); LHS makes exactly ``--runs``.
``--design base`` is an LHS of gallium's demand elasticity within 1.19-1.21 (1.2 in the
scenario): runs cost what a run of the default costs, so the CPU per run in the sweep
against one run alone is what the batch machinery adds.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_RUNS = 10_000
UNCERTAINTIES = """\
  reserve.{gallium,germanium}.target_days: {low: 0, high: 180}
  reserve.{rare_earths_ndpr,rare_earths_heavy,rare_earths_light}.target_days: {low: 0, high: 180}
  shocks.*.rate_per_year: {low: 0.05, high: 0.6}
"""
N_UNCERTAINTIES = 3
#: ``--design base``: every point is the base scenario but for a change of no consequence
#: to the cost of a run, so CPU per run in the sweep against a run alone is the overhead.
BASE_UNCERTAINTY = "  commodities.gallium.demand_elasticity: {low: 1.19, high: 1.21}\n"


def design_samples(design: str, runs: int) -> int:
    """The sampler's ``samples`` giving about ``runs`` runs (one replication per point)."""
    if design in ("lhs", "base"):
        return runs
    per_base = N_UNCERTAINTIES + 2
    return 2 ** max(0, round(math.log2(max(1, runs / per_base))))


def sweep_text(design: str, runs: int, horizon: float | None, series: bool) -> str:
    set_ = f"set: [run.horizon_years={horizon}]\n" if horizon else ""
    keep = "series: [shortfall_t, reserve_stock_t]\nseries_step_days: 7\n" if series else "series: []\n"
    return (f"name: bench_{design}\nbase: {ROOT / 'scenarios' / 'project_vault.yaml'}\n{set_}"
            f"uncertainties:\n{BASE_UNCERTAINTY if design == 'base' else UNCERTAINTIES}"
            f"sampler: {'lhs' if design == 'base' else design}\nsamples: {design_samples(design, runs)}\n"
            f"replications: 1\nseed: 20260202\n{keep}")


def _cpu(who: int) -> float:
    ru = resource.getrusage(who)
    return ru.ru_utime + ru.ru_stime


def child(args: argparse.Namespace) -> dict:
    """One measured sweep in this process; returns its figures."""
    sys.path.insert(0, str(ROOT))
    import sim.batch.worker  # noqa: F401 - what a pool worker imports before its first task
    import sim.simulation.simulate  # noqa: F401

    start_cpu = time.process_time()  # interpreter and imports: a pool worker's start
    from sim.batch.spec import load_sweep
    from sim.batch.sweep import run_sweep
    from sim.simulation.simulate import simulate

    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "bench.yaml"
        f.write_text(sweep_text(args.design, args.runs, args.horizon_years, args.series))
        sweep = load_sweep(f)
        if args.child == "alone":  # one run of the sweep's base scenario, for reference
            c0 = time.process_time()
            simulate(sweep.scenario, seed=sweep.seed, replication=0)
            return {"alone_cpu_s": time.process_time() - c0, "worker_start_cpu_s": start_cpu}
        rss_start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        traced = args.workers > 1 and args.tracemalloc
        if traced:
            tracemalloc.start()
        load0, self0 = os.getloadavg()[0], _cpu(resource.RUSAGE_SELF)
        t0 = time.perf_counter()
        report, summary = run_sweep(sweep, Path(tmp) / "out", workers=args.workers, progress=False,
                                    plots=not args.no_plots)
        wall = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1] / 2**20 if traced else float("nan")
        tracemalloc.stop()
        out = Path(tmp) / "out"
        disk = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    # pool workers are this process's children, waited for when the pool shut down
    workers_cpu = _cpu(resource.RUSAGE_CHILDREN)
    return {
        "runs": summary.runs, "ok": summary.ok, "workers": args.workers, "outcomes": len(sweep.outcomes),
        "horizon_years": sweep.scenario.run.horizon_years, "wall_s": wall, "run_s": report.run_s,
        "finalize_s": report.finalize_s, "runs_per_s": report.executed_runs / report.run_s,
        "workers_cpu_per_run_s": workers_cpu / summary.runs,
        "driver_cpu_s": _cpu(resource.RUSAGE_SELF) - self0, "load": [load0, os.getloadavg()[0]],
        "rss_start_mb": rss_start, "rss_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "tracemalloc_peak_mb": peak, "disk_mb": disk / 2**20,
    }


def measure(args: argparse.Namespace, runs: int, what: str = "sweep") -> dict:
    cmd = [sys.executable, __file__, "--child", what, "--runs", str(runs), "--workers", str(args.workers),
           "--design", args.design]
    if args.horizon_years:
        cmd += ["--horizon-years", str(args.horizon_years)]
    cmd += ["--series"] * args.series + ["--no-plots"] * args.no_plots + ["--tracemalloc"] * args.tracemalloc
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode:
        sys.exit(f"child failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=TARGET_RUNS, help="runs in the sweep (one replication per point)")
    p.add_argument("--small", type=int, default=0, help="also a sweep of this many runs: driver memory per run")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--design", choices=("sobol", "lhs", "base"), default="sobol",
                   help="base: LHS of a change that leaves the cost of a run alone (measures the overhead)")
    p.add_argument("--horizon-years", type=float, help="shorten the runs (default: the scenario's 15 years)")
    p.add_argument("--series", action="store_true", help="keep weekly fan-chart series (default: none)")
    p.add_argument("--no-plots", action="store_true")
    p.add_argument("--tracemalloc", action="store_true",
                   help="also trace the driver's Python allocations (slows the driver: not for timing)")
    p.add_argument("--child", choices=("sweep", "alone"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(child(args)))
        return
    rows = []
    for runs in ([args.small] if args.small else []) + [args.runs]:
        print(f"measuring a sweep of about {runs} runs on {args.workers} worker(s) ...", file=sys.stderr, flush=True)
        rows.append(measure(args, runs))
    r = rows[-1]
    r.update(measure(args, 1, "alone"))
    what = "no-op LHS design (base)" if args.design == "base" else f"{args.design} design over 3 uncertainties"
    print(f"\nsweep benchmark: default scenario, {r['horizon_years']:g} years, {what}, 1 replication per point, "
          f"{r['outcomes']} outcomes, series {'weekly' if args.series else 'none'}, "
          f"plots {'off' if args.no_plots else 'on'}, {args.workers} worker(s)")
    print(f"{'runs':>6} {'ok':>6} {'wall s':>8} {'running s':>9} {'merge+report s':>14} {'runs/s':>7} {'CPU s/run':>9} "
          f"{'driver CPU s':>12} {'load avg':>9} {'driver RSS MB':>13} {'(at start)':>10} {'tracemalloc MB':>14} "
          f"{'disk MB':>8}")
    for x in rows:
        print(f"{x['runs']:>6} {x['ok']:>6} {x['wall_s']:>8.1f} {x['run_s']:>9.1f} {x['finalize_s']:>14.1f} "
              f"{x['runs_per_s']:>7.2f} {x['workers_cpu_per_run_s']:>9.3f} {x['driver_cpu_s']:>12.1f} "
              f"{x['load'][0]:>4.1f}-{x['load'][1]:<4.1f} {x['rss_peak_mb']:>13.0f} {x['rss_start_mb']:>10.0f} "
              f"{x['tracemalloc_peak_mb']:>14.1f} {x['disk_mb']:>8.1f}")
    net = r["workers_cpu_per_run_s"] - args.workers * r["worker_start_cpu_s"] / r["runs"]
    print(f"\nCPU s/run: the workers' CPU per run, their start included (about {r['worker_start_cpu_s']:.1f} s "
          f"each: {net:.3f} s per run without it); one run of the base scenario alone takes "
          f"{r['alone_cpu_s']:.3f} s CPU ({net / r['alone_cpu_s']:.2f}x in the sweep)")
    measured = TARGET_RUNS / r["runs_per_s"] / 60
    idle = TARGET_RUNS * r["workers_cpu_per_run_s"] / args.workers / 60
    # the workers start once per sweep, not once per run: at 10,000 runs their start is a few seconds
    start_s = r["worker_start_cpu_s"]
    steady = r["runs"] / max(r["run_s"] - start_s, 1e-9)
    once = (start_s + TARGET_RUNS / steady) / 60
    print(f"{TARGET_RUNS:,} runs: running {measured:.1f} min at the measured {r['runs_per_s']:.2f} runs/s "
          f"(the workers' start spread over {r['runs']} runs); {once:.1f} min with the start paid once "
          f"({steady:.2f} runs/s after it); {idle:.1f} min if each worker had a whole core "
          f"({TARGET_RUNS:,} x {r['workers_cpu_per_run_s']:.3f} s / {args.workers}); "
          f"plus merging and reports, {r['finalize_s']:.0f} s at {r['runs']} runs")
    if len(rows) == 2 and rows[1]["runs"] > rows[0]["runs"]:
        a, b = rows
        dn = b["runs"] - a["runs"]
        rss_kb = (b["rss_peak_mb"] - a["rss_peak_mb"]) * 1024 / dn
        tm_kb = (b["tracemalloc_peak_mb"] - a["tracemalloc_peak_mb"]) * 1024 / dn
        print(f"driver memory per run ({a['runs']} -> {b['runs']} runs): RSS {rss_kb:.1f} KB, tracemalloc "
              f"{tm_kb:.1f} KB; projected peak RSS at {TARGET_RUNS:,} runs: "
              f"{b['rss_peak_mb'] + rss_kb * (TARGET_RUNS - b['runs']) / 1024:.0f} MB")

if __name__ == "__main__":
    main()
