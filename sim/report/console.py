"""What ``run`` prints: the answer and warnings first, then per-commodity outcomes, views and parties.

Tonnes are never added across commodities here: outcomes are per commodity, money in USD
(M or bn, three significant figures, :mod:`sim.report.numbers`). A KPI whose value with and
without the reserve prints the same is named in one line rather than given a row, since it
cannot show an effect at this precision. Intervals appear only with more than one replication.
"""

from __future__ import annotations

from typing import Any

from sim.metrics import catalog
from sim.report.answer import WARNING_NAMES, answer_lines, focus_rows
from sim.report.headline import COMMODITY_COLUMNS, VIEWS, display_label
from sim.report.numbers import NOT_AVAILABLE, interval, money, scaled, sig

#: Per-commodity outcome columns: (header, KPI key pattern with {c}).
OUTCOME_COLUMNS = (
    ("shortfall with, t", "reserve.{c}.shortfall_t"),
    ("without, t", "counterfactual.{c}.shortfall_t"),
    ("avoided, t", "difference.{c}.shortfall_avoided_t"),
    ("released, t", "reserve.{c}.releases_t"),
    ("peak price with, x ref", "reserve.{c}.peak_price_ratio"),
    ("without, x ref", "counterfactual.{c}.peak_price_ratio"),
)
#: A commodity gets an outcome row when it was short in either arm, released, or its price rose this far.
PRICE_RISE = 1.1


def label(key: str) -> str:
    """A KPI's label; money labels say ``USD`` since each value carries its M or bn."""
    text = display_label(key)
    return text.replace(", USD bn", ", USD").replace(", USD m", ", USD")


def value(key: str, v: Any) -> str:
    """A KPI value for people: money in M or bn, anything else to three significant figures."""
    kpi = catalog.find(key)
    if kpi is not None and kpi.unit == "USD":
        return money(v, unit=False)
    return scaled(v)


def _kpi(summary: dict[str, Any], key: str) -> Any:
    return (summary.get("kpis") or {}).get(key)


def ci_text(summary: dict[str, Any], key: str) -> str:
    """``95% CI lo .. hi`` of a KPI, or "" with one replication."""
    lo, hi = ((summary.get("ci95") or {}).get(key) or [None, None])[:2]
    text = interval(lo, hi, int(summary.get("replications") or 1), lambda x: value(key, x))
    return f"95% CI {text}" if text else ""


def outcome_commodities(summary: dict[str, Any]) -> list[str]:
    """Commodities worth an outcome row (see :data:`PRICE_RISE`)."""
    out = []
    for e in summary.get("by_commodity", []):
        c = e["commodity"]
        short = max(float(_kpi(summary, f"{arm}.{c}.shortfall_t") or 0) for arm in ("reserve", "counterfactual"))
        peak = max(float(_kpi(summary, f"{arm}.{c}.peak_price_ratio") or 0) for arm in ("reserve", "counterfactual"))
        if short > 1e-6 or float(_kpi(summary, f"reserve.{c}.releases_t") or 0) > 1e-6 or peak >= PRICE_RISE:
            out.append(c)
    return out


def peak_price_sentence(summary: dict[str, Any]) -> str:
    """The highest price of the run, naming its commodity and arm."""
    best = None
    for e in summary.get("by_commodity", []):
        for arm, name in (("reserve", "with"), ("counterfactual", "without")):
            v = _kpi(summary, f"{arm}.{e['commodity']}.peak_price_ratio")
            if v is not None and (best is None or v > best[0]):
                best = (float(v), e["commodity"], name)
    if best is None:
        return ""
    return f"Highest price: {sig(best[0])}x reference, {best[1]}, {best[2]} the reserve."


def unmoved_sentence(summary: dict[str, Any]) -> str:
    """The outcome KPIs that print the same with and without the reserve."""
    same = []
    for key in ("reserve.total.fill_rate",):
        a, b = _kpi(summary, key), _kpi(summary, key.replace("reserve.", "counterfactual.", 1))
        if a is not None and b is not None and sig(a) == sig(b):
            same.append(f"{catalog.match(key).label.replace(' {arm}', '')} {sig(a)}")
    return f"Same with and without the reserve at three figures: {', '.join(same)}." if same else ""


