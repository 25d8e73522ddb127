"""Maximum-likelihood fit of the restriction-regime process (``sim.model.regimes``) to observed paths.

The data are regime segments over a window ``[0, T]`` (from the episode file through
``sim.calibration.regime_data.window_segments``, or from ``sample_paths`` in tests) and the cells
each country could restrict. The log-likelihood has independent parts:

* **Onsets and the common factor**, per country: free cells become restricted at hazard
  ``lambda x factor(tension)``; the tension chain is hidden, so its part is computed by the
  forward algorithm of a Markov-modulated Poisson process whose intensity is proportional
  to the number of free cells (known between events). Without the factor it is the Poisson
  log-likelihood ``n log(lambda) - lambda x free cell-days``.
* **Durations**: exponential, right-censored at T (and left-truncated at 0, which the
  memoryless exponential makes harmless): ``n_end log(mu) - mu x restricted cell-days``.
* **State at day 0** (``initial="stationary"`` only): each cell is restricted with the
  stationary probability ``lambda D / (1 + lambda D)`` of the process without the factor (an
  approximation when the factor is on). This is what lets a window that opens on a long
  regime (China's rare-earth quotas in 2009) inform the onset rate. ``"conditional"``
  conditions on the state at day 0 instead: right for a window that starts at a break.

These are maximised jointly over the onset rates, the mean duration and the tension
parameters. Severity-change rate (``changes / restricted cell-days``) and the share
targeted at the bloc are Poisson and binomial MLEs; the severity distribution is a beta
with the sample mean and standard deviation of the observed severity levels (method of
moments, stated because severities at exactly 0 or 1 make the beta MLE degenerate).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize

from sim.model.regimes import DAYS_PER_YEAR, BetaSeverity, CountryCells, RegimeParams, Segment, Tension

#: Bounds of the fitted parameters (per year, or days for the duration).
RATE_BOUNDS = (1e-5, 20.0)
DURATION_BOUNDS = (10.0, 100.0 * DAYS_PER_YEAR)
SWITCH_BOUNDS = (0.01, 50.0)
EXCESS_BOUNDS = (1e-3, 99.0)  # multiplier - 1: at most 100 (the likelihood is flat far below that)
BREADTH_LOGIT_BOUNDS = (-9.0, 7.0)  # package breadth 1e-4 .. 0.999
#: Starting points of the tension parameters (calm->tense, tense->calm per year, multiplier).
TENSION_STARTS = ((0.1, 0.5, 5.0), (0.3, 2.0, 20.0), (0.05, 0.2, 3.0))


@dataclass
class CountryData:
    """One country's sufficient statistics, and its event sequence for the forward algorithm."""

    n_cells: int
    n_on0: int = 0
    onsets: int = 0
    moves: int = 0
    ends: int = 0
    lifts: int = 0
    changes: int = 0
    on_days: float = 0.0
    off_days: float = 0.0
    # (days since the previous event, free cells meanwhile, cells restricted by the move that
    # ends the gap, cells freed by the lift that ends it; both 0 at the end of the window)
    steps: list[tuple[float, int, int, int]] = field(default_factory=list)
    _arrays: tuple[np.ndarray, ...] | None = field(default=None, repr=False)

    def arrays(self) -> tuple[np.ndarray, ...]:
        """``steps`` as arrays (gaps in days, free cells, move sizes, lift sizes), built once."""
        if self._arrays is None:
            self._arrays = tuple(np.array([s[i] for s in self.steps], dtype=float) for i in range(4))
        return self._arrays


@dataclass
class Observations:
    """Everything the likelihood needs from a set of segments."""

    horizon_days: float
    countries: dict[str, CountryData]
    cells: dict[str, tuple[str, ...]]
    severities: list[float]
    targeted: list[bool]

    @property
    def ends(self) -> int:
        return sum(c.ends for c in self.countries.values())

    @property
    def on_days(self) -> float:
        return sum(c.on_days for c in self.countries.values())


