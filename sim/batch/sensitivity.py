"""Global sensitivity indices of Sobol and Morris sweeps (SALib), per lever combination.

The response of a design point is the mean of the outcome over its replications; the
replications share random numbers across points (see :mod:`sim.batch.plan`), so the
indices measure the uncertainties' effect rather than simulation noise. Indices are
computed in the unit cube the design was drawn in, so for Morris ``mu_star`` and
``sigma`` are in the outcome's unit per full range (0 to 1 in probability) of an input.
"""

from __future__ import annotations

import itertools
import re
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sim.batch.design import design_rng  # noqa: E402
from sim.batch.spec import ResolvedSweep  # noqa: E402

#: Outcomes drawn in one bar chart.
MAX_PANELS = 12
#: Lever combinations that get their own bar chart.
MAX_CHARTS = 6
SOBOL_COLUMNS = ("S1", "S1_conf", "ST", "ST_conf")
MORRIS_COLUMNS = ("mu", "mu_star", "mu_star_conf", "sigma")


def _analyze(sweep: ResolvedSweep, y: np.ndarray, seed: int) -> list[dict[str, float | str]]:
    d = sweep.design
    names = d.uncertainties
    problem = {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        # SALib warns of constant outcomes on stderr; the table's note says so already
        warnings.simplefilter("ignore", UserWarning)
        if sweep.spec.sampler == "sobol":
            from SALib.analyze import sobol

            res = sobol.analyze(problem, y, calc_second_order=sweep.spec.second_order, seed=seed)
            rows = [{"parameter": n, **{c: float(res[c][i]) for c in SOBOL_COLUMNS}} for i, n in enumerate(names)]
            if sweep.spec.second_order:
                for i, j in itertools.combinations(range(len(names)), 2):
                    rows.append({"parameter": f"{names[i]} & {names[j]}", "S2": float(res["S2"][i, j]),
                                 "S2_conf": float(res["S2_conf"][i, j])})
            return rows
        from SALib.analyze import morris

        res = morris.analyze(problem, d.unit_x, y, num_levels=sweep.spec.morris_levels, seed=seed)
        return [{"parameter": n, **{c: float(res[c][i]) for c in MORRIS_COLUMNS}} for i, n in enumerate(names)]


def sensitivity_table(sweep: ResolvedSweep, points: pd.DataFrame) -> pd.DataFrame:
    """One row per lever combination, outcome and uncertainty, with its indices.

    Outcomes with a missing mean at some point (all its runs failed, or an undefined KPI
    such as a benefit-cost ratio without cost) get NaN indices and a ``note``.
    """
    d = sweep.design
    n_s = d.n_samples
    cols = sweep.param_columns
    seed = int(design_rng(sweep.seed).integers(2**31))
    rows = []
    for c, combo in enumerate(d.combos):
        block = points.iloc[c * n_s:(c + 1) * n_s]
        levers = {cols[name]: v for name, v in zip(d.levers, combo)}
        for key in sweep.outcomes:
            y = block[f"{key}.mean"].to_numpy(float)
            note = ""
            if not np.isfinite(y).all():
                note = "outcome missing at some design points (failed runs or undefined KPI)"
                found = [{"parameter": n} for n in d.uncertainties]
            else:
                if np.ptp(y) == 0:
                    note = "outcome does not vary across the design"
                found = _analyze(sweep, y, seed)
            rows += [{"combo": c, **levers, "outcome": key, **r, "note": note} for r in found]
    table = pd.DataFrame(rows)
    wanted = SOBOL_COLUMNS if sweep.spec.sampler == "sobol" else MORRIS_COLUMNS
    for col in wanted:
        if col not in table.columns:
            table[col] = np.nan
    return table


def plot_sensitivity(table: pd.DataFrame, sweep: ResolvedSweep, path: Path, combo: int) -> None:
    """Bar chart per outcome: S1 and ST (Sobol) or mu* and sigma (Morris) per uncertainty."""
    sub = table[(table["combo"] == combo) & ~table["parameter"].str.contains(" & ", regex=False)]
    outcomes = list(dict.fromkeys(sub["outcome"]))[:MAX_PANELS]
    ncol = min(3, len(outcomes))
    nrow = -(-len(outcomes) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.6 * ncol, 3.2 * nrow), squeeze=False)
    sobol = sweep.spec.sampler == "sobol"
    bars = (("S1", "S1_conf", "first order S1"), ("ST", "ST_conf", "total order ST")) if sobol else (
        ("mu_star", "mu_star_conf", "mu* (mean |effect|)"), ("sigma", None, "sigma (interactions)"))
    for ax, key in zip(axes.ravel(), outcomes):
        rows = sub[sub["outcome"] == key]
        x = np.arange(len(rows))
        for k, (col, conf, label) in enumerate(bars):
            err = rows[conf].to_numpy(float) if conf else None
            ax.bar(x + (k - 0.5) * 0.38, rows[col].to_numpy(float), width=0.38, yerr=err, capsize=2, label=label)
        many = len(rows) > 4  # side by side, wrapped names of more than four would overlap
        ax.set_xticks(x, [_wrap(_short(p)) for p in rows["parameter"]], fontsize=6, rotation=30 if many else 0,
                      ha="right" if many else "center")
        ax.set_title(key, fontsize=8)
        ax.set_ylabel("index (share of variance)" if sobol else "outcome units per input range", fontsize=7)
        ax.grid(axis="y", alpha=0.3)
    for ax in axes.ravel()[len(outcomes):]:
        ax.set_visible(False)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=8, frameon=False)
    levers = ", ".join(f"{n}={v}" for n, v in zip(sweep.design.levers, sweep.design.combos[combo]))
    fig.suptitle(f"{sweep.name}: {sweep.spec.sampler} sensitivity" + (f" ({levers})" if levers else ""),
                 fontsize=10)
    fig.tight_layout(rect=(0, 0.05, 1, 0.95))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _wrap(label: str, width: int = 22) -> str:
    """A long key path on lines of at most ``width`` characters, broken after dots and commas.

    Wildcard keys such as ``{rare_earths_ndpr,rare_earths_heavy,rare_earths_light}.target_days``
    would otherwise run off the figure's edge.
    """
    lines = [""]
    for token in re.findall(r"[^.,]+[.,]?|[.,]", label):
        if lines[-1] and len(lines[-1]) + len(token) > width:
            lines.append("")
        lines[-1] += token
    return "\n".join(lines)


def _short(path: str) -> str:
    parts = path.split(".")
    return ".".join(parts[-2:]) if len(parts) > 2 else path


def write_sensitivity(table: pd.DataFrame, sweep: ResolvedSweep, out: Path, plots: bool = True) -> list[str]:
    """``sensitivity.csv`` and one bar chart per lever combination (up to six)."""
    table.to_csv(out / "sensitivity.csv", index=False)
    files = ["sensitivity.csv"]
    if plots and len(table):
        n = min(len(sweep.design.combos), MAX_CHARTS)
        for c in range(n):
            name = "sensitivity.png" if n == 1 else f"sensitivity_{c}.png"
            (out / "plots").mkdir(exist_ok=True)
            plot_sensitivity(table, sweep, out / "plots" / name, c)
            files.append(f"plots/{name}")
    return files
