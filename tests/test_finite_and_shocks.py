"""Runs never produce non-finite results silently; stochastic shocks are one at a time."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

import sim.simulation.simulate as simulate_mod
from sim import simulate
from sim.cli import main
from sim.simulation.simulate import ConservationError, NonFiniteError
from tests.builders import base_dict, scenario


def _long_stochastic_ban(rate: float, horizon_years: float = 1.0):
    return scenario(
        run={"horizon_years": horizon_years},
        shocks={"ban": {"kind": "export_restriction", "country": "A", "commodities": ["ga"],
                        "rate_per_year": rate, "duration_days": 365 * 10 * horizon_years, "severity": 0.5}},
    )


def test_occurrence_outlasting_the_horizon_blocks_further_occurrences():
    """Rate 50/yr with every occurrence lasting 10 horizons: once one starts, it holds to the
    end, so supply is halved exactly once (never 0.5^k) and there is a single start."""
    r = simulate(_long_stochastic_ban(rate=50.0), seed=3)
    starts = r.events[r.events.event == "shock_start"]
    assert len(starts) == 1
    day0 = int(starts.day.iloc[0])
    cap = r.timeseries[(r.timeseries.arm == "reserve")].set_index("day")["capacity_t"]
    assert cap.loc[: day0 - 1].to_numpy() == pytest.approx(1.0)
    assert cap.loc[day0 + 1:].to_numpy() == pytest.approx(0.5)


def test_occurrences_that_end_before_the_horizon_still_renew():
    s = scenario(
        run={"horizon_years": 3},
        shocks={"ban": {"kind": "export_restriction", "country": "A", "commodities": ["ga"],
                        "rate_per_year": 4.0, "duration_days": 20, "severity": 0.5}},
    )
    r = simulate(s, seed=3)
    starts = r.events[r.events.event == "shock_start"].time_days.to_numpy()
    ends = r.events[r.events.event == "shock_end"].time_days.to_numpy()
    assert len(starts) > 3
    # one at a time: each occurrence ends before the next starts
    assert (starts[1:] >= ends[: len(starts) - 1]).all()
    cap = r.timeseries[r.timeseries.arm == "reserve"]["capacity_t"].to_numpy()
    assert cap.min() == pytest.approx(0.5)


def _poison(monkeypatch, series: str, value: float):
    """Make the engine record ``value`` on day 5 of ``series`` (as a broken model would)."""
    real_run = simulate_mod.Engine.run

    def run(self):
        real_run(self)
        self.rec[series][5, 0, 0] = value

    monkeypatch.setattr(simulate_mod.Engine, "run", run)


@pytest.mark.parametrize(("series", "value"), [("demand_t", np.nan), ("price_usd_per_t", np.inf),
                                               ("shortfall_t", -np.inf)])
def test_non_finite_series_fails_the_run(monkeypatch, series, value):
    _poison(monkeypatch, series, value)
    with pytest.raises(NonFiniteError, match=f"series {series} is .* for ga \\(reserve\\) on day 5"):
        simulate(scenario(), seed=1)


def test_non_finite_kpi_fails_the_run(monkeypatch):
    real = simulate_mod.compute_kpis

    def kpis(*a, **k):
        out = real(*a, **k)
        out["finance.net_cost_npv_usd"] = float("nan")
        return out

    monkeypatch.setattr(simulate_mod, "compute_kpis", kpis)
    with pytest.raises(NonFiniteError, match="KPI finance.net_cost_npv_usd is nan"):
        simulate(scenario(), seed=1)


def test_undefined_benefit_cost_ratio_is_allowed_but_not_infinite(monkeypatch):
    r = simulate(scenario(), seed=1)  # no reserve: net cost 0, ratio undefined
    assert np.isnan(r.summary["finance.benefit_cost_ratio"])
    real = simulate_mod.compute_kpis
    monkeypatch.setattr(simulate_mod, "compute_kpis",
                        lambda *a, **k: {**real(*a, **k), "finance.benefit_cost_ratio": float("inf")})
    with pytest.raises(NonFiniteError, match="benefit_cost_ratio is inf"):
        simulate(scenario(), seed=1)


def test_conservation_check_fails_on_nan_balances(monkeypatch):
    real_run = simulate_mod.Engine.run

    def run(self):
        real_run(self)
        self.rstock[0, 0] = np.nan  # closing stock NaN: the residual is NaN, not ~0

    monkeypatch.setattr(simulate_mod.Engine, "run", run)
    s = scenario()
    with pytest.raises(ConservationError, match="material of ga"):
        simulate_mod.check_conservation(_engine_after_run(s))


def _engine_after_run(s):
    from sim.core.rng import Streams
    from sim.model.world import build_world

    streams = Streams(1, 0)
    eng = simulate_mod.Engine(s, build_world(s, streams), streams)
    eng.run()
    return eng


def test_cli_run_that_fails_its_checks_leaves_no_folder(monkeypatch, tmp_path, capsys):
    f = tmp_path / "s.yaml"
    f.write_text(yaml.safe_dump(base_dict(), sort_keys=False))
    _poison(monkeypatch, "delivered_t", np.nan)
    out = tmp_path / "res"
    assert main(["run", str(f), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "non-finite results" in err and "Traceback" not in err
    assert not out.exists() and list(tmp_path.iterdir()) == [f]
