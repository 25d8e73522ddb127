"""Interactive charts of a comparison for its ``report.html``: every run on the same axes.

Per commodity, three charts: the reserve's stock, the bloc's shortfall (30-day mean) and the
price over its reference, each run's mean (with its 5-95% band over replications when it has
several) in its own colour, and the baseline without the reserve dashed. Legend entries toggle
runs; the picker chooses the commodity; grey shading is the share of the baseline's
replications with a shock on that commodity (runs with the same seed share their shocks).
Plotly is inlined once per page (:func:`sim.report.interactive.plotly_script`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sim.report.bands import Bands
from sim.report.interactive import STEP_DAYS, _round, _weekly, picker_and_payload

#: Series per run: (name in the page, band series, arm).
RUN_SERIES = (("stock", "reserve_stock_t", "reserve"), ("short", "shortfall_30d_t", "reserve"),
              ("price", "price_usd_per_t", "reserve"))
#: The baseline's counterfactual series, drawn dashed.
BASELINE_SERIES = (("short", "shortfall_30d_t", "counterfactual"), ("price", "price_usd_per_t", "counterfactual"))


def compare_chart_data(runs: Sequence[tuple[str, str, Bands]], ref_prices: dict[str, float],
                       shocks: dict[str, Any]) -> dict[str, Any]:
    """The page's data: weekly dates, per commodity and run its series, the baseline's counterfactual.

    Args:
        runs: (label, colour, bands) per run, baseline first.
        ref_prices: reference price per commodity, USD/t (prices are shown over it).
        shocks: commodity -> daily share of the baseline's replications with a shock on.

    """
    first = runs[0][2]
    dates = [str(d)[:10] for d in first.dates[::STEP_DAYS]]
    out: dict[str, Any] = {}
    for c in first.commodities:
        k_price = 1.0 / float(ref_prices.get(c) or 1.0)
        per_run = []
        for label, color, bands in runs:
            entry: dict[str, Any] = {"label": label, "color": color}
            for name, series, arm in RUN_SERIES:
                if not bands.has(series, c, arm):
                    continue
                band = bands.band(series, c, arm)
                k = k_price if series == "price_usd_per_t" else 1.0
                entry[name] = _round(_weekly(band.mean * k, "mean"))
                if bands.count > 1:
                    entry[name + "_lo"] = _round(_weekly(band.quantiles[0.05] * k, "mean"))
                    entry[name + "_hi"] = _round(_weekly(band.quantiles[0.95] * k, "mean"))
            per_run.append(entry)
        base = {name: _round(_weekly(first.band(series, c, arm).mean * (k_price if "price" in series else 1.0),
                                     "mean"))
                for name, series, arm in BASELINE_SERIES if first.has(series, c, arm)}
        out[c] = {"runs": per_run, "baseline": base,
                  "shock": _round(_weekly(shocks[c], "mean")) if c in shocks else None}
    return {"dates": dates, "baseline_label": runs[0][0], "commodities": out}


COMPARE_JS = r"""
(function(){
const D = JSON.parse(document.getElementById('vs-data').textContent);
const X = D.dates, GREY = 'rgba(110,110,110,0.18)';
function line(y, name, color, group, extra){ return Object.assign({x: X, y: y, name: name, type: 'scatter',
  mode: 'lines', line: {color: color, width: 1.6}, legendgroup: group}, extra || {}); }
function layout(title, ytitle){ return {title: {text: title, font: {size: 14}, x: 0.01, y: 0.98},
  height: 360, hovermode: 'x unified', margin: {t: 80, r: 60, l: 70, b: 20},
  yaxis: {title: {text: ytitle}, rangemode: 'tozero'},
  yaxis2: {overlaying: 'y', side: 'right', range: [0, 1], dtick: 0.25, showgrid: false, tickformat: '.0%',
           title: {text: 'shock on'}},
  xaxis: {type: 'date', rangeslider: {visible: true, thickness: 0.07}, rangeselector: {buttons: [
    {count: 1, label: '1y', step: 'year', stepmode: 'backward'}, {count: 5, label: '5y', step: 'year',
    stepmode: 'backward'}, {step: 'all', label: 'all'}]}},
  legend: {orientation: 'h', y: 1.0, yanchor: 'bottom', x: 0.2}}; }
function traces(c, key){
  const e = D.commodities[c]; let out = [];
  if (e.shock) out.push({x: X, y: e.shock, name: 'shock on (share of baseline replications)', type: 'scatter',
    mode: 'none', fill: 'tozeroy', fillcolor: GREY, yaxis: 'y2', hovertemplate: '%{y:.0%}<extra>shock on</extra>'});
  for (const r of e.runs) {
    if (!r[key]) continue;
    if (r[key + '_lo']) out.push(line(r[key + '_lo'], r.label + ' 5%', r.color, r.label,
        {line: {width: 0}, showlegend: false, hoverinfo: 'skip'}),
      line(r[key + '_hi'], r.label + ' 5-95%', r.color, r.label, {line: {width: 0}, fill: 'tonexty',
        showlegend: false, fillcolor: r.color + '33', hoverinfo: 'skip'}));
    out.push(line(r[key], r.label, r.color, r.label));
  }
  if (e.baseline[key]) out.push(line(e.baseline[key], D.baseline_label + ' without reserve', '#000', 'cf',
    {line: {color: '#000', dash: 'dash', width: 1.2}}));
  return out;
}
const CFG = {responsive: true, displaylogo: false};
function draw(c){
  Plotly.react('ch-stock', traces(c, 'stock'), layout(c + ': reserve stock per run', 't'), CFG);
  Plotly.react('ch-short', traces(c, 'short'), layout(c + ': shortfall, 30-day mean', 't per day'), CFG);
  Plotly.react('ch-price', traces(c, 'price'), layout(c + ': price', 'x reference price'), CFG);
}
const pick = document.getElementById('vs-commodity');
pick.addEventListener('change', function(){ draw(pick.value); });
draw(pick.value);
})();
"""


def compare_charts_html(data: dict[str, Any], first: str) -> str:
    """The picker, the chart slots, the data and the drawing script of a comparison."""
    options, payload = picker_and_payload(data, first)
    return (
        f'<p><label>Commodity: <select id="vs-commodity">{options}</select></label> '
        "Lines are each run's mean over its replications (bands: 5-95%); the dashed black line is the "
        "baseline without the reserve. Click a legend entry to hide or show a run; drag or use the slider "
        "to zoom into dates. Grey shading: the share of the baseline's replications with a shock on.</p>"
        '<div id="ch-stock" class="chart"></div><div id="ch-short" class="chart"></div>'
        '<div id="ch-price" class="chart"></div>'
        f'<script type="application/json" id="vs-data">{payload}</script>'
        f"<script>{COMPARE_JS}</script>"
    )
