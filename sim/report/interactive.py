"""Interactive charts of a run for ``report.html``: Plotly, inlined once, drawn from compact data.

The page carries Plotly's full bundle from the ``plotly`` Python package (about 4.8 MB; the
package ships no partial bundle, and a report must open offline) and one JSON block of weekly
values: per commodity the reserve's stock, target and releases, the bloc's shortfall (30-day
mean) and the price over its reference with and without the reserve, each a mean line with
its 5-95% band over replications when there are several, and the share of replications with
a shock on that commodity, drawn as grey shading. A picker chooses the commodity; legends
toggle the arms (a band belongs to its arm's legend entry); every chart hovers and zooms on a
date range (range slider and 1y/5y/all buttons). Dates are written once and shared by every
series, which keeps a 15-year, 13-commodity run near 0.5 MB of data.
"""

from __future__ import annotations

import csv
import functools
import json
from pathlib import Path
from typing import Any

import numpy as np

from sim.report.bands import PROGRAMME, Bands

#: Days per plotted point.
STEP_DAYS = 7
#: Significant figures kept in the page's data.
DIGITS = 4
#: Per-commodity series: (name in the page, band series, arm, how a week is reduced).
SERIES = (
    ("stock", "reserve_stock_t", "reserve", "mean"),
    ("target", "reserve_target_t", "reserve", "mean"),
    ("releases", "reserve_releases_t", "reserve", "sum"),
    ("short_r", "shortfall_30d_t", "reserve", "mean"),
    ("short_c", "shortfall_30d_t", "counterfactual", "mean"),
    ("price_r", "price_usd_per_t", "reserve", "mean"),
    ("price_c", "price_usd_per_t", "counterfactual", "mean"),
)
#: Series drawn with a 5-95% band when there are several replications.
BANDED = ("stock", "short_r", "short_c", "price_r", "price_c")


