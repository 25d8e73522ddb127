"""Benchmark: what compiling the daily kernels costs a fresh process (a CI run, a new Dask worker).

Run: ``python bench/bench_compile.py``. Starts three fresh Python processes that each import
vaultsim and run one short paired replication (30 days), with the numba cache in a new empty
folder (``NUMBA_CACHE_DIR``):

1. cold: nothing cached, so every kernel is compiled (what the first process on a new machine pays);
2. warm: the same cache folder, so the kernels are loaded from it (every later process: pytest
   workers, sweep workers, Dask workers sharing the folder);
3. the same as 2 again.

Printed: wall seconds of each, split into import and first replication.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_CHILD = r"""
import json, time
t0 = time.perf_counter()
from sim import load_scenario, simulate
t1 = time.perf_counter()
s = load_scenario(None).with_changes({"run.horizon_years": 30 / 365})
simulate(s, seed=0)
t2 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "first_run": t2 - t1}))
"""


def main() -> None:
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        for label in ("cold (compile)", "warm (cache)", "warm (cache)"):
            out = subprocess.run([sys.executable, "-c", _CHILD], cwd=ROOT, env=env, capture_output=True, text=True,
                                 check=True)
            t = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"{label:15s} import {t['import']:.2f} s | first 30-day replication {t['first_run']:.2f} s")


if __name__ == "__main__":
    main()