def observe(segments: Sequence[Segment], cells: Mapping[str, Sequence[str]], horizon_days: float) -> Observations:
    """Sufficient statistics of ``segments`` on ``[0, horizon_days]`` for the cells of each country.

    Onsets of one country on the same day form one move.

    Raises:
        ValueError: a segment names a cell that is not in ``cells``.
    """
    T = float(horizon_days)
    eps: dict[int, list[Segment]] = {}
    for s in segments:
        if s.commodity not in cells.get(s.country, ()):
            raise ValueError(f"segment of {s.country}/{s.commodity}, which is not a listed cell")
        eps.setdefault(s.episode, []).append(s)
    data = {k: CountryData(n_cells=len(v)) for k, v in cells.items()}
    starts: dict[str, dict[float, int]] = {k: {} for k in cells}
    ends: dict[str, dict[float, int]] = {k: {} for k in cells}
    for segs in eps.values():
        segs.sort(key=lambda s: s.start_day)
        k = segs[0].country
        d = data[k]
        start, end = segs[0].start_day, segs[-1].end_day
        d.on_days += end - start
        d.changes += len(segs) - 1
        if start <= 0.0:
            d.n_on0 += 1
        else:
            d.onsets += 1
            starts[k][start] = starts[k].get(start, 0) + 1
        if end < T:
            d.ends += 1
            ends[k][end] = ends[k].get(end, 0) + 1
    for k, d in data.items():
        d.off_days = d.n_cells * T - d.on_days
        d.moves, d.lifts = len(starts[k]), len(ends[k])
        # at equal times restrictions are lifted before a move
        events = sorted([(t, 0, j) for t, j in ends[k].items()] + [(t, 1, j) for t, j in starts[k].items()])
        n_off, t_prev = d.n_cells - d.n_on0, 0.0
        for t, is_move, j in events:
            d.steps.append((t - t_prev, n_off, j if is_move else 0, 0 if is_move else j))
            n_off += -j if is_move else j
            t_prev = t
        d.steps.append((T - t_prev, n_off, 0, 0))
    # every segment is one severity level (drawn at an onset or a change)
    return Observations(T, data, {k: tuple(v) for k, v in cells.items()}, [s.severity for s in segments],
                        [s.targeted for s in segments])


def _weights(n: np.ndarray, breadth: float) -> np.ndarray:
    """Move rate per unit onset rate for ``n`` free cells (``move_weight``, vectorised)."""
    return n.copy() if breadth <= 0.0 else -np.expm1(n * math.log1p(-breadth)) / breadth


def onset_loglik(d: CountryData, rate_per_day: float, tension: Tension | None, breadth: float = 0.0) -> float:
    """Log-likelihood of one country's moves (times and sizes) given its free-cell counts.

    A move of j cells out of n free has density ``rate x b^(j-1) (1-b)^(n-j)`` (times the
    tension factor); with b = 0 its j cells count as j separate onsets.
    """
    dt_, n, j, _ = d.arrays()
    move = j > 0
    w = _weights(n, breadth)
    if breadth > 0.0:
        scalar = np.where(move, math.log(rate_per_day) + (j - 1) * math.log(breadth)
                          + (n - j) * math.log1p(-breadth), 0.0).sum()
        power = move.astype(float)  # the tension factor enters once per move
    else:
        scalar = j.sum() * math.log(rate_per_day)
        power = j  # ... or once per cell
    if tension is None or tension.multiplier <= 1.0:
        return float(scalar - rate_per_day * (w * dt_).sum())
    a, b = tension.calm_to_tense_per_year / DAYS_PER_YEAR, tension.tense_to_calm_per_year / DAYS_PER_YEAR
    f0, f1 = tension.factors()
    # closed-form exp of the 2x2 sub-generator [[-a - r0, a], [b, -b - r1]] x dt for every step,
    # r = move rate in each tension state
    p, s = -a - rate_per_day * w * f0, -b - rate_per_day * w * f1
    half, disc = 0.5 * (p + s), np.sqrt(0.25 * (p - s) ** 2 + a * b)
    l1, l2 = half + disc, half - disc
    e1, e2 = np.exp(l1 * dt_) / (2.0 * disc), np.exp(l2 * dt_) / (2.0 * disc)
    m = [e1 * (p - l2) - e2 * (p - l1), (e1 - e2) * a, (e1 - e2) * b, e1 * (s - l2) - e2 * (s - l1)]
    # a move multiplies by the tension factor of the state it happened in (matrix columns)
    col0, col1 = f0**power, f1**power
    m = [m[0] * col0, m[1] * col1, m[2] * col0, m[3] * col1]
    return float(scalar) + _log_product(1.0 - tension.tense_share, tension.tense_share, m)


def lift_loglik(d: CountryData, end_rate_per_day: float, breadth: float = 0.0) -> float:
    """Log-likelihood of one country's lifts (times and sizes) given its restricted-cell counts.

    The same form as moves, without tension: a lift freeing j of n restricted cells has
    density ``rate x c^(j-1) (1-c)^(n-j)``; with c = 0 its cells count as separate ends.
    """
    dt_, n_off, _, j = d.arrays()
    n_on = d.n_cells - n_off
    lift = j > 0
    if breadth > 0.0:
        ll = np.where(lift, math.log(end_rate_per_day) + (j - 1) * math.log(breadth)
                      + (n_on - j) * math.log1p(-breadth), 0.0).sum()
    else:
        ll = j.sum() * math.log(end_rate_per_day)
    return float(ll - end_rate_per_day * (_weights(n_on, breadth) * dt_).sum())


