"""Results folders: what ``run`` writes, written atomically (temp folder, then rename).

A results folder holds ``scenario.resolved.yaml``, ``summary.json``, ``kpis.csv`` (one
row per replication), ``kpi_summary.csv`` (mean and 95% CI per KPI), ``events.csv`` (every
replication), ``series_quantiles.parquet`` (mean, 5/50/95% quantiles, min and max over
replications per series, commodity, arm and day: what the plots draw),
``timeseries.parquet`` and ``finance.parquet`` (replication 0, or every replication when
asked for), optional CSV copies, PNG plots and ``report.html``. A folder only appears under
its final name once every file is in it.

:class:`RunFolderWriter` writes the folder while the replications run: each result is
reduced (KPIs, bands) and its events and series are appended to disk, then it is dropped, so
memory does not grow with the number of replications.
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
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from sim.metrics import catalog
from sim.metrics.party_kpis import party_table
from sim.metrics.stats import kpi_table
from sim.report.answer import answer_lines
from sim.report.bands import BandsBuilder
from sim.report.console import headline_table
from sim.report.headline import COMMODITY_COLUMNS, HEADLINE, VIEWS, commodity_kpi
from sim.report.plots import entitlements_held, plot_all, plot_commodities, plot_entitlements
from sim.report.run_report import write_run_report
from sim.report.traps import TrapTracker
from sim.scenario.schema import Scenario
from sim.simulation.replications import KpiRows
from sim.simulation.simulate import RunResult
from sim.version import __version__

RESULTS_DIR = Path("results")
#: The replication whose full series a results folder keeps unless every one is asked for.
KEPT_REPLICATION = 0
__all__ = ["HEADLINE", "RunFolderWriter", "run_folder", "write_run_folder", "summary_document", "headline_table"]


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
    scenario: Scenario,
    kpis: KpiRows,
    overrides: list[str],
    source: str,
    extra: dict | None = None,
    table: pd.DataFrame | None = None,
) -> dict:
    """The content of ``summary.json`` without ``per_replication`` (see :func:`write_summary`).

    ``kpis`` are means over replications, except ratio KPIs (those with parts in
    :mod:`sim.metrics.catalog`), which are ratios of means; ``ci95`` their 95% intervals
    (``ci_method`` says which kind); ``percentiles`` the 5th, 50th and 95th percentile over
    replications. ``table`` is :func:`kpi_summary` of ``kpis`` when already computed.
    """
    seed = kpis.seeds[0]
    table = kpi_summary(kpis) if table is None else table
    return json_safe(
        {
            "scenario": scenario.meta.name,
            "description": scenario.meta.description,
            "source": source,
            "version": __version__,
            "seed": seed,
            "replications": len(kpis),
            "overrides": overrides,
            "start_date": scenario.run.start_date.isoformat(),
            "horizon_days": scenario.run.horizon_days,
            "kpis": dict(zip(table["kpi"], table["mean"])),
            "ci95": {k: [lo, hi] for k, lo, hi in zip(table["kpi"], table["ci_low"], table["ci_high"])},
            "ci_method": dict(zip(table["kpi"], table["ci_method"])),
            "percentiles": {k: [a, b, c] for k, a, b, c in zip(table["kpi"], table["p5"], table["p50"], table["p95"])},
            "views": {key: [k for k, _, _ in view_rows] for key, _, _, view_rows in VIEWS},
            "by_commodity": by_commodity(table, list(scenario.commodities)),
            "max_material_residual_t": max(float(v) for v in kpis.values("check.material_residual_t")),
            "parties": party_table(party_rows(kpis)).to_dict("records"),
            **(extra or {}),
        }
    )


def with_answer(summary: dict, scenario: Scenario, traps: TrapTracker) -> dict:
    """``summary`` with, first, ``answer`` (five lines) and ``warnings``, and the facts they are made of.

    ``warnings`` is a list of ``{"kind", "message", "commodities", "details", "replications"}``
    (:meth:`~sim.report.traps.TrapTracker.warnings`); ``release_years`` the mean tonnes released
    per commodity and calendar year; ``reference_prices`` USD/t per commodity.
    """
    facts = {
        "warnings": traps.warnings(),
        "release_years": {c: {str(y): t for y, t in by.items()} for c, by in traps.release_years().items()},
        "reference_prices": {c: x.reference_price_usd_per_t for c, x in scenario.commodities.items()},
    }
    full = {**summary, **facts}
    return json_safe({"answer": answer_lines(full), "warnings": facts["warnings"], **full})


def party_rows(kpis: KpiRows) -> list[dict]:
    """The replications' ``party.*`` KPIs, one dict per replication (empty without parties)."""
    keys = [k for k in kpis.keys if k.startswith("party.")]
    return [{k: r[k] for k in keys if k in r} for r in kpis.records()] if keys else []