@functools.lru_cache(maxsize=1)
def plotly_js() -> str:
    """Plotly's JavaScript bundle from the installed ``plotly`` package."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def _weekly(values: np.ndarray, how: str) -> np.ndarray:
    n = -(-values.size // STEP_DAYS)
    padded = np.full(n * STEP_DAYS, np.nan)
    padded[: values.size] = values
    blocks = padded.reshape(n, STEP_DAYS)
    return np.nansum(blocks, axis=1) if how == "sum" else np.nanmean(blocks, axis=1)


def _round(values: np.ndarray) -> list[float | None]:
    out: list[float | None] = []
    for v in values.tolist():
        out.append(None if not np.isfinite(v) else float(f"{v:.{DIGITS}g}"))
    return out


def shock_commodities(shocks: dict[str, Any], suppliers: dict[str, Any], commodities: list[str]) -> dict[str, set]:
    """Event source -> the commodities it touches (all of them when the shock does not say).

    A restriction regime logs each of its segments as ``<shock id>:<country>:<commodity>``.
    """
    out: dict[str, set] = {}
    for sid, shock in (shocks or {}).items():
        if not isinstance(shock, dict):
            continue
        if shock.get("kind") == "restriction_regime":
            for country, cells in (shock.get("countries") or {}).items():
                for c in (cells or {}).get("commodities") or []:
                    out[f"{sid}:{country}:{c}"] = {str(c)} & set(commodities)
            continue
        touched = set(shock.get("commodities") or [])
        touched |= {(suppliers.get(s) or {}).get("commodity") for s in shock.get("suppliers") or []}
        touched &= set(commodities)
        out[sid] = touched or set(commodities)
    return out


def shock_share(events_csv: Path, touched: dict[str, set], commodities: list[str], days: int,
                replications: int) -> dict[str, np.ndarray]:
    """Commodity -> share of replications with a shock on it, per day, from ``events.csv``."""
    on = {c: np.zeros((max(replications, 1), days), dtype=bool) for c in commodities}
    started: dict[tuple[int, str], int] = {}
    with open(events_csv, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            event = row.get("event")
            if event not in ("shock_start", "shock_end"):
                continue
            rep, day, sid = int(float(row["replication"])), int(float(row["day"])), row.get("source", "")
            if event == "shock_start":
                started[(rep, sid)] = day
            elif (rep, sid) in started:
                start = started.pop((rep, sid))
                for c in touched.get(sid, commodities):
                    if rep < on[c].shape[0]:
                        on[c][rep, start: day + 1] = True
    for (rep, sid), start in started.items():  # still on at the horizon
        for c in touched.get(sid, commodities):
            if rep < on[c].shape[0]:
                on[c][rep, start:] = True
    return {c: a.mean(axis=0) for c, a in on.items()}


def chart_data(bands: Bands, ref_prices: dict[str, float], shocks: dict[str, np.ndarray]) -> dict[str, Any]:
    """The page's data: weekly dates, and per commodity its series (and bands) and shock share."""
    dates = [str(d)[:10] for d in bands.dates[::STEP_DAYS]]
    banded = bands.count > 1
    per: dict[str, Any] = {}
    for c in bands.commodities:
        ref = float(ref_prices.get(c) or 1.0)
        entry: dict[str, Any] = {}
        for name, series, arm, how in SERIES:
            if not bands.has(series, c, arm):
                continue
            band = bands.band(series, c, arm)
            k = 1.0 / ref if series == "price_usd_per_t" else 1.0
            entry[name] = _round(_weekly(band.mean * k, how))
            if banded and name in BANDED:
                entry[name + "_lo"] = _round(_weekly(band.quantiles[0.05] * k, how))
                entry[name + "_hi"] = _round(_weekly(band.quantiles[0.95] * k, how))
        if c in shocks:
            entry["shock"] = _round(_weekly(shocks[c], "mean"))
        per[c] = entry
    money = {}
    for name in ("debt_usd", "cash_usd"):
        if bands.has(name, PROGRAMME):
            money[name] = _round(_weekly(bands.band(name, PROGRAMME).mean / 1e9, "mean"))
    return {"dates": dates, "banded": banded, "commodities": per, "money": money}


def default_commodity(summary: dict[str, Any], commodities: list[str]) -> str:
    """The commodity shown first: the one with the largest loss avoided either way."""
    kpis = summary.get("kpis") or {}
    return max(commodities, key=lambda c: abs(float(kpis.get(f"economic.{c}.loss_avoided_npv_usd") or 0.0)))


