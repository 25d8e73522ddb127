"""``results.xlsx``: a run's answer, KPIs and per-commodity tables as an Excel workbook (openpyxl).

Analysts work in spreadsheets; the workbook holds what the terminal and the report show, as
numbers (USD in USD, tonnes in tonnes) with the catalog's label and unit beside each KPI:

- ``Answer``: the five answer lines and every warning.
- ``KPIs``: every KPI with label, unit, mean, 95% interval (empty with one replication) and
  5/50/95% percentiles.
- ``Per commodity``: one row per commodity: tonnes released, bought, short with and without
  the reserve, peak price with and without, and the economic split in USD.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from sim.metrics import catalog
from sim.report.headline import COMMODITY_COLUMNS

#: Per-commodity physical columns: (header, key pattern with {c}).
PHYSICAL = (
    ("released, t", "reserve.{c}.releases_t"),
    ("bought, t", "reserve.{c}.purchases_t"),
    ("stock at horizon, t", "reserve.{c}.reserve_end_t"),
    ("shortfall with reserve, t", "reserve.{c}.shortfall_t"),
    ("shortfall without reserve, t", "counterfactual.{c}.shortfall_t"),
    ("shortfall avoided, t", "difference.{c}.shortfall_avoided_t"),
    ("peak price with reserve, x reference", "reserve.{c}.peak_price_ratio"),
    ("peak price without reserve, x reference", "counterfactual.{c}.peak_price_ratio"),
)
#: Widths (characters) of the first columns of each sheet.
WIDTHS = {"Answer": (160,), "KPIs": (48, 44, 14), "Per commodity": (20,)}


def kpi_sheet(table: pd.DataFrame, replications: int) -> pd.DataFrame:
    """``kpi_summary`` with each KPI's label and unit from the catalog; intervals only with replications."""
    labels, units = [], []
    for key in table["kpi"]:
        kpi = catalog.find(key)
        labels.append(catalog.label(key) if kpi else "")
        units.append(kpi.unit if kpi else "")
    out = pd.DataFrame({"kpi": table["kpi"], "label": labels, "unit": units, "mean": table["mean"]})
    if replications > 1:
        for col in ("ci_low", "ci_high", "p5", "p50", "p95"):
            out[col] = table[col]
    return out


def commodity_sheet(summary: dict[str, Any]) -> pd.DataFrame:
    """One row per commodity: physical outcomes, then the economic split (USD, NPV) with intervals."""
    kpis = summary.get("kpis") or {}
    several = int(summary.get("replications") or 1) > 1
    rows = []
    for e in summary.get("by_commodity", []):
        c = e["commodity"]
        row: dict[str, Any] = {"commodity": c}
        row.update({h: kpis.get(k.format(c=c)) for h, k in PHYSICAL})
        for suffix, label in COMMODITY_COLUMNS:
            v = e.get(suffix) or {}
            row[f"{label}, USD (NPV)"] = v.get("mean")
            if several:
                lo, hi = (v.get("ci95") or [None, None])[:2]
                row[f"{label} 95% CI low"], row[f"{label} 95% CI high"] = lo, hi
        rows.append(row)
    return pd.DataFrame(rows)


def write_workbook(path: Path, summary: dict[str, Any], table: pd.DataFrame) -> None:
    """Write ``results.xlsx`` (see module docstring) from a run's summary and ``kpi_summary`` table."""
    n = int(summary.get("replications") or 1)
    answer = pd.DataFrame({"the answer": [*summary.get("answer", []), "",
                                          *[f"warning: {w['message']}" for w in summary.get("warnings") or []]]})
    sheets = {"Answer": answer, "KPIs": kpi_sheet(table, n), "Per commodity": commodity_sheet(summary)}
    with pd.ExcelWriter(path, engine="openpyxl") as xl:
        for name, frame in sheets.items():
            frame.to_excel(xl, sheet_name=name, index=False)
            ws = xl.sheets[name]
            ws.freeze_panes = "B2" if name != "Answer" else "A2"
            for i, width in enumerate(WIDTHS.get(name, ())):
                ws.column_dimensions[chr(ord("A") + i)].width = width
            for col in ws.iter_cols(min_row=2, min_col=2 if name != "Answer" else 99):
                for cell in col:
                    if isinstance(cell.value, float):
                        cell.number_format = "#,##0.00" if abs(cell.value) >= 100 else "0.0000"
