"""``report.html`` of a comparison: runs, pairing, KPI tables, plots and each scenario's sources.

One self-contained file: the plots are embedded as data URIs and the style sheet is inline,
so the report can be mailed or archived on its own and opens offline.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from sim.compare.inputs import RunData
from sim.compare.plots import colors
from sim.compare.table import all_kpis_display, commodity_kpis, display_rows, headline_kpis, pairing_notes, view_kpis
from sim.report.html import esc, figure, meta_section, page, paragraphs, table

HOW_TO_READ = (
    "Each value is the mean over a run's replications. For every run after the first, "
    "<em>B - A</em> is its mean difference from the baseline and <em>95% CI</em> the confidence "
    "interval of that difference. When both runs used the same seed and replication indices they saw "
    "the same shocks and demand draw for draw (common random numbers), so the interval comes from the "
    "per-replication differences (paired t) and reflects the policy, not the luck of the draw. "
    "Otherwise it is an unpaired Welch interval (marked <code>u</code>). <code>*</code> marks an "
    "interval that excludes zero. With one replication no interval can be estimated (n/a). "
    "Ratios (benefit-cost ratio, subsidy rate) are ratios of the means; their intervals, and those of "
    "their differences, come from a bootstrap that resamples replications (in pairs when the runs are paired)."
)
VIEWS_NOTE = (
    "The same run through three lenses: the national economic view (real resource costs against the loss "
    "avoided, at the real discount rate; transfers inside the bloc net out), the programme view (the vehicle's "
    "cash and debt at its loan rate) and the federal budget view (the FCRA subsidy cost of the federal loans at "
    "the Treasury rate)."
)


def _runs_table(runs: Sequence[RunData], out: Path) -> str:
    cols = colors(len(runs))
    head = ["Run", "Scenario", "Input", "Seed", "Replications", "Overrides", "vaultsim"]
    rows = []
    for run, c in zip(runs, cols):
        overrides = ", ".join(run.summary.get("overrides") or []) or "none"
        try:
            shown = run.path.resolve().relative_to(out.resolve())
            origin = f"{run.origin} (run into {shown})"
        except ValueError:
            origin = run.origin
        rows.append(
            f'<tr><td><span class="swatch" style="background:{c}"></span>{esc(run.label)}</td>'
            f"<td>{esc(run.name)}</td><td>{esc(origin)}</td><td class=\"num\">{run.seed}</td>"
            f'<td class="num">{len(run.replication_ids)}</td><td>{esc(overrides)}</td>'
            f"<td>{esc(run.summary.get('version', ''))}</td></tr>"
        )
    header = "".join(f"<th>{esc(h)}</th>" for h in head)
    return f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _kpi_html(tab: pd.DataFrame, kpis: list[tuple[str, str, float]]) -> str:
    header, rows = display_rows(tab, kpis)
    return table(header, rows, [False] + [True] * (len(header) - 1))


def _scenarios(runs: Sequence[RunData]) -> str:
    """Each run's description; sources and assumptions once per distinct set."""
    out = []
    seen: list[tuple[object, str]] = []
    for run in runs:
        out.append(f"<h3>{esc(run.label)} <small>({esc(run.name)})</small></h3>")
        out.append(paragraphs(run.meta.get("description", "")) or "<p><em>No description given.</em></p>")
        key = (run.meta.get("sources"), run.meta.get("assumptions"))
        same = next((label for k, label in seen if k == key), None)
        if same is not None:
            out.append(f"<p>Sources and assumptions: the same as <strong>{esc(same)}</strong>.</p>")
        else:
            out.append(meta_section(run.meta, level=4, description=False))
            seen.append((key, run.label))
    return "".join(out)


def write_compare_report(
    out: Path, runs: Sequence[RunData], tab: pd.DataFrame, plots: Sequence[tuple[Path, str]]
) -> Path:
    """Write ``out/report.html`` and return its path.

    Args:
        out: the comparison folder (plots already written into it).
        runs: the compared runs, baseline first.
        tab: the long KPI table from :func:`sim.compare.table.build_table`.
        plots: (PNG file, caption) pairs to embed, in order.

    """
    labels = [r.label for r in runs]
    base = runs[0]
    body = [
        f"<h1>Comparison: {esc(' vs '.join(labels))}</h1>",
        f'<p class="sub">Baseline: <strong>{esc(base.label)}</strong>; {len(base.commodities)} commodities, '
        f"{base.horizon_days} days from {esc(base.start_date)}.</p>",
        "<h2>Runs</h2>",
        _runs_table(runs, out),
        '<div class="note">' + "<br>".join(esc(n) for n in pairing_notes(runs)) + "</div>",
        "<h2>Headline KPIs</h2>",
        f"<p>{HOW_TO_READ}</p>",
        _kpi_html(tab, headline_kpis(views=False)),
        "<h2>Three views of cost and benefit</h2>",
        f"<p>{VIEWS_NOTE}</p>",
        *(f"<h3>{esc(title)}</h3>" + _kpi_html(tab, rows) for title, rows in view_kpis()),
        "<h2>Net benefit per commodity</h2>",
        "<p>National economic view, NPV in USD bn: which holdings pay for themselves.</p>",
        _kpi_html(tab, commodity_kpis(tab)),
        "<h2>Plots</h2>",
        *(figure(p, c) for p, c in plots),
        "<h2>All KPIs</h2>",
        "<details><summary>Every KPI of every run (USD in millions); also in kpi_table.csv</summary>",
        _kpi_html(tab, all_kpis_display(tab)),
        "</details>",
        "<h2>Scenarios, sources and assumptions</h2>",
        _scenarios(runs),
    ]
    path = out / "report.html"
    path.write_text(page(f"vaultsim comparison: {' vs '.join(labels)}", "".join(body)), encoding="utf-8")
    return path