def table_text(rows: list[list[str]]) -> list[str]:
    """Rows of cells as aligned text: the first column left-aligned, the others right-aligned."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
            for r in rows]


def outcome_table(summary: dict[str, Any]) -> list[str]:
    """Per-commodity outcomes (means), the highest price and the KPIs that do not move."""
    shown = outcome_commodities(summary)
    lines = [" Outcomes per commodity (means; tonnes are not added across commodities)"]
    if shown:
        head = [["commodity", *[h for h, _ in OUTCOME_COLUMNS]]]
        body = [[c, *[sig(_kpi(summary, k.format(c=c))) for _, k in OUTCOME_COLUMNS]] for c in shown]
        lines += table_text(head + body)
    rest = len(summary.get("by_commodity", [])) - len(shown)
    if rest:
        lines.append(f"  ({rest} other commodities: never short, nothing released, price below {PRICE_RISE:g}x)")
    lines += [f"  {s}" for s in (peak_price_sentence(summary), unmoved_sentence(summary)) if s]
    return lines


def view_lines(summary: dict[str, Any]) -> list[str]:
    """The three evaluation views, one row per KPI with its interval when there are replications."""
    lines = []
    width = max(len(label(k)) for *_, rows in VIEWS for k, _, _ in rows) + 2
    for _, title, _, rows in VIEWS:
        lines.append(f" {title}")
        for key, _, _ in rows:
            ci = ci_text(summary, key)
            lines.append(f"  {label(key):<{width}}  {value(key, _kpi(summary, key))}" + (f"  ({ci})" if ci else ""))
    return lines


def commodity_lines(summary: dict[str, Any]) -> list[str]:
    """The per-commodity economic split, USD (M or bn), means."""
    head = [["commodity", *[lab for _, lab in COMMODITY_COLUMNS]]]
    body = [[e["commodity"], *[money((e.get(s) or {}).get("mean"), unit=False) for s, _ in COMMODITY_COLUMNS]]
            for e in summary.get("by_commodity", [])]
    return [" Per commodity (national economic view, NPV, USD; means)"] + table_text(head + body)


def party_lines(summary: dict[str, Any]) -> list[str]:
    """Per party: loss avoided, net benefit (with its interval over replications) and tonnes drawn."""
    if not summary.get("parties"):
        return []
    n = int(summary.get("replications") or 1)
    rows = [["party", "loss avoided, USD", "net benefit, USD", *(["net benefit 95% CI"] if n > 1 else []),
             "draws, t"]]
    for p in summary["parties"]:
        ci = interval(p.get("net_benefit_npv_usd_ci_low"), p.get("net_benefit_npv_usd_ci_high"), n,
                      lambda x: money(x, unit=False))
        rows.append([str(p["party"]), money(p.get("loss_avoided_npv_usd"), unit=False),
                     money(p.get("net_benefit_npv_usd"), unit=False), *([ci or NOT_AVAILABLE] if n > 1 else []),
                     sig(p.get("draws_t"))])
    return ["", " Per party (NPV)"] + table_text(rows)


def warning_lines(summary: dict[str, Any]) -> list[str]:
    """Every warning in full, one bullet each."""
    warns = summary.get("warnings") or []
    return [" Warnings"] + [f"  - {w['message']}" for w in warns] if warns else []


def focus_lines(summary: dict[str, Any], commodity: str) -> list[str]:
    """One commodity's headline, with intervals when there are replications."""
    rows = focus_rows(summary, commodity)
    width = max(len(r[0]) for r in rows) + 2
    lines = [f" Focus: {commodity} (means" + (", 95% CI)" if int(summary.get("replications") or 1) > 1 else ")")]
    lines += [f"  {lab:<{width}}  {mean}" + (f"  ({ci})" if ci else "") for lab, mean, ci in rows]
    for w in summary.get("warnings") or []:
        part = (w.get("details") or {}).get(commodity)
        if part:
            lines.append(f"  warning ({WARNING_NAMES.get(w['kind'], w['kind'])}): {part}")
    return lines


def headline_table(summary: dict[str, Any], focus: str | None = None) -> str:
    """Plain text printed after a run: the answer, then the warnings, then the full tables."""
    lines = [" The answer"] + [f"  {line}" for line in summary.get("answer") or answer_lines(summary)]
    if focus:
        lines += [""] + focus_lines(summary, focus)
    if summary.get("warnings"):
        lines += [""] + warning_lines(summary)
    lines += [""] + outcome_table(summary) + [""] + view_lines(summary) + [""] + commodity_lines(summary)
    lines += party_lines(summary)
    return "\n".join(lines)
