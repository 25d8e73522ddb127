"""Intervals over replications: ratios of means, non-negative quantities, --precision."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.metrics.stats import (
    PRECISION_MIN_REPLICATIONS,
    bootstrap_rng,
    interval,
    kpi_table,
    mean_ci,
    precision_reached,
    ratio_ci,
)
from sim.simulation.replications import PRECISION_KPI
from tests.builders import NOISY, base_dict, merge


def test_bootstrap_ci_of_a_ratio_of_means_covers_the_true_ratio_about_95_percent_of_the_time():
    """Skewed, correlated benefit and cost over 30 replications; true ratio E[b] / E[c] = 1.5."""
    rng = np.random.Generator(np.random.PCG64(20260202))
    trials, n, covered = 400, 30, 0
    for k in range(trials):
        cost = rng.lognormal(0.0, 0.5, n)  # E = exp(0.125)
        benefit = 1.5 * cost * rng.gamma(4.0, 0.25, n)  # independent factor with mean 1
        r, lo, hi = ratio_ci(benefit, cost, rng=bootstrap_rng(k, "coverage"))
        covered += lo <= 1.5 <= hi
    assert 0.91 <= covered / trials <= 0.985


def test_ratio_is_the_ratio_of_means_not_the_mean_of_ratios():
    benefit = np.array([10.0, 0.0, 0.0])
    cost = np.array([1.0, 10.0, 10.0])
    r, lo, hi = ratio_ci(benefit, cost, rng=bootstrap_rng(1, "r"))
    assert r == pytest.approx(10.0 / 21.0)
    assert np.mean(benefit / cost) == pytest.approx(10 / 3)  # what the old KPI reported
    assert lo <= r <= hi


def test_a_ratio_whose_cost_can_be_negative_gets_no_interval():
    r, lo, hi = ratio_ci([1.0, 1.0, 1.0, 1.0], [5.0, -5.0, 4.0, -3.0], rng=bootstrap_rng(1, "r"))
    assert r == pytest.approx(1.0 / 0.25)
    assert np.isnan(lo) and np.isnan(hi)


def test_a_non_negative_quantity_never_gets_an_interval_below_zero():
    tonnes = [0.0, 0.0, 0.0, 0.0, 1000.0]
    _, t_lo, _ = mean_ci(tonnes)
    assert t_lo < 0  # what a t interval says
    m, lo, hi, method = interval(tonnes, rng=bootstrap_rng(1, "t"))
    assert method == "bootstrap" and 0.0 <= lo <= m <= hi <= 1000.0
    assert interval([-1.0, 2.0, 3.0])[3] == "t"  # signed quantities keep the t interval


def test_kpi_table_reports_percentiles_and_the_ratio_of_means():
    rows = [{"b": b, "c": c, "bcr": b / c} for b, c in [(1.0, 1.0), (9.0, 3.0), (2.0, 2.0), (4.0, 2.0)]]
    tab = kpi_table(rows, ratios={"bcr": ("b", "c")}, seed=3).set_index("kpi")
    assert tab.loc["bcr", "mean"] == pytest.approx(16.0 / 8.0)
    assert tab.loc["bcr", "ci_method"] == "ratio_bootstrap"
    assert tab.loc["b", "p50"] == pytest.approx(3.0)
    assert tab.loc["b", "p5"] <= tab.loc["b", "p50"] <= tab.loc["b", "p95"]
    again = kpi_table(rows, ratios={"bcr": ("b", "c")}, seed=3).set_index("kpi")
    pd.testing.assert_frame_equal(tab, again)  # seeded: the same intervals every time


# ------------------------------------------------------------------ run --precision


def _noisy(tmp_path) -> str:
    """A year with a reserve and a stochastic export ban: loss avoided varies across replications."""
    data = merge(base_dict(), NOISY)
    path = tmp_path / "noisy.yaml"
    path.write_text(json.dumps(data))
    return str(path)


def test_precision_stops_as_soon_as_the_half_width_criterion_holds(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", _noisy(tmp_path), "--precision", "0.25", "--max-replications", "60", "--no-plots",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    values = pd.read_csv(out / "kpis.csv")[PRECISION_KPI].to_numpy()
    n = len(values)
    seed = json.loads((out / "summary.json").read_text())["seed"]
    assert PRECISION_MIN_REPLICATIONS < n < 60  # it needed more than the minimum and stopped before the cap
    assert precision_reached(values, 0.25, seed=seed)[0]
    assert not precision_reached(values[:-1], 0.25, seed=seed)[0]  # one fewer was not enough
    summary = json.loads((out / "summary.json").read_text())
    assert summary["precision"]["reached"] and summary["precision"]["replications"] == n == summary["replications"]
    assert f"reached after {n} replications" in printed


def test_precision_says_so_when_the_cap_is_hit(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", _noisy(tmp_path), "--precision", "0.001", "--max-replications", "6", "--no-plots",
                 "--out", str(out)]) == 0
    assert "NOT reached after 6 replications" in capsys.readouterr().out
    assert len(pd.read_csv(out / "kpis.csv")) == 6


def test_precision_rejects_a_share_outside_0_1(tmp_path, capsys):
    assert main(["run", _noisy(tmp_path), "--precision", "5", "--out", str(tmp_path / "x")]) == 2
    assert "--precision" in capsys.readouterr().err
