"""The answer first: five sentences generated from a run's KPIs, and one commodity's own headline.

:func:`answer_lines` says what the reserve did (tonnes released, of which commodities, when),
what it saved (the loss avoided split into surplus, import bill and critical demand), what it
cost (net cost by component, net benefit), which commodities contributed most (in USD, since
tonnes of different commodities do not add), and which warnings (:mod:`sim.report.traps`)
the run raised. :func:`focus_rows` is one commodity's headline with its 95% intervals. Both
read only a summary (``summary.json`` less ``per_replication``), so a finished folder can be
answered again.
"""

from __future__ import annotations

from typing import Any

from sim.report.headline import display_label
from sim.report.numbers import NOT_AVAILABLE, interval, money, sig, tonnes

#: How many commodities the answer names in a list before "and N more".
NAMED = 3
#: Short names of the warning kinds, for the answer's last line.
WARNING_NAMES = {
    "target_late": "target not reached in time",
    "release_never_fired": "release rule never fired",
    "stock_unused": "stock unused while the bloc was short",
    "loan_limit": "loan limit reached",
    "defaults": "payment defaults",
    "world_share": "buying a large share of world supply",
}


def _mean(summary: dict[str, Any], key: str) -> float | None:
    v = (summary.get("kpis") or {}).get(key)
    return None if v is None else float(v)


def _with_ci(summary: dict[str, Any], key: str, fmt=money) -> str:
    """The mean formatted, with its 95% interval when there is more than one replication."""
    text = fmt(_mean(summary, key))
    lo, hi = ((summary.get("ci95") or {}).get(key) or [None, None])[:2]
    bare = (lambda v: money(v, unit=False)) if fmt is money else fmt
    ci = interval(lo, hi, int(summary.get("replications") or 1), bare)
    return f"{text} (95% CI {ci})" if ci else text


def _years(by_year: dict[Any, float]) -> str:
    """The span of years with releases: ``2029-2038`` or ``2031``."""
    years = sorted(int(y) for y, t in by_year.items() if t > 0)
    if not years:
        return ""
    return str(years[0]) if years[0] == years[-1] else f"{years[0]}-{years[-1]}"


def _named(items: list[str]) -> str:
    if len(items) <= NAMED:
        return ", ".join(items)
    return ", ".join(items[:NAMED]) + f" and {len(items) - NAMED} more"


def did_line(summary: dict[str, Any]) -> str:
    """What the reserve did: tonnes released per commodity (largest by value first) and when."""
    commodities = [e["commodity"] for e in summary.get("by_commodity", [])]
    ref = summary.get("reference_prices") or {}
    years = summary.get("release_years") or {}
    released = [(c, t) for c in commodities if (t := _mean(summary, f"reserve.{c}.releases_t") or 0.0) > 1e-6]
    released.sort(key=lambda ct: -ct[1] * float(ref.get(ct[0], 1.0)))
    bought = [c for c in commodities if (_mean(summary, f"reserve.{c}.purchases_t") or 0.0) > 1e-6]
    spent = money(_mean(summary, "economic.purchases_npv_usd"))
    buy = f"It bought {len(bought)} of {len(commodities)} commodities for {spent} (NPV)"
    if not released:
        return f"Did: the reserve released nothing. {buy}."
    parts = [f"{c} {tonnes(t)}" + (f" ({span})" if (span := _years(years.get(c, {}))) else "") for c, t in released]
    rest = len(commodities) - len(released)
    tail = f"; nothing of the other {rest}" if rest else ""
    return f"Did: the reserve released {_named(parts)}{tail}. {buy}."


def saved_line(summary: dict[str, Any]) -> str:
    """The loss avoided and its three components, with the component that drives its sign."""
    parts = {"consumer surplus": "surplus", "import bill": "import", "critical demand": "critical"}
    values = {name: _mean(summary, f"difference.total.loss_{key}_avoided_npv_usd") for name, key in parts.items()}
    split = ", ".join(f"{name} {money(v, unit=False)}" for name, v in values.items())
    total = _mean(summary, "economic.loss_avoided_npv_usd")
    text = f"Saved: loss avoided {_with_ci(summary, 'economic.loss_avoided_npv_usd')} (NPV): {split}."
    known = {k: v for k, v in values.items() if v is not None}
    if total is not None and total < 0 and known:
        worst = min(known, key=lambda k: known[k])
        why = {"import bill": "its own buying raised the price the bloc pays for imports more than its releases "
                              "lowered it",
               "consumer surplus": "its buying raised prices and the bloc consumed less",
               "critical demand": "critical demand went unserved more often with the reserve than without"}[worst]
        text += f" It is negative because {why}."
    return text


