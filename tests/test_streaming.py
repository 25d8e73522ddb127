"""Streaming quantiles (P-square) against numpy.quantile, and the compact KPI rows."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sim.metrics.streaming import StreamingQuantiles, marker_probabilities
from sim.report.results import write_summary
from sim.simulation.replications import KpiRows

PROBS = (0.05, 0.5, 0.95)


def _stream(x: np.ndarray, probs=PROBS) -> StreamingQuantiles:
    s = StreamingQuantiles(x.shape[1:], probs)
    for row in x:
        s.add(row)
    return s


def _rank_error(x: np.ndarray, est: np.ndarray, probs=PROBS) -> np.ndarray:
    """|F_n(estimate) - p| per quantile and cell, F_n the empirical CDF of the observations."""
    return np.array([np.abs((x <= est[j]).mean(axis=0) - p) for j, p in enumerate(probs)])


@pytest.mark.parametrize("n", [1, 2, 9, 31, 32])
def test_exact_up_to_32_observations(n):
    x = np.random.default_rng(n).lognormal(size=(n, 7, 11))
    s = _stream(x)
    assert s.markers == 9 and s.exact == 32
    # exact up to float32 rounding of the values kept
    np.testing.assert_allclose(s.quantiles(), np.quantile(x, PROBS, axis=0), rtol=1e-6)


DISTRIBUTIONS = {
    "normal": lambda rng, size: rng.standard_normal(size),
    "lognormal": lambda rng, size: rng.lognormal(0.0, 1.0, size),
    "exponential": lambda rng, size: rng.exponential(1.0, size),
    "uniform": lambda rng, size: rng.uniform(0.0, 1.0, size),
}


@pytest.mark.parametrize("name", sorted(DISTRIBUTIONS))
@pytest.mark.parametrize("n, mean_tol, p99_tol", [(50, 0.03, 0.12), (100, 0.02, 0.08), (1000, 0.005, 0.02)])
def test_close_to_numpy_quantile_on_known_distributions(name, n, mean_tol, p99_tol):
    # tolerances in rank (share of observations): below the sampling error of the quantile
    # itself, sqrt(p (1 - p) / n) = 0.031 / 0.022 / 0.007 at p = 0.05 and n = 50 / 100 / 1000
    rng = np.random.default_rng(12)
    x = DISTRIBUTIONS[name](rng, (n, 2000))
    s = _stream(x)
    err = _rank_error(x, s.quantiles())
    assert err.mean() < mean_tol
    assert np.quantile(err, 0.99) < p99_tol


def test_mean_min_max_are_exact_and_quantiles_ordered_within_them():
    rng = np.random.default_rng(3)
    x = rng.lognormal(size=(300, 50, 40))
    s = _stream(x)
    np.testing.assert_allclose(s.mean(), x.mean(axis=0), rtol=1e-12)
    np.testing.assert_array_equal(s.minimum(), x.min(axis=0).astype(np.float32))
    np.testing.assert_array_equal(s.maximum(), x.max(axis=0).astype(np.float32))
    q = s.quantiles()
    assert (np.diff(q, axis=0) >= 0).all()
    assert (q[0] >= s.minimum()).all() and (q[-1] <= s.maximum()).all()


def test_an_atom_stays_put_and_constant_cells_stay_constant():
    # shortfall-like data: zero in 80% of replications; a series that never moves
    rng = np.random.default_rng(4)
    n = 400
    atom = np.where(rng.uniform(size=(n, 1000)) < 0.8, 0.0, rng.exponential(1.0, (n, 1000)))
    const = np.full((n, 10), 7.5)
    s = _stream(np.concatenate([atom, const], axis=1))
    q = s.quantiles()
    assert np.abs(q[:2, :1000]).max() < 1e-3 * atom.max()  # 5% and median of the atom: 0
    np.testing.assert_array_equal(q[:, 1000:], 7.5)


def test_memory_is_bounded_whatever_the_number_of_observations():
    s = StreamingQuantiles((20, 30))
    rng = np.random.default_rng(5)
    sizes = {}
    for i in range(1, 301):
        s.add(rng.standard_normal((20, 30)))
        sizes[i] = s.nbytes
    cells = 20 * 30
    assert sizes[1] == sizes[31] == cells * (32 * 4 + 8)  # the first 32 observations as they are
    assert sizes[32] == sizes[100] == sizes[300] == cells * (9 * 4 + 9 * 4 + 8)  # then 9 markers


def test_rejects_bad_quantiles_and_shapes():
    with pytest.raises(ValueError):
        StreamingQuantiles((3,), (0.5, 0.05))
    with pytest.raises(ValueError):
        StreamingQuantiles((3,), (0.0, 0.5))
    s = StreamingQuantiles((3,))
    with pytest.raises(ValueError):
        s.add(np.zeros(4))
    assert np.isnan(s.quantiles()).all()


def test_marker_probabilities_are_those_of_extended_p_square():
    np.testing.assert_allclose(marker_probabilities((0.5,)), [0, 0.25, 0.5, 0.75, 1])
    assert marker_probabilities(PROBS).size == 2 * len(PROBS) + 3


def _summaries():
    return [
        {"a.t": 1.5, "a.days": 3, "flag": True, "ratio": float("nan")},
        {"a.t": 2.5, "a.days": 4, "flag": False, "ratio": 0.5, "late": 1.0},
        {"a.t": 0.1, "a.days": 0, "flag": True, "ratio": 0.25},
    ]


def test_kpi_rows_give_back_each_summary_with_its_types():
    rows = KpiRows()
    for i, s in enumerate(_summaries()):
        rows.append(s, i, 9)
    got = list(rows.records())
    for want, have in zip(_summaries(), got):
        assert list(have) == list(want)  # a key a replication lacks stays absent
        for k, v in want.items():
            assert type(have[k]) is type(v)
            assert have[k] == v or (np.isnan(v) and np.isnan(have[k]))
    np.testing.assert_array_equal(rows.values("a.days"), [3, 4, 0])
    assert np.isnan(rows.values("late")[[0, 2]]).all() and np.isnan(rows.values("nope")).all()
    import pandas as pd

    want = pd.DataFrame([{"replication": i, "seed": 9, **s} for i, s in enumerate(_summaries())])
    pd.testing.assert_frame_equal(rows.frame(chunk=2), want)


def test_summary_json_streams_the_bytes_json_dumps_would_write(tmp_path):
    rows = KpiRows()
    for i, s in enumerate(_summaries()):
        rows.append({k: v for k, v in s.items() if not (isinstance(v, float) and np.isnan(v))}, i, 9)
    head = {"scenario": "x", "kpis": {"a.t": 1.0}, "parties": []}
    write_summary(tmp_path / "s.json", head, rows)
    per = [{"replication": i, **r} for i, r in enumerate(rows.records())]
    assert (tmp_path / "s.json").read_text() == json.dumps({**head, "per_replication": per}, indent=2)
