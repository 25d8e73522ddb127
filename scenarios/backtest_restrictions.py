#!/usr/bin/env python3
"""Backtest of the fitted restriction regimes against the observed 2009-2025 history.

    python scenarios/backtest_restrictions.py                 # 1,000 runs: table + plot
    python scenarios/backtest_restrictions.py --runs 200      # a quicker look

Fits the ``history`` window (``fit_restrictions.fit_windows``), simulates 2009-01-01 ..
2025-12-31 ``--runs`` times with the pure sampler ``sim.model.regimes.sample_paths`` (every
cell of the data set, a stationary start) and compares the observed history with the
simulated 5-95% band: number of episodes (cell level: one country's restriction of one
commodity), restricted days per commodity (by any country), the longest episode (censored
at the window, as the observed ones are) and the share of days with two or more
commodities restricted at once. Writes ``scenarios/figures/backtest_restrictions.png`` and
``scenarios/figures/backtest_restrictions.md`` (the table of scenarios/README.md).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import Normalize  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from fit_restrictions import DATA, WINDOWS, fit_windows  # noqa: E402

from sim.calibration.regime_data import load_episodes, path_stats, window_segments  # noqa: E402
from sim.model.regimes import RegimeParams, Segment, sample_paths  # noqa: E402

FIGURES = HERE / "figures"
SEED = 20260202
#: Commodities of project_vault.yaml first, then the others of the data set.
SCENARIO_FIRST = ("gallium", "germanium", "rare_earths_ndpr", "rare_earths_heavy", "rare_earths_light", "cobalt",
                  "lithium", "nickel", "graphite", "tungsten", "antimony", "tin", "copper")


def commodities_of(params: RegimeParams) -> list[str]:
    """Every commodity of the data set, scenario commodities first."""
    all_ = {m for c in params.countries for m in c.commodities}
    return [c for c in SCENARIO_FIRST if c in all_] + sorted(all_ - set(SCENARIO_FIRST))


def simulate_stats(params: RegimeParams, horizon: int, runs: int, seed: int) -> tuple[dict[str, np.ndarray], list]:
    """Statistics of ``runs`` sampled paths (one independent stream per run) and the first three paths."""
    commodities = commodities_of(params)
    rows, examples = [], []
    for i, ss in enumerate(np.random.SeedSequence(seed).spawn(runs)):
        segs = sample_paths(params, horizon, np.random.default_rng(ss))
        rows.append(path_stats(segs, horizon, commodities))
        if i < 3:
            examples.append(segs)
    return {k: np.array([r[k] for r in rows]) for k in rows[0]}, examples


def stat_rows(observed: dict[str, float], sims: dict[str, np.ndarray], commodities: list[str]) -> list[tuple]:
    """(label, observed, median, p5, p95, percentile of observed) per statistic, in table order."""
    order = [("episodes", "episodes (country x commodity)"), ("longest_episode_days", "longest episode, days"),
             ("share_days_2plus", "share of days with 2+ commodities restricted")]
    order += [(f"days.{c}", f"days restricted: {c}") for c in commodities]
    out = []
    for key, label in order:
        x, obs = sims[key], observed[key]
        pct = 100.0 * (np.mean(x < obs) + 0.5 * np.mean(x == obs))
        out.append((label, obs, float(np.median(x)), float(np.percentile(x, 5)), float(np.percentile(x, 95)), pct))
    return out


def _fmt(label: str, v: float) -> str:
    """Shares with two decimals, counts and days as integers."""
    return f"{v:.2f}" if label.startswith("share") else f"{v:,.0f}"


def markdown(rows: list[tuple], runs: int) -> str:
    """The backtest table."""
    out = [f"| statistic (2009-2025) | observed | simulated median | simulated 5-95% ({runs:,} runs) | inside |",
           "|---|---|---|---|---|"]
    for label, obs, med, lo, hi, _ in rows:
        inside = "yes" if lo <= obs <= hi else ("above" if obs > hi else "below")
        out.append(f"| {label} | {_fmt(label, obs)} | {_fmt(label, med)} | {_fmt(label, lo)} - {_fmt(label, hi)} "
                   f"| {inside} |")
    return "\n".join(out)


def _timeline(ax: plt.Axes, segs: list[Segment], cells: list[tuple[str, str]], horizon: int, title: str,
              labels: bool) -> None:
    cmap, norm = plt.get_cmap("Reds"), Normalize(0.0, 1.0)
    index = {c: i for i, c in enumerate(cells)}
    for s in segs:
        y = index[(s.country, s.commodity)]
        ax.barh(y, (s.end_day - s.start_day) / 365.0, left=2009 + s.start_day / 365.0, height=0.8,
                color=cmap(norm(0.25 + 0.75 * s.severity)), edgecolor="none")
    ax.set_ylim(len(cells) - 0.5, -0.5)
    ax.set_xlim(2009, 2009 + horizon / 365.0)
    ax.set_xticks([2010, 2015, 2020, 2025], ["2010", "2015", "2020", "2025"], fontsize=8)
    ax.set_yticks(range(len(cells)), [f"{c[:9]}: {m.replace('rare_earths_', 'RE ')}" for c, m in cells]
                  if labels else [], fontsize=7.5)
    ax.set_title(title, fontsize=10, loc="left")
    ax.grid(axis="x", alpha=0.3)
    for i in range(1, len(cells)):
        if cells[i][0] != cells[i - 1][0]:
            ax.axhline(i - 0.5, color="0.6", lw=0.6)


def plot(path: Path, rows: list[tuple], observed: list[Segment], examples: list, params: RegimeParams,
         horizon: int, runs: int) -> None:
    """Observed and two simulated timelines, and where history falls in the simulated distributions."""
    cells = list(params.cells)
    fig = plt.figure(figsize=(15, 11))
    gs = fig.add_gridspec(2, 3, height_ratios=[1.0, 1.1], hspace=0.22, wspace=0.05)
    _timeline(fig.add_subplot(gs[0, 0]), observed, cells, horizon, "Observed 2009-2025 (data set v1)", True)
    for k in range(2):
        _timeline(fig.add_subplot(gs[0, k + 1]), examples[k], cells, horizon,
                  f"Simulated: random path {k + 1} of the history fit", False)
    ax = fig.add_subplot(gs[1, :])
    y = np.arange(len(rows))
    ax.axvspan(5, 95, color="tab:blue", alpha=0.12, label="simulated 5-95%")
    ax.axvline(50, color="tab:blue", lw=0.8, alpha=0.6)
    colors = ["tab:green" if 5 <= r[5] <= 95 else "tab:red" for r in rows]
    ax.scatter([r[5] for r in rows], y, c=colors, zorder=3, s=36)
    for i, (label, obs, _med, lo, hi, _) in enumerate(rows):
        ax.annotate(f"observed {_fmt(label, obs)}   band {_fmt(label, lo)} - {_fmt(label, hi)}",
                    (101.5, i), fontsize=7.5, va="center", annotation_clip=False)
    ax.set_yticks(y, [r[0] for r in rows], fontsize=8)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlim(0, 100)
    ax.set_xlabel("percentile of the observed value among simulated histories (green: inside the 5-95% band)")
    ax.set_title(f"Where the observed history falls among {runs:,} simulated 2009-2025 histories", fontsize=10,
                 loc="left")
    ax.legend(loc="lower left", fontsize=8)
    fig.subplots_adjust(left=0.2, right=0.83, top=0.92, bottom=0.06)
    fig.text(0.2, 0.972, "Export-restriction regimes fitted to 2009-2025: backtest", fontsize=13, weight="bold")
    fig.text(0.2, 0.952, "Top: one row per country and commodity, bar colour = severity (darker = deeper cut). "
             "Bottom: each statistic of the observed history against the simulated ones.", fontsize=9.5)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=1000, help="simulated histories (default 1000)")
    ap.add_argument("--seed", type=int, default=SEED, help="root seed (default %(default)s)")
    args = ap.parse_args(argv)
    episodes = load_episodes(DATA)
    _, fits = fit_windows(episodes)
    params = fits["history"].params
    start, end = WINDOWS["history"]
    horizon = (end - start).days
    commodities = commodities_of(params)
    observed_segs = window_segments(episodes, start, end)
    observed = path_stats(observed_segs, horizon, commodities)
    sims, examples = simulate_stats(params, horizon, args.runs, args.seed)
    rows = stat_rows(observed, sims, commodities)
    table = markdown(rows, args.runs)
    FIGURES.mkdir(exist_ok=True)
    (FIGURES / "backtest_restrictions.md").write_text(table + "\n", encoding="utf-8")
    plot(FIGURES / "backtest_restrictions.png", rows, observed_segs, examples, params, horizon, args.runs)
    print(table)
    inside = sum(lo <= obs <= hi for _, obs, _, lo, hi, _ in rows)
    print(f"\n{inside} of {len(rows)} statistics inside the simulated 5-95% band; wrote "
          f"scenarios/figures/backtest_restrictions.md and .png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
