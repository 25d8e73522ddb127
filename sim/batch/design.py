"""Experimental designs: lever grids and uncertainty samples (grid, LHS, Sobol, Morris).

Every sampler first draws points in the unit hypercube ``[0, 1]^d`` and each uncertainty
maps its column to values through its inverse CDF (``ppf``). So SALib's Sobol and Morris
designs work for any marginal distribution, and the analysis sees the design in the unit
cube it was drawn in. Samplers are seeded from the sweep seed through a SeedSequence of
their own, so a design never shares random draws with the simulation streams.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import math
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Literal, Optional, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy import stats
from scipy.stats import qmc

#: Default ``samples`` per sampler: levels per uncertainty (grid), points (lhs), base
#: samples N (sobol, giving N * (d + 2) points) and trajectories (morris, N * (d + 1)).
DEFAULT_SAMPLES = {"grid": 3, "lhs": 20, "sobol": 64, "morris": 10}


def _key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "little")


def design_rng(seed: int) -> np.random.Generator:
    """The generator of the sampler: its own spawn key, never a simulation stream's."""
    ss = np.random.SeedSequence(entropy=int(seed), spawn_key=(_key("vaultsim.batch"), _key("design")))
    return np.random.Generator(np.random.PCG64(ss))


# --------------------------------------------------------------------------- marginals


class _Marginal(BaseModel):
    # a NaN or infinite bound would make every sample NaN: refuse it in the sweep file
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    integer: bool = Field(False, description="Round sampled values to whole numbers.")
    #: False when ppf(0) or ppf(1) is infinite (Morris levels then sit at stratum midpoints).
    bounded: ClassVar[bool] = True

    def _ppf(self, u: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def values(self, u: np.ndarray) -> list[Any]:
        """Values at unit-cube coordinates ``u`` (plain Python numbers, YAML/JSON friendly)."""
        x = self._ppf(np.asarray(u, dtype=float))
        if self.integer:
            return [int(v) for v in np.rint(x)]
        return [float(v) for v in x]

    def levels(self, n: int) -> np.ndarray:
        """Unit coordinates of an ``n``-level grid: midpoints of equal-probability strata."""
        return (np.arange(n) + 0.5) / n


class UniformU(_Marginal):
    """Uniform on [low, high]; ``{low, high}`` without ``dist`` means this."""

    dist: Literal["uniform"] = "uniform"
    low: float
    high: float

    @model_validator(mode="after")
    def _order(self) -> UniformU:
        if not self.low < self.high:
            raise ValueError(f"needs low < high, got low={self.low}, high={self.high}")
        return self

    def _ppf(self, u: np.ndarray) -> np.ndarray:
        return self.low + u * (self.high - self.low)


class LogUniformU(_Marginal):
    """Log-uniform on [low, high] (low > 0): every decade equally likely."""

    dist: Literal["loguniform"]
    low: float = Field(gt=0)
    high: float = Field(gt=0)

    @model_validator(mode="after")
    def _order(self) -> LogUniformU:
        if not self.low < self.high:
            raise ValueError(f"needs low < high, got low={self.low}, high={self.high}")
        return self

    def _ppf(self, u: np.ndarray) -> np.ndarray:
        return np.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))


class TriangularU(_Marginal):
    """Triangular on [low, high] with the given mode."""

    dist: Literal["triangular"]
    low: float
    mode: float
    high: float

    @model_validator(mode="after")
    def _order(self) -> TriangularU:
        if not (self.low <= self.mode <= self.high and self.low < self.high):
            raise ValueError(f"needs low <= mode <= high and low < high, got {self.low}, {self.mode}, {self.high}")
        return self

    def _ppf(self, u: np.ndarray) -> np.ndarray:
        c = (self.mode - self.low) / (self.high - self.low)
        return stats.triang.ppf(u, c, loc=self.low, scale=self.high - self.low)


class NormalU(_Marginal):
    """Normal by mean and sd, optionally truncated to [low, high]."""

    dist: Literal["normal"]
    mean: float
    sd: float = Field(gt=0)
    low: Optional[float] = None
    high: Optional[float] = None

    @property
    def bounded(self) -> bool:  # type: ignore[override]
        return self.low is not None and self.high is not None

    def _ppf(self, u: np.ndarray) -> np.ndarray:
        a = -np.inf if self.low is None else (self.low - self.mean) / self.sd
        b = np.inf if self.high is None else (self.high - self.mean) / self.sd
        return stats.truncnorm.ppf(u, a, b, loc=self.mean, scale=self.sd)


