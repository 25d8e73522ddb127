"""Self-contained HTML reports: one file, inline CSS, PNG plots embedded as base64 data URIs.

:func:`write_run_report` turns a ``run`` results folder into ``report.html``; the building
blocks (page, tables, figures, the scenario's description, sources and assumptions) are shared
with the comparison report in :mod:`sim.compare.report`. Only the standard library is used to
build the markup, so a report opens offline in any browser and needs nothing installed to view.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import html
import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

from sim.metrics import catalog
from sim.report.headline import COMMODITY_COLUMNS, OUTCOMES, VIEWS, display_label
from sim.version import __version__

#: Plots of a run folder, in the order shown, with captions.
RUN_PLOTS = (
    ("reserve.png", "Reserve stock against its target, and releases, per commodity."),
    ("supply_demand.png", "Supply available, demand and shortfall with and without the reserve."),
    ("price.png", "Price with and without the reserve, USD per tonne."),
    ("finance.png", "Loan balance and cash of the reserve programme."),
    ("entitlements.png", "Members' and allies' entitlements, draws and what is drawn and not yet returned or bought "
     "back, per commodity."),
)
#: The per-commodity attribution plot, shown with the per-commodity table.
COMMODITY_PLOT = (
    "commodities.png",
    "Per commodity, national economic view: net cost, loss avoided and net benefit (NPV, USD bn) with 95% "
    "confidence intervals. A commodity no shock reaches shows no loss avoided and its full carrying cost.",
)

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0 auto;
max-width:1200px;padding:1rem 2rem 3rem;color:#222;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #ddd;
padding-bottom:.2rem}h3{font-size:1.05rem;margin-top:1.4rem}
.sub{color:#666;margin-top:0}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.88rem}
th,td{border:1px solid #ddd;padding:.25rem .55rem;vertical-align:top}
th{background:#f3f5f7;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr:nth-child(even) td{background:#fafbfc}
figure{margin:1rem 0 2rem}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#555;font-size:.88rem}
.note{background:#fff8e1;border-left:4px solid #f0b400;padding:.5rem .8rem;font-size:.9rem}
.views{display:flex;gap:1rem;flex-wrap:wrap;align-items:flex-start}.views>div{flex:1 1 340px}
.views h3{margin-top:.4rem}.views p{font-size:.84rem;color:#444;margin:.2rem 0 .4rem}
.views table{font-size:.8rem}.views td.num,.bycom td.num{white-space:pre-line}.ci{color:#555}
.swatch{display:inline-block;width:.9em;height:.9em;border-radius:2px;margin-right:.35em;vertical-align:-.1em}
details summary{cursor:pointer;font-weight:600;margin:.5rem 0}
code{background:#f3f5f7;padding:0 .25em;border-radius:3px}
"""


def esc(value: Any) -> str:
    """HTML-escaped text of any value."""
    return html.escape("" if value is None else str(value), quote=True)


def fmt_number(value: Any, scale: float = 1.0) -> str:
    """A number for people: thousands separators, four significant digits, ``n/a`` when missing."""
    if value is None:
        return "n/a"
    try:
        v = float(value) * scale
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(v):
        return "n/a"
    if v == 0 or (scale <= 1e-6 and abs(float(value)) < 0.01):  # money shown in m or bn: under a cent is 0
        return "0"
    if abs(v) >= 1e4:
        return f"{v:,.0f}"
    return f"{v:,.4g}"


def data_uri(png: Path) -> str:
    """The PNG file as a ``data:image/png;base64,...`` URI."""
    return "data:image/png;base64," + base64.b64encode(Path(png).read_bytes()).decode("ascii")


def figure(png: Path, caption: str) -> str:
    """An embedded image with its caption."""
    return (
        f'<figure><img src="{data_uri(png)}" alt="{esc(caption)}">'
        f"<figcaption>{esc(caption)}</figcaption></figure>"
    )


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], numeric: Sequence[bool] | None = None) -> str:
    """An HTML table; cells are escaped, columns flagged in ``numeric`` are right-aligned."""
    numeric = list(numeric or [False] * len(headers))
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="num">{esc(c)}</td>' if numeric[i] else f"<td>{esc(c)}</td>" for i, c in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def paragraphs(text: str) -> str:
    """Plain text with blank-line paragraphs as HTML paragraphs."""
    parts = [p.strip() for p in str(text or "").split("\n\n") if p.strip()]
    return "".join(f"<p>{esc(' '.join(p.split()))}</p>" for p in parts)


def page(title: str, body: str) -> str:
    """A complete HTML document with the inline style sheet."""
    stamp = dt.datetime.now().isoformat(timespec="seconds")
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{CSS}</style></head><body>{body}"
        f'<p class="sub">Written by vaultsim {esc(__version__)} on {esc(stamp)}.</p></body></html>\n'
    )


def read_meta(folder: Path) -> dict[str, Any]:
    """The ``meta`` section of ``scenario.resolved.yaml`` ({} when the file has none)."""
    data = yaml.safe_load((Path(folder) / "scenario.resolved.yaml").read_text(encoding="utf-8")) or {}
    meta = data.get("meta") if isinstance(data, dict) else None
    return meta if isinstance(meta, dict) else {}


