"""The comparison KPI table: each run's mean, its difference from the baseline and a 95% CI.

Pairing rule. Runs with the same root seed and the same replication indices saw the same
random draws replication by replication (common random numbers), so the difference of run B
from the baseline A is estimated from the per-replication differences ``B_r - A_r``; its
Student-t interval is usually much narrower than the runs' own intervals because shared
noise cancels. When the seeds or replication sets differ the draws are unrelated, and the
interval is Welch's unpaired t interval instead; ``ci_method`` says which one was used. With
fewer than two usable values (pairs) an interval cannot be estimated and is left empty.

Each run's own interval follows :func:`sim.metrics.stats.interval` (bootstrap for quantities
never negative, t otherwise). Ratio KPIs (those with parts in :mod:`sim.metrics.catalog`, e.g.
the benefit-cost ratio) are ratios of means with paired bootstrap intervals, and their
differences are bootstrapped too (``ci_method`` ``ratio_bootstrap``), paired by replication
when the runs are paired.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim.compare.inputs import RunData
from sim.metrics import catalog
from sim.metrics.stats import bootstrap_rng, interval, mean_ci, ratio_ci, ratio_diff_ci, welch_ci
from sim.report.headline import HEADLINE, OUTCOMES, VIEWS
from sim.report.html import fmt_number

LEVEL = 0.95
#: Differences smaller than this share of the values are floating-point noise; shown as 0.
ROUNDING = 1e-9
PAIRED = "paired"
WELCH = "welch"
RATIO = "ratio_bootstrap"

#: Columns of ``kpi_table.csv``, in order.
COLUMNS = (
    "kpi", "unit", "run", "label", "is_baseline", "n", "mean", "ci_low", "ci_high",
    "diff", "diff_ci_low", "diff_ci_high", "ci_method", "n_diff", "diff_excludes_zero",
)  # fmt: skip


def kpi_unit(kpi: str) -> tuple[str, str, float]:
    """Unit of a KPI from the catalog: (unit, display unit, display scale); USD show in millions.

    A KPI the catalog does not declare (a run folder of another version) has no unit: ``("", "", 1.0)``.
    """
    entry = catalog.find(kpi)
    if entry is None:
        return ("", "", 1.0)
    if entry.unit == "USD":  # one scale for the whole table, so its columns compare
        return ("USD", "USD m", 1e-6)
    return (entry.unit, entry.display_unit, 1.0)


def _ratio_parts(kpi: str) -> tuple[str, str] | None:
    """A ratio KPI's (numerator, denominator) keys; None for other KPIs and for those the catalog lacks."""
    return catalog.ratio_parts(kpi) if catalog.find(kpi) is not None else None


def pairing(base: RunData, other: RunData) -> str:
    """``paired`` when both runs share seed and replication indices, else ``welch``."""
    if base.seed == other.seed and base.replication_ids == other.replication_ids:
        return PAIRED
    return WELCH


def diff_ci(
    base: np.ndarray, other: np.ndarray, method: str, level: float = LEVEL
) -> tuple[float, float, float, int]:
    """Difference ``other - base`` with its CI; returns (diff, low, high, n used).

    Paired: ``base[r]`` and ``other[r]`` are the same replication, and a pair with a NaN on
    either side is dropped, so with NaNs the difference can differ from the difference of the
    runs' means. Welch: the arrays are independent samples, NaNs dropped from each.
    """
    base = np.asarray(base, dtype=float)
    other = np.asarray(other, dtype=float)
    if method == PAIRED:
        d = other - base
        d = d[~np.isnan(d)]
        if d.size == 0:
            return (math.nan, math.nan, math.nan, 0)
        m, lo, hi = mean_ci(d, level)
        if d.size < 2:
            lo = hi = math.nan
        return (m, lo, hi, int(d.size))
    m, lo, hi = welch_ci(base, other, level)
    return (m, lo, hi, int(np.sum(~np.isnan(base)) + np.sum(~np.isnan(other))))


def kpi_names(runs: Sequence[RunData]) -> list[str]:
    """KPI columns in the baseline's order, then any only other runs have."""
    names: list[str] = []
    for run in runs:
        for col in run.kpis.columns:
            if col not in ("replication", "seed") and col not in names:
                names.append(col)
    return names


def _matrix(run: RunData, names: list[str]) -> np.ndarray:
    """Per-replication KPI values [replications in id order, KPIs]; NaN where a KPI is absent."""
    df = run.kpis.sort_values("replication").reindex(columns=names)
    return df.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)


