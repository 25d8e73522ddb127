"""The kernels are one statement with two executions: compiled, and plain Python with the same bits.

With ``NUMBA_DISABLE_JIT=1`` every kernel runs as the Python it is written in (``.ci/run`` also
runs the kernel and analytic tests that way). Here a 1-year run of the default in a plain-Python
process must give the compiled run's series, summary, events and finance bit for bit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.golden import run_digests

ROOT = Path(__file__).resolve().parents[1]
PLAIN = ("import json, numba\nfrom tests.golden import run_digests\n"
         "from sim.kernels.market_kernel import clear_and_ship\n"
         "assert numba.config.DISABLE_JIT and not hasattr(clear_and_ship, 'compile')\n"
         "print(json.dumps(run_digests({case!r}, 1, 1.0)))")


def _plain_digests(case: str) -> dict[str, str]:
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    out = subprocess.run([sys.executable, "-c", PLAIN.format(case=case)], cwd=ROOT, env=env,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_plain_python_default_equals_the_compiled_run():
    assert _plain_digests("default") == run_digests("default", 1, 1.0)


def test_plain_python_without_parties_equals_the_compiled_run():
    assert _plain_digests("default_no_parties") == run_digests("default_no_parties", 1, 1.0)
