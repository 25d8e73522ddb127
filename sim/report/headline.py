"""Which KPIs are shown where, with labels and scales: shared by the terminal, report and compare.

The rows come from the KPI catalog (:mod:`sim.metrics.catalog`): a KPI's headline group says
where it is shown (and its rank where), its label, unit and scale how. The three
evaluation views are listed apart (:data:`VIEWS`) so every output shows them side by side,
each with the rate it discounts at.
"""

from __future__ import annotations

from sim.metrics import catalog

#: Units whose name follows the label in tables (``loss avoided (NPV), USD bn``).
UNIT_IN_LABEL = ("USD", "t", "days", "per year")


def display_label(key: str) -> str:
    """A KPI's label as tables show it: ``{arm}`` filled in, then its display unit where it has one."""
    kpi = catalog.match(key)
    text = catalog.label(key) + (" (ratio of means)" if kpi.ratio_of else "")
    return f"{text}, {kpi.display_unit}" if kpi.unit in UNIT_IN_LABEL else text


def rows(group: str) -> tuple[tuple[str, str, float], ...]:
    """(KPI, label with unit, scale) of a headline group, by rank."""
    return tuple((key, display_label(key), catalog.match(key).scale) for key in catalog.headline_keys(group))


#: Physical KPIs printed after a run: (KPI, label with unit, scale).
OUTCOMES = rows("outcomes")

#: The three views: (key, title, how it counts, rows of (KPI, label with unit, scale)).
VIEWS = (
    (
        "economic",
        "National economic view",
        "Real resource costs against the loss avoided, at the real discount rate (OMB A-94); interest, "
        "member fees, sales inside the bloc and guarantee calls are transfers and net out; the stock left "
        "at the horizon counts at its liquidation value.",
        rows("economic"),
    ),
    (
        "programme",
        "Programme view (the vehicle)",
        "The vehicle's cash and debt at its loan rate: debt service coverage, defaults, what it owes at the "
        "horizon (a bullet due later included) and the net cost to its owners.",
        rows("programme"),
    ),
    (
        "budget",
        "Federal budget view (FCRA)",
        "Subsidy cost of the federal loans: present value at the Treasury rate of disbursements less "
        "expected receipts (defaults, recoveries and payments due after the horizon included).",
        rows("budget"),
    ),
)

#: KPIs printed after a run and shown first in reports and comparisons (the views' rates left out).
HEADLINE = OUTCOMES + tuple(row for _, _, _, view in VIEWS for row in view if catalog.match(row[0]).unit != "per year")

#: Per-commodity economic columns: (KPI suffix, label).
COMMODITY_COLUMNS = tuple(
    (kpi.pattern.rsplit(".", 1)[-1], kpi.label) for kpi in catalog.headline_entries("by_commodity")
)


def commodity_kpi(commodity: str, suffix: str) -> str:
    """Key of a per-commodity economic KPI."""
    return f"economic.{commodity}.{suffix}"
