"""``report.html`` of a run: one self-contained page that states its answer first.

The page opens with the answer and the warnings (:mod:`sim.report.answer`,
:mod:`sim.report.traps`), then a table of contents, per-commodity outcomes, the interactive
charts (:mod:`sim.report.interactive`, Plotly inlined once), the three views, the
per-commodity split and the parties; long sections (views, parties, shocks, sources and
assumptions) are folded. It reads only files inside the folder, so it works on the temporary
folder before the atomic rename and on any finished folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from sim.report.answer import WARNING_NAMES, focus_rows
from sim.report.bands import Bands
from sim.report.html import (
    COMMODITY_PLOT,
    _commodity_html,
    _party_rows,
    _views_html,
    answer_html,
    esc,
    figure,
    fmt_number,
    kpi_table,
    meta_section,
    outcomes_html,
    page,
    paragraphs,
    run_facts,
    shock_episodes,
    table,
)
from sim.report.interactive import chart_data, charts_html, default_commodity, plotly_script, shock_commodities
from sim.report.interactive import shock_share as shock_share_of

#: Sections of the page: (anchor, title); folded ones open on a click.
SECTIONS = (("answer", "The answer"), ("outcomes", "Outcomes per commodity"), ("charts", "Charts"),
            ("views", "Three views of cost and benefit"), ("commodities", "Per commodity, USD"),
            ("parties", "Who pays and who gains"), ("shocks", "Shocks"), ("scenario", "Scenario"),
            ("sources", "Sources and assumptions"))
FOLDED = ("views", "parties", "shocks", "sources")
#: The entitlements panel, shown with the parties (the interactive charts do not draw entitlements).
ENTITLEMENT_PLOT = ("entitlements.png", "Members' and allies' entitlements drawn (past 30 days) and outstanding, as % "
                    "of those held, per commodity held.")


def _section(anchor: str, title: str, content: str) -> str:
    if anchor in FOLDED:
        return f'<details id="{anchor}"><summary><h2>{esc(title)}</h2></summary>{content}</details>'
    return f'<h2 id="{anchor}">{esc(title)}</h2>{content}'


def _charts(folder: Path, summary: dict[str, Any], scenario: dict[str, Any], bands: Bands | None) -> str:
    if bands is None:
        path = folder / "series_quantiles.parquet"
        if not path.is_file():
            return "<p>No series were kept, so there are no charts.</p>"
        bands = Bands.read(path)
    commodities = bands.commodities
    touched = shock_commodities(scenario.get("shocks") or {}, scenario.get("suppliers") or {}, commodities)
    shares = {}
    if (folder / "events.csv").is_file():
        shares = shock_share_of(folder / "events.csv", touched, commodities, len(bands.dates), bands.count)
    ref = summary.get("reference_prices") or {c: (scenario.get("commodities") or {}).get(c, {}).get(
        "reference_price_usd_per_t", 1.0) for c in commodities}
    data = chart_data(bands, ref, shares)
    note = ("<p>Lines are means over replications; bands their 5-95% range.</p>" if bands.count > 1 else "")
    charts = charts_html(data, default_commodity(summary, commodities))
    picker_end = charts.index("</p>") + len("</p>")  # the picker's paragraph comes first
    return note + charts[:picker_end] + focus_html(summary) + charts[picker_end:]


#: Shows the headline of the commodity the charts' picker shows.
FOCUS_JS = """(function(){const p=document.getElementById('vs-commodity');if(!p)return;
function f(){document.querySelectorAll('.focus').forEach(function(d){
d.style.display=d.dataset.c===p.value?'':'none';});}
p.addEventListener('change',f);f();})();"""


def focus_html(summary: dict[str, Any]) -> str:
    """Each commodity's own headline (``run --focus``), shown for the commodity picked above the charts."""
    n = int(summary.get("replications") or 1)
    out = []
    for e in summary.get("by_commodity") or []:
        c = e["commodity"]
        rows = focus_rows(summary, c)
        head = ["KPI", "Mean", "95% CI"] if n > 1 else ["KPI", "Mean"]
        cells = [r if n > 1 else r[:2] for r in rows]
        warns = [f"<li>{esc(WARNING_NAMES.get(w['kind'], w['kind']))}: {esc(w['details'][c])}</li>"
                 for w in summary.get("warnings") or [] if c in (w.get("details") or {})]
        out.append(f'<div class="focus" data-c="{esc(c)}">' + table(head, cells, [False, True, True])
                   + (f"<p>Warnings about {esc(c)}:</p><ul class=\"warnings\">{''.join(warns)}</ul>" if warns else "")
                   + "</div>")
    return "".join(out) + f"<script>{FOCUS_JS}</script>"  # runs once the picker above exists


