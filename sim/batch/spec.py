"""Sweep files: schema, loading with located errors, and resolution against the scenario.

A sweep file is YAML::

    name: reserve_size_x_release
    base: ../project_vault.yaml          # relative to this file
    set: [run.horizon_years=15]          # overrides applied to the base
    levers:                              # full factorial
      reserve.*.target_days: [0, 30, 60, 90]
      reserve.*.release.trigger: [shortfall, cover]
    uncertainties:                       # sampled by `sampler`
      commodities.gallium.demand_elasticity: {low: 0.1, high: 0.6}
      shocks.china_gallium_controls.rate_per_year: {dist: triangular, low: 0.1, mode: 0.33, high: 0.6}
    sampler: lhs                         # grid | lhs | sobol | morris
    samples: 8
    replications: 10
    seed: 42                             # default: run.seed of the base scenario
    outcomes: [reserve.total.*, finance.net_cost_npv_usd]
    series: [shortfall_t, reserve_stock_t]

Key paths (in ``set``, ``levers`` and ``uncertainties``) may use ``*`` for "every entry
here" (e.g. every reserve commodity) and ``{a,b}`` for "entries a and b"; a lever or
uncertainty then sets all of them to the same value. Each expanded path is checked
against the scenario with :func:`apply_overrides`, so an unknown key is reported with the
closest valid one. Problems print as ``file:line: key: message``.
"""

from __future__ import annotations

import copy
import difflib
import fnmatch
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sim.batch.design import (
    DEFAULT_SAMPLES,
    MARGINALS,
    Design,
    Marginal,
    build_design,
    default_tag,
    set_path,
)
from sim.metrics import catalog
from sim.scenario.loader import (
    Problem,
    ScenarioError,
    _read_with_extends,
    _read_yaml,
    apply_overrides,
    validate_data,
)
from sim.scenario.paths import expand_path
from sim.scenario.schema import Scenario
from sim.scenario.validation import _locate
from sim.simulation.simulate import series_names
from sim.version import __version__

#: KPIs kept when a sweep file has no ``outcomes``.
DEFAULT_OUTCOMES = ("reserve.total.*", "counterfactual.total.*", "difference.total.*", "finance.*")
#: KPIs always kept because the cost-benefit plot needs them.
REQUIRED_OUTCOMES = ("finance.net_cost_npv_usd", "difference.total.loss_avoided_npv_usd")
#: Series summarised when a sweep file has no ``series``.
DEFAULT_SERIES = ("shortfall_t", "reserve_stock_t")


class SweepSpec(BaseModel):
    """The sweep file as written (see module docstring)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field("", description="Short name of the sweep (default: the file name).")
    description: str = Field("", description="What question the sweep answers.")
    base: str = Field(description="Base scenario file, relative to the sweep file.")
    set_: list[str] = Field(default_factory=list, alias="set", description="key.path=value overrides of the base.")
    levers: dict[str, Annotated[list[Any], Field(min_length=1)]] = Field(
        default_factory=dict, description="Policy key paths -> values tried (full factorial)."
    )
    uncertainties: dict[str, Marginal] = Field(
        default_factory=dict, description="Key paths -> range {low, high} or distribution, sampled by `sampler`."
    )
    sampler: Literal["grid", "lhs", "sobol", "morris"] = Field("grid", description="Design of the uncertainties.")
    samples: Optional[int] = Field(
        None, ge=1, description="grid: levels per uncertainty; lhs: points; sobol: base samples N (power of 2); "
        "morris: trajectories. Defaults: " + ", ".join(f"{k} {v}" for k, v in DEFAULT_SAMPLES.items()) + ".",
    )
    second_order: bool = Field(False, description="sobol: also estimate second-order indices.")
    morris_levels: int = Field(4, ge=2, description="morris: number of grid levels.")
    replications: int = Field(1, ge=1, description="Paired replications per design point.")
    seed: Optional[int] = Field(None, ge=0, description="Root seed (default: run.seed of the base scenario).")
    outcomes: list[str] = Field(
        default_factory=lambda: list(DEFAULT_OUTCOMES), min_length=1, description="KPI keys to keep; * wildcards."
    )
    series: list[str] = Field(
        default_factory=lambda: list(DEFAULT_SERIES), description="Time-series columns summarised by quantiles."
    )
    series_step_days: int = Field(
        1, ge=1, description="Average series over blocks of this many days before taking quantiles."
    )
    runs_per_task: Optional[int] = Field(
        None, ge=1, description="Runs sent to a worker at once (default: all replications of a point, up to 32)."
    )

    @property
    def n_samples_param(self) -> int:
        return self.samples if self.samples is not None else DEFAULT_SAMPLES[self.sampler]


@dataclass
class ResolvedSweep:
    """A sweep checked against its base scenario, ready to run: the sweep's one description.

    The later stages take it as given and add nothing to it: the plan (run keys, tasks),
    the workers, the store and the reports read the design, the outcome names, the series
    and the parameter columns from here.
    """

    spec: SweepSpec
    source: Path
    base_path: Path
    base: dict[str, Any]
    scenario: Scenario
    seed: int
    design: Design
    outcomes: list[str]
    series: list[str]
    kpi_keys: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.spec.name or self.source.stem

    @property
    def param_columns(self) -> dict[str, str]:
        """Sweep-file name -> output column of each lever (``lever.<name>``) and uncertainty."""
        d = self.design
        return {**{n: f"lever.{n}" for n in d.levers}, **{n: f"uncertainty.{n}" for n in d.uncertainties}}

    @property
    def n_runs(self) -> int:
        """Design points x replications."""
        return self.design.n_points * self.spec.replications

    @property
    def base_hash(self) -> str:
        """Hash of the resolved base scenario (with ``set`` applied) and the model version."""
        text = json.dumps(self.base, sort_keys=True, default=str) + __version__
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def resolved_yaml(self, scenario_file: str) -> str:
        """A sweep file reproducing this sweep from ``scenario_file`` (the resolved base)."""
        data = self.spec.model_dump(mode="json", by_alias=True, exclude_none=True)
        data.update(base=scenario_file, seed=self.seed, outcomes=self.outcomes, series=self.series)
        data["set"] = []
        data["samples"] = self.spec.n_samples_param
        data["uncertainties"] = {k: _dump_marginal(v) for k, v in self.spec.uncertainties.items()}
        header = (
            f"# Resolved sweep written by vaultsim {__version__}; source: {self.source}\n"
            f"# base: {self.base_path} with set {json.dumps(self.spec.set_)}\n"
            f"# {self.design.n_points} design point(s) x {self.spec.replications} replication(s)\n"
            f"# Wildcards expand to: {json.dumps({**self.design.lever_paths, **self.design.unc_paths})}\n"
        )
        return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def _dump_marginal(m: Any) -> dict[str, Any]:
    d = m.model_dump(mode="json", by_alias=True)
    if not d.get("integer"):
        d.pop("integer", None)
    return d


# --------------------------------------------------------------------------- errors


def _fmt(path: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in path)


def _spec_path(data: Any, loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Error location as a data path: drop the union tags pydantic inserts."""
    out: list[Any] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part not in node and part in (node.get("dist"), *MARGINALS):
            continue
        out.append(part)
        node = node.get(part) if isinstance(node, dict) else (
            node[part] if isinstance(node, list) and isinstance(part, int) and part < len(node) else None
        )
    return tuple(out)


