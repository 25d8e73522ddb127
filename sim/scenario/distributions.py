"""Registry of named probability distributions used in scenario files.

A distribution is written in YAML as a mapping with a ``dist`` key naming the
registry entry and that entry's parameters, e.g. ``{dist: lognormal, mean: 180,
cv: 0.5}``. A bare number is shorthand for ``{dist: fixed, value: <number>}``.

Registry (all parameters in the unit of the field that holds the distribution):

==============  =================================  ======================================
name            parameters                         meaning
==============  =================================  ======================================
fixed           value                              always ``value``
uniform         low, high                          uniform on [low, high]
triangular      low, mode, high                    triangular with that mode
exponential     mean                               exponential with that mean
lognormal       mean, cv                           lognormal with that mean and
                                                   coefficient of variation (sd / mean)
normal          mean, sd                           normal, truncated at 0 (values < 0 -> 0)
beta            mean, sd                           beta on [0, 1] by mean and sd (severities)
==============  =================================  ======================================
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, Union

import numpy as np
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from sim.scenario.numbers import NUMBER_RULES, within_magnitude


class _Dist(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, **NUMBER_RULES)

    _magnitude = field_validator("*")(within_magnitude)

    def sample(self, rng: np.random.Generator) -> float:  # pragma: no cover - abstract
        """Draw one value."""
        raise NotImplementedError

    def mean_value(self) -> float:  # pragma: no cover - abstract
        """Expected value, used for deterministic sizing (e.g. expected lead time)."""
        raise NotImplementedError

    def min_value(self) -> float:  # pragma: no cover - abstract
        """Lowest value a draw can take."""
        raise NotImplementedError


class Fixed(_Dist):
    """A constant."""

    dist: Literal["fixed"] = "fixed"
    value: float = Field(description="The constant value.")

    def sample(self, rng: np.random.Generator) -> float:
        return self.value

    def mean_value(self) -> float:
        return self.value

    def min_value(self) -> float:
        return self.value


class Uniform(_Dist):
    """Uniform on [low, high]."""

    dist: Literal["uniform"]
    low: float = Field(description="Lower bound.")
    high: float = Field(description="Upper bound (>= low).")

    @model_validator(mode="after")
    def _order(self) -> Uniform:
        if self.high < self.low:
            raise ValueError(f"uniform needs low <= high, got low={self.low}, high={self.high}")
        return self

    def sample(self, rng: np.random.Generator) -> float:
        return float(rng.uniform(self.low, self.high))

    def mean_value(self) -> float:
        return 0.5 * (self.low + self.high)

    def min_value(self) -> float:
        return self.low


class Triangular(_Dist):
    """Triangular on [low, high] with the given mode."""

    dist: Literal["triangular"]
    low: float = Field(description="Lower bound.")
    mode: float = Field(description="Most likely value (low <= mode <= high).")
    high: float = Field(description="Upper bound.")

    @model_validator(mode="after")
    def _order(self) -> Triangular:
        if not self.low <= self.mode <= self.high or self.low == self.high:
            raise ValueError(
                "triangular needs low <= mode <= high and low < high, got "
                f"low={self.low}, mode={self.mode}, high={self.high}"
            )
        return self

    def sample(self, rng: np.random.Generator) -> float:
        return float(rng.triangular(self.low, self.mode, self.high))

    def mean_value(self) -> float:
        return (self.low + self.mode + self.high) / 3.0

    def min_value(self) -> float:
        return self.low


class Exponential(_Dist):
    """Exponential with the given mean."""

    dist: Literal["exponential"]
    mean: float = Field(gt=0, description="Mean (> 0).")

    def sample(self, rng: np.random.Generator) -> float:
        return float(rng.exponential(self.mean))

    def mean_value(self) -> float:
        return self.mean

    def min_value(self) -> float:
        return 0.0


class LogNormal(_Dist):
    """Lognormal parameterised by its own mean and coefficient of variation."""

    dist: Literal["lognormal"]
    mean: float = Field(gt=0, description="Mean of the variable (> 0).")
    cv: float = Field(ge=0, description="Coefficient of variation, sd / mean (>= 0).")

    def sample(self, rng: np.random.Generator) -> float:
        if self.cv == 0:
            return self.mean
        # log(1 + cv^2) without overflowing cv^2 for huge cv
        sigma2 = math.log1p(self.cv**2) if self.cv < 1e100 else 2 * math.log(self.cv)
        mu = math.log(self.mean) - 0.5 * sigma2
        return float(rng.lognormal(mu, math.sqrt(sigma2)))

    def mean_value(self) -> float:
        return self.mean

    def min_value(self) -> float:
        return 0.0


class Normal(_Dist):
    """Normal truncated at zero (negative draws become 0)."""

    dist: Literal["normal"]
    mean: float = Field(description="Mean before truncation.")
    sd: float = Field(ge=0, description="Standard deviation (>= 0).")

    def sample(self, rng: np.random.Generator) -> float:
        return max(0.0, float(rng.normal(self.mean, self.sd)))

    def mean_value(self) -> float:
        return max(0.0, self.mean)

    def min_value(self) -> float:
        return 0.0


class Beta(_Dist):
    """Beta on [0, 1] by mean and standard deviation; suits severities (shares lost)."""

    dist: Literal["beta"]
    mean: float = Field(gt=0, lt=1, description="Mean in (0, 1).")
    sd: float = Field(gt=0, description="Standard deviation; needs sd^2 < mean * (1 - mean).")

    @model_validator(mode="after")
    def _feasible(self) -> Beta:
        # compare sd with the largest feasible sd instead of squaring it: sd**2 overflows for huge sd
        if self.sd >= math.sqrt(self.mean * (1 - self.mean)):
            raise ValueError(f"beta needs sd^2 < mean*(1-mean); got mean={self.mean}, sd={self.sd}")
        return self

    def sample(self, rng: np.random.Generator) -> float:
        k = self.mean * (1 - self.mean) / self.sd**2 - 1
        return float(rng.beta(self.mean * k, (1 - self.mean) * k))

    def mean_value(self) -> float:
        return self.mean

    def min_value(self) -> float:
        return 0.0


Distribution = Annotated[
    Union[Fixed, Uniform, Triangular, Exponential, LogNormal, Normal, Beta],
    Field(discriminator="dist"),
]

#: Names accepted under ``dist:``; used in error messages.
REGISTRY: dict[str, type[_Dist]] = {
    "fixed": Fixed,
    "uniform": Uniform,
    "triangular": Triangular,
    "exponential": Exponential,
    "lognormal": LogNormal,
    "normal": Normal,
    "beta": Beta,
}


def _non_negative(d: _Dist) -> _Dist:
    if d.min_value() < 0:
        raise ValueError(f"expected a distribution of values >= 0; {d.dist} can give {d.min_value():g}")
    return d


#: A distribution whose draws are never negative (durations, severities, times).
NonNegativeDistribution = Annotated[Distribution, AfterValidator(_non_negative)]


def coerce_distribution(value: Any) -> Any:
    """Turn a bare number into a ``fixed`` distribution; leave mappings to pydantic."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_)):
        try:
            return {"dist": "fixed", "value": float(value)}
        except OverflowError:
            raise ValueError(f"expected a finite number, got an integer of {len(str(value))} digits") from None
    name = value.get("dist") if isinstance(value, dict) else None
    if isinstance(value, dict) and "dist" in value and not (isinstance(name, str) and name in REGISTRY):
        raise ValueError(f"unknown distribution {value['dist']!r}; expected one of: " + ", ".join(sorted(REGISTRY)))
    if not isinstance(value, (dict, _Dist)):
        raise ValueError("expected a number or a distribution such as {dist: lognormal, mean: 180, cv: 0.5}")
    return value