def write_run_report(folder: Path, summary: dict[str, Any] | None = None, bands: Bands | None = None) -> None:
    """Write ``folder/report.html`` for a ``run`` results folder.

    Args:
        folder: a results folder written by ``run``.
        summary: the content of ``summary.json`` when the caller has it (its
            ``per_replication`` is not needed), to save reading every replication back.
        bands: the run's bands when the caller has them (else ``series_quantiles.parquet`` is read).

    """
    folder = Path(folder)
    if summary is None:
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    resolved = folder / "scenario.resolved.yaml"
    scenario = (yaml.safe_load(resolved.read_text(encoding="utf-8")) or {}) if resolved.is_file() else {}
    meta = scenario.get("meta") if isinstance(scenario.get("meta"), dict) else {}
    name = summary.get("scenario") or meta.get("name") or folder.name
    n = int(summary.get("replications") or 1)
    parts: dict[str, str] = {
        "answer": answer_html(summary),
        "outcomes": outcomes_html(summary)
        + "<p>Over all commodities, with and without the reserve:</p>" + kpi_table(summary, _total_rows()),
        "charts": _charts(folder, summary, scenario, bands),
        "views": _views_html(summary),
        "commodities": "<p>National economic view, present values (95% confidence intervals in brackets with "
        "several replications).</p>" + _commodity_html(summary)
        + (figure(folder / COMMODITY_PLOT[0], COMMODITY_PLOT[1]) if (folder / COMMODITY_PLOT[0]).is_file() else ""),
    }
    if summary.get("parties"):
        parts["parties"] = ("<p>Per party, means over replications, USD million at present value unless stated.</p>"
                            + table(*_party_rows(summary["parties"], n)))
        if (folder / ENTITLEMENT_PLOT[0]).is_file():
            parts["parties"] += figure(folder / ENTITLEMENT_PLOT[0], ENTITLEMENT_PLOT[1])
    if (folder / "events.csv").is_file():
        eps = shock_episodes(folder / "events.csv")
        rows = [(e["shock"], e["kind"], e["start"], e["end"] or "after horizon", fmt_number(e["severity"]))
                for e in eps]
        parts["shocks"] = ("<p>Shock episodes of replication 0.</p>"
                           + table(["Shock", "Kind", "Start", "End", "Severity"], rows, [False] * 4 + [True])
                           if rows else "<p>No shock occurred in replication 0.</p>")
    parts["scenario"] = paragraphs(meta.get("description") or summary.get("description", "")) + table(
        ["", ""], run_facts(summary))
    if summary.get("precision"):
        parts["scenario"] += f'<div class="note">{esc(summary["precision"].get("sentence", ""))}</div>'
    parts["sources"] = meta_section(meta, description=False)
    toc = " ".join(f'<a href="#{a}">{esc(t)}</a>' for a, t in SECTIONS if a in parts)
    body = [f"<h1>{esc(name)}</h1>",
            f'<p class="sub">Results of one scenario: {n} replication(s), seed {esc(summary.get("seed"))}.</p>',
            f'<nav class="toc">{toc}</nav>']
    for anchor, title in SECTIONS:
        if anchor in parts:
            body.append(parts[anchor] if anchor == "answer" else _section(anchor, title, parts[anchor]))
    (folder / "report.html").write_text(page(f"vaultsim: {name}", "".join(body), head=plotly_script()),
                                        encoding="utf-8")


def _total_rows() -> tuple[tuple[str, str, float], ...]:
    """The fill rate and peak price over all commodities (ratios: no tonnes are added)."""
    from sim.report.headline import OUTCOMES

    return tuple(r for r in OUTCOMES if r[0].endswith(("fill_rate", "peak_price_ratio")))
