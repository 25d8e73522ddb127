"""``report.html`` of a comparison: the answer, runs, pairing, KPI tables, charts and each scenario's sources.

One self-contained file: the interactive charts' library (Plotly, inlined once) and data, the
static plots as data URIs and the style sheet are inline, so the report can be mailed or
archived on its own and opens offline. Long sections are folded; a table of contents leads.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from sim.compare.inputs import RunData
from sim.compare.plots import colors
from sim.compare.table import all_kpis_display, commodity_kpis, display_rows, headline_kpis, pairing_notes, view_kpis
from sim.report.html import esc, figure, meta_section, page, paragraphs, table
from sim.report.interactive import default_commodity, plotly_script, shock_commodities, shock_share
from sim.report.interactive_compare import compare_chart_data, compare_charts_html
from sim.report.numbers import money

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


#: Sections of the page: (anchor, title); the folded ones open on a click.
SECTIONS = (("answer", "The answer"), ("runs", "Runs"), ("headline", "Headline KPIs"), ("charts", "Charts"),
            ("views", "Three views of cost and benefit"), ("commodities", "Net benefit per commodity"),
            ("plots", "Plots"), ("all", "All KPIs"), ("scenarios", "Scenarios, sources and assumptions"))
FOLDED = ("views", "all", "scenarios")
#: The KPIs of the answer: (KPI, what it is called there).
ANSWER_KPIS = (("economic.loss_avoided_npv_usd", "loss avoided"), ("economic.net_cost_npv_usd", "net cost"),
               ("economic.net_benefit_npv_usd", "net benefit"))


def answer_lines(runs: Sequence[RunData], tab: pd.DataFrame) -> list[str]:
    """One line per run after the baseline: its differences in loss avoided, net cost and net benefit (USD)."""
    lines = []
    rows = tab.set_index(["run", "kpi"])
    for i, run in enumerate(runs[1:], 1):
        parts = []
        for key, name in ANSWER_KPIS:
            if (i, key) not in rows.index:
                continue
            r = rows.loc[(i, key)]
            ci = (f" (95% CI {money(r['diff_ci_low'], unit=False)} .. {money(r['diff_ci_high'], unit=False)})"
                  if pd.notna(r["diff_ci_low"]) and pd.notna(r["diff_ci_high"]) else "")
            parts.append(f"{name} {money(r['diff'])}{ci}")
        lines.append(f"{run.label} against {runs[0].label}: " + ("; ".join(parts) or "no economic KPI") + ".")
    return lines


def _charts(runs: Sequence[RunData]) -> str:
    """The interactive charts, when every run kept its bands."""
    import yaml

    if not all((r.path / "series_quantiles.parquet").is_file() for r in runs):
        return ""
    base = runs[0]
    resolved = yaml.safe_load((base.path / "scenario.resolved.yaml").read_text(encoding="utf-8")) or {}
    ref = {c: (x or {}).get("reference_price_usd_per_t", 1.0) for c, x in (resolved.get("commodities") or {}).items()}
    bands = base.bands()
    shares = {}
    if (base.path / "events.csv").is_file():
        touched = shock_commodities(resolved.get("shocks") or {}, resolved.get("suppliers") or {}, bands.commodities)
        shares = shock_share(base.path / "events.csv", touched, bands.commodities, len(bands.dates), bands.count)
    cols = colors(len(runs))
    data = compare_chart_data([(r.label, c, r.bands()) for r, c in zip(runs, cols)], ref, shares)
    return compare_charts_html(data, default_commodity(base.summary, bands.commodities))


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
    charts = _charts(runs)
    if charts:  # the per-commodity series are interactive; the static overlays stay in the folder
        plots = [(p, c) for p, c in plots if not p.name.startswith("ts_")]
    answer = answer_lines(runs, tab)
    parts = {
        "answer": '<div class="answer"><h2 id="answer">The answer</h2><ol>'
        + "".join(f"<li>{esc(line)}</li>" for line in answer) + "</ol>"
        "<p>Differences of the means, national economic view, NPV; positive loss avoided and net benefit "
        "are better, positive net cost worse.</p></div>" if answer else "",
        "runs": _runs_table(runs, out) + '<div class="note">' + "<br>".join(esc(n) for n in pairing_notes(runs))
        + "</div>",
        "headline": f"<p>{HOW_TO_READ}</p>" + _kpi_html(tab, headline_kpis(views=False, table=tab)),
        "charts": charts,
        "views": f"<p>{VIEWS_NOTE}</p>"
        + "".join(f"<h3>{esc(title)}</h3>" + _kpi_html(tab, rows) for title, rows in view_kpis()),
        "commodities": "<p>National economic view, NPV in USD bn: which holdings pay for themselves.</p>"
        + _kpi_html(tab, commodity_kpis(tab)),
        "plots": "".join(figure(p, c) for p, c in plots),
        "all": "<p>Every KPI of every run (USD in millions); also in kpi_table.csv</p>"
        + _kpi_html(tab, all_kpis_display(tab)),
        "scenarios": _scenarios(runs),
    }
    toc = " ".join(f'<a href="#{a}">{esc(t)}</a>' for a, t in SECTIONS if parts.get(a))
    body = [
        f"<h1>Comparison: {esc(' vs '.join(labels))}</h1>",
        f'<p class="sub">Baseline: <strong>{esc(base.label)}</strong>; {len(base.commodities)} commodities, '
        f"{base.horizon_days} days from {esc(base.start_date)}.</p>",
        f'<nav class="toc">{toc}</nav>',
    ]
    for anchor, title in SECTIONS:
        content = parts.get(anchor)
        if not content:
            continue
        if anchor == "answer":
            body.append(content)
        elif anchor in FOLDED:
            body.append(f'<details id="{anchor}"><summary><h2>{esc(title)}</h2></summary>{content}</details>')
        else:
            body.append(f'<h2 id="{anchor}">{esc(title)}</h2>{content}')
    path = out / "report.html"
    head = plotly_script() if charts else ""
    path.write_text(page(f"vaultsim comparison: {' vs '.join(labels)}", "".join(body), head=head), encoding="utf-8")
    return path