class LogNormalU(_Marginal):
    """Lognormal by its own mean and coefficient of variation (as in scenario files)."""

    dist: Literal["lognormal"]
    mean: float = Field(gt=0)
    cv: float = Field(gt=0)
    bounded: ClassVar[bool] = False

    def _ppf(self, u: np.ndarray) -> np.ndarray:
        s2 = math.log1p(self.cv**2)
        return np.exp(math.log(self.mean) - 0.5 * s2 + math.sqrt(s2) * stats.norm.ppf(u))


class BetaU(_Marginal):
    """Beta by mean and sd on [0, 1], scaled to [low, high] (default [0, 1])."""

    dist: Literal["beta"]
    mean: float = Field(gt=0, lt=1, description="Mean on the [0, 1] scale.")
    sd: float = Field(gt=0, description="Standard deviation on the [0, 1] scale.")
    low: float = 0.0
    high: float = 1.0

    @model_validator(mode="after")
    def _feasible(self) -> BetaU:
        if self.sd**2 >= self.mean * (1 - self.mean):
            raise ValueError(f"needs sd^2 < mean*(1-mean), got mean={self.mean}, sd={self.sd}")
        if not self.low < self.high:
            raise ValueError(f"needs low < high, got low={self.low}, high={self.high}")
        return self

    def _ppf(self, u: np.ndarray) -> np.ndarray:
        k = self.mean * (1 - self.mean) / self.sd**2 - 1
        return self.low + (self.high - self.low) * stats.beta.ppf(u, self.mean * k, (1 - self.mean) * k)


class ChoiceU(_Marginal):
    """One of listed values, each equally likely; ``{values: [...]}`` without ``dist``."""

    dist: Literal["choice"] = "choice"
    values_: list[Any] = Field(alias="values", min_length=1)
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False)

    def values(self, u: np.ndarray) -> list[Any]:
        idx = np.minimum((np.asarray(u, dtype=float) * len(self.values_)).astype(int), len(self.values_) - 1)
        return [self.values_[i] for i in idx]

    def levels(self, n: int) -> np.ndarray:
        k = len(self.values_)
        return (np.arange(k) + 0.5) / k


Marginal = Annotated[
    Union[UniformU, LogUniformU, TriangularU, NormalU, LogNormalU, BetaU, ChoiceU],
    Field(discriminator="dist"),
]
MARGINALS = ("uniform", "loguniform", "triangular", "normal", "lognormal", "beta", "choice")


def default_tag(raw: Any) -> Any:
    """Fill in ``dist`` for the two shorthands: ``{low, high}`` and ``{values: [...]}``."""
    if isinstance(raw, dict) and "dist" not in raw:
        return {**raw, "dist": "choice" if "values" in raw else "uniform"}
    return raw


# --------------------------------------------------------------------------- samplers


def _problem(d: int) -> dict[str, Any]:
    return {"num_vars": d, "names": [f"x{i}" for i in range(d)], "bounds": [[0.0, 1.0]] * d}


