"""Inputs of a comparison: results folders (read and checked) and scenario files (run first).

Every input is checked before anything is run or written, so a bad input costs nothing: a
folder must hold the files ``run`` writes, a file must be a scenario YAML, and all runs must
cover the same commodities, start date and horizon so that their KPIs and time axes line up.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import yaml

from sim.report.bands import Bands
from sim.scenario.loader import load_scenario
from sim.scenario.schema import Scenario

#: Files a results folder must hold to be compared.
REQUIRED_FILES = ("summary.json", "kpis.csv", "scenario.resolved.yaml", "timeseries.parquet", "events.csv")
#: Bands over replications (a folder written before it existed has every replication's series).
BANDS_FILE = "series_quantiles.parquet"
#: Keys ``summary.json`` must have.
SUMMARY_KEYS = ("kpis", "seed", "replications", "start_date", "horizon_days")
#: Time-series columns the comparison plots read.
TS_COLUMNS = ("replication", "date", "commodity", "arm", "reserve_stock_t", "shortfall_t", "price_usd_per_t")
SCENARIO_SUFFIXES = (".yaml", ".yml")


class CompareError(Exception):
    """An input that cannot be compared; the message names the input and what is wrong."""


@dataclass
class RunData:
    """One results folder, read and checked.

    Attributes:
        label: name shown in tables, legends and the report.
        path: the results folder.
        origin: the command-line argument it came from (a folder or a scenario file).
        summary: ``summary.json``.
        kpis: ``kpis.csv``, one row per replication.
        meta: ``meta`` of ``scenario.resolved.yaml``.
        commodities: commodity ids in scenario order.
        commodity_names: commodity id -> display name.
        shock_commodities: shock id -> commodities it touches (for shading plots).

    """

    label: str
    path: Path
    origin: str
    summary: dict[str, Any]
    kpis: pd.DataFrame
    meta: dict[str, Any]
    commodities: list[str]
    commodity_names: dict[str, str] = field(default_factory=dict)
    shock_commodities: dict[str, list[str]] = field(default_factory=dict)
    _ts: pd.DataFrame | None = field(default=None, repr=False)
    _bands: Bands | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        """Scenario name."""
        return str(self.summary.get("scenario") or self.meta.get("name") or self.path.name)

    @property
    def seed(self) -> int:
        """Root seed of the run."""
        return int(self.summary["seed"])

    @property
    def replication_ids(self) -> list[int]:
        """Replication indices present in ``kpis.csv``."""
        return sorted(int(r) for r in self.kpis["replication"])

    @property
    def start_date(self) -> str:
        """Calendar date of day 0 (ISO)."""
        return str(self.summary["start_date"])

    @property
    def horizon_days(self) -> int:
        """Simulated days."""
        return int(self.summary["horizon_days"])

    def timeseries(self) -> pd.DataFrame:
        """The columns of ``timeseries.parquet`` the plots need (read once, then cached)."""
        if self._ts is None:
            self._ts = pd.read_parquet(self.path / "timeseries.parquet", columns=list(TS_COLUMNS))
        return self._ts

    def has_every_series(self) -> bool:
        """Whether ``timeseries.parquet`` holds every replication (``run --keep-series``), or there are no bands."""
        if not (self.path / BANDS_FILE).is_file():
            return True
        return set(self.replication_ids) <= set(int(r) for r in self.timeseries()["replication"].unique())

    def bands(self) -> Bands:
        """``series_quantiles.parquet``: bands over every replication (read once, then cached)."""
        if self._bands is None:
            self._bands = Bands.read(self.path / BANDS_FILE)
        return self._bands

    def kpi_values(self, kpi: str) -> pd.Series:
        """Per-replication values of one KPI, indexed by replication (NaN when absent)."""
        if kpi not in self.kpis.columns:
            return pd.Series(math.nan, index=self.kpis["replication"].astype(int), dtype=float)
        values = pd.to_numeric(self.kpis[kpi], errors="coerce").astype(float)
        return pd.Series(values.to_numpy(), index=self.kpis["replication"].astype(int).to_numpy())


@dataclass
class PendingScenario:
    """A scenario file to be run before comparing: validated, not yet run."""

    origin: str
    path: Path
    scenario: Scenario

    @property
    def name(self) -> str:
        """Scenario name."""
        return self.scenario.meta.name

    @property
    def commodities(self) -> list[str]:
        """Commodity ids in scenario order."""
        return list(self.scenario.commodities)

    @property
    def start_date(self) -> str:
        """Calendar date of day 0 (ISO)."""
        return self.scenario.run.start_date.isoformat()

    @property
    def horizon_days(self) -> int:
        """Simulated days."""
        return self.scenario.run.horizon_days


Input = RunData | PendingScenario


def _where(arg: str) -> str:
    return f"'{arg}'"


def load_folder(arg: str, label: str = "") -> RunData:
    """Read and check a results folder written by ``run``.

    Raises:
        CompareError: naming the folder and the missing or unreadable file.

    """
    folder = Path(arg)
    missing = [f for f in REQUIRED_FILES if not (folder / f).is_file()]
    if missing:
        raise CompareError(
            f"results folder {_where(arg)} is missing {', '.join(missing)} "
            f"(expected the files `python run.py run` writes: {', '.join(REQUIRED_FILES)})"
        )
    try:
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CompareError(f"results folder {_where(arg)}: summary.json cannot be read: {e}") from None
    if not isinstance(summary, dict) or any(k not in summary for k in SUMMARY_KEYS):
        need = ", ".join(k for k in SUMMARY_KEYS if not isinstance(summary, dict) or k not in summary)
        raise CompareError(f"results folder {_where(arg)}: summary.json lacks {need}")
    try:
        kpis = pd.read_csv(folder / "kpis.csv")
    except (OSError, ValueError) as e:
        raise CompareError(f"results folder {_where(arg)}: kpis.csv cannot be read: {e}") from None
    if "replication" not in kpis.columns or kpis.empty:
        raise CompareError(f"results folder {_where(arg)}: kpis.csv has no 'replication' column or no rows")
    try:
        resolved = yaml.safe_load((folder / "scenario.resolved.yaml").read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise CompareError(f"results folder {_where(arg)}: scenario.resolved.yaml cannot be read: {e}") from None
    if not isinstance(resolved, dict) or not isinstance(resolved.get("commodities"), dict):
        raise CompareError(f"results folder {_where(arg)}: scenario.resolved.yaml has no commodities section")
    try:
        columns = set(pq.read_schema(folder / "timeseries.parquet").names)
    except Exception as e:  # noqa: BLE001 - pyarrow raises several types for a damaged file
        raise CompareError(f"results folder {_where(arg)}: timeseries.parquet cannot be read: {e}") from None
    lacking = [c for c in TS_COLUMNS if c not in columns]
    if lacking:
        raise CompareError(f"results folder {_where(arg)}: timeseries.parquet lacks columns {', '.join(lacking)}")
    meta = resolved.get("meta") if isinstance(resolved.get("meta"), dict) else {}
    return RunData(
        label=label,
        path=folder,
        origin=arg,
        summary=summary,
        kpis=kpis,
        meta=meta,
        commodities=[str(c) for c in resolved["commodities"]],
        commodity_names={str(c): str((v or {}).get("name") or c) for c, v in resolved["commodities"].items()},
        shock_commodities=_shock_map(resolved),
    )


def _shock_map(resolved: dict[str, Any]) -> dict[str, list[str]]:
    """Shock id (or logged regime source) -> commodities, through suppliers for supplier outages."""
    suppliers = resolved.get("suppliers") or {}
    out: dict[str, list[str]] = {}
    for sid, shock in (resolved.get("shocks") or {}).items():
        if not isinstance(shock, dict):
            continue
        if shock.get("kind") == "restriction_regime":
            # a regime logs each segment as "<shock id>:<country>:<commodity>"
            for country, cells in (shock.get("countries") or {}).items():
                for c in (cells or {}).get("commodities") or []:
                    out[f"{sid}:{country}:{c}"] = [str(c)]
            continue
        comms = list(shock.get("commodities") or [])
        for s in shock.get("suppliers") or []:
            c = (suppliers.get(s) or {}).get("commodity")
            if c and c not in comms:
                comms.append(c)
        out[str(sid)] = [str(c) for c in comms]
    return out


def classify(args: Sequence[str], overrides: list[str]) -> list[Input]:
    """Read every folder and validate every scenario file named on the command line.

    Raises:
        CompareError: for a path that does not exist, is neither a folder nor a YAML file,
            or is a folder without the expected files.
        ScenarioError: for an invalid scenario file (with located problems).

    """
    items: list[Input] = []
    for arg in args:
        p = Path(arg)
        if p.is_dir():
            items.append(load_folder(arg))
        elif p.is_file() and p.suffix.lower() in SCENARIO_SUFFIXES:
            items.append(PendingScenario(arg, p, load_scenario(p, overrides)))
        elif p.exists():
            raise CompareError(f"{_where(arg)} is neither a results folder nor a scenario file (.yaml/.yml)")
        else:
            raise CompareError(f"{_where(arg)} does not exist (expected a results folder or a scenario file)")
    return items


def check_compatible(items: Sequence[Input], labels: Sequence[str]) -> None:
    """Refuse runs whose commodities, start date or horizon differ from the first one's.

    Raises:
        CompareError: naming both inputs and the difference.

    """
    base = items[0]
    for item, label in zip(items[1:], labels[1:]):
        for what, mine, theirs in (
            ("commodities", sorted(item.commodities), sorted(base.commodities)),
            ("start date", item.start_date, base.start_date),
            ("horizon (days)", item.horizon_days, base.horizon_days),
        ):
            if mine != theirs:
                raise CompareError(
                    f"{_where(item.origin)} ({label}) is not comparable with the baseline {_where(base.origin)} "
                    f"({labels[0]}): {what} {mine} vs {theirs}; compared runs must share commodities, "
                    "start date and horizon"
                )


def slug(text: str) -> str:
    """A file-name-safe version of a label."""
    s = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._")
    return s or "run"


def default_labels(items: Sequence[Input]) -> list[str]:
    """Scenario names, made unique with the folder or file name, then a counter."""
    names = [i.name for i in items]
    labels = []
    for item, name in zip(items, names):
        label = name
        if names.count(name) > 1:
            label = f"{name} ({item.path.stem if isinstance(item, PendingScenario) else item.path.name})"
        labels.append(label)
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label} #{seen[label]}")
    return out


def run_scenario(
    pending: PendingScenario,
    label: str,
    seed: int,
    replications: int,
    folder: Path,
    overrides: list[str],
    progress: Callable[[int, str], Any] | None = None,
    plots: bool = True,
) -> RunData:
    """Run a scenario (replications 0..n-1 of ``seed``), write its results folder and read it back.

    Each replication goes to the folder as it finishes (every replication's series kept), so
    memory does not grow with the number of replications.
    """
    from sim.report.results import run_folder
    from sim.simulation.replications import run_replications

    bar = progress(replications, label) if progress else None
    try:
        with run_folder(folder, pending.scenario, keep_series=True) as writer:

            def done(result) -> None:
                writer.add(result)
                if bar is not None:
                    bar.update(1)

            run_replications(pending.scenario, seed, replications, on_result=done)
            writer.finish(list(overrides), str(pending.path), plots=plots)
    finally:
        if bar is not None:
            bar.close()
    run = load_folder(str(folder), label)
    run.origin = pending.origin
    return run