def _log_product(x0: float, x1: float, m: list[np.ndarray]) -> float:
    """log((x0, x1) @ M_0 @ M_1 @ ... @ (1, 1)) for 2x2 matrices given as arrays (m00, m01, m10, m11).

    Pairwise products, each level vectorised and rescaled so nothing underflows.
    """
    log_c = 0.0
    while True:
        scale = np.maximum(np.maximum(m[0], m[1]), np.maximum(m[2], m[3]))
        if not np.all(scale > 0.0) or not np.all(np.isfinite(scale)):
            return -math.inf
        log_c += float(np.log(scale).sum())
        m = [x / scale for x in m]
        if len(m[0]) == 1:
            break
        if len(m[0]) % 2:
            m = [np.append(x, v) for x, v in zip(m, (1.0, 0.0, 0.0, 1.0))]
        a00, a01, a10, a11 = (x[0::2] for x in m)
        b00, b01, b10, b11 = (x[1::2] for x in m)
        m = [a00 * b00 + a01 * b10, a00 * b01 + a01 * b11, a10 * b00 + a11 * b10, a10 * b01 + a11 * b11]
    return log_c + math.log(x0 * (m[0][0] + m[1][0]) + x1 * (m[2][0] + m[3][0]))


def _initial_loglik(d: CountryData, rate_per_day: float, duration_days: float) -> float:
    # stationary share of time restricted without the factor: x / (1 + x), x = rate x duration
    x = rate_per_day * duration_days
    return d.n_on0 * math.log(x / (1.0 + x)) - (d.n_cells - d.n_on0) * math.log1p(x)


def loglik(obs: Observations, rates_per_year: Mapping[str, float], duration_days: float,
           tension: Tension | None, breadth: float, initial: str, lift_breadth: float = 0.0) -> float:
    """Joint log-likelihood of moves, lifts and (if ``initial == "stationary"``) day-0 states."""
    mu = 1.0 / duration_days
    ll = 0.0
    for k, d in obs.countries.items():
        lam = rates_per_year[k] / DAYS_PER_YEAR
        ll += onset_loglik(d, lam, tension, breadth) + lift_loglik(d, mu, lift_breadth)
        if initial == "stationary":
            ll += _initial_loglik(d, lam, duration_days)
    return ll


@dataclass
class FitResult:
    """Fitted parameters, the maximised log-likelihood and how the fit went."""

    params: RegimeParams
    loglik: float
    obs: Observations
    initial: str
    free: list[str]
    log_se: dict[str, float] = field(default_factory=dict)  # standard errors of log parameters

    def ci95(self, name: str, value: float) -> tuple[float, float] | None:
        """95% interval of a fitted parameter from the Hessian on its log scale (None if unavailable)."""
        se = self.log_se.get(name)
        if se is None or not math.isfinite(se):
            return None
        return value * math.exp(-1.96 * se), value * math.exp(1.96 * se)


def _severity(obs: Observations) -> BetaSeverity:
    x = np.clip(np.asarray(obs.severities, dtype=float), 0.01, 0.99)
    mean = float(x.mean())
    sd = float(x.std(ddof=1)) if len(x) > 1 else 0.1
    return BetaSeverity(mean, min(sd, 0.95 * math.sqrt(mean * (1.0 - mean))))


def _hessian_se(f, x: np.ndarray, h: float = 1e-3) -> np.ndarray:
    """Standard errors from a central-difference Hessian of the negative log-likelihood ``f``."""
    n = len(x)
    H = np.zeros((n, n))
    for i in range(n):
        for j in range(i, n):
            ei, ej = np.eye(n)[i] * h, np.eye(n)[j] * h
            H[i, j] = H[j, i] = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (4 * h * h)
    try:
        cov = np.linalg.inv(H)
    except np.linalg.LinAlgError:
        return np.full(n, np.nan)
    d = np.diag(cov)
    return np.where(d > 0, np.sqrt(np.abs(d)), np.nan)


