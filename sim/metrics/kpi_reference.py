"""Generate the KPI reference (docs/kpis.md) from the KPI catalog (:mod:`sim.metrics.catalog`).

Run ``python -m sim.metrics.kpi_reference --write`` (without ``--write`` it prints the
reference); a test checks the committed file is up to date, so the reference never drifts
from the catalog. The command lives apart from the catalog because ``import sim`` already
imports the catalog, and ``python -m`` on an imported module runs a second copy of it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.metrics.catalog import CATALOG
from sim.metrics.kpi_patterns import CONDITIONS, PLACEHOLDERS, Kpi

DOC_PATH = Path(__file__).resolve().parents[2] / "docs" / "kpis.md"

#: Sections of the reference by a pattern's first segment: (title, introduction); in catalog order.
SECTIONS = {
    "<arm>": ("Each arm", "Physical outcomes and the bloc's loss in each arm over the horizon: sums over days, per "
              "commodity and for all commodities together (`total`). Loss NPVs discount at "
              "`evaluation.discount_rate_per_year`."),
    "difference": ("The reserve's effect", "Counterfactual arm minus reserve arm: what the reserve avoided."),
    "finance": ("Programme money", "The programme's ledger in the reserve arm, USD, undiscounted unless the key "
                "says `npv`."),
    "economic": ("National economic view", "Real resource costs against the loss avoided at "
                 "`evaluation.discount_rate_per_year` (OMB A-94; `sim/metrics/views.py`), in total and per "
                 "commodity."),
    "programme": ("Programme view", "The vehicle's cash and debt at its own loan rate (`sim/metrics/credit.py`)."),
    "budget": ("Federal budget view", "FCRA-style subsidy cost of the federal loans at the Treasury rate "
               "(`sim/metrics/credit.py`)."),
    "project": ("Project companies", "One set per project company the run founds (`sim/metrics/credit.py`)."),
    "check": ("Checks", "Residuals of the end-of-run balances (`sim/simulation/simulate.py`); a run fails unless "
              "each is ~0."),
    "party": ("Parties", "Who pays for the reserve and who gains (`sim/metrics/party_kpis.py`); `npv` keys "
              "discount at the scenario's discount rate."),
    "parties": ("Parties", ""),
}


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _notes(kpi: Kpi) -> str:
    notes = []
    if kpi.ratio_of:
        notes.append(f"over replications: mean of `{kpi.ratio_of[0]}` / mean of `{kpi.ratio_of[1]}`")
    if kpi.nan_when:
        notes.append(f"NaN {kpi.nan_when}")
    if kpi.when:
        notes.append(CONDITIONS[kpi.when][0])
    if kpi.headline:
        notes.append(f"headline: {kpi.headline}")
    if kpi.higher_is_better is not None:
        notes.append("higher is better" if kpi.higher_is_better else "lower is better")
    return "; ".join(notes)


def render() -> str:
    """The reference as Markdown."""
    out = [
        "# KPI reference",
        "",
        "Generated from `sim/metrics/catalog.py` by `python -m sim.metrics.kpi_reference --write`; do not edit",
        "by hand. Every key of a run's summary (`summary.json`, `kpis.csv`, sweep and EMA outcomes) matches",
        f"exactly one pattern below ({len(CATALOG)} entries), in the order a run writes them. A placeholder stands",
        "for one segment of the key:",
        "",
        "| placeholder | stands for |",
        "|---|---|",
        *[f"| `{_cell(token)}` | {_cell(p.meaning)} |" for token, p in PLACEHOLDERS.items()],
        "",
        "Units: `USD` US dollars, `t` tonnes, `days`, `count`, `ratio`, `share` (0.1 = 10%), `per year` an annual",
        "rate, `x reference price` a multiple of the commodity's reference price. Over replications a summary",
        "reports each KPI's mean, except a ratio of means where the notes say so. A KPI is never NaN unless",
        "its notes say when.",
        "",
    ]
    sections: dict[str, list[Kpi]] = {}
    for kpi in CATALOG:
        sections.setdefault(SECTIONS[kpi.pattern.split(".")[0]][0], []).append(kpi)
    intros = {title: intro for title, intro in SECTIONS.values() if intro}
    for title, entries in sections.items():
        out += [f"## {title}", "", intros[title], "", "| key | unit | meaning | notes |", "|---|---|---|---|"]
        out += [f"| `{_cell(k.pattern)}` | {k.unit} | {_cell(k.meaning)} | {_cell(_notes(k))} |" for k in entries]
        out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Print the reference, or write it to ``docs/kpis.md`` with ``--write``."""
    parser = argparse.ArgumentParser(description="The KPI reference (docs/kpis.md), from sim/metrics/catalog.py.")
    parser.add_argument("--write", action="store_true", help="write docs/kpis.md instead of printing it")
    args = parser.parse_args(argv)
    if args.write:
        DOC_PATH.write_text(render(), encoding="utf-8")
        print(f"wrote {DOC_PATH}")
    else:
        sys.stdout.write(render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