def build_table(runs: Sequence[RunData], level: float = LEVEL) -> pd.DataFrame:
    """The long KPI table: one row per (KPI, run), KPI-major; see :data:`COLUMNS`."""
    base = runs[0]
    names = kpi_names(runs)
    col_of = {k: j for j, k in enumerate(names)}
    # paired runs share replication ids (see pairing), so the rows of their matrices line up
    mats = [_matrix(r, names) for r in runs]
    methods = [PAIRED] + [pairing(base, r) for r in runs[1:]]
    seed = base.seed
    rows = []
    for j, kpi in enumerate(names):
        unit = kpi_unit(kpi)[0]
        parts = _ratio_parts(kpi)
        is_ratio = parts is not None and all(p in col_of for p in parts)
        for i, (run, x, method) in enumerate(zip(runs, mats, methods)):
            col = x[:, j]
            rng = bootstrap_rng(seed, f"compare:{i}:{kpi}")
            if is_ratio:
                num, den = x[:, col_of[parts[0]]], x[:, col_of[parts[1]]]
                m, lo, hi = ratio_ci(num, den, level, rng)
            else:
                m, lo, hi, _ = interval(col, level, rng)
            n = int(np.sum(~np.isnan(col)))
            if n < 2:
                lo = hi = math.nan
            row = {"kpi": kpi, "unit": unit, "run": i, "label": run.label, "is_baseline": i == 0, "n": n,
                   "mean": m, "ci_low": lo, "ci_high": hi}
            if i == 0:
                row.update(diff=math.nan, diff_ci_low=math.nan, diff_ci_high=math.nan, ci_method="baseline",
                           n_diff=0, diff_excludes_zero=False)
            else:
                if is_ratio:
                    b = mats[0]
                    pair = (b[:, col_of[parts[0]]], b[:, col_of[parts[1]]])
                    d, dlo, dhi = ratio_diff_ci(pair, (num, den), method == PAIRED, level, rng)
                    nd, meth = n, RATIO
                else:
                    d, dlo, dhi, nd = diff_ci(mats[0][:, j], col, method, level)
                    meth = method
                row.update(diff=d, diff_ci_low=dlo, diff_ci_high=dhi, ci_method=meth, n_diff=nd,
                           diff_excludes_zero=bool(dlo > 0 or dhi < 0) if not math.isnan(dlo) else False)
            rows.append(row)
    return pd.DataFrame(rows, columns=list(COLUMNS))


# ----------------------------------------------------------------------------- rendering


def _num(v: float, scale: float = 1.0) -> str:
    return fmt_number(None if v is None or (isinstance(v, float) and math.isnan(v)) else v, scale)


def _snap(v: float, tol: float) -> float:
    return 0.0 if not math.isnan(tol) and abs(v) <= tol else v


def _ci_text(lo: float, hi: float, scale: float) -> str:
    if lo is None or hi is None or math.isnan(lo) or math.isnan(hi):
        return "n/a"
    return f"{_num(lo, scale)} .. {_num(hi, scale)}"


def headline_kpis(views: bool = True, table: pd.DataFrame | None = None) -> list[tuple[str, str, float]]:
    """(KPI, display label with unit, scale) of the headline KPIs, as ``run`` prints them.

    ``views=False`` leaves out the rows of the three evaluation views (for documents that
    show the views in their own tables). With the comparison ``table``, tonnes are shown per
    commodity (for the commodities short in some run) instead of added over commodities, and
    a row whose mean prints the same in every run is left out: it cannot show an effect at
    this precision (every KPI stays in the full table).
    """
    rows = [(k, label, scale) for k, label, scale in (HEADLINE if views else OUTCOMES)]
    return rows if table is None else _per_commodity(rows, table)


def _per_commodity(rows: list[tuple[str, str, float]], table: pd.DataFrame) -> list[tuple[str, str, float]]:
    by_kpi = table.groupby("kpi", sort=False)
    known = set(table["kpi"])
    short = [k.split(".")[1] for k in dict.fromkeys(table["kpi"])
             if k.count(".") == 2 and k.endswith(".shortfall_t") and ".total." not in k and not k.startswith("diff")]
    moved = [c for c in dict.fromkeys(short)
             if any(float(by_kpi.get_group(f"{arm}.{c}.shortfall_t")["mean"].abs().max()) > 1e-6
                    for arm in ("reserve", "counterfactual") if f"{arm}.{c}.shortfall_t" in known)]
    out = []
    for key, label, scale in rows:
        if ".total." in key and catalog.match(key).unit == "t":
            for c in moved:
                k = key.replace(".total.", f".{c}.", 1)
                if k in known:
                    out.append((k, f"{c}: {label}", scale))
            continue
        if key in known:
            g = by_kpi.get_group(key)
            if len({_num(v, scale) for v in g["mean"]}) == 1:
                continue
        out.append((key, label, scale))
    return out


def view_kpis() -> list[tuple[str, list[tuple[str, str, float]]]]:
    """(view title, its (KPI, label, scale) rows) for the three evaluation views."""
    return [(title, list(rows)) for _, title, _, rows in VIEWS]


def commodity_kpis(table: pd.DataFrame, suffix: str = "net_benefit_npv_usd") -> list[tuple[str, str, float]]:
    """(KPI, label, scale) of one per-commodity economic KPI for every commodity in the table."""
    keys = [k for k in dict.fromkeys(table["kpi"]) if k.startswith("economic.") and k.endswith("." + suffix)
            and k.count(".") == 2]
    return [(k, f"{k.split('.')[1]}, {catalog.match(k).display_unit}", catalog.match(k).scale) for k in keys]


