"""Results folders: what ``run`` writes, written atomically (temp folder, then rename).

A results folder holds ``scenario.resolved.yaml``, ``summary.json``, ``kpis.csv`` (one
row per replication), ``kpi_summary.csv`` (mean and 95% CI per KPI),
``timeseries.parquet``, ``finance.parquet``, ``events.csv``, optional CSV copies and PNG
plots. A folder only appears under its final name once every file is in it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from sim import __version__
from sim.engine.simulate import RunResult
from sim.metrics.party_kpis import party_table
from sim.metrics.stats import kpi_table
from sim.metrics.views import RATIOS
from sim.report.headline import COMMODITY_COLUMNS, HEADLINE, OUTCOMES, VIEWS, commodity_kpi
from sim.report.html import write_run_report
from sim.report.plots import plot_all, plot_commodities
from sim.scenario.schema import Scenario

RESULTS_DIR = Path("results")
__all__ = ["HEADLINE", "write_run_folder", "summary_document", "headline_table"]


@contextlib.contextmanager
def atomic_dir(final: Path) -> Iterator[Path]:
    """Yield a temporary sibling folder; on success it replaces ``final`` in one rename."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.partial-", dir=final.parent))
    tmp.chmod(0o755)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        os.replace(final, old)
    os.replace(tmp, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write a file through a temp file and rename."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "wb") as f:
        f.write(data.encode("utf-8") if isinstance(data, str) else data)
    os.replace(tmp, path)


def default_out_dir(scenario: Scenario, seed: int) -> Path:
    """``results/<name>-<timestamp>-seed<seed>``."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return RESULTS_DIR / f"{scenario.meta.name}-{stamp}-seed{seed}"


def json_safe(v: Any) -> Any:
    """Replace NaN and infinities (not valid JSON) by None, recursively."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: json_safe(x) for k, x in v.items()}
    if isinstance(v, list):
        return [json_safe(x) for x in v]
    return v


def resolved_yaml(scenario: Scenario, seed: int, replications: int, overrides: list[str], source: str) -> str:
    """The scenario as run, with seed and replications filled in and provenance in comments."""
    data = scenario.model_dump(mode="json")
    data["run"]["seed"] = seed
    data["run"]["replications"] = replications
    header = (
        f"# Resolved scenario written by vaultsim {__version__} on {dt.datetime.now().isoformat(timespec='seconds')}\n"
        f"# source: {source}\n"
        f"# overrides: {json.dumps(overrides)}\n"
        "# Run it again with: python run.py run <this file>\n"
    )
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def collect(results: list[RunResult]) -> dict[str, pd.DataFrame]:
    """Stack the replications' tables, each with a ``replication`` column."""

    def stack(attr: str) -> pd.DataFrame:
        frames = []
        for r in results:
            df = getattr(r, attr).copy()
            df.insert(0, "replication", r.meta["replication"])
            frames.append(df)
        return pd.concat(frames, ignore_index=True)

    kpis = pd.DataFrame([{"replication": r.meta["replication"], "seed": r.meta["seed"], **r.summary} for r in results])
    return {"timeseries": stack("timeseries"), "finance": stack("finance"), "events": stack("events"), "kpis": kpis}


def by_commodity(table: pd.DataFrame, commodities: list[str]) -> list[dict[str, Any]]:
    """Per-commodity economic attribution: mean and 95% interval of each column, per commodity."""
    rows = table.set_index("kpi")
    out = []
    for c in commodities:
        entry: dict[str, Any] = {"commodity": c}
        for suffix, _ in COMMODITY_COLUMNS:
            k = commodity_kpi(c, suffix)
            if k in rows.index:
                r = rows.loc[k]
                entry[suffix] = {"mean": r["mean"], "ci95": [r["ci_low"], r["ci_high"]]}
        out.append(entry)
    return out


def summary_document(
    scenario: Scenario, results: list[RunResult], overrides: list[str], source: str, extra: dict | None = None
) -> dict:
    """The content of ``summary.json``.

    ``kpis`` are means over replications, except ratio KPIs (:data:`sim.metrics.views.RATIOS`),
    which are ratios of means; ``ci95`` their 95% intervals (``ci_method`` says which kind);
    ``percentiles`` the 5th, 50th and 95th percentile over replications.
    """
    rows = [r.summary for r in results]
    seed = results[0].meta["seed"]
    table = kpi_table(rows, ratios=RATIOS, seed=seed)
    return json_safe(
        {
            "scenario": scenario.meta.name,
            "description": scenario.meta.description,
            "source": source,
            "version": __version__,
            "seed": seed,
            "replications": len(results),
            "overrides": overrides,
            "start_date": scenario.run.start_date.isoformat(),
            "horizon_days": scenario.run.horizon_days,
            "kpis": dict(zip(table["kpi"], table["mean"])),
            "ci95": {k: [lo, hi] for k, lo, hi in zip(table["kpi"], table["ci_low"], table["ci_high"])},
            "ci_method": dict(zip(table["kpi"], table["ci_method"])),
            "percentiles": {k: [a, b, c] for k, a, b, c in zip(table["kpi"], table["p5"], table["p50"], table["p95"])},
            "views": {key: [k for k, _, _ in view_rows] for key, _, _, view_rows in VIEWS},
            "by_commodity": by_commodity(table, list(scenario.commodities)),
            "max_material_residual_t": max(r.summary["check.material_residual_t"] for r in results),
            "parties": party_table(rows).to_dict("records"),
            **(extra or {}),
            "per_replication": [{"replication": r.meta["replication"], **r.summary} for r in results],
        }
    )


def write_run_folder(
    out: Path,
    scenario: Scenario,
    results: list[RunResult],
    overrides: list[str],
    source: str,
    csv: bool = False,
    plots: bool = True,
    extra: dict | None = None,
) -> Path:
    """Write a complete results folder atomically; returns its path.

    ``extra`` entries (e.g. how a ``--precision`` run ended) are added to ``summary.json``.
    """
    seed = results[0].meta["seed"]
    tables = collect(results)
    summary = summary_document(scenario, results, overrides, source, extra)
    with atomic_dir(out) as tmp:
        (tmp / "scenario.resolved.yaml").write_text(
            resolved_yaml(scenario, seed, len(results), overrides, source), encoding="utf-8"
        )
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2, allow_nan=False), encoding="utf-8")
        tables["kpis"].to_csv(tmp / "kpis.csv", index=False)
        kpi_table([r.summary for r in results], ratios=RATIOS, seed=seed).to_csv(tmp / "kpi_summary.csv", index=False)
        tables["timeseries"].to_parquet(tmp / "timeseries.parquet", index=False, compression="zstd")
        tables["finance"].to_parquet(tmp / "finance.parquet", index=False, compression="zstd")
        tables["events"].to_csv(tmp / "events.csv", index=False)
        parties = party_table([r.summary for r in results])
        if len(parties):
            parties.to_csv(tmp / "parties.csv", index=False)
        if csv:
            tables["timeseries"].to_csv(tmp / "timeseries.csv", index=False)
            tables["finance"].to_csv(tmp / "finance.csv", index=False)
        if plots:
            plot_all(tables["timeseries"], tables["finance"], tmp, scenario.meta.name)
            plot_commodities(summary["by_commodity"], tmp / "commodities.png", scenario.meta.name)
        write_run_report(tmp)
    return Path(out)


