"""Benchmark: how the cost of a paired replication grows with horizon, commodities and manufacturers.

Run: ``python bench/bench_scaling.py [--reps 3]``. Variants of the default scenario:

- horizon 5, 15 and 30 years (``run.horizon_years``);
- the first 4, 8 and all 13 commodities (suppliers, demand, reserve, shocks and entitlements of
  the others dropped);
- every manufacturer split into 1, 2 and 4 equal copies (same total demand; members' copies
  stay members).

Printed: median CPU seconds of ``simulate()`` per paired replication, per simulated day, the
events processed, and each row's cost relative to the default (replications of all rows
interleaved, as the machine is shared). Replications are measured by
``bench/bench_replications.py`` (time and memory per replication at N = 1, 10, 100, 1,000).
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

from sim import load_scenario, simulate
from sim.scenario.loader import validate_data


def _keep_commodities(data: dict, keep: list[str]) -> dict:
    d = copy.deepcopy(data)
    d["commodities"] = {c: v for c, v in d["commodities"].items() if c in keep}
    d["suppliers"] = {k: v for k, v in d["suppliers"].items() if v["commodity"] in keep}
    d["reserve"] = {c: v for c, v in d["reserve"].items() if c in keep}
    for m in d["manufacturers"].values():
        for key in ("demand_tpy", "growth_by_commodity", "critical_share_by_commodity"):
            m[key] = {c: v for c, v in m[key].items() if c in keep}
    shocks = {}
    for k, v in d["shocks"].items():
        if "commodities" in v:
            v["commodities"] = [c for c in v["commodities"] if c in keep]
            if not v["commodities"]:
                continue
        shocks[k] = v
    d["shocks"] = shocks
    if d.get("parties"):
        for group in ("members", "allies"):
            for mem in d["parties"].get(group, {}).values():
                for key in ("entitlements_t", "entitlement_shares"):
                    mem[key] = {c: v for c, v in mem.get(key, {}).items() if c in keep}
    return d


def _split_manufacturers(data: dict, k: int) -> dict:
    if k == 1:
        return data
    d = copy.deepcopy(data)
    out = {}
    for name, m in d["manufacturers"].items():
        for i in range(k):
            c = copy.deepcopy(m)
            c["demand_tpy"] = {x: q / k for x, q in m["demand_tpy"].items()}
            out[f"{name}_{i}"] = c
    d["manufacturers"] = out
    if d.get("parties"):
        for mem in d["parties"]["members"].values():
            mem["manufacturers"] = [f"{m}_{i}" for m in mem["manufacturers"] for i in range(k)]
    return d


def _measure(scenarios: list, reps: int) -> list[tuple[float, int]]:
    """Median CPU seconds per paired replication and events of each scenario, replications interleaved.

    Round ``r`` runs replication ``r`` of every scenario in turn, so a change in the machine's load
    (it is shared) falls on all rows alike instead of on whichever row ran then.
    """
    for s in scenarios:
        simulate(s, seed=0)  # warm-up (compiles kernels for new shapes only once per process)
    times: list[list[float]] = [[] for _ in scenarios]
    events = [0] * len(scenarios)
    for rep in range(reps):
        for i, s in enumerate(scenarios):
            c = time.process_time()
            r = simulate(s, seed=s.run.seed, replication=rep)
            times[i].append(time.process_time() - c)
            events[i] = r.meta["events_processed"]
    return [(statistics.median(t), e) for t, e in zip(times, events)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    base = load_scenario(None)
    data = base.model_dump(mode="json")
    cids = list(base.commodities)
    rows = []
    for years in (5, 15, 30):
        rows.append((f"horizon {years} y", base.with_changes({"run.horizon_years": years})))
    for n in (4, 8):
        rows.append((f"{n} commodities", validate_data(_keep_commodities(data, cids[:n]))))
    for k in (2, 4):
        rows.append((f"{k * len(base.manufacturers)} manufacturers", validate_data(_split_manufacturers(data, k))))
    (ref, _), *measured = _measure([base] + [s for _, s in rows], args.reps)
    print(f"default: {base.run.horizon_years:g} y, {len(cids)} commodities, {len(base.manufacturers)} manufacturers: "
          f"{ref:.3f} s CPU per paired replication (median of {args.reps}, interleaved with the variants)")
    print(f"{'variant':22s} {'s/replication':>14s} {'us/day':>8s} {'events':>8s} {'vs default':>10s}")
    for (name, s), (sec, events) in zip(rows, measured):
        print(f"{name:22s} {sec:14.3f} {sec / s.run.horizon_days * 1e6:8.1f} {events:8,d} {sec / ref:10.2f}")


if __name__ == "__main__":
    main()