def _message(err: dict[str, Any], path: tuple[Any, ...]) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        key = str(path[-1])
        if len(path) == 1:
            valid = [f.alias or n for n, f in SweepSpec.model_fields.items()]
        else:
            valid = ["low", "high", "dist", "mode", "mean", "sd", "cv", "values", "integer"]
        close = difflib.get_close_matches(key, valid, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"unknown key {key!r}{hint}; expected one of: " + ", ".join(valid)
    if kind == "missing":
        return "required key is missing"
    if kind == "union_tag_invalid":
        return f"unknown dist {err.get('ctx', {}).get('tag')!r}; expected one of: " + ", ".join(MARGINALS)
    msg = err["msg"].removeprefix("Value error, ")
    if "input" in err and not isinstance(err["input"], (dict, list)):
        msg += f" (got {err['input']!r})"
    return msg


def _validate_spec(data: dict[str, Any], origins: dict, source: str) -> SweepSpec:
    data = copy.deepcopy(data)
    if isinstance(data.get("uncertainties"), dict):
        data["uncertainties"] = {k: default_tag(v) for k, v in data["uncertainties"].items()}
    try:
        return SweepSpec.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            path = _spec_path(data, tuple(err["loc"]))
            src, line = _locate(origins, path, source)
            problems.append(Problem(src, line, _fmt(path), _message(err, path)))
        raise ScenarioError(problems) from None


# --------------------------------------------------------------------------- resolution


def _check_paths(
    section: str, names: list[str], base: dict, origins: dict, source: str, problems: list[Problem]
) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name in names:
        src, line = _locate(origins, (section, name), source)
        paths = expand_path(base, name)
        if not paths:
            problems.append(Problem(src, line, f"{section}.{name}", "the wildcard matches no entry of the scenario"))
            continue
        for p in paths:
            try:
                apply_overrides(base, [f"{p}=0"])
            except ScenarioError as e:
                for q in e.problems:
                    problems.append(Problem(src, line, f"{section}.{name}", f"{q.path}: {q.message}"))
                break
        out[name] = paths
    return out


def _match(patterns: list[str], keys: list[str], section: str, origins: dict, source: str,
           problems: list[Problem]) -> list[str]:
    out: list[str] = []
    for i, pat in enumerate(patterns):
        hits = [k for k in keys if fnmatch.fnmatchcase(k, pat)]
        if not hits:
            src, line = _locate(origins, (section, i), source)
            close = difflib.get_close_matches(pat, keys, n=1, cutoff=0.5)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(Problem(src, line, f"{section}[{i}]", f"no {section[:-1]} matches {pat!r}{hint}"))
        out.extend(h for h in hits if h not in out)
    return out


def _load_base(spec: SweepSpec, source: Path, origins: dict) -> tuple[Path, dict, Scenario]:
    src, line = _locate(origins, ("base",), str(source))
    try:
        base_path = (source.parent / spec.base).resolve()
        found = base_path.is_file()
    except (OSError, ValueError) as e:  # a NUL byte, a name too long for the file system
        raise ScenarioError([Problem(src, line, "base", f"cannot use {spec.base!r} as a file name: {e}")]) from None
    if not found:
        raise ScenarioError([Problem(src, line, "base", f"file not found: {base_path}")])
    doc = _read_with_extends(base_path)
    data, base_origins = doc.data, dict(doc.origins)
    problems: list[Problem] = []
    for i, text in enumerate(spec.set_):
        src, line = _locate(origins, ("set", i), str(source))
        path, sep, value = text.partition("=")
        concrete = expand_path(data, path.strip()) if sep else [path]
        if not concrete:
            problems.append(Problem(src, line, f"set[{i}]", f"{path.strip()}: the wildcard matches no entry"))
            continue
        try:
            data = apply_overrides(data, [f"{p}={value}" if sep else p for p in concrete])
        except ScenarioError as e:
            problems.extend(Problem(src, line, f"set[{i}]", f"{q.path}: {q.message}") for q in e.problems)
            continue
        for p in concrete:
            base_origins[tuple(p.split("."))] = (src, line)
    if problems:
        raise ScenarioError(problems)
    scenario = validate_data(data, base_origins, str(base_path))
    return base_path, scenario.model_dump(mode="json"), scenario


def _check_integer_fields(spec: SweepSpec, unc_paths: dict[str, list[str]], base: dict, origins: dict,
                          source: str, problems: list[Problem]) -> None:
    """Continuous samples on whole-number fields would fail every point: say so up front."""
    for name, m in spec.uncertainties.items():
        if m.integer or m.dist == "choice":
            continue
        data = copy.deepcopy(base)
        for p in unc_paths.get(name, []):
            set_path(data, p, m.values([0.5])[0] + 0.25)
        try:
            validate_data(data)
        except ScenarioError as e:
            if any("valid integer" in q.message for q in e.problems):
                src, line = _locate(origins, ("uncertainties", name), source)
                problems.append(Problem(src, line, f"uncertainties.{name}",
                                        "the key takes whole numbers: add `integer: true` to round the samples"))


def load_sweep(path: str | Path) -> ResolvedSweep:
    """Read, validate and resolve a sweep file.

    Raises:
        ScenarioError: every located problem of the sweep file, or of its base scenario.
    """
    source = Path(path)
    doc = _read_yaml(source)
    spec = _validate_spec(doc.data, doc.origins, str(source))
    base_path, base, scenario = _load_base(spec, source, doc.origins)
    seed = scenario.run.seed if spec.seed is None else spec.seed
    problems: list[Problem] = []
    lever_paths = _check_paths("levers", list(spec.levers), base, doc.origins, str(source), problems)
    unc_paths = _check_paths("uncertainties", list(spec.uncertainties), base, doc.origins, str(source), problems)
    seen: dict[str, str] = {}
    for section, paths in (("levers", lever_paths), ("uncertainties", unc_paths)):
        for name, concrete in paths.items():
            for p in concrete:
                if p in seen:
                    src, line = _locate(doc.origins, (section, name), str(source))
                    problems.append(Problem(src, line, f"{section}.{name}", f"{p} is also set by {seen[p]}"))
                seen[p] = f"{section}.{name}"
    if spec.sampler in ("sobol", "morris") and not spec.uncertainties:
        src, line = _locate(doc.origins, ("sampler",), str(source))
        problems.append(Problem(src, line, "sampler", f"{spec.sampler} needs at least one uncertainty"))
    n = spec.n_samples_param
    if spec.sampler == "sobol" and spec.uncertainties and n & (n - 1):
        src, line = _locate(doc.origins, ("samples",), str(source))
        lo = 1 << (n.bit_length() - 1)
        problems.append(Problem(src, line, "samples", f"sobol needs a power of 2, got {n} (try {lo} or {2 * lo})"))
    if problems:
        raise ScenarioError(problems)
    _check_integer_fields(spec, unc_paths, base, doc.origins, str(source), problems)
    if problems:
        raise ScenarioError(problems)
    kpi_keys = catalog.expand(scenario)
    outcomes = _match(list(spec.outcomes), kpi_keys, "outcomes", doc.origins, str(source), problems)
    outcomes += [k for k in REQUIRED_OUTCOMES if k in kpi_keys and k not in outcomes]
    series = _match(list(spec.series), series_names(), "series", doc.origins, str(source), problems)
    if problems:
        raise ScenarioError(problems)
    design = build_design(
        spec.levers, dict(spec.uncertainties), spec.sampler, n, seed,
        spec.second_order, spec.morris_levels, lever_paths, unc_paths,
    )
    return ResolvedSweep(spec, source, base_path, base, scenario, seed, design, outcomes, series, kpi_keys)
