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
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

from sim.metrics import catalog
from sim.report.answer import answer_lines
from sim.report.console import label as kpi_label
from sim.report.console import outcome_commodities, peak_price_sentence, unmoved_sentence
from sim.report.console import value as kpi_value
from sim.report.headline import COMMODITY_COLUMNS, VIEWS, display_label
from sim.report.numbers import NOT_AVAILABLE, money, scaled, sig
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
.answer{background:#eef5fb;border-left:4px solid #1f77b4;padding:.3rem 1rem .6rem;margin:1rem 0}
.answer h2{margin-top:.6rem;border:0}.answer li{margin:.25rem 0}.warnings li{color:#7a4b00}
nav.toc{font-size:.9rem;background:#fafbfc;border:1px solid #eee;padding:.4rem .8rem;margin:.6rem 0}
nav.toc a{margin-right:1rem}.chart{min-height:360px;margin:.4rem 0 1rem}
details>summary h2{display:inline;border:0}
"""


def esc(value: Any) -> str:
    """HTML-escaped text of any value."""
    return html.escape("" if value is None else str(value), quote=True)


def fmt_number(value: Any, scale: float = 1.0) -> str:
    """A number for people: three significant figures, thousands separators, ``n/a`` when missing."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return value
    return scaled(value, scale)


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


def page(title: str, body: str, head: str = "") -> str:
    """A complete HTML document with the inline style sheet; ``head`` goes into ``<head>`` (scripts)."""
    stamp = dt.datetime.now().isoformat(timespec="seconds")
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{CSS}</style>{head}</head><body>{body}"
        f'<p class="sub">Written by vaultsim {esc(__version__)} on {esc(stamp)}.</p></body></html>\n'
    )


def read_meta(folder: Path) -> dict[str, Any]:
    """The ``meta`` section of ``scenario.resolved.yaml`` ({} when the file has none)."""
    data = yaml.safe_load((Path(folder) / "scenario.resolved.yaml").read_text(encoding="utf-8")) or {}
    meta = data.get("meta") if isinstance(data, dict) else None
    return meta if isinstance(meta, dict) else {}


#: Files of the project's shared data folder that scenarios cite, and their copies in the repository.
CITED_COPIES = {"shared/data/FACTS.md": "docs/facts.md", "shared/data/CALIBRATION.md": "docs/calibration.md"}


def in_repository(citation: str) -> str:
    """A citation with the shared data files it names pointed at their copies in ``docs/``."""
    text = str(citation)
    for shared, copy in CITED_COPIES.items():
        text = text.replace(shared, copy)
    return text


def meta_section(meta: dict[str, Any], level: int = 3, description: bool = True) -> str:
    """Description (unless ``description`` is False), sources and assumptions of a scenario."""
    h = f"h{level}"
    out = []
    if description:
        out.append(paragraphs(meta.get("description", "")) or "<p><em>No description given.</em></p>")
    sources = meta.get("sources") or {}
    out.append(f"<{h}>Sources</{h}>")
    if sources:
        out.append(table(["Key", "Citation"], [(k, in_repository(v)) for k, v in sorted(sources.items())]))
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


def _interval(summary: dict[str, Any], key: str, scale: float = 1.0) -> str:
    n = int(summary.get("replications") or 1)
    lo, hi = ((summary.get("ci95") or {}).get(key) or [None, None])[:2]
    if n < 2 or lo is None:
        return NOT_AVAILABLE
    return f"{kpi_value(key, lo)} .. {kpi_value(key, hi)}"


def _pct(summary: dict[str, Any], key: str, scale: float = 1.0) -> str:
    p = (summary.get("percentiles") or {}).get(key)
    if not p or int(summary.get("replications") or 1) < 2:
        return NOT_AVAILABLE
    return " / ".join(kpi_value(key, x) for x in p)


def _kpi_rows(summary: dict[str, Any], rows: Sequence[tuple[str, str, float]]) -> list[tuple[str, ...]]:
    kpis = summary.get("kpis") or {}
    return [(kpi_label(k), kpi_value(k, kpis.get(k)), _interval(summary, k), _pct(summary, k)) for k, _, _ in rows]


def answer_html(summary: dict[str, Any]) -> str:
    """The answer (five lines) and every warning in full, for the top of a report."""
    lines = summary.get("answer") or answer_lines(summary)
    out = ['<div class="answer"><h2 id="answer">The answer</h2><ol>']
    out += [f"<li>{esc(line)}</li>" for line in lines]
    out.append("</ol>")
    warns = summary.get("warnings") or []
    if warns:
        out.append('<h3 id="warnings">Warnings</h3><ul class="warnings">')
        out += [f"<li>{esc(w['message'])}</li>" for w in warns]
        out.append("</ul>")
    out.append("</div>")
    return "".join(out)


def outcomes_html(summary: dict[str, Any]) -> str:
    """Per-commodity outcomes: shortfall with and without, avoided, released, peak price (no tonnes summed)."""
    from sim.report.console import OUTCOME_COLUMNS

    kpis = summary.get("kpis") or {}
    shown = outcome_commodities(summary)
    rows = [[c, *[sig(kpis.get(k.format(c=c))) for _, k in OUTCOME_COLUMNS]] for c in shown]
    text = [table(["Commodity", *[h for h, _ in OUTCOME_COLUMNS]], rows, [False] + [True] * len(OUTCOME_COLUMNS))]
    rest = len(summary.get("by_commodity", [])) - len(shown)
    notes = [f"{rest} other commodities were never short, had nothing released and no price rise." if rest else "",
             peak_price_sentence(summary), unmoved_sentence(summary)]
    text += [f"<p>{esc(n)}</p>" for n in notes if n]
    return "".join(text)


def kpi_table(summary: dict[str, Any], rows: Sequence[tuple[str, str, float]]) -> str:
    """KPI, mean and, with several replications, the 95% CI and 5/50/95% percentiles."""
    cells = _kpi_rows(summary, rows)
    if int(summary.get("replications") or 1) < 2:
        return table(["KPI", "Mean"], [c[:2] for c in cells], [False, True])
    return table(["KPI", "Mean", "95% CI", "5/50/95%"], cells, [False, True, True, True])


def _views_html(summary: dict[str, Any]) -> str:
    """The three evaluation views side by side: mean, and below its 95% CI the 5/50/95% percentiles."""
    cols = []
    several = int(summary.get("replications") or 1) > 1
    for _, title, how, rows in VIEWS:
        cells = [(label, mean, f"{ci}\n5/50/95%: {pct}") for label, mean, ci, pct in _kpi_rows(summary, rows)]
        head = ["KPI", "Mean", "95% CI / percentiles"] if several else ["KPI", "Mean"]
        cols.append(f"<div><h3>{esc(title)}</h3><p>{esc(how)}</p>"
                    + table(head, [c[: len(head)] for c in cells], [False, True, True]) + "</div>")
    return f'<div class="views">{"".join(cols)}</div>'


def _commodity_html(summary: dict[str, Any]) -> str:
    """Per-commodity economic attribution: mean and 95% CI of each column, USD in M or bn."""
    entries = summary.get("by_commodity") or []
    head = ["Commodity"] + [f"{label}, USD" for _, label in COMMODITY_COLUMNS]
    rows = []
    n = int(summary.get("replications") or 1)
    for e in entries:
        cells = [e["commodity"]]
        for suffix, _ in COMMODITY_COLUMNS:
            v = e.get(suffix) or {}
            text = money(v.get("mean"), unit=False)
            lo, hi = (v.get("ci95") or [None, None])[:2]
            if n > 1 and lo is not None and hi is not None:
                text += f"\n({money(lo, unit=False)} .. {money(hi, unit=False)})"
            cells.append(text)
        rows.append(cells)
    return f'<div class="bycom">{table(head, rows, [False] + [True] * len(COMMODITY_COLUMNS))}</div>'


#: Columns of the party table: ``party.<party>.<column>`` KPIs, labelled and scaled as the catalog says.
PARTY_COLUMNS = ("fees_usd", "payments_usd", "draws_t", "returns_t", "late_returns", "fill_rate",
                 "loss_avoided_npv_usd", "net_benefit_npv_usd")


def _party_rows(parties: list[dict[str, Any]], replications: int = 2
                ) -> tuple[list[str], list[list[str]], list[bool]]:
    keys = {c: f"party.members.{c}" for c in PARTY_COLUMNS}  # every party's column is the same entry's
    cols = [(c, display_label(key), catalog.match(key).scale) for c, key in keys.items()]
    ci_scale = catalog.match(keys["net_benefit_npv_usd"]).scale
    rows = []
    for p in parties:
        row = [str(p["party"])] + [fmt_number(p.get(k), scale) for k, _, scale in cols]
        lo, hi = p.get("net_benefit_npv_usd_ci_low"), p.get("net_benefit_npv_usd_ci_high")
        row.append(f"{fmt_number(lo, ci_scale)} .. {fmt_number(hi, ci_scale)}" if replications > 1 else NOT_AVAILABLE)
        rows.append(row)
    headers = ["party", *[label for _, label, _ in cols], "net benefit 95% CI"]
    return headers, rows, [False] + [True] * (len(headers) - 1)
