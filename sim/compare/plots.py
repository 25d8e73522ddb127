"""Comparison plots: each run keeps one colour and one label in every figure.

- ``ts_<commodity>.png``: reserve stock, shortfall and price over time (reserve arm of each
  run, the baseline's counterfactual dashed), means with 5-95% bands, shocks of the
  baseline's first replication shaded.
- ``kpis.png``: headline KPIs as bars with 95% CIs and the replications as dots.
- ``cost_benefit.png``: net cost (NPV) against loss avoided (NPV), with the break-even line
  (national economic view).
- ``commodities.png``: net benefit per commodity (economic view), one bar per run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker as mticker  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from sim.compare.inputs import RunData, slug  # noqa: E402
from sim.report.bands import WINDOW_DAYS, trailing_mean  # noqa: E402
from sim.report.html import shock_episodes  # noqa: E402
from sim.report.plots import series_matrix  # noqa: E402

#: Days in the trailing mean of daily shortfall; single days are too spiky to compare runs by.
SHORTFALL_WINDOW = WINDOW_DAYS
COUNTERFACTUAL = ("black", "--")
SHOCK_COLOR = "#f0b400"

#: Bars in ``kpis.png``: KPI, title with unit, scale.
BAR_KPIS = (
    ("reserve.total.shortfall_t", "shortfall with reserve, t", 1.0),
    ("reserve.total.fill_rate", "fill rate with reserve, share", 1.0),
    ("reserve.total.peak_price_ratio", "peak price, x reference", 1.0),
    ("economic.loss_avoided_npv_usd", "loss avoided (NPV), USD bn", 1e-9),
    ("economic.net_cost_npv_usd", "economic net cost (NPV), USD bn", 1e-9),
    ("economic.net_benefit_npv_usd", "economic net benefit (NPV), USD bn", 1e-9),
    ("economic.benefit_cost_ratio", "benefit-cost ratio", 1.0),
    ("programme.net_cost_npv_usd", "programme net cost (NPV), USD bn", 1e-9),
    ("programme.liabilities_at_horizon_usd", "liabilities at horizon, USD bn", 1e-9),
    ("finance.peak_debt_usd", "peak debt, USD bn", 1e-9),
    ("budget.subsidy_cost_usd", "FCRA subsidy cost, USD bn", 1e-9),
    ("economic.terminal_value_usd", "terminal value of stock, USD bn", 1e-9),
)


def colors(n: int) -> list[str]:
    """One colour per run, in run order (the baseline first)."""
    palette = plt.get_cmap("tab10").colors
    return [matplotlib.colors.to_hex(palette[i % len(palette)]) for i in range(n)]


def series_band(run: RunData, commodity: str, arm: str, column: str
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int] | None:
    """Dates, mean, 5% and 95% quantiles and replications of one series (shortfall as a trailing mean).

    From the stored series when the folder has every replication's, else from its bands
    (``series_quantiles.parquet``; quantiles estimated beyond 32 replications). None if absent.
    """
    if run.has_every_series():
        dates, values = series_matrix(run.timeseries(), commodity, arm, column)
        if values.size == 0:
            return None
        if column == "shortfall_t":
            values = trailing_mean(values, SHORTFALL_WINDOW)
        lo, hi = np.quantile(values, [0.05, 0.95], axis=0)
        return pd.to_datetime(dates).to_numpy(), values.mean(axis=0), lo, hi, values.shape[0]
    bands = run.bands()
    name = "shortfall_30d_t" if column == "shortfall_t" else column
    if not bands.has(name, commodity, arm):
        return None
    b = bands.band(name, commodity, arm)
    return pd.to_datetime(b.dates).to_numpy(), b.mean, b.quantiles[0.05], b.quantiles[0.95], b.count


def _band(ax: plt.Axes, data: tuple | None, color: str, label: str, ls: str = "-", band: bool = True) -> None:
    """Mean line (it adds up to the KPIs, unlike a median of rare shocks) and a 5-95% band."""
    if data is None:
        return
    dates, mean, lo, hi, count = data
    if band and count > 1:
        ax.fill_between(dates, lo, hi, color=color, alpha=0.13, lw=0)
    ax.plot(dates, mean, color=color, lw=1.1, ls=ls, label=label)


def _number_axis(ax: plt.Axes) -> None:
    # plain numbers with separators: an offset such as "1e6" above the axis is easily missed
    ax.yaxis.set_major_formatter(
        mticker.FuncFormatter(lambda v, _: f"{v:,.0f}" if abs(v) >= 100 or v == 0 else f"{v:,.3g}")
    )


def _shade_shocks(ax: plt.Axes, episodes: list[tuple[np.datetime64, np.datetime64]]) -> None:
    for start, end in episodes:
        ax.axvspan(start, end, color=SHOCK_COLOR, alpha=0.18, lw=0, zorder=0)


def _date_axis(ax: plt.Axes) -> None:
    locator = mdates.AutoDateLocator(minticks=3, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.grid(alpha=0.3)


def baseline_shocks(run: RunData) -> dict[str, list[tuple[np.datetime64, np.datetime64]]]:
    """Commodity -> (start, end) of shocks in the run's first replication; ``*`` for unknown shocks."""
    first = run.replication_ids[0]
    end_of_horizon = np.datetime64(run.start_date) + np.timedelta64(run.horizon_days, "D")
    out: dict[str, list[tuple[np.datetime64, np.datetime64]]] = {}
    for ep in shock_episodes(run.path / "events.csv", first):
        span = (np.datetime64(ep["start"]), np.datetime64(ep["end"]) if ep["end"] else end_of_horizon)
        for c in run.shock_commodities.get(ep["shock"], ["*"]):
            out.setdefault(c, []).append(span)
    return out


