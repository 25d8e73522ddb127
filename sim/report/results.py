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
from sim.report.plots import plot_all
from sim.scenario.schema import Scenario

RESULTS_DIR = Path("results")

#: KPIs printed after a run, with display names and scale.
HEADLINE = (
    ("counterfactual.total.shortfall_t", "shortfall without reserve, t", 1.0),
    ("reserve.total.shortfall_t", "shortfall with reserve, t", 1.0),
    ("difference.total.shortfall_avoided_t", "shortfall avoided, t", 1.0),
    ("difference.total.loss_avoided_npv_usd", "loss avoided (NPV), USD bn", 1e-9),
    ("reserve.total.fill_rate", "fill rate with reserve", 1.0),
    ("counterfactual.total.fill_rate", "fill rate without reserve", 1.0),
    ("reserve.total.peak_price_ratio", "peak price / reference, with reserve", 1.0),
    ("reserve.total.reserve_end_value_usd", "reserve value at end, USD bn", 1e-9),
    ("finance.peak_debt_usd", "peak debt, USD bn", 1e-9),
    ("finance.interest_paid_usd", "interest paid, USD bn", 1e-9),
    ("finance.net_cost_npv_usd", "net cost (NPV), USD bn", 1e-9),
    ("finance.benefit_cost_ratio", "benefit-cost ratio", 1.0),
    ("finance.defaults", "payment defaults", 1.0),
)


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


def summary_document(scenario: Scenario, results: list[RunResult], overrides: list[str], source: str) -> dict:
    """The content of ``summary.json``."""
    rows = [r.summary for r in results]
    table = kpi_table(rows)
    return json_safe(
        {
            "scenario": scenario.meta.name,
            "description": scenario.meta.description,
            "source": source,
            "version": __version__,
            "seed": results[0].meta["seed"],
            "replications": len(results),
            "overrides": overrides,
            "start_date": scenario.run.start_date.isoformat(),
            "horizon_days": scenario.run.horizon_days,
            "kpis": dict(zip(table["kpi"], table["mean"])),
            "ci95": {k: [lo, hi] for k, lo, hi in zip(table["kpi"], table["ci_low"], table["ci_high"])},
            "max_material_residual_t": max(r.summary["check.material_residual_t"] for r in results),
            "parties": party_table(rows).to_dict("records"),
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
) -> Path:
    """Write a complete results folder atomically; returns its path."""
    seed = results[0].meta["seed"]
    tables = collect(results)
    summary = summary_document(scenario, results, overrides, source)
    with atomic_dir(out) as tmp:
        (tmp / "scenario.resolved.yaml").write_text(
            resolved_yaml(scenario, seed, len(results), overrides, source), encoding="utf-8"
        )
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2, allow_nan=False), encoding="utf-8")
        tables["kpis"].to_csv(tmp / "kpis.csv", index=False)
        kpi_table([r.summary for r in results]).to_csv(tmp / "kpi_summary.csv", index=False)
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
        _write_report(tmp)
    return Path(out)


def _write_report(folder: Path) -> None:
    """Write report.html when the report module is available."""
    try:
        from sim.report.html import write_run_report
    except ImportError:
        return
    write_run_report(folder)


def headline_table(summary: dict) -> str:
    """A plain-text table of the headline KPIs (with 95% CIs when there are replications)."""
    lines = []
    n = summary.get("replications", 1)
    width = max(len(label) for _, label, _ in HEADLINE)
    for key, label, scale in HEADLINE:
        v = summary["kpis"].get(key)
        if v is None:
            text = "n/a"
        else:
            text = f"{v * scale:,.4g}" if abs(v * scale) < 1e4 else f"{v * scale:,.0f}"
            lo, hi = summary["ci95"].get(key, [None, None])
            if n > 1 and lo is not None:
                text += f"  (95% CI {lo * scale:,.4g} .. {hi * scale:,.4g})"
        lines.append(f"  {label:<{width}}  {text}")
    if summary.get("parties"):
        lines += ["", "  per party (NPV USD m; draws t; 95% CI of net benefit):"]
        for row in summary["parties"]:
            m = {k: (v if v is not None else float("nan")) for k, v in row.items()}
            lines.append(
                f"    {row['party']:<26} loss avoided {m['loss_avoided_npv_usd'] / 1e6:>10,.1f}"
                f"  net benefit {m['net_benefit_npv_usd'] / 1e6:>10,.1f}"
                f" ({m['net_benefit_npv_usd_ci_low'] / 1e6:,.1f} .. {m['net_benefit_npv_usd_ci_high'] / 1e6:,.1f})"
                f"  draws {m['draws_t']:>12,.1f}"
            )
    return "\n".join(lines)
