"""Statistics over replications: means with honest intervals, ratios of means, percentiles.

- A quantity that is never negative in any replication (tonnes, losses, costs, counts) gets a
  bootstrap interval of its mean, which cannot leave the range of the data, so it never
  reaches below zero; signed quantities (differences, net values) keep the Student-t interval.
  The bootstrap is the *expanded* percentile interval (Hesterberg 2015, "What teachers should
  know about the bootstrap", The American Statistician 69(4)): percentiles at a level widened
  by sqrt(n/(n-1)) t/z, which corrects the plain percentile interval's under-coverage at the
  small replication counts simulation studies use.
- A ratio of KPIs (the benefit-cost ratio) is the ratio of their means, with a bootstrap
  interval that resamples replications in pairs (numerator and denominator of a replication
  stay together), not the mean of per-replication ratios.
- Every bootstrap draws from a named stream (:mod:`sim.core.rng`) of the run's seed, so
  intervals are reproducible.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats as _st

from sim.core.rng import Streams

#: Quantiles drawn in fan charts and kept by sweeps.
FAN_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
#: Percentiles over replications reported beside the mean and its interval.
PERCENTILES = (5, 50, 95)
#: Bootstrap resamples per interval.
N_BOOT = 4000
#: Fewest replications ``--precision`` runs before it tests its criterion.
PRECISION_MIN_REPLICATIONS = 5


def bootstrap_rng(seed: int, name: str) -> np.random.Generator:
    """The named bootstrap stream of ``name`` for root seed ``seed``."""
    return Streams(seed, 0).stream(f"bootstrap:{name}")


def _expanded_alpha(n: int, level: float) -> float:
    """Lower tail of Hesterberg's expanded percentile interval for ``n`` values."""
    t = float(_st.t.ppf((1.0 - level) / 2.0, n - 1))
    return float(_st.norm.cdf(math.sqrt(n / (n - 1.0)) * t))


def bootstrap_mean_ci(
    values: np.ndarray | list[float], level: float = 0.95, rng: np.random.Generator | None = None
) -> tuple[float, float, float]:
    """Mean and expanded-percentile bootstrap interval of the mean (NaNs dropped)."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return (math.nan, math.nan, math.nan)
    m = float(x.mean())
    if x.size < 2 or np.all(x == x[0]):
        return (m, m, m)
    rng = rng if rng is not None else bootstrap_rng(0, "mean")
    means = x[rng.integers(0, x.size, (N_BOOT, x.size))].mean(axis=1)
    a = _expanded_alpha(x.size, level)
    lo, hi = np.quantile(means, [a, 1.0 - a])
    return (m, float(lo), float(hi))


def interval(
    values: np.ndarray | list[float], level: float = 0.95, rng: np.random.Generator | None = None
) -> tuple[float, float, float, str]:
    """Mean and its interval: bootstrap when no value is negative, else Student t.

    Returns:
        (mean, low, high, method) with method ``bootstrap`` or ``t``.

    """
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if x.size and (x >= 0).all():
        return (*bootstrap_mean_ci(x, level, rng), "bootstrap")
    return (*mean_ci(x, level), "t")


def percentiles(values: np.ndarray | list[float], qs: tuple[int, ...] = PERCENTILES) -> list[float]:
    """Percentiles of the values over replications (NaNs dropped; NaN when there are none)."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return [math.nan] * len(qs)
    return [float(v) for v in np.percentile(x, qs)]


def ratio_of_means(num: np.ndarray, den: np.ndarray) -> float:
    """mean(num) / mean(den), NaN when the mean denominator is not positive."""
    d = float(np.mean(den)) if len(den) else math.nan
    return float(np.mean(num)) / d if d > 0 else math.nan


def _pairs(num: np.ndarray | list[float], den: np.ndarray | list[float]) -> tuple[np.ndarray, np.ndarray]:
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    if num.shape != den.shape:
        raise ValueError(f"paired samples need equal lengths, got {num.size} and {den.size}")
    keep = ~(np.isnan(num) | np.isnan(den))
    return num[keep], den[keep]


def _boot_ratio(num: np.ndarray, den: np.ndarray, idx: np.ndarray) -> np.ndarray:
    d = den[idx].mean(axis=1)
    return np.where(d > 0, num[idx].mean(axis=1) / np.where(d > 0, d, 1.0), np.nan)


def _percentile_ci(draws: np.ndarray, n: int, level: float) -> tuple[float, float]:
    """Expanded percentile interval of bootstrap draws; NaN when too many draws are undefined."""
    a = _expanded_alpha(n, level)
    if np.isnan(draws).mean() > a:
        return (math.nan, math.nan)  # the denominator's mean can be <= 0: the ratio is unbounded
    lo, hi = np.nanquantile(draws, [a, 1.0 - a])
    return (float(lo), float(hi))


def ratio_ci(
    num: np.ndarray | list[float],
    den: np.ndarray | list[float],
    level: float = 0.95,
    rng: np.random.Generator | None = None,
) -> tuple[float, float, float]:
    """Ratio of means with a paired bootstrap interval (replications resampled as pairs).

    Returns:
        (ratio, low, high); the interval is NaN with fewer than two pairs or when the mean
        denominator is not positive in too many resamples to bound the ratio.

    """
    num, den = _pairs(num, den)
    r = ratio_of_means(num, den)
    if num.size < 2 or math.isnan(r):
        return (r, math.nan, math.nan)
    rng = rng if rng is not None else bootstrap_rng(0, "ratio")
    idx = rng.integers(0, num.size, (N_BOOT, num.size))
    return (r, *_percentile_ci(_boot_ratio(num, den, idx), num.size, level))