def fit(segments: Sequence[Segment], cells: Mapping[str, Sequence[str]], horizon_days: float, *,
        initial: str = "stationary", factor: bool = True, with_se: bool = False,
        multiplier: float | None = None, n_starts: int = len(TENSION_STARTS)) -> FitResult:
    """Fit the regime process to ``segments`` observed on ``[0, horizon_days]``.

    Args:
        segments: observed segments (``start_day == 0``: already on at day 0).
        cells: country -> commodities it could restrict.
        horizon_days: length of the window.
        initial: ``"stationary"`` or ``"conditional"`` (see the module docstring).
        factor: fit the common country factor (moves and tension); False fits independent cells.
        with_se: also compute standard errors of the log (logit for breadth) parameters.
        multiplier: hold the tension multiplier at this value (a profile likelihood).
        n_starts: how many of ``TENSION_STARTS`` to try (the best optimum is kept).
    """
    obs = observe(segments, cells, horizon_days)
    names = list(obs.countries)
    free = [f"rate.{k}" for k in names] + ["duration"]
    if factor:
        free += ["lift_breadth", "breadth", "tension.calm_to_tense", "tension.tense_to_calm", "tension.excess"]
    fixed_excess = factor and multiplier is not None
    if fixed_excess:
        free.remove("tension.excess")

    def unpack(x: np.ndarray) -> tuple[dict[str, float], float, Tension | None, float, str, float]:
        rates = {k: math.exp(v) for k, v in zip(names, x)}
        duration = math.exp(x[len(names)])
        if not factor:
            return rates, duration, None, 0.0, initial, 0.0
        lift, breadth = (1.0 / (1.0 + math.exp(-v)) for v in x[-5:-3])
        m = multiplier if multiplier is not None else 1.0 + math.exp(x[-1])
        return rates, duration, Tension(math.exp(x[-3]), math.exp(x[-2]), m), breadth, initial, lift

    # per-event scale keeps gradients O(1): L-BFGS-B's first step under bounds is a full gradient step
    scale = 1.0 + sum(d.onsets + d.ends + d.n_cells for d in obs.countries.values())

    def nll(x: np.ndarray) -> float:
        v = -loglik(obs, *unpack(x)) / scale
        return v if math.isfinite(v) else 1e6

    x0 = [math.log(min(max((d.onsets + 0.5) / max(d.off_days / DAYS_PER_YEAR, 1e-9), RATE_BOUNDS[0]), RATE_BOUNDS[1]))
          for d in obs.countries.values()]
    x0.append(math.log(min(max(obs.on_days / max(obs.ends, 1), 30.0), DURATION_BOUNDS[1] / 2)))
    bounds = [tuple(map(math.log, RATE_BOUNDS))] * len(names) + [tuple(map(math.log, DURATION_BOUNDS))]
    starts = [x0]
    if factor:
        bounds += [BREADTH_LOGIT_BOUNDS] * 2 + [tuple(map(math.log, SWITCH_BOUNDS))] * 2 + [
            tuple(map(math.log, EXCESS_BOUNDS))]
        starts = [x0 + [0.0, 0.0, math.log(a), math.log(b), math.log(m - 1.0)] for a, b, m in TENSION_STARTS[:n_starts]]
        if multiplier is not None:  # the last coordinate is unused; pin it
            excess = math.log(max(multiplier - 1.0, EXCESS_BOUNDS[0]))
            bounds[-1] = (excess, excess)
            starts = [s[:-1] + [excess] for s in starts]
    best = min((minimize(nll, np.array(s), method="L-BFGS-B", bounds=bounds) for s in starts), key=lambda r: r.fun)
    rates, duration, tension, breadth, _, lift = unpack(best.x)
    params = RegimeParams(
        countries=tuple(CountryCells(k, obs.cells[k], rates[k]) for k in names),
        mean_duration_days=duration,
        severity=_severity(obs),
        severity_change_rate_per_year=sum(d.changes for d in obs.countries.values()) / max(obs.on_days, 1e-9)
        * DAYS_PER_YEAR,
        targeted_share=float(np.mean(obs.targeted)) if obs.targeted else 0.0,
        tension=tension,
        package_breadth=breadth,
        lift_breadth=lift,
    )
    result = FitResult(params, -float(best.fun) * scale, obs, initial, free)
    if with_se:
        n = len(free)  # a pinned multiplier is the last coordinate and has no standard error

        def nll_free(y: np.ndarray) -> float:
            return nll(np.concatenate([y, best.x[n:]])) * scale

        result.log_se = dict(zip(free, _hessian_se(nll_free, best.x[:n]).tolist()))
    return result


def rate_multiplier(obs: Observations, rates_per_year: Mapping[str, float]) -> tuple[float, int, float]:
    """Poisson MLE of one multiplier of every country's onset rate in a window.

    Returns (multiplier, onsets observed, onsets expected at ``rates_per_year`` given each
    country's free cell-days in the window): the window's level, the history's pattern.
    """
    seen = sum(d.onsets for d in obs.countries.values())
    expected = sum(rates_per_year[k] / DAYS_PER_YEAR * d.off_days for k, d in obs.countries.items())
    return seen / expected, seen, expected