CHARTS_JS = r"""
(function(){
const D = JSON.parse(document.getElementById('vs-data').textContent);
const X = D.dates, BLUE = '#1f77b4', RED = '#d62728', GREY = 'rgba(110,110,110,0.18)';
const ARM = {r: ['with reserve', BLUE], c: ['without reserve', RED]};
function line(y, name, color, group, extra){ return Object.assign({x: X, y: y, name: name, type: 'scatter',
  mode: 'lines', line: {color: color, width: 1.6}, legendgroup: group || name}, extra || {}); }
function band(s, key, color, group){
  if (!D.banded || !s[key + '_lo']) return [];
  return [line(s[key + '_lo'], '5%', color, group, {line: {width: 0}, showlegend: false, hoverinfo: 'skip'}),
          line(s[key + '_hi'], '5-95%', color, group, {line: {width: 0}, fill: 'tonexty', showlegend: false,
               fillcolor: color + '33', hoverinfo: 'skip'})];
}
function shock(s){ return s.shock ? [{x: X, y: s.shock, name: 'shock on (share of replications)',
  type: 'scatter', mode: 'none', fill: 'tozeroy', fillcolor: GREY, yaxis: 'y2',
  hovertemplate: '%{y:.0%}<extra>shock on</extra>'}] : []; }
function layout(title, ytitle){ return {title: {text: title, font: {size: 14}, x: 0.01, y: 0.98},
  height: 360, hovermode: 'x unified', margin: {t: 80, r: 60, l: 70, b: 20},
  yaxis: {title: {text: ytitle}, rangemode: 'tozero'},
  yaxis2: {overlaying: 'y', side: 'right', range: [0, 1], dtick: 0.25, showgrid: false, tickformat: '.0%',
           title: {text: 'shock on'}},
  xaxis: {type: 'date', rangeslider: {visible: true, thickness: 0.07}, rangeselector: {buttons: [
    {count: 1, label: '1y', step: 'year', stepmode: 'backward'}, {count: 5, label: '5y', step: 'year',
    stepmode: 'backward'}, {step: 'all', label: 'all'}]}},
  legend: {orientation: 'h', y: 1.0, yanchor: 'bottom', x: 0.2}}; }
function arms(s, key){ let out = [];
  for (const a of ['r', 'c']) { const k = key + '_' + a; if (!s[k]) continue;
    out = out.concat(band(s, k, ARM[a][1], ARM[a][0]), [line(s[k], ARM[a][0], ARM[a][1], ARM[a][0])]); }
  return out; }
const CFG = {responsive: true, displaylogo: false};
function draw(c){
  const s = D.commodities[c] || {};
  Plotly.react('ch-stock', shock(s).concat(band(s, 'stock', BLUE, 'stock'),
    [line(s.stock, 'reserve stock', BLUE, 'stock'),
     line(s.target, 'target', '#555', 'target', {line: {dash: 'dot', color: '#555', width: 1.2}}),
     {x: X, y: s.releases, name: 'released that week', type: 'bar', marker: {color: '#2ca02c'}}]),
    layout(c + ': reserve stock, target and releases', 't'), CFG);
  Plotly.react('ch-short', shock(s).concat(arms(s, 'short')), layout(c + ': shortfall, 30-day mean', 't per day'), CFG);
  Plotly.react('ch-price', shock(s).concat(arms(s, 'price')), layout(c + ': price', 'x reference price'), CFG);
}
const pick = document.getElementById('vs-commodity');
pick.addEventListener('change', function(){ draw(pick.value); });
draw(pick.value);
if (D.money.debt_usd) Plotly.newPlot('ch-money', [line(D.money.debt_usd, 'debt', RED, 'debt'),
  line(D.money.cash_usd, 'cash', BLUE, 'cash')], Object.assign(layout('Programme: debt and cash', 'USD bn'),
  {yaxis: {title: {text: 'USD bn'}}}), CFG);
})();
"""


def picker_and_payload(data: dict[str, Any], first: str) -> tuple[str, str]:
    """The commodity picker's options (``first`` selected) and the charts' data as JSON safe inside a script tag."""
    options = "".join(f'<option value="{c}"{" selected" if c == first else ""}>{c}</option>'
                      for c in data["commodities"])
    return options, json.dumps(data, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")


def charts_html(data: dict[str, Any], first: str) -> str:
    """The charts' markup: the commodity picker, the chart slots, the data and the drawing script."""
    options, payload = picker_and_payload(data, first)
    return (
        f'<p><label>Commodity: <select id="vs-commodity">{options}</select></label> '
        "Hover for values; drag on a chart or use the slider and 1y/5y/all buttons to zoom into dates; "
        "click a legend entry to hide or show an arm. Grey shading: the share of replications with a shock on "
        "this commodity (with one replication, when the shock was on).</p>"
        '<div id="ch-stock" class="chart"></div><div id="ch-short" class="chart"></div>'
        '<div id="ch-price" class="chart"></div><div id="ch-money" class="chart"></div>'
        f'<script type="application/json" id="vs-data">{payload}</script>'
        f"<script>{CHARTS_JS}</script>"
    )


def plotly_script() -> str:
    """The ``<script>`` element with Plotly's bundle (once per page, in the head)."""
    return f'<script type="text/javascript">{plotly_js()}</script>'