def unit_sample(
    sampler: str,
    marginals: list[_Marginal],
    samples: int,
    rng: np.random.Generator,
    second_order: bool = False,
    morris_levels: int = 4,
) -> tuple[np.ndarray, np.ndarray]:
    """Points of the design in the unit cube.

    Args:
        sampler: ``grid``, ``lhs``, ``sobol`` or ``morris``.
        marginals: one per uncertainty, in column order.
        samples: levels per uncertainty (grid), points (lhs), base samples (sobol),
            trajectories (morris).
        rng: the design generator (see :func:`design_rng`).
        second_order: Sobol only: also sample for second-order indices.
        morris_levels: Morris only: number of grid levels.

    Returns:
        ``(U, X)``: ``U`` [n, d] the coordinates fed to each ``ppf``; ``X`` the sampler's
        own matrix, which SALib's analysis expects (equal to ``U`` except for Morris on
        unbounded marginals, whose levels move to stratum midpoints to stay finite).
    """
    d = len(marginals)
    if d == 0:
        return np.zeros((1, 0)), np.zeros((1, 0))
    if sampler == "grid":
        axes = [m.levels(samples) for m in marginals]
        x = np.array(list(itertools.product(*axes)), dtype=float)
        return x, x
    if sampler == "lhs":
        x = qmc.LatinHypercube(d, rng=rng).random(samples)
        return x, x
    if sampler == "sobol":
        from SALib.sample import sobol

        x = sobol.sample(_problem(d), samples, calc_second_order=second_order, seed=rng)
        return x, x
    if sampler == "morris":
        from SALib.sample import morris

        x = morris.sample(_problem(d), samples, num_levels=morris_levels, seed=rng)
        u = x.copy()
        step = morris_levels - 1
        for j, m in enumerate(marginals):
            if not m.bounded:
                u[:, j] = (np.rint(x[:, j] * step) + 0.5) / morris_levels
        return u, x
    raise ValueError(f"unknown sampler {sampler!r}")


# --------------------------------------------------------------------------- design


@dataclass
class Design:
    """Design points: every lever combination crossed with every uncertainty sample.

    Point ``i`` is lever combination ``i // n_samples`` with uncertainty sample
    ``i % n_samples``: every policy sees the same uncertainty samples.
    """

    levers: list[str]
    uncertainties: list[str]
    combos: list[tuple[Any, ...]]
    samples: list[tuple[Any, ...]]
    unit_x: np.ndarray
    lever_paths: dict[str, list[str]] = field(default_factory=dict)
    unc_paths: dict[str, list[str]] = field(default_factory=dict)

    @property
    def n_samples(self) -> int:
        return len(self.samples)

    @property
    def n_points(self) -> int:
        return len(self.combos) * len(self.samples)

    def values(self, point: int) -> dict[str, Any]:
        """Lever and uncertainty values of a point, keyed by their sweep-file names."""
        combo = self.combos[point // self.n_samples]
        sample = self.samples[point % self.n_samples]
        return {**dict(zip(self.levers, combo)), **dict(zip(self.uncertainties, sample))}

    def overrides(self, point: int) -> list[tuple[str, Any]]:
        """Concrete ``(key.path, value)`` settings of a point, wildcards expanded."""
        out: list[tuple[str, Any]] = []
        for name, value in self.values(point).items():
            paths = self.lever_paths.get(name) or self.unc_paths.get(name) or [name]
            out.extend((p, value) for p in paths)
        return out


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set ``value`` at a dotted key path, creating mappings on the way (path checked before)."""
    keys = path.split(".")
    node = data
    for k in keys[:-1]:
        if not isinstance(node.get(k), dict):
            node[k] = {}
        node = node[k]
    node[keys[-1]] = copy.deepcopy(value)


def point_data(base: dict[str, Any], overrides: tuple[tuple[str, Any], ...] | list[tuple[str, Any]]) -> dict[str, Any]:
    """A copy of the scenario data ``base`` with a design point's settings applied."""
    data = copy.deepcopy(base)
    for path, value in overrides:
        set_path(data, path, value)
    return data


def build_design(
    levers: dict[str, list[Any]],
    marginals: dict[str, _Marginal],
    sampler: str,
    samples: int,
    seed: int,
    second_order: bool = False,
    morris_levels: int = 4,
    lever_paths: dict[str, list[str]] | None = None,
    unc_paths: dict[str, list[str]] | None = None,
) -> Design:
    """The full design of a sweep (deterministic given ``seed``)."""
    combos = list(itertools.product(*levers.values())) if levers else [()]
    names = list(marginals)
    u, x = unit_sample(sampler, list(marginals.values()), samples, design_rng(seed), second_order, morris_levels)
    columns = [marginals[n].values(u[:, j]) for j, n in enumerate(names)]
    rows = list(zip(*columns)) if names else [()]
    return Design(
        levers=list(levers),
        uncertainties=names,
        combos=combos,
        samples=rows,
        unit_x=x,
        lever_paths=dict(lever_paths or {}),
        unc_paths=dict(unc_paths or {}),
    )
