"""Export restrictions as persistent regimes with a common country factor: a pure sampler.

A *cell* is one country's exports of one commodity. Each cell is either free or restricted.
A restricted cell is lifted at rate ``1 / mean_duration`` (exponential durations) and its
severity is redrawn at ``severity_change_rate`` (a licensing regime that tightens or
loosens). Every onset and change draws a new severity and a flag "targeted at the bloc".

The common country factor has two parts, both per country:

* **Moves** (``package_breadth`` b): a country restricts by moves; a move covers each of its
  free cells with probability b, at least one (China's Feb 2025 move covered W, Te, Bi, Mo
  and In). Moves arrive at rate ``onset_rate x (1 - (1 - b)^free) / b``, so each free cell
  is still restricted at ``onset_rate``; b = 0 means one cell per move.
* **Lifts** (``lift_breadth`` c): restrictions are lifted by lifts that end each restricted
  cell with probability c, at least one (China ended its rare-earth, tungsten and molybdenum
  quotas and duties together in 2015), at a rate that keeps each restricted cell's end hazard
  at ``1 / mean_duration``; c = 0 means one cell per lift.
* **Tension**: a two-state Markov chain (calm / tense). When tense the move rate is
  ``multiplier`` times the calm rate, so one country's moves cluster in time (2023-2025).
  The factors are scaled so their stationary mean is 1: averaged over the chain a free cell
  is restricted at exactly ``onset_rate``.

With the factor switched off (both breadths 0, ``tension=None``) every cell is an
independent alternating process with exponential gaps of mean ``1 / onset_rate`` and
exponential durations, which is the existing ``export_restriction`` renewal process with
exponential durations, at the same marginal rate.

Nothing here needs the engine: ``sample_paths`` returns segments (constant severity) that the
backtest uses directly and that ``sim.model.shocks`` turns into engine effects.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from sim.scenario.schema import RestrictionRegime

DAYS_PER_YEAR = 365.0
#: Burn-in for a stationary start, in relaxation times of the slowest part of the process.
BURN_IN_RELAXATIONS = 10.0


class Sampler(Protocol):
    """Anything that draws one value from a generator (a scenario ``Distribution``)."""

    def sample(self, rng: np.random.Generator) -> float: ...  # pragma: no cover - protocol

    def mean_value(self) -> float: ...  # pragma: no cover - protocol


@dataclass(frozen=True)
class BetaSeverity:
    """Beta on [0, 1] by mean and standard deviation (the fit's severity distribution)."""

    mean: float
    sd: float

    def __post_init__(self) -> None:
        if not (0.0 < self.mean < 1.0) or self.sd <= 0 or self.sd**2 >= self.mean * (1.0 - self.mean):
            raise ValueError(f"beta needs 0 < mean < 1 and 0 < sd^2 < mean(1-mean); got {self.mean}, {self.sd}")

    def sample(self, rng: np.random.Generator) -> float:
        k = self.mean * (1.0 - self.mean) / self.sd**2 - 1.0
        return float(rng.beta(self.mean * k, (1.0 - self.mean) * k))

    def mean_value(self) -> float:
        return self.mean


@dataclass(frozen=True)
class Tension:
    """A country's calm/tense Markov chain and how much the tense state raises onset hazards."""

    calm_to_tense_per_year: float
    tense_to_calm_per_year: float
    multiplier: float

    def __post_init__(self) -> None:
        if self.calm_to_tense_per_year <= 0 or self.tense_to_calm_per_year <= 0 or self.multiplier < 1:
            raise ValueError("tension needs positive switching rates and multiplier >= 1")

    @property
    def tense_share(self) -> float:
        """Stationary probability of the tense state."""
        a, b = self.calm_to_tense_per_year, self.tense_to_calm_per_year
        return a / (a + b)

    def factors(self) -> tuple[float, float]:
        """Hazard factors (calm, tense) whose stationary mean is 1."""
        p = self.tense_share
        mean = (1.0 - p) + p * self.multiplier
        return 1.0 / mean, self.multiplier / mean


@dataclass(frozen=True)
class CountryCells:
    """One restricting country: its cells (commodities) and their marginal onset rate."""

    country: str
    commodities: tuple[str, ...]
    onset_rate_per_year: float


@dataclass(frozen=True)
class RegimeParams:
    """Everything ``sample_paths`` needs. Rates per year, durations in days."""

    countries: tuple[CountryCells, ...]
    mean_duration_days: float
    severity: Sampler  # drawn at every onset and change, clipped to [0, 1]
    severity_change_rate_per_year: float = 0.0
    targeted_share: float = 0.0
    tension: Tension | None = None
    package_breadth: float = 0.0
    lift_breadth: float = 0.0
    initial: str = "stationary"
    cells: tuple[tuple[str, str], ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.mean_duration_days <= 0:
            raise ValueError("mean_duration_days must be > 0")
        for name in ("package_breadth", "lift_breadth"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        if self.initial not in ("stationary", "off"):
            raise ValueError(f"initial must be 'stationary' or 'off', got {self.initial!r}")
        object.__setattr__(self, "cells", tuple((c.country, m) for c in self.countries for m in c.commodities))

    def without_factor(self) -> RegimeParams:
        """The same process with the common country factor switched off."""
        return replace(self, tension=None, package_breadth=0.0, lift_breadth=0.0)


@dataclass(frozen=True)
class Segment:
    """A stretch of one restriction episode with constant severity, clipped to [0, horizon].

    ``end_day == horizon`` means the restriction is still on at the horizon; ``start_day == 0``
    with a stationary start means it was already on at day 0. Segments of one episode share
    ``episode``.
    """

    country: str
    commodity: str
    start_day: float
    end_day: float
    severity: float
    episode: int
    targeted: bool = False


def move_weight(free: int, breadth: float) -> float:
    """Move rate per unit onset rate with ``free`` free cells: ``(1 - (1 - b)^free) / b`` (``free`` at b = 0)."""
    if breadth <= 0.0:
        return float(free)
    return -math.expm1(free * math.log1p(-breadth)) / breadth


def move_size_pmf(free: int, breadth: float) -> np.ndarray:
    """P(a move covers j = 1..free cells): binomial(free, b) conditioned on j >= 1."""
    if breadth <= 0.0 or free == 1:
        return np.eye(free)[0]
    j = np.arange(1, free + 1)
    logc = np.array([math.lgamma(free + 1) - math.lgamma(k + 1) - math.lgamma(free - k + 1) for k in j])
    pmf = np.exp(logc + j * math.log(breadth) + (free - j) * math.log1p(-breadth))
    return pmf / pmf.sum()


def _burn_in_days(c: CountryCells, p: RegimeParams, f_calm: float) -> float:
    lam = c.onset_rate_per_year / DAYS_PER_YEAR
    slowest = 1.0 / (lam * f_calm + 1.0 / p.mean_duration_days)
    if p.tension is not None:
        slowest = max(slowest, DAYS_PER_YEAR / (p.tension.calm_to_tense_per_year + p.tension.tense_to_calm_per_year))
    return BURN_IN_RELAXATIONS * slowest


def _country_paths(c: CountryCells, p: RegimeParams, horizon: float, rng: np.random.Generator,
                   first_episode: int) -> tuple[list[Segment], int]:
    """Gillespie simulation of one country's cells (and its tension chain).

    Returns the segments and the next unused episode number.
    """
    n = len(c.commodities)
    lam = c.onset_rate_per_year / DAYS_PER_YEAR
    mu = 1.0 / p.mean_duration_days
    nu = p.severity_change_rate_per_year / DAYS_PER_YEAR
    if p.tension is not None:
        f = p.tension.factors()
        switch = (p.tension.calm_to_tense_per_year / DAYS_PER_YEAR, p.tension.tense_to_calm_per_year / DAYS_PER_YEAR)
        state = int(rng.random() < p.tension.tense_share)
    else:
        f, switch, state = (1.0, 1.0), (0.0, 0.0), 0
    t = -_burn_in_days(c, p, f[0]) if p.initial == "stationary" else 0.0
    # open[j] = (segment start, severity, episode, targeted) of a restricted cell, else None
    open_: list[tuple[float, float, int, bool] | None] = [None] * n
    out: list[Segment] = []
    episode = first_episode

    def draw() -> tuple[float, bool]:
        sev = float(np.clip(p.severity.sample(rng), 0.0, 1.0))
        return sev, bool(rng.random() < p.targeted_share)

    def close(j: int, end: float) -> None:
        start, sev, ep, targ = open_[j]  # type: ignore[misc]
        if end > 0.0:
            out.append(Segment(c.country, c.commodities[j], max(start, 0.0), min(end, horizon), sev, ep, targ))
        open_[j] = None

    while True:
        on = [j for j in range(n) if open_[j] is not None]
        off = [j for j in range(n) if open_[j] is None]
        rates = (switch[state], move_weight(len(off), p.package_breadth) * lam * f[state],
                 move_weight(len(on), p.lift_breadth) * mu, len(on) * nu)
        total = sum(rates)
        if total <= 0.0:
            break
        t += rng.exponential(1.0 / total)
        if t >= horizon:
            break
        u = rng.random() * total
        if u < rates[0]:
            state = 1 - state
        elif u < rates[0] + rates[1]:
            size = 1 + int(rng.choice(len(off), p=move_size_pmf(len(off), p.package_breadth)))
            for j in sorted(rng.choice(off, size=size, replace=False).tolist()):
                sev, targ = draw()
                open_[j] = (t, sev, episode, targ)
                episode += 1
        elif u < rates[0] + rates[1] + rates[2]:
            size = 1 + int(rng.choice(len(on), p=move_size_pmf(len(on), p.lift_breadth)))
            for j in rng.choice(on, size=size, replace=False).tolist():
                close(j, t)
        else:
            j = on[int(rng.integers(len(on)))]
            ep = open_[j][2]  # type: ignore[index]
            close(j, t)
            sev, targ = draw()
            open_[j] = (t, sev, ep, targ)
    for j in range(n):
        if open_[j] is not None:
            close(j, horizon)
    return out, episode


def sample_paths(params: RegimeParams, horizon_days: float, rng: np.random.Generator) -> list[Segment]:
    """Sample every country's restriction segments over ``[0, horizon_days]``.

    Countries are simulated one after another from ``rng``, in the order of
    ``params.countries``. Returns segments sorted by start day, country and commodity;
    episode numbers count from 0 in that order.
    """
    out: list[Segment] = []
    episode = 0
    for c in params.countries:
        segs, episode = _country_paths(c, params, float(horizon_days), rng, episode)
        out += segs
    out.sort(key=lambda s: (s.start_day, s.country, s.commodity, s.episode))
    renumber: dict[int, int] = {}
    return [Segment(s.country, s.commodity, s.start_day, s.end_day, s.severity,
                    renumber.setdefault(s.episode, len(renumber)), s.targeted) for s in out]


def params_from_shock(shock: RestrictionRegime) -> RegimeParams:
    """``RegimeParams`` of a scenario ``restriction_regime`` shock (``sim.scenario.schema``)."""
    t = shock.tension
    tension = None
    if t is not None and t.multiplier > 1.0:
        tension = Tension(t.calm_to_tense_per_year, t.tense_to_calm_per_year, t.multiplier)
    countries = tuple(
        CountryCells(name, tuple(c.commodities), c.onset_rate_per_year) for name, c in shock.countries.items()
    )
    return RegimeParams(countries, shock.mean_duration_days, shock.severity, shock.severity_change_rate_per_year,
                        shock.targeted_share, tension, shock.package_breadth, shock.lift_breadth, shock.initial)
