"""EMA Workbench adaptor and PRIM scenario discovery (optional extra ``vaultsim[ema]``)."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest

ema_workbench = pytest.importorskip("ema_workbench")

from sim import ScenarioError, simulate  # noqa: E402
from sim.batch.discover import discover  # noqa: E402
from sim.batch.ema import scenario_model  # noqa: E402
from sim.cli import main  # noqa: E402
from tests.builders import scenario  # noqa: E402


def _short_scenario():
    return scenario(
        run={"horizon_years": 0.5},
        shocks={"ban": {"kind": "export_restriction", "country": "A", "commodities": ["ga"],
                        "rate_per_year": 1.0, "duration_days": 40, "severity": 0.8}},
        reserve={"ga": {"target_days": 30, "initial_stock_t": 30, "buy": {"max_rate_tpy": 100}}},
    )


def _run(model, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with ema_workbench.SequentialEvaluator(model) as ev:
            return ev.perform_experiments(**kw)


def test_adaptor_runs_experiments_by_key_path():
    s = _short_scenario()
    model = scenario_model(
        s,
        uncertainties={"shocks.*.rate_per_year": (0.5, 4.0), "commodities.ga.demand_elasticity": (0.2, 1.0)},
        levers={"reserve.ga.target_days": (0, 90), "reserve.ga.release.trigger": ["shortfall", "cover"]},
        outcomes=["reserve.ga.shortfall_t", "difference.total.*"],
        seed=11,
        replications=2,
    )
    assert [p.name for p in model.levers] == ["reserve.ga.target_days", "reserve.ga.release.trigger"]
    assert isinstance(model.levers[0], ema_workbench.IntegerParameter)
    assert "difference.total.loss_avoided_usd" in [o.name for o in model.outcomes]
    experiments, outcomes = _run(model, scenarios=3, policies=2)
    assert len(experiments) == 6 and len(outcomes["reserve.ga.shortfall_t"]) == 6
    # one experiment by hand: the same scenario, mean over the same two replications
    row = experiments.iloc[4]
    changed = s.with_changes({k: row[k] for k in ("shocks.*.rate_per_year", "commodities.ga.demand_elasticity",
                                                  "reserve.ga.target_days", "reserve.ga.release.trigger")})
    by_hand = np.mean([simulate(changed, seed=11, replication=r).summary["reserve.ga.shortfall_t"] for r in (0, 1)])
    assert outcomes["reserve.ga.shortfall_t"][4] == pytest.approx(by_hand)


def test_adaptor_checks_paths_ranges_and_outcomes_up_front():
    s = _short_scenario()
    with pytest.raises(ScenarioError, match="did you mean 'rate_per_year'"):
        scenario_model(s, uncertainties={"shocks.ban.rate_per_yr": (0.5, 4.0)})
    with pytest.raises(ScenarioError, match="greater than or equal to 0"):
        scenario_model(s, uncertainties={"reserve.ga.target_days": (-10.0, 30.0)})
    with pytest.raises(ScenarioError, match="did you mean 'reserve.ga.shortfall_t'"):
        scenario_model(s, uncertainties={"shocks.ban.rate_per_year": (0.5, 4.0)}, outcomes=["reserve.ga.shortfal_t"])


# --------------------------------------------------------------------------- PRIM


def synthetic_sweep(tmp_path, n=400, seed=4):
    """A runs table whose cases of interest lie where rate > 0.4 and target_days < 75."""
    rng = np.random.default_rng(seed)
    rate = rng.uniform(0.1, 0.6, n)
    days = rng.choice([0, 30, 60, 90, 120], n)
    trigger = rng.choice(["shortfall", "price", "cover"], n)
    noise = rng.uniform(0, 1, n)
    loss = np.where((rate > 0.4) & (days < 75), 5e8, 1e7) * rng.uniform(0.8, 1.2, n)
    runs = pd.DataFrame({
        "run_id": np.arange(n), "point": np.arange(n), "replication": 0, "seed": 1, "run_key": "k",
        "lever.reserve.{gallium,germanium}.target_days": days,
        "lever.reserve.gallium.release.trigger": trigger,
        "uncertainty.shocks.china_ga.rate_per_year": rate,
        "uncertainty.commodities.gallium.demand_elasticity": noise,
        "counterfactual.gallium.loss_usd": loss,
        "status": "ok", "error": "",
    })
    runs.loc[:9, "status"] = "failed"
    runs.loc[:9, "counterfactual.gallium.loss_usd"] = np.nan
    folder = tmp_path / "sweep"
    folder.mkdir()
    runs.to_parquet(folder / "runs.parquet")
    return folder, runs


def _bounds(text: str, name: str) -> dict[str, float]:
    out = {}
    for op, v in re.findall(re.escape(name) + r" (>=|<=) ([-0-9.e+]+)", text):
        out[op] = float(v)
    return out


def test_prim_finds_the_box_and_writes_readable_conditions(tmp_path, capsys):
    folder, _ = synthetic_sweep(tmp_path)
    out = tmp_path / "disc"
    code = main(["discover", str(folder), "--outcome", "counterfactual.gallium.loss_usd", "--threshold", "1e8",
                 "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    boxes = pd.read_csv(out / "boxes.csv")
    first = boxes.iloc[0]
    assert first.coverage > 0.8 and first.density > 0.9
    text = first.conditions
    assert "shocks.china_ga.rate_per_year >=" in text and "reserve.{gallium,germanium}.target_days <=" in text
    assert _bounds(text, "shocks.china_ga.rate_per_year")[">="] == pytest.approx(0.4, abs=0.03)
    assert 60 <= _bounds(text, "reserve.{gallium,germanium}.target_days")["<="] < 90
    assert "demand_elasticity" not in text and "trigger" not in text  # noise dimensions stay free
    assert text in printed and "10 runs left out" in printed
    traj = pd.read_csv(out / "trajectory.csv")
    assert traj.groupby("box").chosen.sum().eq(1).all()
    assert (out / "peeling_trajectory.png").stat().st_size > 10_000
    assert "## Box 1" in (out / "boxes.md").read_text()


def test_prim_categorical_conditions_and_below(tmp_path):
    _, runs = synthetic_sweep(tmp_path)
    runs = runs[runs.status == "ok"].copy()
    trig = runs["lever.reserve.gallium.release.trigger"]
    runs["finance.benefit_cost_ratio"] = np.where(trig == "shortfall", 0.5, 2.0)
    d = discover(runs, "finance.benefit_cost_ratio", 1.0, below=True)
    assert d.n_cases == int((trig == "shortfall").sum())
    assert d.boxes[0].conditions == ["reserve.gallium.release.trigger in {shortfall}"]
    assert d.boxes[0].density == pytest.approx(1.0)


def test_discover_bad_input_exits_2(tmp_path, capsys):
    folder, _ = synthetic_sweep(tmp_path)
    assert main(["discover", str(tmp_path / "nowhere"), "--outcome", "x", "--threshold", "1"]) == 2
    assert "runs.parquet" in capsys.readouterr().err
    assert main(["discover", str(folder), "--outcome", "counterfactual.gallium.loss_us", "--threshold", "1"]) == 2
    assert "did you mean 'counterfactual.gallium.loss_usd'" in capsys.readouterr().err
    assert main(["discover", str(folder), "--outcome", "counterfactual.gallium.loss_usd", "--threshold", "nan"]) == 2


def test_discover_without_cases_says_so(tmp_path, capsys):
    folder, _ = synthetic_sweep(tmp_path)
    assert main(["discover", str(folder), "--outcome", "counterfactual.gallium.loss_usd", "--threshold", "1e12",
                 "--out", str(tmp_path / "o")]) == 0
    assert "0 of 390 runs are cases of interest" in capsys.readouterr().out
    assert pd.read_csv(tmp_path / "o" / "boxes.csv").empty