def meta_section(meta: dict[str, Any], level: int = 3, description: bool = True) -> str:
    """Description (unless ``description`` is False), sources and assumptions of a scenario."""
    h = f"h{level}"
    out = []
    if description:
        out.append(paragraphs(meta.get("description", "")) or "<p><em>No description given.</em></p>")
    sources = meta.get("sources") or {}
    out.append(f"<{h}>Sources</{h}>")
    if sources:
        out.append(table(["Key", "Citation"], sorted(sources.items())))
    else:
        out.append("<p><em>No sources listed.</em></p>")
    assumptions = meta.get("assumptions") or []
    out.append(f"<{h}>Assumptions</{h}>")
    if assumptions:
        out.append(table(["Value", "Why"], [(a.get("key", ""), a.get("reason", "")) for a in assumptions]))
    else:
        out.append("<p><em>No assumptions listed.</em></p>")
    return "".join(out)


def shock_episodes(events_csv: Path, replication: int = 0) -> list[dict[str, Any]]:
    """Shock episodes (id, kind, start, end, severity) of one replication from ``events.csv``.

    A shock still running at the end of the horizon has ``end`` None.
    """
    episodes: list[dict[str, Any]] = []
    open_: dict[str, dict[str, Any]] = {}
    with open(events_csv, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if int(float(row.get("replication") or 0)) != replication:
                continue
            sid = row.get("source", "")
            if row.get("event") == "shock_start":
                ep = {"shock": sid, "kind": row.get("detail", ""), "start": row.get("date", ""), "end": None,
                      "severity": row.get("value")}
                open_[sid] = ep
                episodes.append(ep)
            elif row.get("event") == "shock_end" and sid in open_:
                open_.pop(sid)["end"] = row.get("date", "")
    return episodes


def run_facts(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """Provenance lines of a run: scenario file, seed, replications, horizon, overrides, version."""
    overrides = summary.get("overrides") or []
    days = summary.get("horizon_days")
    return [
        ("Scenario file", str(summary.get("source", ""))),
        ("Seed", str(summary.get("seed", ""))),
        ("Replications", str(summary.get("replications", ""))),
        ("Start date", str(summary.get("start_date", ""))),
        ("Horizon", f"{days} days ({days / 365:g} years)" if isinstance(days, int | float) else "n/a"),
        ("Overrides", ", ".join(overrides) if overrides else "none"),
        ("vaultsim version", str(summary.get("version", ""))),
    ]


def _interval(summary: dict[str, Any], key: str, scale: float) -> str:
    n = int(summary.get("replications") or 1)
    lo, hi = ((summary.get("ci95") or {}).get(key) or [None, None])[:2]
    if n < 2 or lo is None:
        return "n/a"
    return f"{fmt_number(lo, scale)} .. {fmt_number(hi, scale)}"


def _pct(summary: dict[str, Any], key: str, scale: float) -> str:
    p = (summary.get("percentiles") or {}).get(key)
    if not p or int(summary.get("replications") or 1) < 2:
        return "n/a"
    return " / ".join(fmt_number(x, scale) for x in p)


def _kpi_rows(summary: dict[str, Any], rows: Sequence[tuple[str, str, float]]) -> list[tuple[str, ...]]:
    kpis = summary.get("kpis") or {}
    return [(label, fmt_number(kpis.get(k), scale), _interval(summary, k, scale), _pct(summary, k, scale))
            for k, label, scale in rows]


def _views_html(summary: dict[str, Any]) -> str:
    """The three evaluation views side by side: mean, and below its 95% CI the 5/50/95% percentiles."""
    cols = []
    for _, title, how, rows in VIEWS:
        cells = [(label, mean, f"{ci}\n5/50/95%: {pct}" if ci != "n/a" else "n/a")
                 for label, mean, ci, pct in _kpi_rows(summary, rows)]
        cols.append(f"<div><h3>{esc(title)}</h3><p>{esc(how)}</p>"
                    + table(["KPI", "Mean", "95% CI / percentiles"], cells, [False, True, True]) + "</div>")
    return f'<div class="views">{"".join(cols)}</div>'


def _commodity_html(summary: dict[str, Any]) -> str:
    """Per-commodity economic attribution: mean and 95% CI of each column, USD bn."""
    entries = summary.get("by_commodity") or []
    head = ["Commodity"] + [f"{label}, USD bn" for _, label in COMMODITY_COLUMNS]
    rows = []
    n = int(summary.get("replications") or 1)
    for e in entries:
        cells = [e["commodity"]]
        for suffix, _ in COMMODITY_COLUMNS:
            v = e.get(suffix) or {}
            text = fmt_number(v.get("mean"), 1e-9)
            lo, hi = (v.get("ci95") or [None, None])[:2]
            if n > 1 and lo is not None and hi is not None:
                text += f"\n({fmt_number(lo, 1e-9)} .. {fmt_number(hi, 1e-9)})"
            cells.append(text)
        rows.append(cells)
    return f'<div class="bycom">{table(head, rows, [False] + [True] * len(COMMODITY_COLUMNS))}</div>'


#: Columns of the party table: ``party.<party>.<column>`` KPIs, labelled and scaled as the catalog says.
PARTY_COLUMNS = ("fees_usd", "payments_usd", "draws_t", "returns_t", "late_returns", "fill_rate",
                 "loss_avoided_npv_usd", "net_benefit_npv_usd")


def _party_rows(parties: list[dict[str, Any]]) -> tuple[list[str], list[list[str]], list[bool]]:
    keys = {c: f"party.members.{c}" for c in PARTY_COLUMNS}  # every party's column is the same entry's
    cols = [(c, display_label(key), catalog.match(key).scale) for c, key in keys.items()]
    ci_scale = catalog.match(keys["net_benefit_npv_usd"]).scale
    rows = []
    for p in parties:
        row = [str(p["party"])] + [fmt_number(p.get(k), scale) for k, _, scale in cols]
        lo, hi = p.get("net_benefit_npv_usd_ci_low"), p.get("net_benefit_npv_usd_ci_high")
        row.append(f"{fmt_number(lo, ci_scale)} .. {fmt_number(hi, ci_scale)}")
        rows.append(row)
    headers = ["party", *[label for _, label, _ in cols], "net benefit 95% CI"]
    return headers, rows, [False] + [True] * (len(headers) - 1)


def write_run_report(folder: Path, summary: dict[str, Any] | None = None) -> None:
    """Write ``folder/report.html`` for a ``run`` results folder.

    Reads only files inside ``folder`` (``summary.json``, ``scenario.resolved.yaml``,
    ``events.csv`` and the PNG plots that exist), so it works on the temporary folder
    before the atomic rename and on any finished folder.

    Args:
        folder: a results folder written by ``run``.
        summary: the content of ``summary.json`` when the caller has it (its
            ``per_replication`` is not needed), to save reading every replication back.

    """
    folder = Path(folder)
    if summary is None:
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    meta = read_meta(folder) if (folder / "scenario.resolved.yaml").is_file() else {}
    name = summary.get("scenario") or meta.get("name") or folder.name
    n = int(summary.get("replications") or 1)
    body = [
        f"<h1>{esc(name)}</h1>",
        f'<p class="sub">Results of one scenario: {n} replication(s), seed {esc(summary.get("seed"))}.</p>',
        "<h2>Scenario</h2>",
        paragraphs(meta.get("description") or summary.get("description", "")),
        table(["", ""], run_facts(summary)),
        "<h2>Headline results</h2>",
        "<p>Means over replications, with the 95% confidence interval of the mean and the 5th, 50th and "
        "95th percentiles over replications when there is more than one. Intervals of quantities that are "
        "never negative are bootstrap intervals (they cannot fall below zero); signed quantities have "
        "Student-t intervals; ratios are ratios of means with a paired bootstrap interval. "
        "&ldquo;Without reserve&rdquo; is the counterfactual run on the same random draws.</p>",
        table(["KPI", "Mean", "95% CI", "5/50/95%"], _kpi_rows(summary, OUTCOMES), [False, True, True, True]),
        "<h2>Three views of cost and benefit</h2>",
        _views_html(summary),
        "<h2>Per commodity</h2>",
        "<p>National economic view, present values in USD bn (95% confidence intervals in brackets).</p>",
        _commodity_html(summary),
    ]
    if (folder / COMMODITY_PLOT[0]).is_file():
        body.append(figure(folder / COMMODITY_PLOT[0], COMMODITY_PLOT[1]))
    if summary.get("precision"):
        body.append(f'<div class="note">{esc(summary["precision"].get("sentence", ""))}</div>')
    if summary.get("parties"):
        body.append("<h2>Who pays and who gains</h2>")
        body.append("<p>Per party, means over replications, USD million at present value unless stated. Loss "
                    "avoided is the bloc's loss (counterfactual less reserve arm) on the party's manufacturers; net "
                    "benefit adds what it received from and paid to the vehicle (tonnes at reference price).</p>")
        body.append(table(*_party_rows(summary["parties"])))
    if (folder / "events.csv").is_file():
        eps = shock_episodes(folder / "events.csv")
        body.append("<h2>Shocks in replication 0</h2>")
        if eps:
            rows = [(e["shock"], e["kind"], e["start"], e["end"] or "after horizon", fmt_number(e["severity"]))
                    for e in eps]
            body.append(table(["Shock", "Kind", "Start", "End", "Severity"], rows, [False] * 4 + [True]))
        else:
            body.append("<p>No shock occurred in replication 0.</p>")
    plots = [(folder / f, c) for f, c in RUN_PLOTS if (folder / f).is_file()]
    if plots:
        body.append("<h2>Plots</h2>")
        if n > 1:
            body.append("<p>Lines are medians across replications; bands are the 5-95% range.</p>")
        body.extend(figure(p, c) for p, c in plots)
    body.append("<h2>Sources and assumptions</h2>")
    body.append(meta_section(meta, description=False))
    (folder / "report.html").write_text(page(f"vaultsim: {name}", "".join(body)), encoding="utf-8")