def display_rows(
    table: pd.DataFrame, kpis: Sequence[tuple[str, str, float]], short: bool = False
) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a wide display table for the given (KPI, label, scale) list.

    Columns: KPI, then per run its mean, and for each non-baseline run the difference from the
    baseline (headed ``diff`` when ``short``, for narrow terminals) and the difference's 95% CI
    (``*`` marks an interval that excludes zero, ``u`` an unpaired Welch interval).
    """
    labels = list(dict.fromkeys(table["label"]))
    header = ["KPI"]
    for i, label in enumerate(labels):
        header.append(label)
        if i:
            header += ["diff" if short else f"{label} - {labels[0]}", "95% CI"]
    rows = []
    by = {(k, r): row for k, r, row in zip(table["kpi"], table["run"], table.to_dict("records"))}
    for kpi, label, scale in kpis:
        if (kpi, 0) not in by:
            continue
        line = [label]
        for i in range(len(labels)):
            row = by.get((kpi, i))
            if row is None:
                line += ["n/a"] + (["n/a", "n/a"] if i else [])
                continue
            line.append(_num(row["mean"], scale))
            if i:
                mark = ("*" if row["diff_excludes_zero"] else "") + ("u" if row["ci_method"] == WELCH else "")
                tol = ROUNDING * max(abs(row["mean"]), abs(by[(kpi, 0)]["mean"]))
                d, lo, hi = (_snap(row[k], tol) for k in ("diff", "diff_ci_low", "diff_ci_high"))
                line += [_num(d, scale), f"{_ci_text(lo, hi, scale)} {mark}".strip()]
        rows.append(line)
    return header, rows


def all_kpis_display(table: pd.DataFrame) -> list[tuple[str, str, float]]:
    """Every KPI as (KPI, 'name, unit', scale): totals and finance first, then per commodity."""
    names = list(dict.fromkeys(table["kpi"]))

    groups = {"economic": 1, "programme": 2, "budget": 3, "finance": 4, "project": 6, "check": 7}

    def order(k: str) -> tuple[int, str]:
        parts = k.split(".")
        if parts[0] in groups:
            return (groups[parts[0]], parts[1] if parts[0] in ("economic", "project") and len(parts) > 2 else "")
        return (0 if parts[1] == "total" else 5, parts[1])

    names.sort(key=lambda k: order(k))
    units = {k: kpi_unit(k) for k in names}
    return [(k, f"{k}, {units[k][1]}" if units[k][1] else k, units[k][2]) for k in names]


def markdown(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured Markdown table."""

    def cell(s: str) -> str:
        return str(s).replace("|", "\\|")

    out = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1))
           + "|"]
    out += ["| " + " | ".join(cell(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def plain(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A fixed-width text table for the terminal."""
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(str(h)) for i, h in enumerate(header)]
    fmt = lambda r: "  ".join(  # noqa: E731
        (str(c).ljust(w) if i == 0 else str(c).rjust(w)) for i, (c, w) in enumerate(zip(r, widths))
    )
    return "\n".join([fmt(header), fmt(["-" * w for w in widths])] + [fmt(r) for r in rows])


def pairing_notes(runs: Sequence[RunData]) -> list[str]:
    """One sentence per non-baseline run saying how its difference CI was computed."""
    base = runs[0]
    notes = []
    for run in runs[1:]:
        if pairing(base, run) == PAIRED:
            notes.append(
                f"{run.label} vs {base.label}: paired by replication (seed {run.seed}, "
                f"{len(run.replication_ids)} replications, common random numbers)."
            )
        else:
            notes.append(
                f"{run.label} vs {base.label}: UNPAIRED (seed {run.seed} vs {base.seed}, "
                f"{len(run.replication_ids)} vs {len(base.replication_ids)} replications); "
                "Welch interval, wider than a paired one would be."
            )
    return notes


def markdown_document(table: pd.DataFrame, runs: Sequence[RunData]) -> str:
    """``kpi_table.md``: headline KPIs, then every KPI, with the pairing notes."""
    parts = [
        "# KPI comparison",
        "",
        f"Baseline: **{runs[0].label}**. Values are means over replications; `B - A` is the mean "
        "difference from the baseline and `95% CI` its confidence interval. `*` marks an interval "
        "that excludes zero; `u` marks an unpaired (Welch) interval. USD amounts in the full table "
        "are in USD million.",
        "",
        *[f"- {n}" for n in pairing_notes(runs)],
        "",
        "## Headline KPIs",
        "",
        markdown(*display_rows(table, headline_kpis(views=False))),
        "",
        *[ln for title, rows in view_kpis() for ln in (f"## {title}", "", markdown(*display_rows(table, rows)), "")],
        "## Net benefit per commodity (national economic view, NPV)",
        "",
        markdown(*display_rows(table, commodity_kpis(table))),
        "",
        "## All KPIs",
        "",
        markdown(*display_rows(table, all_kpis_display(table))),
        "",
    ]
    return "\n".join(parts)