def cost_line(summary: dict[str, Any]) -> str:
    """Net cost by component and the net benefit."""
    costs = [("purchases", "purchases_npv_usd"), ("storage", "storage_npv_usd"),
             ("procurement fees", "procurement_fees_npv_usd"), ("projects", "projects_npv_usd")]
    credits = [("the stock's value at the horizon", "terminal_value_npv_usd"),
               ("other stocks' difference", "inventory_difference_npv_usd"),
               ("project loans outstanding", "project_value_npv_usd")]
    shown = [f"{name} {money(v, unit=False)}" for name, key in costs
             if abs(v := _mean(summary, f"economic.{key}") or 0.0) >= 0.5e6]
    less = [f"{name} {money(v, unit=False)}" for name, key in credits
            if abs(v := _mean(summary, f"economic.{key}") or 0.0) >= 0.5e6]
    text = f"Cost: net cost {_with_ci(summary, 'economic.net_cost_npv_usd')} (NPV) = {' + '.join(shown) or '0'}"
    text += f", less {' and '.join(less)}" if less else ""
    bcr = _mean(summary, "economic.benefit_cost_ratio")
    return (f"{text}. Net benefit {_with_ci(summary, 'economic.net_benefit_npv_usd')}, benefit-cost ratio "
            f"{sig(bcr) if bcr is not None else NOT_AVAILABLE}.")


def contributors_line(summary: dict[str, Any]) -> str:
    """The commodities with the largest net cost and the largest loss avoided either way, in USD."""
    entries = summary.get("by_commodity") or []

    def top(suffix: str, sign: float) -> list[str]:
        vals = [(e["commodity"], (e.get(suffix) or {}).get("mean")) for e in entries]
        vals = [(c, v) for c, v in vals if v is not None and sign * v >= 0.5e6]
        vals.sort(key=lambda cv: -sign * cv[1])
        return [f"{c} {money(v, unit=False)}" for c, v in vals[:NAMED]]

    parts = []
    for label, suffix, sign in (("net cost", "net_cost_npv_usd", 1), ("loss avoided", "loss_avoided_npv_usd", 1),
                                ("loss added", "loss_avoided_npv_usd", -1)):
        names = top(suffix, sign)
        if names:
            parts.append(f"{label} {', '.join(names)}")
    return "By commodity (USD, NPV): " + ("; ".join(parts) if parts else "no commodity above USD 0.5 M") + "."


def warnings_line(summary: dict[str, Any]) -> str:
    """How many warnings, by short name and commodities."""
    warns = summary.get("warnings") or []
    if not warns:
        return "Warnings: none."
    items = []
    for w in warns:
        names = list(w.get("commodities") or {})
        items.append(WARNING_NAMES.get(w["kind"], w["kind"]) + (f" ({_named(names)})" if names else ""))
    return f"Warnings ({len(warns)}, below): " + "; ".join(items) + "."


def answer_lines(summary: dict[str, Any]) -> list[str]:
    """The answer of a run in five lines (see module docstring)."""
    return [did_line(summary), saved_line(summary), cost_line(summary), contributors_line(summary),
            warnings_line(summary)]


def focus_keys(commodity: str) -> list[str]:
    """The KPIs of one commodity's headline, in the order shown."""
    c = commodity
    return [f"reserve.{c}.releases_t", f"reserve.{c}.purchases_t", f"reserve.{c}.reserve_end_t",
            f"reserve.{c}.shortfall_t", f"counterfactual.{c}.shortfall_t", f"difference.{c}.shortfall_avoided_t",
            f"reserve.{c}.peak_price_ratio", f"counterfactual.{c}.peak_price_ratio",
            f"economic.{c}.loss_avoided_npv_usd", f"difference.{c}.loss_surplus_avoided_npv_usd",
            f"difference.{c}.loss_import_avoided_npv_usd", f"difference.{c}.loss_critical_avoided_npv_usd",
            f"economic.{c}.resource_cost_npv_usd", f"economic.{c}.terminal_value_npv_usd",
            f"economic.{c}.net_cost_npv_usd", f"economic.{c}.net_benefit_npv_usd"]


def focus_rows(summary: dict[str, Any], commodity: str) -> list[tuple[str, str, str]]:
    """(label, mean, 95% interval or "") of one commodity's headline KPIs; money in M or bn.

    Raises:
        KeyError: the commodity is not in the run.

    """
    known = [e["commodity"] for e in summary.get("by_commodity", [])]
    if commodity not in known:
        raise KeyError(f"--focus {commodity!r}: not a commodity of this run; expected one of {', '.join(known)}")
    n = int(summary.get("replications") or 1)
    rows = []
    for key in focus_keys(commodity):
        if key not in (summary.get("kpis") or {}):
            continue
        fmt = (lambda v: money(v, unit=False)) if key.endswith("_usd") else sig
        label = display_label(key).replace(", USD bn", ", USD").replace(", USD m", ", USD")
        lo, hi = ((summary.get("ci95") or {}).get(key) or [None, None])[:2]
        rows.append((label, fmt(_mean(summary, key)), interval(lo, hi, n, fmt)))
    return rows
