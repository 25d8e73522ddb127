"""EMA Workbench adaptor: a scenario as an EMA model.

``scenario_model(scenario, uncertainties, levers, outcomes)`` returns an
``ema_workbench.Model`` whose uncertainties and levers are named by scenario key paths
(wildcards allowed, e.g. ``shocks.*.rate_per_year``) and whose outcomes are KPI keys of
``simulate(...).summary``. Each experiment derives its scenario with
:meth:`Scenario.with_changes` (no file is read again) and runs ``replications`` paired
replications; an outcome is the mean KPI over them. Replication ``r`` of every experiment
uses the same seed and index, so experiments share their random draws (common random
numbers) as in sweeps::

    from ema_workbench import SequentialEvaluator
    from sim import load_scenario
    from sim.batch.ema import scenario_model

    model = scenario_model(
        load_scenario(),
        uncertainties={"shocks.china_gallium_germanium.rate_per_year": (0.1, 0.6),
                       "commodities.gallium.demand_elasticity": (0.1, 1.0)},
        levers={"reserve.{gallium,germanium}.target_days": (0, 240),       # ints -> IntegerParameter
                "reserve.gallium.release.trigger": ["shortfall", "price", "cover"]},
        outcomes=["difference.gallium.loss_avoided_npv_usd", "finance.net_cost_npv_usd"],
    )
    with SequentialEvaluator(model) as evaluator:
        experiments, outcomes = evaluator.perform_experiments(scenarios=16, policies=2)

Needs the optional extra: ``pip install vaultsim[ema]``.
"""

from __future__ import annotations

import copy
import difflib
import fnmatch
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from sim.metrics import catalog
from sim.scenario.errors import Problem, ScenarioError
from sim.scenario.schema import Scenario

#: A parameter: (low, high) floats -> real, (low, high) ints -> integer, a list -> categorical,
#: or an ``ema_workbench`` parameter object (its name is the key path).
ParamSpec = Any


def _ema():
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # optional-backend notices printed at import
            import ema_workbench
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("the EMA adaptor needs the EMA Workbench: pip install 'vaultsim[ema]'") from e
    return ema_workbench


class ScenarioFunction:
    """The model function: parameter values by key path -> mean KPIs over replications.

    A plain picklable object, so EMA's multiprocessing evaluator can send it to workers.
    """

    def __init__(self, scenario: Scenario, outcomes: Sequence[str], seed: int, replications: int = 1):
        self.scenario = scenario
        self.outcomes = list(outcomes)
        self.seed = int(seed)
        self.replications = int(replications)

    def __call__(self, **values: Any) -> dict[str, float]:
        from sim.simulation.simulate import simulate

        s = self.scenario.with_changes(values) if values else self.scenario
        runs = [simulate(s, seed=self.seed, replication=r).summary for r in range(self.replications)]
        return {k: float(np.mean([run[k] for run in runs])) for k in self.outcomes}


def match_outcomes(patterns: Sequence[str], keys: Sequence[str]) -> list[str]:
    """KPI keys matching ``patterns`` (``*`` wildcards); a pattern matching nothing is an error."""
    out: list[str] = []
    problems = []
    for pat in patterns:
        hits = [k for k in keys if fnmatch.fnmatchcase(k, pat)]
        if not hits:
            close = difflib.get_close_matches(pat, list(keys), n=1, cutoff=0.5)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(Problem("outcomes", None, pat, f"no KPI matches{hint}"))
        out.extend(h for h in hits if h not in out)
    if problems:
        raise ScenarioError(problems)
    return out


def _parameter(ema: Any, path: str, spec: ParamSpec) -> Any:
    if isinstance(spec, ema.em_framework.parameters.Parameter):
        if spec.name != path:
            spec = copy.copy(spec)
            spec.name = path
        return spec
    if isinstance(spec, (list, set)) or (isinstance(spec, tuple) and len(spec) != 2):
        return ema.CategoricalParameter(path, list(spec))
    if isinstance(spec, tuple):
        low, high = spec
        if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in spec):
            return ema.IntegerParameter(path, int(low), int(high))
        return ema.RealParameter(path, float(low), float(high))
    raise TypeError(f"{path}: expected (low, high), a list of values or an ema_workbench parameter, got {spec!r}")


def _probe_values(param: Any) -> list[Any]:
    """Values of a parameter that validation must accept: its ends, or its categories."""
    if hasattr(param, "categories"):
        return [c.value for c in param.categories]
    return [param.lower_bound, param.upper_bound]


def scenario_model(
    scenario: Scenario,
    uncertainties: Mapping[str, ParamSpec],
    levers: Mapping[str, ParamSpec] | None = None,
    outcomes: Sequence[str] | None = None,
    seed: int | None = None,
    replications: int = 1,
    name: str = "vaultsim",
) -> Any:
    """An ``ema_workbench.Model`` of ``scenario``.

    Args:
        scenario: the base scenario (e.g. ``load_scenario(...)``).
        uncertainties: key path -> (low, high), list of values, or EMA parameter.
        levers: key path -> the same, for policy levers.
        outcomes: KPI keys (``*`` wildcards) to report; default every ``difference.total.*``
            and ``finance.*`` KPI.
        seed: root seed of every experiment (default ``scenario.run.seed``).
        replications: paired replications per experiment; outcomes are their means.
        name: the model's name (letters, digits and underscores).

    Returns:
        The model, ready for ``perform_experiments``.

    Raises:
        ScenarioError: an unknown key path (with the closest valid one), a range end
            that the schema rejects, or an outcome that matches no KPI.

    """
    ema = _ema()
    seed = scenario.run.seed if seed is None else int(seed)
    unc = [_parameter(ema, p, s) for p, s in uncertainties.items()]
    lev = [_parameter(ema, p, s) for p, s in (levers or {}).items()]
    problems: list[Problem] = []
    for param in unc + lev:
        # check the ends of each range (or every category) now, not in the middle of the experiments
        for value in _probe_values(param):
            try:
                scenario.with_changes({param.name: value})
            except ScenarioError as e:
                problems.extend(e.problems)
                break
    if problems:
        raise ScenarioError(problems)
    keys = match_outcomes(list(outcomes or ["difference.total.*", "finance.*"]), catalog.expand(scenario))
    model = ema.Model(name, function=ScenarioFunction(scenario, keys, seed, replications))
    model.uncertainties = unc
    model.levers = lev
    model.outcomes = [ema.ScalarOutcome(k) for k in keys]
    return model