def kpi_summary(kpis: KpiRows) -> pd.DataFrame:
    """Mean, 95% CI and percentiles of every KPI over replications (``kpi_summary.csv``)."""
    frame = kpis.frame().drop(columns=["replication", "seed"])
    return kpi_table(frame, ratios=catalog.ratios(frame.columns), seed=kpis.seeds[0])


def write_summary(path: Path, summary: dict, kpis: KpiRows) -> None:
    """Write ``summary.json``: ``summary`` and, last, ``per_replication``, one replication at a time.

    The bytes are those of ``json.dumps({**summary, "per_replication": [...]}, indent=2)``; the
    replications' summaries are never all in memory at once.
    """
    head = json.dumps(summary, indent=2, allow_nan=False)
    if not head.endswith("\n}"):
        raise ValueError("summary must be a non-empty mapping")
    with open(path, "w", encoding="utf-8") as f:
        f.write(head[:-2] + ',\n  "per_replication": [')
        for i in range(len(kpis)):
            entry = json_safe({"replication": kpis.replications[i], **kpis.record(i)})
            text = json.dumps(entry, indent=2, allow_nan=False).replace("\n", "\n    ")
            f.write(("," if i else "") + "\n    " + text)
        f.write("\n  ]\n}" if len(kpis) else "]\n}")


class RunFolderWriter:
    """Fill a (temporary) results folder one replication at a time.

    Args:
        folder: an existing, empty folder (see :func:`run_folder`).
        scenario: the scenario run.
        keep_series: write every replication's time series and finance table (else only
            replication :data:`KEPT_REPLICATION`'s); their bands are kept either way.
        csv: also write CSV copies of the time series and finance tables.

    """

    def __init__(self, folder: Path, scenario: Scenario, keep_series: bool = False, csv: bool = False) -> None:
        self.folder = Path(folder)
        self.scenario = scenario
        self.keep_series = keep_series
        self.csv = csv
        self.kpis = KpiRows()
        self.bands = BandsBuilder()
        self.traps = TrapTracker(scenario)
        self._parquet: dict[str, pq.ParquetWriter] = {}
        self._started: set[str] = set()

    def add(self, result: RunResult) -> None:
        """Reduce one replication into the folder; the result can be dropped afterwards."""
        rep = int(result.meta["replication"])
        self.kpis.append(result.summary, rep, int(result.meta["seed"]))
        self.bands.add(result.series, result.finance)
        self.traps.add(result)
        self._append_csv("events.csv", _with_replication(result.events, rep))
        if self.keep_series or rep == KEPT_REPLICATION:
            for name, df in (("timeseries", result.timeseries), ("finance", result.finance)):
                table = _with_replication(df, rep)
                self._append_parquet(f"{name}.parquet", table)
                if self.csv:
                    self._append_csv(f"{name}.csv", table)

    def _append_csv(self, name: str, df: pd.DataFrame) -> None:
        first = name not in self._started
        df.to_csv(self.folder / name, mode="w" if first else "a", header=first, index=False)
        self._started.add(name)

    def _append_parquet(self, name: str, df: pd.DataFrame) -> None:
        writer = self._parquet.get(name)
        if writer is None:
            table = pa.Table.from_pandas(df, preserve_index=False)
            writer = self._parquet[name] = pq.ParquetWriter(self.folder / name, table.schema,
                                                            **parquet_options(table.schema))
        else:
            table = pa.Table.from_pandas(df, schema=writer.schema, preserve_index=False)
        writer.write_table(table)

    def close(self) -> None:
        """Close the Parquet files being written (idempotent)."""
        for writer in self._parquet.values():
            writer.close()
        self._parquet.clear()

    def finish(self, overrides: list[str], source: str, extra: dict | None = None, plots: bool = True,
               xlsx: bool = False, png: bool = False) -> dict:
        """Write the summaries, bands, plots and report; returns ``summary.json`` less ``per_replication``.

        ``extra`` entries (e.g. how a ``--precision`` run ended) are added to ``summary.json``;
        ``xlsx`` also writes ``results.xlsx`` (:mod:`sim.report.workbook`). ``plots`` writes the
        per-commodity bars the report embeds; ``png`` also the static series panels (the report's
        charts are interactive, and the panels take most of a run's time).
        """
        if not len(self.kpis):
            raise ValueError("no replication to write")
        self.close()
        tmp, scenario, kpis = self.folder, self.scenario, self.kpis
        table = kpi_summary(kpis)
        summary = with_answer(summary_document(scenario, kpis, overrides, source, extra, table), scenario, self.traps)
        (tmp / "scenario.resolved.yaml").write_text(
            resolved_yaml(scenario, kpis.seeds[0], len(kpis), overrides, source), encoding="utf-8"
        )
        write_summary(tmp / "summary.json", summary, kpis)
        kpis.frame().to_csv(tmp / "kpis.csv", index=False)
        table.to_csv(tmp / "kpi_summary.csv", index=False)
        if xlsx:
            from sim.report.workbook import write_workbook

            write_workbook(tmp / "results.xlsx", summary, table)
        parties = party_table(party_rows(kpis))
        if len(parties):
            parties.to_csv(tmp / "parties.csv", index=False)
        bands = self.bands.bands()
        frame = pa.Table.from_pandas(bands.to_frame(), preserve_index=False)
        pq.write_table(frame, tmp / "series_quantiles.parquet", **parquet_options(frame.schema))
        if plots and png:
            plot_all(bands, tmp, scenario.meta.name)
        elif plots and entitlements_held(bands):  # the interactive charts do not show entitlements
            plot_entitlements(bands, tmp / "entitlements.png", scenario.meta.name)
        if plots:
            plot_commodities(summary["by_commodity"], tmp / "commodities.png", scenario.meta.name)
        write_run_report(tmp, summary, bands)
        return summary


