"""Benchmark: this engine against an earlier commit, interleaved in one run.

Run: ``python bench/bench_speedup.py [--baseline 89726d0] [--reps 5] [--scenario FILE]``.

The baseline commit is exported with ``git archive`` into a temporary folder; two worker
processes (baseline and current) each load the scenario once, warm up, and then run paired
replications one at a time, alternately, so both see the same machine load. Printed: the
median wall and CPU seconds per paired replication of each, and the ratio (throughput per
core = 1 / CPU seconds per replication). Both run the same seed and replications, and the
script checks that their loss avoided agrees to 1e-9 (same model, faster engine).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: The default baseline: the last commit before the engine was compiled.
BASELINE = "89726d0"
_WORKER = r"""
import json, sys, time
from sim import load_scenario, simulate
s = load_scenario(sys.argv[1] if sys.argv[1] != "-" else None)
simulate(s, seed=0)  # warm-up: imports, caches, compilation
print("ready", flush=True)
for line in sys.stdin:
    rep = int(line)
    w, c = time.perf_counter(), time.process_time()
    r = simulate(s, seed=s.run.seed, replication=rep)
    out = {"wall": time.perf_counter() - w, "cpu": time.process_time() - c,
           "loss_avoided": r.summary["difference.total.loss_avoided_npv_usd"]}
    print(json.dumps(out), flush=True)
"""


def _start(cwd: Path, scenario: str) -> subprocess.Popen:
    p = subprocess.Popen([sys.executable, "-c", _WORKER, scenario], cwd=cwd, stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    return p


def _ask(p: subprocess.Popen, rep: int) -> dict:
    assert p.stdin is not None and p.stdout is not None
    p.stdin.write(f"{rep}\n")
    p.stdin.flush()
    return json.loads(p.stdout.readline())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--baseline", default=BASELINE, help="git commit to compare against")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--scenario", default="-", help="scenario file (default: the default scenario)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "base.tar"
        subprocess.run(["git", "archive", "-o", str(archive), args.baseline], cwd=ROOT, check=True)
        base_dir = Path(tmp) / "base"
        with tarfile.open(archive) as tar:
            tar.extractall(base_dir, filter="data")
        scenario = args.scenario if args.scenario == "-" else str(Path(args.scenario).resolve())
        procs = {"baseline": _start(base_dir, scenario), "current": _start(ROOT, scenario)}
        runs: dict[str, list[dict]] = {k: [] for k in procs}
        for rep in range(args.reps):
            for name, p in procs.items():
                runs[name].append(_ask(p, rep))
        for p in procs.values():
            assert p.stdin is not None
            p.stdin.close()
            p.wait()
    med = {k: {m: statistics.median(r[m] for r in v) for m in ("wall", "cpu")} for k, v in runs.items()}
    diff = max(abs(a["loss_avoided"] - b["loss_avoided"]) / max(abs(a["loss_avoided"]), 1.0)
               for a, b in zip(runs["baseline"], runs["current"], strict=True))
    print(f"{args.reps} paired replications each, alternating, baseline {args.baseline} vs current:")
    for k, m in med.items():
        print(f"  {k:9s} wall {m['wall']:.3f} s  cpu {m['cpu']:.3f} s per paired replication "
              f"({1 / m['cpu']:.2f} per CPU-second)")
    print(f"throughput per core, current / baseline: {med['baseline']['cpu'] / med['current']['cpu']:.1f}x "
          f"(wall: {med['baseline']['wall'] / med['current']['wall']:.1f}x)")
    # the machine is shared: the load drifts between pairs, so also the ratio within each pair (run back to
    # back) and the ratio of the fastest runs (the least disturbed)
    pair = [b["cpu"] / c["cpu"] for b, c in zip(runs["baseline"], runs["current"], strict=True)]
    fastest = min(r["cpu"] for r in runs["baseline"]) / min(r["cpu"] for r in runs["current"])
    print(f"  median of the per-pair ratios {statistics.median(pair):.2f}x (range {min(pair):.2f}-{max(pair):.2f}); "
          f"fastest / fastest {fastest:.2f}x")
    print(f"largest relative difference in loss avoided: {diff:.1e}")


if __name__ == "__main__":
    main()
