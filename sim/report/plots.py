"""Plots of one scenario's results: per-commodity panels with dates and units on the axes.

With several replications each line is the median across replications and the band
its 5-95% range (a fan chart). The plots draw :class:`~sim.report.bands.Bands`, the reduced
form of every replication's series, not the series themselves.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sim.report.bands import PROGRAMME, Band, Bands  # noqa: E402
from sim.report.numbers import money  # noqa: E402

ARM_STYLE = {"reserve": ("#1f77b4", "with reserve"), "counterfactual": ("#d62728", "no reserve")}


def series_matrix(ts: pd.DataFrame, commodity: str, arm: str, column: str) -> tuple[np.ndarray, np.ndarray]:
    """Dates [T] and values [replications, T] of one series."""
    sub = ts[(ts["commodity"] == commodity) & (ts["arm"] == arm)]
    if "replication" not in sub.columns:
        sub = sub.assign(replication=0)
    wide = sub.pivot_table(index="replication", columns="date", values=column, observed=True)
    return wide.columns.to_numpy(), wide.to_numpy()


def fan(ax: plt.Axes, band: Band, color: str, label: str, lw: float = 1.2) -> None:
    """Median line, with a 5-95% band when there is more than one replication."""
    if band.count > 1:
        ax.fill_between(band.dates, band.quantiles[0.05], band.quantiles[0.95], color=color, alpha=0.2, lw=0,
                        label=f"{label} 5-95%")
        ax.plot(band.dates, band.quantiles[0.5], color=color, lw=lw, label=f"{label} median")
    else:
        ax.plot(band.dates, band.quantiles[0.5], color=color, lw=lw, label=label)


def _grid(n: int, title: str) -> tuple[plt.Figure, list[plt.Axes]]:
    cols = 2 if n > 1 else 1
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(6.5 * cols, 2.9 * rows), squeeze=False, sharex=True)
    fig.suptitle(title, fontsize=12)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def _finish(fig: plt.Figure, axes: list[plt.Axes], path: Path) -> None:
    for ax in axes:
        ax.xaxis.set_major_locator(mdates.YearLocator(base=max(1, _span_years(ax) // 6)))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
        # with shared x axes only the bottom row is labelled; a column ending higher needs its own
        ax.xaxis.set_tick_params(labelbottom=True)
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    for ax in axes[1:]:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="lower center", ncol=min(4, len(labels)), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.06, 1, 0.96))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _span_years(ax: plt.Axes) -> int:
    lo, hi = ax.get_xlim()
    return max(1, int((hi - lo) / 365))


def plot_reserve(bands: Bands, path: Path, title: str) -> None:
    """Reserve stock (and target) with releases, per commodity."""
    names = bands.commodities
    fig, axes = _grid(len(names), f"{title}: reserve stock and releases")
    for ax, c in zip(axes, names):
        fan(ax, bands.band("reserve_stock_t", c), "#1f77b4", "stock")
        target = bands.band("reserve_target_t", c)
        ax.plot(target.dates, target.quantiles[0.5], color="grey", ls="--", lw=0.8, label="target")
        ax.set_ylabel("stock, t")
        ax2 = ax.twinx()
        fan(ax2, bands.band("reserve_releases_t", c).scaled(30), "#ff7f0e", "releases (x30 = t/30 d)", lw=0.8)
        ax2.set_ylabel("releases, t per 30 days")
        ax.set_title(c, fontsize=10)
        h, lab = ax2.get_legend_handles_labels()
        for hh, ll in zip(h, lab):
            ax.plot([], [], color=hh.get_color() if hasattr(hh, "get_color") else "#ff7f0e", label=ll)
    _finish(fig, axes, path)


def plot_supply_demand(bands: Bands, path: Path, title: str) -> None:
    """Available supply, demand and shortfall (both arms), per commodity."""
    names = bands.commodities
    fig, axes = _grid(len(names), f"{title}: supply, demand and shortfall")
    for ax, c in zip(axes, names):
        fan(ax, bands.band("capacity_t", c), "#2ca02c", "supply available", lw=0.8)
        fan(ax, bands.band("demand_t", c), "black", "demand", lw=0.8)
        for arm, (color, label) in ARM_STYLE.items():
            fan(ax, bands.band("shortfall_t", c, arm), color, f"shortfall, {label}", lw=1.0)
        ax.set_ylabel("t/day")
        ax.set_title(c, fontsize=10)
    _finish(fig, axes, path)


def plot_price(bands: Bands, path: Path, title: str) -> None:
    """Price in USD/t for both arms, per commodity."""
    names = bands.commodities
    fig, axes = _grid(len(names), f"{title}: price")
    for ax, c in zip(axes, names):
        for arm, (color, label) in ARM_STYLE.items():
            fan(ax, bands.band("price_usd_per_t", c, arm), color, label)
        ax.set_ylabel("USD/t")
        ax.set_title(c, fontsize=10)
    _finish(fig, axes, path)


def plot_finance(bands: Bands, path: Path, title: str) -> None:
    """Loan balance and cash of the reserve programme, USD billion."""
    fig, ax = plt.subplots(figsize=(9, 4))
    fig.suptitle(f"{title}: loan balance and cash", fontsize=12)
    for col, color, label in (("debt_usd", "#9467bd", "loan balance"), ("cash_usd", "#17becf", "cash")):
        fan(ax, bands.band(col, PROGRAMME).scaled(1e-9), color, label)
    ax.set_ylabel("USD billion")
    _finish(fig, [ax], path)


def entitlements_held(bands: Bands) -> list[str]:
    """Commodities with entitlements held on some day of some replication."""
    return [c for c in bands.commodities
            if bands.has("entitlement_t", c) and float(np.max(bands.band("entitlement_t", c).max)) > 0]


def plot_entitlements(bands: Bands, path: Path, title: str) -> None:
    """Entitlements drawn and outstanding, as a share of those held, per commodity.

    Drawn is summed over the past 30 days; outstanding is drawn and not yet returned or bought
    back. Each panel's title gives the tonnes held; commodities held but never drawn are named in
    the title instead of given an empty panel.
    """
    held = entitlements_held(bands)
    # a panel per commodity drawn on (a held commodity never drawn would be an empty panel)
    drawn = [c for c in held if float(np.max(bands.band("entitlement_outstanding_pct", c).max)) > 0
             or float(np.max(bands.band("entitlement_drawn_30d_pct", c).max)) > 0]
    names = drawn or held
    never = [c for c in held if c not in names]
    note = f"\nheld, never drawn: {', '.join(never)}" if never else ""
    fig, axes = _grid(len(names), f"{title}: entitlements drawn and outstanding, % of entitlements held{note}")
    for ax, c in zip(axes, names):
        fan(ax, bands.band("entitlement_outstanding_pct", c), "#d62728", "outstanding")
        fan(ax, bands.band("entitlement_drawn_30d_pct", c), "#1f77b4", "drawn in the past 30 days", lw=1.0)
        ax.set_ylabel("% of entitlements")
        ax.set_ylim(0, max(5.0, ax.get_ylim()[1]))  # a panel with no draws keeps a readable scale
        lo, hi = bands.band("entitlement_t", c).quantiles[0.5][[0, -1]]
        ax.set_title(f"{c}: entitlements {_tonnes(lo)} to {_tonnes(hi)}", fontsize=10)
    _finish(fig, axes, path)


def _tonnes(x: float) -> str:
    return f"{x:,.0f} t" if x >= 100 else f"{x:,.3g} t"


def plot_all(bands: Bands, out: Path, title: str) -> list[Path]:
    """Write every standard plot into ``out``; returns the files written."""
    paths = {
        "reserve.png": lambda p: plot_reserve(bands, p, title),
        "supply_demand.png": lambda p: plot_supply_demand(bands, p, title),
        "price.png": lambda p: plot_price(bands, p, title),
        "finance.png": lambda p: plot_finance(bands, p, title),
    }
    if entitlements_held(bands):
        paths["entitlements.png"] = lambda p: plot_entitlements(bands, p, title)
    written = []
    for name, fn in paths.items():
        fn(out / name)
        written.append(out / name)
    return written


#: Bars of the per-commodity plot: (economic KPI suffix, label, colour).
COMMODITY_BARS = (
    ("net_cost_npv_usd", "net cost", "#d62728"),
    ("loss_avoided_npv_usd", "loss avoided", "#2ca02c"),
    ("net_benefit_npv_usd", "net benefit", "#1f77b4"),
)


def plot_commodities(by_commodity: list[dict], path: Path, title: str) -> None:
    """Net cost, loss avoided and net benefit per commodity (economic view, NPV, USD bn) with 95% CIs.

    Args:
        by_commodity: the ``by_commodity`` entries of ``summary.json``.
        path: PNG to write.
        title: scenario name for the title.

    """
    names = [e["commodity"] for e in by_commodity]
    n = len(names)
    fig, ax = plt.subplots(figsize=(10, 1.0 + 0.55 * n))
    y = np.arange(n)[::-1]
    h = 0.26
    for k, (suffix, label, color) in enumerate(COMMODITY_BARS):
        mean = np.array([((e.get(suffix) or {}).get("mean") or 0.0) for e in by_commodity]) / 1e9
        ci = np.array([[(e.get(suffix) or {}).get("ci95", [None, None])[i] for e in by_commodity] for i in (0, 1)],
                      dtype=float) / 1e9
        pos = y + (1 - k) * h
        ax.barh(pos, mean, height=h, color=color, label=label)
        ok = np.isfinite(ci).all(axis=0)
        if ok.any():
            err = np.vstack([mean - ci[0], ci[1] - mean])[:, ok]
            ax.errorbar(mean[ok], pos[ok], xerr=np.maximum(err, 0), fmt="none", ecolor="black", capsize=2, lw=0.8)
        if suffix == "net_benefit_npv_usd":
            # label beyond the whisker, on the side the bar points to
            ends = np.where(mean >= 0, np.fmax(mean, np.nan_to_num(ci[1], nan=-np.inf)),
                            np.fmin(mean, np.nan_to_num(ci[0], nan=np.inf)))
            for yy, v, end in zip(pos, mean, ends):
                ax.annotate(money(v * 1e9, unit=False), (end, yy), xytext=(4 if v >= 0 else -4, 0),
                            textcoords="offset points", va="center", ha="left" if v >= 0 else "right", fontsize=7)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_yticks(y)
    ax.set_yticklabels(names)
    ax.set_xlabel("USD bn, present value at the real discount rate")
    ax.set_title(f"{title}: cost and benefit by commodity (national economic view; whiskers 95% CIs)", fontsize=11)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