def parquet_options(schema: pa.Schema) -> dict[str, Any]:
    """Lossless Parquet settings for daily series: zstd over byte-stream-split floats.

    Splitting each float's bytes into streams lets zstd find the repetition in slowly varying
    series (about 30% smaller than plain zstd, and faster to write); dictionaries are kept for
    the id columns (commodity, arm, date) only.
    """
    floats = [f.name for f in schema if pa.types.is_floating(f.type)]
    return {"compression": "zstd", "use_byte_stream_split": floats,
            "use_dictionary": [f.name for f in schema if f.name not in floats]}


def _with_replication(df: pd.DataFrame, rep: int) -> pd.DataFrame:
    out = df.copy(deep=False)
    out.insert(0, "replication", rep)
    return out


@contextlib.contextmanager
def run_folder(out: Path, scenario: Scenario, keep_series: bool = False, csv: bool = False
               ) -> Iterator[RunFolderWriter]:
    """A :class:`RunFolderWriter` on a temporary folder that becomes ``out`` when the block succeeds.

    Call :meth:`RunFolderWriter.finish` inside the block; if the block raises (a failed run,
    an interrupt) nothing is left behind.
    """
    with atomic_dir(out) as tmp:
        writer = RunFolderWriter(tmp, scenario, keep_series=keep_series, csv=csv)
        try:
            yield writer
        finally:
            writer.close()


def write_run_folder(
    out: Path,
    scenario: Scenario,
    results: list[RunResult],
    overrides: list[str],
    source: str,
    csv: bool = False,
    plots: bool = True,
    extra: dict | None = None,
    keep_series: bool = True,
    png: bool = True,
) -> Path:
    """Write a complete results folder from results already in memory, atomically; returns its path.

    Every replication's series are kept unless ``keep_series`` is False. ``extra`` entries are
    added to ``summary.json``; ``png`` writes the static series panels too.
    """
    with run_folder(out, scenario, keep_series=keep_series, csv=csv) as writer:
        for r in results:
            writer.add(r)
        writer.finish(overrides, source, extra, plots, png=png)
    return Path(out)
