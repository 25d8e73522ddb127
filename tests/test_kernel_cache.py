"""The kernels' disk cache follows their sources: an edited kernel or layout runs as edited.

numba alone keys a module's cache on that module's file, so an edit to a pack layout or to a
kernel that another module's kernel calls would run the old machine code. The package's
fingerprint check discards such a cache; no manual purge is needed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sim.kernels import cache

ROOT = Path(__file__).resolve().parents[1]
RUN = (
    "from sim import load_scenario, simulate\n"
    "s = load_scenario(None).with_changes({'run.horizon_years': 1})\n"
    "try:\n"
    "    r = simulate(s, seed=3)\n"
    "    print(r.series.values.sum().hex(), r.summary['difference.total.loss_avoided_npv_usd'].hex())\n"
    "except Exception as e:\n"
    "    print('error', type(e).__name__)\n"
)


def _run(tree: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}  # the in-tree cache, compiled
    env["PYTHONPATH"] = str(tree)
    out = subprocess.run([sys.executable, "-c", RUN], cwd=tree, capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip()


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


@pytest.mark.slow
def test_edited_kernels_run_as_edited_after_a_warm_run(tmp_path):
    shutil.copytree(ROOT / "sim", tmp_path / "sim", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "scenarios", tmp_path / "scenarios", ignore=shutil.ignore_patterns("__pycache__"))
    kernels = tmp_path / "sim" / "kernels"
    first = _run(tmp_path)
    assert not first.startswith("error")
    assert list((kernels / "__pycache__").glob("*.nbi")), "the warm run should have cached its kernels"
    # a row added in front of a pack shifts every index the cached kernels were compiled with
    _edit(kernels / "layout.py", "    PRICE = auto()\n", "    UNUSED_ROW = auto()\n    PRICE = auto()\n")
    assert _run(tmp_path) == first
    # an arithmetic edit in a kernel that the cached one-call day (another module) calls
    _edit(kernels / "market_kernel.py", "use_b = min(order[a, c], wt)", "use_b = 0.5 * min(order[a, c], wt)")
    assert _run(tmp_path) != first


def test_fingerprint_covers_every_kernel_source():
    names = {p.name for p in cache.KERNELS_DIR.glob("*.py")}
    assert {"layout.py", "market_kernel.py", "day_kernel.py", "jit.py"} <= names
    assert len(cache.source_fingerprint()) == 64


def test_a_stale_stamp_discards_the_compiled_files(tmp_path):
    (tmp_path / "k.nbi").write_text("x")
    (tmp_path / "k.1.nbc").write_text("x")
    (tmp_path / cache.STAMP_NAME).write_text("0" * 64)
    assert cache.discard_stale_cache(tmp_path)
    assert not list(tmp_path.glob("*.nb[ic]"))
    assert (tmp_path / cache.STAMP_NAME).read_text().strip() == cache.source_fingerprint()
    (tmp_path / "k.nbi").write_text("x")  # the same sources: the cache is kept
    assert not cache.discard_stale_cache(tmp_path)
    assert (tmp_path / "k.nbi").exists()
