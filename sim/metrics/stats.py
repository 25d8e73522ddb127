"""Statistics over replications: means, Student-t confidence intervals, fan-chart quantiles."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats as _st

#: Quantiles drawn in fan charts and kept by sweeps.
FAN_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


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


def kpi_table(rows: list[dict[str, float]], level: float = 0.95) -> pd.DataFrame:
    """One row per KPI: mean, ci_low, ci_high, sd, n over replications."""
    df = pd.DataFrame(rows)
    out = []
    for col in df.columns:
        x = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
        m, lo, hi = mean_ci(x, level)
        sd = float(np.nanstd(x, ddof=1)) if np.sum(~np.isnan(x)) > 1 else 0.0
        out.append({"kpi": col, "mean": m, "ci_low": lo, "ci_high": hi, "sd": sd, "n": int(np.sum(~np.isnan(x)))})
    return pd.DataFrame(out)
