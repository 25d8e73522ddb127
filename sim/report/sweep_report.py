"""``report.html`` of a sweep: the answer (best and worst design points), an interactive chart, the points.

Read from the sweep folder's ``points.csv`` (KPI means and 95% intervals per design point):
the answer names the design point with the highest mean of the deciding KPI (the national
economic net benefit when the sweep kept it, else the loss avoided) and the lowest, with
their settings and intervals, and says whether their intervals overlap. The chart plots any
kept KPI against any lever or uncertainty (pickers), one trace per value of a second lever,
with the 95% intervals as error bars; the full points table is folded below. Plotly is
inlined once (:func:`sim.report.interactive.plotly_script`), so the page opens offline.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from sim.metrics import catalog
from sim.report.html import esc, page, table
from sim.report.interactive import plotly_script
from sim.report.numbers import NOT_AVAILABLE, money, sig

#: KPIs that decide the answer, first kept one wins.
DECIDING = ("economic.net_benefit_npv_usd", "difference.total.loss_avoided_npv_usd", "economic.loss_avoided_npv_usd")
#: Rows of the folded points table shown at most.
MAX_ROWS = 500


def _fmt(kpi: str, v: Any) -> str:
    entry = catalog.find(kpi)
    if v is None or pd.isna(v):
        return NOT_AVAILABLE
    return money(v) if entry is not None and entry.unit == "USD" else sig(v)


def _settings(row: pd.Series, params: list[str]) -> str:
    return ", ".join(f"{p.split('.', 1)[1]} = {row[p]}" for p in params)


def sweep_answer(points: pd.DataFrame, params: list[str], kpis: list[str]) -> list[str]:
    """Best and worst design point by the deciding KPI, with settings and 95% intervals."""
    kpi = next((k for k in DECIDING if k in kpis), kpis[0] if kpis else None)
    if kpi is None or points.empty:
        return ["No KPI was kept, so no design point can be ranked."]
    col = f"{kpi}.mean"
    ranked = points.dropna(subset=[col]).sort_values(col, ascending=False)
    if ranked.empty:
        return [f"{catalog.label(kpi)} is not available at any design point."]
    best, worst = ranked.iloc[0], ranked.iloc[-1]

    def described(r: pd.Series) -> str:
        lo, hi = r.get(f"{kpi}.ci_low"), r.get(f"{kpi}.ci_high")
        ci = f" (95% CI {_fmt(kpi, lo)} .. {_fmt(kpi, hi)})" if pd.notna(lo) and pd.notna(hi) and lo != hi else ""
        return f"point {int(r['point'])} ({_settings(r, params) or 'the base'}): {_fmt(kpi, r[col])}{ci}"

    name = catalog.label(kpi)
    lines = [f"{len(points)} design point(s); ranked by {name} (mean over each point's replications).",
             f"Highest: {described(best)}.", f"Lowest: {described(worst)}."]
    lo_b, hi_w = best.get(f"{kpi}.ci_low"), worst.get(f"{kpi}.ci_high")
    if pd.notna(lo_b) and pd.notna(hi_w) and len(ranked) > 1:
        lines.append("Their 95% intervals do not overlap: the ranking is not luck." if lo_b > hi_w else
                     "Their 95% intervals overlap: add replications before choosing between them.")
    return lines


SWEEP_JS = r"""
(function(){
const D = JSON.parse(document.getElementById('vs-data').textContent);
const kSel = document.getElementById('vs-kpi'), xSel = document.getElementById('vs-x'),
      gSel = document.getElementById('vs-group');
function draw(){
  const k = kSel.value, x = xSel.value, g = gSel.value, P = D.points;
  const groups = g ? [...new Set(P.map(p => String(p[g])))] : [''];
  const traces = groups.map(v => { const S = P.filter(p => !g || String(p[g]) === v);
    return {x: S.map(p => p[x]), y: S.map(p => p[k + '.mean']),
      name: g ? g.split('.').slice(1).join('.') + ' = ' + v : k,
      type: 'scatter', mode: 'markers+lines', text: S.map(p => 'point ' + p.point),
      error_y: {type: 'data', symmetric: false, array: S.map(p => p[k + '.ci_high'] - p[k + '.mean']),
                arrayminus: S.map(p => p[k + '.mean'] - p[k + '.ci_low'])}}; });
  Plotly.react('ch-sweep', traces, {height: 460, hovermode: 'closest', margin: {t: 40, l: 80},
    title: {text: D.labels[k] || k, font: {size: 14}}, xaxis: {title: {text: x.split('.').slice(1).join('.')}},
    yaxis: {title: {text: D.labels[k] || k}}, legend: {orientation: 'h', y: -0.2}},
    {responsive: true, displaylogo: false});
}
[kSel, xSel, gSel].forEach(s => s.addEventListener('change', draw));
draw();
})();
"""


def _select(sid: str, options: list[tuple[str, str]], first: str | None = None, blank: str | None = None) -> str:
    opts = [f'<option value="">{esc(blank)}</option>'] if blank is not None else []
    opts += [f'<option value="{esc(v)}"{" selected" if v == first else ""}>{esc(t)}</option>' for v, t in options]
    return f'<select id="{sid}">{"".join(opts)}</select>'


def write_sweep_report(out: Path, name: str) -> Path:
    """Write ``out/report.html`` for a finished sweep folder and return its path."""
    out = Path(out)
    points = pd.read_csv(out / "points.csv")
    params = [c for c in points.columns if c.startswith(("lever.", "uncertainty."))]
    kpis = [c[: -len(".mean")] for c in points.columns if c.endswith(".mean")]
    answer = sweep_answer(points, params, kpis)
    keep = ["point", *params, *[f"{k}.{s}" for k in kpis for s in ("mean", "ci_low", "ci_high")]]
    records = json.loads(points[[c for c in keep if c in points.columns]].to_json(orient="records"))
    labels = {k: catalog.label(k) if catalog.find(k) else k for k in kpis}
    payload = json.dumps({"points": records, "labels": labels}, separators=(",", ":")).replace("</", "<\\/")
    first = next((k for k in DECIDING if k in kpis), kpis[0] if kpis else "")
    named = [(p, p.split(".", 1)[1]) for p in params]
    group = _select("vs-group", named[1:], params[1] if len(params) > 1 else None, blank="(none)")
    pickers = (f"<p><label>KPI {_select('vs-kpi', [(k, labels[k]) for k in kpis], first)}</label> "
               f"<label>against {_select('vs-x', named)}</label> <label>one line per {group}</label> "
               "Hover a point for its number; error bars are 95% intervals over its replications.</p>")
    shown = points.head(MAX_ROWS)
    head = ["point", *[p.split(".", 1)[1] for p in params], *[labels[k] for k in kpis]]
    rows = [[int(r["point"]), *[r[p] for p in params], *[_fmt(k, r.get(f"{k}.mean")) for k in kpis]]
            for _, r in shown.iterrows()]
    more = f"<p>First {MAX_ROWS} of {len(points)} points; all are in points.csv.</p>" if len(points) > MAX_ROWS else ""
    body = [f"<h1>Sweep: {esc(name)}</h1>",
            '<nav class="toc"><a href="#answer">The answer</a> <a href="#chart">Chart</a> '
            '<a href="#points">Design points</a></nav>',
            '<div class="answer"><h2 id="answer">The answer</h2><ol>'
            + "".join(f"<li>{esc(line)}</li>" for line in answer) + "</ol></div>",
            '<h2 id="chart">Chart</h2>' + (pickers + '<div id="ch-sweep" class="chart"></div>'
                                           f'<script type="application/json" id="vs-data">{payload}</script>'
                                           f"<script>{SWEEP_JS}</script>" if params and kpis else
                                           "<p>No lever or KPI to plot.</p>"),
            f'<details id="points"><summary><h2>Design points</h2></summary>{more}'
            + table(head, rows, [True] + [False] * len(params) + [True] * len(kpis)) + "</details>"]
    path = out / "report.html"
    path.write_text(page(f"vaultsim sweep: {name}", "".join(body), head=plotly_script()), encoding="utf-8")
    return path
