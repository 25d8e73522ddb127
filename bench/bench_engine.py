"""Benchmark: one paired replication of the default scenario, against a bare SimPy loop.

Run: ``python bench/bench_engine.py [--reps N] [--scenario FILE]``. Prints wall time per
paired replication (reserve + counterfactual arms), split into build / run / collect,
events processed per second, and the ratio to a bare SimPy timeout loop that processes
the same number of events, all measured in this one invocation (the machine is shared,
so ratios are more telling than absolute times).
"""

from __future__ import annotations

import argparse
import statistics
import time

import simpy

from sim import load_scenario, simulate
from sim.core.rng import Streams
from sim.engine.engine import Engine
from sim.model.world import build_world


def bare_simpy(n_events: int) -> float:
    """Seconds for a SimPy process that yields ``n_events`` timeouts."""
    env = simpy.Environment()

    def proc(env: simpy.Environment):
        for _ in range(n_events):
            yield env.timeout(1)

    env.process(proc(env))
    t0 = time.perf_counter()
    env.run()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--scenario", default=None)
    args = ap.parse_args()
    s = load_scenario(args.scenario)
    simulate(s, seed=0)  # warm-up: imports, caches, compiled kernels
    total, build, run, ratios, events = [], [], [], [], 0
    for rep in range(args.reps):
        t0 = time.perf_counter()
        streams = Streams(s.run.seed, rep)
        world = build_world(s, streams)
        t1 = time.perf_counter()
        eng = Engine(s, world, streams)
        eng.run()
        t2 = time.perf_counter()
        build.append(t1 - t0)
        run.append(t2 - t1)
        events = eng.env.events_processed
        # the bare loop right after, so both see the same machine load (the machine is shared)
        ratios.append((t2 - t1) / statistics.median(bare_simpy(events) for _ in range(3)))
        t3 = time.perf_counter()
        simulate(s, seed=s.run.seed, replication=rep)
        total.append(time.perf_counter() - t3)
    bare = statistics.median(bare_simpy(events) for _ in range(5))
    med_run = statistics.median(run)
    print(f"scenario: {s.meta.name}, {s.run.horizon_years:g} years, {len(s.commodities)} commodities, "
          f"{len(s.suppliers)} suppliers, {len(s.manufacturers)} manufacturers, {args.reps} paired replications")
    print(f"simulate() per paired replication: median {statistics.median(total):.3f} s "
          f"(min {min(total):.3f}, max {max(total):.3f})")
    collect = statistics.median(total) - statistics.median(build) - med_run
    print(f"  build {statistics.median(build) * 1e3:.0f} ms | engine run {med_run * 1e3:.0f} ms | "
          f"collect (checks, KPIs) {collect * 1e3:.0f} ms")
    print(f"events processed per replication: {events:,}; engine {events / med_run:,.0f} events/s")
    print(f"bare SimPy timeout loop, same {events:,} events: {bare * 1e3:.1f} ms ({events / bare:,.0f} events/s)")
    print(f"ratio engine run / bare SimPy (each replication against a bare loop timed just after it): median "
          f"{statistics.median(ratios):.1f}x (min {min(ratios):.1f}, max {max(ratios):.1f})")


if __name__ == "__main__":
    main()
