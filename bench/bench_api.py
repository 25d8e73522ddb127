"""Benchmark: deriving a changed scenario in Python against one paired replication.

Run: ``python bench/bench_api.py [--reps N] [--experiments N]``. In one invocation (the
machine is shared, so ratios are more telling than absolute times) it times, on the
default scenario:

1. ``scenario.with_changes({...})`` (derive and validate a changed scenario; no file read)
   against ``simulate(scenario, seed)`` (one paired replication, 15 years);
2. an EMA-style experiment (set two uncertainties and a lever, run one replication) done
   the old way, ``load_scenario(path, overrides=[...])`` + ``simulate``, which re-reads and
   re-validates the YAML file, and the new way, ``with_changes`` + ``simulate``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from sim import load_scenario, simulate
from sim.scenario.loader import DEFAULT_SCENARIO

CHANGES = {"reserve.gallium.target_days": 90, "shocks.*.rate_per_year": 0.4}


def _median_time(fn, reps: int) -> float:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--reps", type=int, default=5, help="repetitions of each timing (median reported)")
    ap.add_argument("--experiments", type=int, default=8, help="experiments per way in part 2")
    args = ap.parse_args()
    base = load_scenario()
    simulate(base, seed=0)  # warm-up: imports, caches
    derive = _median_time(lambda: base.with_changes(CHANGES), max(20, args.reps))
    load = _median_time(lambda: load_scenario(DEFAULT_SCENARIO), args.reps)
    run = _median_time(lambda: simulate(base, seed=1), args.reps)
    print(f"with_changes (derive + validate): {derive * 1e3:.1f} ms median")
    print(f"load_scenario (read YAML + validate): {load * 1e3:.1f} ms median")
    print(f"simulate, one paired replication (15 years): {run * 1e3:.0f} ms median")
    print(f"derive / replication: {100 * derive / run:.2f}%  (target < 5%)")

    rng = np.random.default_rng(1)
    points = [{"shocks.china_gallium_germanium.rate_per_year": float(rng.uniform(0.1, 0.6)),
               "commodities.gallium.demand_elasticity": np.float64(rng.uniform(0.1, 1.0)),
               "reserve.{gallium,germanium}.target_days": int(rng.choice([30, 60, 90, 120]))}
              for _ in range(args.experiments)]
    old_prep, new_prep, old_total, new_total = [], [], [], []
    for p in points:
        t0 = time.perf_counter()
        s = load_scenario(DEFAULT_SCENARIO, [f"{k}={v}" for k, v in p.items()])
        t1 = time.perf_counter()
        simulate(s, seed=1)
        t2 = time.perf_counter()
        old_prep.append(t1 - t0)
        old_total.append(t2 - t0)
        t0 = time.perf_counter()
        s = base.with_changes(p)
        t1 = time.perf_counter()
        simulate(s, seed=1)
        t2 = time.perf_counter()
        new_prep.append(t1 - t0)
        new_total.append(t2 - t0)
    for label, prep, total in (("before (load_scenario + overrides)", old_prep, old_total),
                               ("after  (with_changes)", new_prep, new_total)):
        m_prep, m_total = statistics.median(prep), statistics.median(total)
        print(f"EMA experiment {label}: {m_total:.3f} s median, of which scenario {m_prep * 1e3:.1f} ms "
              f"({100 * m_prep / m_total:.1f}%)")


if __name__ == "__main__":
    main()