def ratio_diff_ci(
    base: tuple[np.ndarray, np.ndarray],
    other: tuple[np.ndarray, np.ndarray],
    paired: bool,
    level: float = 0.95,
    rng: np.random.Generator | None = None,
) -> tuple[float, float, float]:
    """Difference of two ratios of means, ``other - base``, with a bootstrap interval.

    Paired runs (common random numbers) resample the same replications in both; unpaired
    runs are resampled independently.
    """
    rng = rng if rng is not None else bootstrap_rng(0, "ratio_diff")
    bn, bd = (np.asarray(v, dtype=float) for v in base)
    on, od = (np.asarray(v, dtype=float) for v in other)
    if paired:
        keep = ~(np.isnan(bn) | np.isnan(bd) | np.isnan(on) | np.isnan(od))
        bn, bd, on, od = bn[keep], bd[keep], on[keep], od[keep]
    else:
        bn, bd = _pairs(bn, bd)
        on, od = _pairs(on, od)
    d = ratio_of_means(on, od) - ratio_of_means(bn, bd)
    n = min(bn.size, on.size)
    if n < 2 or math.isnan(d):
        return (d, math.nan, math.nan)
    ib = rng.integers(0, bn.size, (N_BOOT, bn.size))
    io = ib if paired else rng.integers(0, on.size, (N_BOOT, on.size))
    draws = _boot_ratio(on, od, io) - _boot_ratio(bn, bd, ib)
    return (d, *_percentile_ci(draws, n, level))


def precision_reached(values: np.ndarray | list[float], gamma: float, level: float = 0.95,
                      seed: int = 0) -> tuple[bool, float, float]:
    """Is the interval's half-width within ``gamma`` x |mean|? Returns (reached, half-width, mean)."""
    m, lo, hi, _ = interval(values, level, bootstrap_rng(seed, "precision"))
    if math.isnan(lo) or len(values) < 2:
        return (False, math.nan, m)
    half = (hi - lo) / 2.0
    return (bool(half <= gamma * abs(m)), half, m)


def mean_ci(values: np.ndarray | list[float], level: float = 0.95) -> tuple[float, float, float]:
    """Mean and two-sided Student-t confidence interval of the mean.

    With one value (or all values equal) the interval has zero width. NaNs are dropped.

    Returns:
        (mean, low, high)

    """
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return (math.nan, math.nan, math.nan)
    m = float(x.mean())
    if x.size < 2:
        return (m, m, m)
    sd = float(x.std(ddof=1))
    half = float(_st.t.ppf(0.5 + level / 2, x.size - 1)) * sd / math.sqrt(x.size)
    return (m, m - half, m + half)


def paired_diff_ci(
    a: np.ndarray | list[float], b: np.ndarray | list[float], level: float = 0.95
) -> tuple[float, float, float]:
    """Mean of ``b - a`` over paired replications with its t confidence interval."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired samples need equal lengths, got {a.size} and {b.size}")
    return mean_ci(b - a, level)


def welch_ci(a: np.ndarray, b: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Difference of means ``mean(b) - mean(a)`` with Welch's unpaired t interval (NaNs dropped)."""
    a = a[~np.isnan(a)]
    b = b[~np.isnan(b)]
    if a.size == 0 or b.size == 0:
        return (math.nan, math.nan, math.nan)
    d = float(b.mean() - a.mean())
    if a.size < 2 or b.size < 2:
        return (d, math.nan, math.nan)
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se = math.sqrt(va + vb)
    if se == 0:
        return (d, d, d)
    df = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    half = float(_st.t.ppf(0.5 + level / 2, df)) * se
    return (d, d - half, d + half)


def kpi_table(
    rows: list[dict[str, float]],
    level: float = 0.95,
    ratios: dict[str, tuple[str, str]] | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per KPI over replications.

    Columns: ``mean``, ``ci_low``, ``ci_high``, ``ci_method`` (``t``, ``bootstrap`` or
    ``ratio_bootstrap``), ``p5``, ``p50``, ``p95``, ``sd``, ``n``. A KPI named in ``ratios``
    (ratio -> (numerator KPI, denominator KPI)) gets the ratio of the means with a paired
    bootstrap interval; its percentiles are those of the per-replication ratios.
    """
    df = pd.DataFrame(rows)
    ratios = ratios or {}
    out = []
    for col in df.columns:
        x = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
        rng = bootstrap_rng(seed, col)
        parts = ratios.get(col)
        if parts and all(p in df.columns for p in parts):
            num, den = (pd.to_numeric(df[p], errors="coerce").to_numpy(dtype=float) for p in parts)
            m, lo, hi = ratio_ci(num, den, level, rng)
            method = "ratio_bootstrap"
        else:
            m, lo, hi, method = interval(x, level, rng)
        p5, p50, p95 = percentiles(x)
        sd = float(np.nanstd(x, ddof=1)) if np.sum(~np.isnan(x)) > 1 else 0.0
        out.append({"kpi": col, "mean": m, "ci_low": lo, "ci_high": hi, "ci_method": method,
                    "p5": p5, "p50": p50, "p95": p95, "sd": sd, "n": int(np.sum(~np.isnan(x)))})
    return pd.DataFrame(out)