def plot_timeseries(runs: Sequence[RunData], commodity: str, path: Path) -> None:
    """Reserve stock, shortfall and price of one commodity for every run."""
    cols = colors(len(runs))
    base = runs[0]
    shocks = baseline_shocks(base)
    spans = shocks.get(commodity, []) + shocks.get("*", [])
    fig, axes = plt.subplots(3, 1, figsize=(11, 9), sharex=True)
    name = base.commodity_names.get(commodity, commodity)
    n_reps = max(len(r.replication_ids) for r in runs)
    band_note = f"; lines are means and bands 5-95% over {n_reps} replications" if n_reps > 1 else ""
    fig.suptitle(f"{name}: reserve stock, shortfall and price{band_note}", fontsize=11)
    panels = (
        ("reserve_stock_t", "reserve stock, t", False, True),
        ("shortfall_t", f"shortfall, t/day ({SHORTFALL_WINDOW}-day mean)", True, True),
        ("price_usd_per_t", "price, USD/t", True, False),
    )
    for ax, (column, ylabel, with_cf, from_zero) in zip(axes, panels):
        _shade_shocks(ax, spans)
        series = [(r, "reserve", c, r.label, "-") for r, c in zip(runs, cols)]
        if with_cf:
            series.append((base, "counterfactual", COUNTERFACTUAL[0], f"{base.label}: no reserve", COUNTERFACTUAL[1]))
        for run, arm, color, label, ls in series:
            # the reference gets no band: a third overlapping band hides the runs' own
            _band(ax, series_band(run, commodity, arm, column), color, label, ls, band=arm == "reserve")
        ax.set_ylabel(ylabel)
        if from_zero:
            ax.set_ylim(bottom=0)
        _number_axis(ax)
        _date_axis(ax)
    axes[-1].set_xlabel("date")
    handles, labels = axes[1].get_legend_handles_labels()
    if spans:
        handles.append(Patch(color=SHOCK_COLOR, alpha=0.3))
        labels.append(f"shock in replication {base.replication_ids[0]} of {base.label}")
    fig.legend(handles, labels, loc="lower center", ncol=min(4, len(labels)), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.05, 1, 0.97))
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_kpi_bars(runs: Sequence[RunData], table: pd.DataFrame, path: Path) -> None:
    """Headline KPIs: one bar per run (mean) with its 95% CI and the replications as dots."""
    cols = colors(len(runs))
    kpis = [k for k in BAR_KPIS if k[0] in set(table["kpi"])]
    ncols = 4
    nrows = max(1, math.ceil(len(kpis) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(13, 3.3 * nrows), squeeze=False)
    fig.suptitle("Headline KPIs: bars are means, whiskers 95% CIs, dots replications", fontsize=11)
    rows = {(k, i): r for k, i, r in zip(table["kpi"], table["run"], table.to_dict("records"))}
    x = np.arange(len(runs))
    for ax, (kpi, title, scale) in zip(axes.ravel(), kpis):
        for i, run in enumerate(runs):
            row = rows.get((kpi, i))
            if row is None or not np.isfinite(row["mean"]):
                continue
            m = row["mean"] * scale
            ax.bar(x[i], m, color=cols[i], width=0.7, label=run.label)
            if np.isfinite(row["ci_low"]):
                err = [[m - row["ci_low"] * scale], [row["ci_high"] * scale - m]]
                ax.errorbar(x[i], m, yerr=err, color="black", capsize=4, lw=1)
            vals = run.kpi_values(kpi).to_numpy(dtype=float) * scale
            vals = vals[np.isfinite(vals)]
            jitter = np.linspace(-0.15, 0.15, vals.size) if vals.size > 1 else np.zeros(vals.size)
            ax.scatter(x[i] + jitter, vals, s=8, color="black", alpha=0.5, zorder=3)
        ax.set_title(title, fontsize=9)
        _number_axis(ax)
        ax.set_ylabel(title.rsplit(", ", 1)[-1] if ", " in title else "ratio", fontsize=8)
        ax.set_xticks([])
        ax.grid(axis="y", alpha=0.3)
        ax.axhline(0, color="grey", lw=0.6)
    for ax in axes.ravel()[len(kpis):]:
        ax.set_visible(False)
    handles = [Patch(color=c) for c in cols]
    fig.legend(handles, [r.label for r in runs], loc="lower center", ncol=min(5, len(runs)), fontsize=9,
               frameon=False)
    fig.tight_layout(rect=(0, 0.07, 1, 0.95))
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_cost_benefit(runs: Sequence[RunData], table: pd.DataFrame, path: Path) -> None:
    """Net cost (NPV) against loss avoided (NPV), USD bn, per run: replications and mean with CIs."""
    cost_k, benefit_k = "economic.net_cost_npv_usd", "economic.loss_avoided_npv_usd"
    cols = colors(len(runs))
    rows = {(k, i): r for k, i, r in zip(table["kpi"], table["run"], table.to_dict("records"))}
    fig, ax = plt.subplots(figsize=(8, 6))
    lim_lo, lim_hi = 0.0, 0.0
    for i, run in enumerate(runs):
        c = run.kpi_values(cost_k) / 1e9
        b = run.kpi_values(benefit_k) / 1e9
        ax.scatter(c, b, s=12, color=cols[i], alpha=0.35)
        rc, rb = rows.get((cost_k, i)), rows.get((benefit_k, i))
        if rc is None or rb is None or not (np.isfinite(rc["mean"]) and np.isfinite(rb["mean"])):
            continue
        mc, mb = rc["mean"] / 1e9, rb["mean"] / 1e9
        xerr = [[mc - rc["ci_low"] / 1e9], [rc["ci_high"] / 1e9 - mc]] if np.isfinite(rc["ci_low"]) else None
        yerr = [[mb - rb["ci_low"] / 1e9], [rb["ci_high"] / 1e9 - mb]] if np.isfinite(rb["ci_low"]) else None
        ax.errorbar(mc, mb, xerr=xerr, yerr=yerr, fmt="o", color=cols[i], ms=8, capsize=4, label=run.label)
        ax.annotate(run.label, (mc, mb), textcoords="offset points", xytext=(6, 6), fontsize=8, color=cols[i])
        finite = [v for v in (*c, *b) if np.isfinite(v)]
        lim_lo, lim_hi = min([lim_lo, *finite]), max([lim_hi, *finite])
    pad = 0.05 * (lim_hi - lim_lo or 1.0)
    line = np.array([lim_lo - pad, lim_hi + pad])
    ax.plot(line, line, color="grey", ls="--", lw=1, label="break-even: benefit = cost")
    ax.axhline(0, color="grey", lw=0.6)
    ax.axvline(0, color="grey", lw=0.6)
    ax.set_xlabel("net economic cost of the reserve (NPV, real), USD bn")
    ax.set_ylabel("loss avoided (NPV, real), USD bn")
    ax.set_title("Cost against benefit: points above the dashed line avoid more loss than they cost\n"
                 "(large markers: means with 95% CIs; small: replications)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_commodities(runs: Sequence[RunData], table: pd.DataFrame, path: Path) -> None:
    """Net benefit per commodity (economic view, NPV, USD bn): one bar per run with its 95% CI."""
    cols = colors(len(runs))
    names = runs[0].commodities
    rows = {(k, i): r for k, i, r in zip(table["kpi"], table["run"], table.to_dict("records"))}
    fig, ax = plt.subplots(figsize=(10, 1.0 + 0.45 * len(names) * max(1, len(runs)) ** 0.5))
    y = np.arange(len(names))[::-1]
    h = 0.8 / len(runs)
    for i, run in enumerate(runs):
        mean, lo, hi = (np.array([rows.get((f"economic.{c}.net_benefit_npv_usd", i), {}).get(f, np.nan)
                                  for c in names], dtype=float) / 1e9 for f in ("mean", "ci_low", "ci_high"))
        pos = y + 0.4 - h * (i + 0.5)
        ax.barh(pos, np.nan_to_num(mean), height=h, color=cols[i], label=run.label)
        ok = np.isfinite(lo) & np.isfinite(hi)
        if ok.any():
            err = np.maximum(np.vstack([mean - lo, hi - mean])[:, ok], 0)
            ax.errorbar(mean[ok], pos[ok], xerr=err, fmt="none", ecolor="black", capsize=2, lw=0.8)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_yticks(y)
    ax.set_yticklabels([runs[0].commodity_names.get(c, c) for c in names], fontsize=8)
    ax.set_xlabel("net benefit (loss avoided - net cost), NPV at the real discount rate, USD bn")
    ax.set_title("Net benefit per commodity, national economic view (whiskers: 95% CIs)", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_all(runs: Sequence[RunData], table: pd.DataFrame, out: Path) -> list[tuple[Path, str]]:
    """Write every comparison plot into ``out``; returns (file, caption) in report order."""
    written: list[tuple[Path, str]] = []
    p = out / "kpis.png"
    plot_kpi_bars(runs, table, p)
    written.append((p, "Headline KPIs per run: means with 95% confidence intervals; dots are replications."))
    p = out / "cost_benefit.png"
    plot_cost_benefit(runs, table, p)
    written.append((p, "Net economic cost of the reserve against the loss it avoids (both NPV at the real "
                        "discount rate, USD bn)."))
    p = out / "commodities.png"
    plot_commodities(runs, table, p)
    written.append((p, "Net benefit per commodity in the national economic view, per run (NPV, USD bn)."))
    for c in runs[0].commodities:
        p = out / f"ts_{slug(c)}.png"
        plot_timeseries(runs, c, p)
        name = runs[0].commodity_names.get(c, c)
        written.append((p, f"{name}: reserve stock, shortfall and price per run (reserve arm); the dashed black "
                           f"line is {runs[0].label} without the reserve; shaded spans are shocks."))
    return written
