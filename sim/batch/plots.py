"""Plots of a sweep: KPIs against levers, cost against benefit, fan charts per lever.

KPIs are drawn with 95% CIs; the cost-benefit plot marks the efficient frontier; fan
charts show the series' quantiles per lever setting.

Where several design points share a lever setting (other levers, uncertainty samples),
KPI means and CIs pool their runs exactly (from per-point means, sds and counts), and
fan-chart bands average the points' quantiles (Vincentisation): the band of a typical
point at that setting, not the quantile of all runs pooled.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from scipy import stats as _st  # noqa: E402

from sim.batch.spec import REQUIRED_OUTCOMES, ResolvedSweep  # noqa: E402
from sim.report.plots import ARM_STYLE  # noqa: E402

PANELS_PER_PAGE = 12
#: Lever values drawn as columns of a fan chart (evenly picked when there are more).
MAX_FAN_COLUMNS = 6
COLORS = plt.rcParams["axes.prop_cycle"].by_key()["color"]


def slug(text: str) -> str:
    """A file-name-safe version of a key path."""
    return re.sub(r"[^A-Za-z0-9]+", "_", text.replace("*", "all")).strip("_")


def _scale(key: str) -> tuple[float, str]:
    if key.endswith("_usd"):
        return 1e-9, "USD bn"
    if key.endswith("_t"):
        return 1.0, "t"
    if key.endswith("_days") or key.endswith("_days_avoided"):
        return 1.0, "days"
    return 1.0, ""


def pooled(points: pd.DataFrame, mask: np.ndarray, key: str) -> tuple[float, float, float]:
    """Mean and 95% CI of a KPI over all ok runs of the selected points."""
    sel = points.loc[mask]
    n = sel[f"{key}.n"].to_numpy(float)
    m = sel[f"{key}.mean"].to_numpy(float)
    s = sel[f"{key}.sd"].to_numpy(float)
    ok = n > 0
    n, m, s = n[ok], m[ok], np.nan_to_num(s[ok])
    N = n.sum()
    if N == 0:
        return (np.nan, np.nan, np.nan)
    mean = float((n * m).sum() / N)
    if N < 2:
        return (mean, mean, mean)
    var = ((n - 1) * s**2).sum() + (n * (m - mean) ** 2).sum()
    half = float(_st.t.ppf(0.975, N - 1) * np.sqrt(var / (N - 1)) / np.sqrt(N))
    return (mean, mean - half, mean + half)


def lever_index(sweep: ResolvedSweep) -> np.ndarray:
    """[points, levers]: index of each point's value in each lever's list."""
    d = sweep.design
    combos = list(itertools.product(*[range(len(v)) for v in sweep.spec.levers.values()])) or [()]
    idx = np.array([combos[p // d.n_samples] for p in range(d.n_points)], dtype=int)
    return idx.reshape(d.n_points, len(d.levers))


def _label(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _numeric(values: list[Any]) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def plot_kpis_vs_lever(sweep: ResolvedSweep, points: pd.DataFrame, out: Path) -> list[Path]:
    """Per lever: each KPI's mean and 95% CI at each value; lines per value of the next lever."""
    d = sweep.design
    idx = lever_index(sweep)
    written = []
    for i, lever in enumerate(d.levers):
        values = sweep.spec.levers[lever]
        x = np.asarray(values, float) if _numeric(values) else np.arange(len(values), dtype=float)
        h = (i + 1) % len(d.levers) if len(d.levers) > 1 else None
        hues = list(range(len(sweep.spec.levers[d.levers[h]]))) if h is not None else [None]
        width = (np.ptp(x) or 1.0) * 0.012
        for page in range(0, len(sweep.outcomes), PANELS_PER_PAGE):
            keys = sweep.outcomes[page:page + PANELS_PER_PAGE]
            ncol = min(3, len(keys))
            nrow = -(-len(keys) // ncol)
            fig, axes = plt.subplots(nrow, ncol, figsize=(4.6 * ncol, 3.1 * nrow), squeeze=False)
            for ax, key in zip(axes.ravel(), keys):
                scale, unit = _scale(key)
                for k, hv in enumerate(hues):
                    stats = []
                    for j in range(len(values)):
                        mask = idx[:, i] == j
                        if hv is not None:
                            mask &= idx[:, h] == hv
                        stats.append(pooled(points, mask, key))
                    m, lo, hi = (np.array(s) * scale for s in zip(*stats))
                    label = f"{d.levers[h]} = {_label(sweep.spec.levers[d.levers[h]][hv])}" if hv is not None else None
                    xs = x + (k - (len(hues) - 1) / 2) * width
                    ax.errorbar(xs, m, yerr=[m - lo, hi - m], marker="o", ms=3, capsize=3,
                                color=COLORS[k % len(COLORS)], label=label)
                if not _numeric(values):
                    ax.set_xticks(x, [_label(v) for v in values], fontsize=8)
                ax.set_title(key, fontsize=8)
                ax.set_ylabel(unit, fontsize=8)
                ax.set_xlabel(lever, fontsize=7)
                ax.grid(alpha=0.3)
            for ax in axes.ravel()[len(keys):]:
                ax.set_visible(False)
            handles, labels = axes[0, 0].get_legend_handles_labels()
            if labels:
                fig.legend(handles, labels, loc="lower center", ncol=min(4, len(labels)), fontsize=8, frameon=False)
            fig.suptitle(f"{sweep.name}: KPIs against {lever} (mean and 95% CI)", fontsize=10)
            fig.tight_layout(rect=(0, 0.05 if labels else 0, 1, 0.95))
            suffix = "" if len(sweep.outcomes) <= PANELS_PER_PAGE else f"_p{page // PANELS_PER_PAGE + 1}"
            path = out / f"kpis_vs_{slug(lever)}{suffix}.png"
            fig.savefig(path, dpi=110)
            plt.close(fig)
            written.append(path)
    return written


def plot_kpis_vs_uncertainty(sweep: ResolvedSweep, points: pd.DataFrame, out: Path) -> list[Path]:
    """Per uncertainty: each design point's KPI mean against the sampled value."""
    cols = sweep.param_columns
    written = []
    keys = sweep.outcomes[:PANELS_PER_PAGE]
    for name in sweep.design.uncertainties:
        xv = pd.to_numeric(points[cols[name]], errors="coerce").to_numpy(float)
        if np.isnan(xv).all():
            continue
        ncol = min(3, len(keys))
        nrow = -(-len(keys) // ncol)
        fig, axes = plt.subplots(nrow, ncol, figsize=(4.6 * ncol, 3.1 * nrow), squeeze=False)
        for ax, key in zip(axes.ravel(), keys):
            scale, unit = _scale(key)
            ax.scatter(xv, points[f"{key}.mean"] * scale, s=8, alpha=0.7)
            ax.set_title(key, fontsize=8)
            ax.set_ylabel(unit, fontsize=8)
            ax.set_xlabel(name, fontsize=7)
            ax.grid(alpha=0.3)
        for ax in axes.ravel()[len(keys):]:
            ax.set_visible(False)
        fig.suptitle(f"{sweep.name}: design-point means against {name}", fontsize=10)
        fig.tight_layout(rect=(0, 0, 1, 0.95))
        path = out / f"kpis_vs_{slug(name)}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written


def efficient_frontier(cost: np.ndarray, benefit: np.ndarray) -> np.ndarray:
    """Indices of points no other point beats on both (lower cost, higher benefit), by cost."""
    ok = np.flatnonzero(np.isfinite(cost) & np.isfinite(benefit))
    order = ok[np.lexsort((-benefit[ok], cost[ok]))]
    best = -np.inf
    front = []
    for i in order:
        if benefit[i] > best:
            front.append(i)
            best = benefit[i]
    return np.array(front, dtype=int)


def plot_cost_benefit(sweep: ResolvedSweep, points: pd.DataFrame, path: Path) -> Path | None:
    """Net cost (NPV) against loss avoided (NPV) per design point, frontier marked."""
    ckey, bkey = REQUIRED_OUTCOMES
    if f"{ckey}.mean" not in points or f"{bkey}.mean" not in points:
        return None
    c = points[f"{ckey}.mean"].to_numpy(float) / 1e9
    b = points[f"{bkey}.mean"].to_numpy(float) / 1e9
    fig, ax = plt.subplots(figsize=(8, 5.5))
    idx = lever_index(sweep)
    groups = [(None, np.ones(len(points), bool))]
    if sweep.design.levers:
        first = sweep.design.levers[0]
        groups = [(f"{first} = {_label(v)}", idx[:, 0] == j) for j, v in enumerate(sweep.spec.levers[first])]
    for k, (label, mask) in enumerate(groups):
        cerr = [c[mask] - points[f"{ckey}.ci_low"][mask] / 1e9, points[f"{ckey}.ci_high"][mask] / 1e9 - c[mask]]
        berr = [b[mask] - points[f"{bkey}.ci_low"][mask] / 1e9, points[f"{bkey}.ci_high"][mask] / 1e9 - b[mask]]
        if len(points) > 200:
            cerr = berr = None
        ax.errorbar(c[mask], b[mask], xerr=cerr, yerr=berr, fmt="o", ms=4, capsize=2, alpha=0.8,
                    color=COLORS[k % len(COLORS)], label=label)
    front = efficient_frontier(c, b)
    if len(front):
        ax.plot(c[front], b[front], "-", color="black", lw=1.2, zorder=5, label="efficient frontier")
        ax.scatter(c[front], b[front], s=90, facecolors="none", edgecolors="black", zorder=6)
        if len(front) <= 12:
            cols = sweep.param_columns
            for k, i in enumerate(front):
                text = ", ".join(_label(points.at[i, cols[n]]) for n in sweep.design.levers) or f"point {i}"
                # alternate sides so labels of neighbouring frontier points do not overlap
                ax.annotate(text, (c[i], b[i]), textcoords="offset points", fontsize=7,
                            xytext=(6, -12) if k % 2 else (6, 6))
    lim = [np.nanmin(np.r_[c, b, 0]), np.nanmax(np.r_[c, b, 0])]
    if np.all(np.isfinite(lim)):
        ax.plot(lim, lim, ls=":", color="grey", lw=0.8, label="benefit = cost")
    ax.set_xlabel("net cost of the reserve (NPV), USD bn")
    ax.set_ylabel("loss avoided (NPV), USD bn")
    ax.set_title(f"{sweep.name}: cost against benefit per design point (mean, 95% CI)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _fan_sums(sweep: ResolvedSweep, series_path: Path) -> tuple[dict[tuple, np.ndarray], dict[tuple, np.ndarray]]:
    """Sums and counts of quantiles per (lever, value index, variable, commodity, arm), by day.

    Reads series.parquet one row group (one design point) at a time.
    """
    idx = lever_index(sweep)
    levers = list(range(len(sweep.design.levers))) or [None]
    sums: dict[tuple, np.ndarray] = {}
    counts: dict[tuple, np.ndarray] = {}
    qcols = ["q05", "q25", "q50", "q75", "q95"]
    step = sweep.spec.series_step_days
    pf = pq.ParquetFile(series_path)
    for g in range(pf.num_row_groups):
        df = pf.read_row_group(g, columns=["point", "variable", "commodity", "arm", "day", *qcols]).to_pandas()
        for (point, var, com, arm), sub in df.groupby(["point", "variable", "commodity", "arm"], sort=False):
            pos = sub["day"].to_numpy() // step
            q = sub[qcols].to_numpy(float).T
            for lev in levers:
                key = (lev, None if lev is None else int(idx[point, lev]), var, com, arm)
                n = int(pos.max()) + 1
                if key not in sums:
                    sums[key] = np.zeros((5, n))
                    counts[key] = np.zeros(n)
                if sums[key].shape[1] < n:
                    sums[key] = np.pad(sums[key], ((0, 0), (0, n - sums[key].shape[1])))
                    counts[key] = np.pad(counts[key], (0, n - counts[key].shape[0]))
                sums[key][:, pos] += q
                counts[key][pos] += 1
    return sums, counts


def plot_fans(sweep: ResolvedSweep, series_path: Path, out: Path) -> list[Path]:
    """Fan charts (5-95% and 25-75% bands, median) per lever value, commodity and variable."""
    if not sweep.series or not series_path.exists() or pq.ParquetFile(series_path).metadata.num_rows == 0:
        return []
    sums, counts = _fan_sums(sweep, series_path)
    step = sweep.spec.series_step_days
    start = np.datetime64(sweep.scenario.run.start_date.isoformat(), "D")
    written = []
    levers = list(range(len(sweep.design.levers))) or [None]
    for lev in levers:
        if lev is None:
            name, vals = "all design points", [None]
        else:
            name = sweep.design.levers[lev]
            vals = list(range(len(sweep.spec.levers[name])))
            if len(vals) > MAX_FAN_COLUMNS:
                vals = sorted(set(np.linspace(0, len(vals) - 1, MAX_FAN_COLUMNS).round().astype(int).tolist()))
        for var in sweep.series:
            scale, unit = _scale(var)
            coms = list(dict.fromkeys(k[3] for k in sums if k[0] == lev and k[2] == var))
            # commodities whose series is zero everywhere (e.g. never short) only take space
            quiet = [c for c in coms if all(np.nan_to_num(sums[k]).max() == 0 == np.nan_to_num(sums[k]).min()
                                            for k in sums if k[0] == lev and k[2] == var and k[3] == c)]
            coms = [c for c in coms if c not in quiet]
            if not coms:
                continue
            height = 1.9 * len(coms) + 1.2
            fig, axes = plt.subplots(len(coms), len(vals), figsize=(3.4 * len(vals) + 1.0, height),
                                     squeeze=False, sharex=True, sharey="row")
            for r, com in enumerate(coms):
                for cidx, v in enumerate(vals):
                    ax = axes[r, cidx]
                    for arm in ("reserve", "counterfactual"):
                        key = (lev, v, var, com, arm)
                        if key not in sums:
                            continue
                        with np.errstate(invalid="ignore", divide="ignore"):
                            q = sums[key] / counts[key] * scale
                        dates = start + (np.arange(q.shape[1]) * step).astype("timedelta64[D]")
                        color, label = ARM_STYLE[arm]
                        if arm == "reserve":
                            ax.fill_between(dates, q[0], q[4], color=color, alpha=0.15, lw=0, label="5-95%")
                            ax.fill_between(dates, q[1], q[3], color=color, alpha=0.3, lw=0, label="25-75%")
                            ax.plot(dates, q[2], color=color, lw=1.0, label=f"median, {label}")
                        else:
                            ax.plot(dates, q[2], color=color, lw=0.8, ls="--", label=f"median, {label}")
                            ax.plot(dates, q[4], color=color, lw=0.6, ls=":", label=f"95%, {label}")
                    if r == 0:
                        title = "all points" if v is None else f"{name} = {_label(sweep.spec.levers[name][v])}"
                        ax.set_title(title, fontsize=8)
                    if cidx == 0:
                        ax.set_ylabel(f"{com}\n{var}" + (f", {unit}" if unit else ""), fontsize=8)
                    ax.grid(alpha=0.3)
                    ax.tick_params(labelsize=7)
            locator = mdates.AutoDateLocator(minticks=2, maxticks=4)
            for ax in axes[-1]:
                ax.xaxis.set_major_locator(locator)
                ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
            handles, labels = axes[0, 0].get_legend_handles_labels()
            fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=8, frameon=False)
            note = f"; all zero, not drawn: {', '.join(quiet)}" if quiet else ""
            fig.suptitle(f"{sweep.name}: {var} per {name}\nbands: quantiles across replications of "
                         f"{step}-day means{note}", fontsize=9, y=1 - 0.08 / height, va="top")
            # fixed margins: tight_layout on dozens of date axes costs seconds per figure
            fig.subplots_adjust(left=0.9 / (3.4 * len(vals) + 1.0), right=0.98, top=1 - 0.85 / height,
                                bottom=0.7 / height, hspace=0.25, wspace=0.12)
            path = out / f"fan_{slug(name)}_{slug(var)}.png"
            fig.savefig(path, dpi=100)
            plt.close(fig)
            written.append(path)
    return written


def plot_sweep(sweep: ResolvedSweep, points: pd.DataFrame, out: Path) -> list[Path]:
    """Every sweep plot into ``out/plots``; returns the files written."""
    folder = Path(out) / "plots"
    folder.mkdir(exist_ok=True)
    written = plot_kpis_vs_lever(sweep, points, folder)
    written += plot_kpis_vs_uncertainty(sweep, points, folder)
    cb = plot_cost_benefit(sweep, points, folder / "cost_benefit.png")
    if cb is not None:
        written.append(cb)
    written += plot_fans(sweep, Path(out) / "series.parquet", folder)
    return written