def _fmt(v: float | None, scale: float) -> str:
    if v is None:
        return "n/a"
    if scale <= 1e-6 and abs(v) < 0.01:  # money: under a cent is float noise of a zero balance
        return "0"
    x = v * scale
    return f"{x:,.4g}" if abs(x) < 1e4 else f"{x:,.0f}"


def headline_table(summary: dict) -> str:
    """Plain-text headline KPIs, the three views and the per-commodity split.

    With replications each value has its 95% interval and the 5/50/95% percentiles over
    replications.
    """
    lines = []
    n = summary.get("replications", 1)
    kpis, ci, pct = summary["kpis"], summary["ci95"], summary.get("percentiles", {})
    width = max(len(label) for _, label, _ in HEADLINE) + 2

    def row(key: str, label: str, scale: float) -> str:
        v = kpis.get(key)
        text = _fmt(v, scale)
        lo, hi = ci.get(key, [None, None])
        if n > 1 and v is not None and lo is not None:
            text += f"  (95% CI {_fmt(lo, scale)} .. {_fmt(hi, scale)})"
            p = pct.get(key)
            if p and None not in p:
                text += f"  5/50/95%: {' / '.join(_fmt(x, scale) for x in p)}"
        return f"  {label:<{width}}  {text}"

    lines.extend(row(key, label, scale) for key, label, scale in OUTCOMES)
    for _, title, _, rows in VIEWS:
        lines.append(f" {title}")
        lines.extend(row(k, label, scale) for k, label, scale in rows)
    lines.append(" Per commodity (economic view, NPV, USD bn; means)")
    header = ["commodity"] + [label for _, label in COMMODITY_COLUMNS]
    table = [header] + [
        [e["commodity"]] + [_fmt((e.get(s) or {}).get("mean"), 1e-9) for s, _ in COMMODITY_COLUMNS]
        for e in summary.get("by_commodity", [])
    ]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for r in table:
        lines.append("  " + "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
    if summary.get("parties"):
        lines += ["", "  per party (NPV USD m; draws t; 95% CI of net benefit):"]
        for entry in summary["parties"]:
            m = {k: (v if v is not None else float("nan")) for k, v in entry.items()}
            lines.append(
                f"    {entry['party']:<26} loss avoided {m['loss_avoided_npv_usd'] / 1e6:>10,.1f}"
                f"  net benefit {m['net_benefit_npv_usd'] / 1e6:>10,.1f}"
                f" ({m['net_benefit_npv_usd_ci_low'] / 1e6:,.1f} .. {m['net_benefit_npv_usd_ci_high'] / 1e6:,.1f})"
                f"  draws {m['draws_t']:>12,.1f}"
            )
    return "\n".join(lines)
