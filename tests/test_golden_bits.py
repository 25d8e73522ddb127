"""Whole runs reproduce their golden digests bit for bit (series, summary, events, finance).

A failure means the model's arithmetic changed. If that was meant, regenerate the digests with
``python -m tests.golden --write`` and say why in the commit message.
"""

from __future__ import annotations

import json

import pytest

from tests.golden import CASES, GOLDEN_PATH, SEEDS, run_digests

GOLDEN = json.loads(GOLDEN_PATH.read_text())


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_run_matches_golden_bits(case, seed):
    got = run_digests(case, seed)
    assert got == GOLDEN[f"{case}/seed{seed}"]


def test_golden_file_covers_every_case():
    assert set(GOLDEN) == {f"{case}/seed{seed}" for case in CASES for seed in SEEDS}
