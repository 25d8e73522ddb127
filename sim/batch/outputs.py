"""Merged outputs of a sweep: runs.parquet, series.parquet, points.csv, summary.json.

Merging streams the part files one at a time into a ``ParquetWriter``; per-point
statistics of the outcomes are accumulated on the way (shifted sums, so large USD values
keep their precision), so nothing here holds all runs in memory.

Files written into the output folder:

- ``runs.parquet``: one row per run: ``run_id`` (point x replications + replication),
  ``point``, ``replication``, ``seed``, ``run_key``, ``lever.<path>`` and
  ``uncertainty.<path>`` values, every kept KPI, ``status`` (ok, failed, lost),
  ``error``, ``runtime_s``, ``worker``, ``session``.
- ``series.parquet``: per point, variable, commodity, arm and day, the quantiles
  ``q05 q25 q50 q75 q95`` of the series across the point's replications, and ``n``.
- ``points.csv``: per point, its settings, run counts and each KPI's mean, sd, n and
  95% confidence interval.
- ``sweep.resolved.yaml`` + ``scenario.resolved.yaml``: rerunnable copies of the inputs.
- ``summary.json``: counts, failures and where everything is (written by
  :func:`sim.batch.sweep.finalize`, with the sensitivity indices and plots).

Each function takes the resolved sweep (or the plan made from it) and the store, and
returns what the reports after it need (the per-point statistics, the points table).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from scipy import stats as _st

from sim.batch.plan import Plan
from sim.batch.spec import ResolvedSweep
from sim.batch.store import Store, _atomic, write_table_stream
from sim.batch.worker import quantile_column
from sim.metrics.stats import FAN_QUANTILES
from sim.report.results import write_atomic

#: Failed runs quoted in the summary.
ERRORS_QUOTED = 5


def _arrow_type(values: list[Any]) -> pa.DataType:
    vals = [v for v in values if v is not None]
    if vals and all(isinstance(v, bool) for v in vals):
        return pa.bool_()
    if vals and all(isinstance(v, int) and not isinstance(v, bool) for v in vals) and len(vals) == len(values):
        return pa.int64()
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals):
        return pa.float64()
    return pa.string()


def _cell(v: Any, typ: pa.DataType) -> Any:
    if typ == pa.string() and not isinstance(v, str) and v is not None:
        return json.dumps(v)
    return v


def param_types(sweep: ResolvedSweep) -> dict[str, pa.DataType]:
    """Arrow type of each lever and uncertainty column (non-scalars become JSON text)."""
    d = sweep.design
    out = {}
    for i, n in enumerate(d.levers):
        out[n] = _arrow_type([c[i] for c in d.combos])
    for j, n in enumerate(d.uncertainties):
        out[n] = _arrow_type([s[j] for s in d.samples])
    return out


def write_resolved(sweep: ResolvedSweep, out: Path) -> None:
    """``scenario.resolved.yaml`` (base with ``set`` applied) and ``sweep.resolved.yaml``."""
    import yaml

    head = f"# Base scenario of sweep {sweep.name} ({sweep.base_path}) with set {json.dumps(sweep.spec.set_)}\n"
    write_atomic(out / "scenario.resolved.yaml", head + yaml.safe_dump(sweep.base, sort_keys=False, allow_unicode=True))
    write_atomic(out / "sweep.resolved.yaml", sweep.resolved_yaml("scenario.resolved.yaml"))


# --------------------------------------------------------------------------- runs


class _PointStats:
    """Per-point shifted sums of each outcome over ok runs."""

    def __init__(self, n_points: int, n_out: int):
        self.shift = np.full((n_points, n_out), np.nan)
        self.s1 = np.zeros((n_points, n_out))
        self.s2 = np.zeros((n_points, n_out))
        self.n = np.zeros((n_points, n_out), dtype=np.int64)
        self.counts = np.zeros((n_points, 3), dtype=np.int64)  # ok, failed, lost

    def add(self, points: np.ndarray, x: np.ndarray) -> None:
        for p in np.unique(points):
            rows = x[points == p]
            first = rows[np.argmax(~np.isnan(rows), axis=0), np.arange(rows.shape[1])]
            self.shift[p] = np.where(np.isnan(self.shift[p]), first, self.shift[p])
            d = rows - self.shift[p]
            ok = ~np.isnan(d)
            self.s1[p] += np.where(ok, d, 0).sum(0)
            self.s2[p] += np.where(ok, d * d, 0).sum(0)
            self.n[p] += ok.sum(0)

    def table(self) -> dict[str, np.ndarray]:
        """mean, sd, n, ci_low, ci_high arrays [points, outcomes]."""
        n = self.n.astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = self.shift + self.s1 / n
            var = np.where(n > 1, (self.s2 - self.s1**2 / n) / (n - 1), 0.0)
            sd = np.sqrt(np.maximum(var, 0.0))
            half = np.where(n > 1, _st.t.ppf(0.975, np.maximum(n - 1, 1)) * sd / np.sqrt(n), 0.0)
        mean = np.where(n > 0, mean, np.nan)
        return {"mean": mean, "sd": np.where(n > 0, sd, np.nan), "n": self.n,
                "ci_low": mean - half, "ci_high": mean + half}


def runs_schema(sweep: ResolvedSweep) -> pa.Schema:
    """Columns and types of runs.parquet."""
    cols = sweep.param_columns
    types = param_types(sweep)
    fields = [pa.field(n, pa.int64()) for n in ("run_id", "point", "replication", "seed")]
    fields.append(pa.field("run_key", pa.string()))
    fields += [pa.field(cols[n], types[n]) for n in cols]
    fields += [pa.field(k, pa.float64()) for k in sweep.outcomes]
    fields += [pa.field("status", pa.string()), pa.field("error", pa.string()),
               pa.field("runtime_s", pa.float64()), pa.field("worker", pa.string()), pa.field("session", pa.int64())]
    return pa.schema(fields)


@dataclass
class Summary:
    """What the merged outputs hold."""

    out: str
    runs: int = 0
    ok: int = 0
    failed: int = 0
    lost: int = 0
    missing: int = 0
    points: int = 0
    points_without_series: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


def merge_runs(plan: Plan, store: Store, out: Path, summary: Summary) -> _PointStats:
    """Write runs.parquet from the part files (latest row of each planned run)."""
    sweep = plan.sweep
    schema = runs_schema(sweep)
    parts = store.parts()
    winners = store.winners()
    first: dict[int, int] = {}
    for key, part in winners.items():
        for where in plan.run_keys.get(key, ()):
            rid = plan.run_id(*where)
            first[part] = min(first.get(part, rid), rid)
    order = sorted(first, key=first.get)
    stats = _PointStats(sweep.design.n_points, len(sweep.outcomes))
    cols = sweep.param_columns
    types = param_types(sweep)
    last_id = -1
    sorted_ok = True

    def tables() -> Iterator[pa.Table]:
        nonlocal last_id, sorted_ok
        for i in order:
            df = pd.read_parquet(parts[i])
            rows, where = [], []
            for j, k in enumerate(df["run_key"]):
                if winners.get(k) == i:
                    for w in plan.run_keys.get(k, ()):
                        rows.append(j)
                        where.append(w)
            df = df.iloc[rows].reset_index(drop=True)
            df["point"] = [w[0] for w in where]
            df["replication"] = [w[1] for w in where]
            df["run_id"] = [plan.run_id(*w) for w in where]
            df["seed"] = sweep.seed
            df = df.sort_values("run_id")
            values = [sweep.design.values(p) for p in df["point"]]
            for name, col in cols.items():
                df[col] = [_cell(v[name], types[name]) for v in values]
            for k in sweep.outcomes:
                df[k] = pd.to_numeric(df[k], errors="coerce") if k in df.columns else np.nan
            status = df["status"].to_numpy()
            ok = status == "ok"
            stats.add(df["point"].to_numpy()[ok], df.loc[ok, sweep.outcomes].to_numpy(float))
            for j, s in enumerate(("ok", "failed", "lost")):
                np.add.at(stats.counts[:, j], df["point"].to_numpy()[status == s], 1)
            for _, r in df.loc[status != "ok"].head(ERRORS_QUOTED - len(summary.errors)).iterrows():
                summary.errors.append({"run_id": int(r["run_id"]), "point": int(r["point"]),
                                       "replication": int(r["replication"]), "status": r["status"],
                                       "error": r["error"]})
            if len(df):
                sorted_ok &= int(df["run_id"].iloc[0]) > last_id
                last_id = int(df["run_id"].iloc[-1])
            yield pa.Table.from_pandas(df[schema.names], schema=schema, preserve_index=False)

    path = out / "runs.parquet"
    summary.runs = write_table_stream(path, schema, tables())
    if not sorted_ok:
        # Only after retries interleave sessions; a rare whole-file pass keeps rows in run order.
        t = pq.read_table(path).sort_by("run_id")
        _atomic(path, lambda tmp: pq.write_table(t, tmp, compression="zstd"))
    summary.ok, summary.failed, summary.lost = (int(x) for x in stats.counts.sum(0))
    summary.missing = plan.total_runs - summary.runs
    return stats


# --------------------------------------------------------------------------- series


SERIES_SCHEMA = pa.schema(
    [pa.field("point", pa.int32()), pa.field("variable", pa.string()), pa.field("commodity", pa.string()),
     pa.field("arm", pa.string()), pa.field("day", pa.int32()), pa.field("date", pa.date32())]
    + [pa.field(quantile_column(q), pa.float32()) for q in FAN_QUANTILES]
    + [pa.field("n", pa.int32())]
)


def merge_series(plan: Plan, store: Store, out: Path, summary: Summary) -> None:
    """Write series.parquet from the per-point quantile files, in point order."""
    if not plan.sweep.series:
        return

    def tables() -> Iterator[pa.Table]:
        for point, pk in enumerate(plan.point_keys):
            path = store.point_series_path(pk)
            if not path.exists():
                summary.points_without_series += 1
                continue
            t = pq.read_table(path)
            if t.num_rows == 0:
                continue
            t = t.append_column("point", pa.array(np.full(t.num_rows, point, dtype=np.int32)))
            t = t.set_column(t.schema.get_field_index("date"), "date", t.column("date").cast(pa.date32()))
            yield t.select(SERIES_SCHEMA.names).cast(SERIES_SCHEMA)

    write_table_stream(out / "series.parquet", SERIES_SCHEMA, tables())


# --------------------------------------------------------------------------- points


def points_table(sweep: ResolvedSweep, stats: _PointStats) -> pd.DataFrame:
    """One row per design point: settings, run counts, and mean/sd/n/CI of each outcome."""
    d = sweep.design
    cols = sweep.param_columns
    types = param_types(sweep)
    data: dict[str, Any] = {"point": np.arange(d.n_points)}
    values = [d.values(p) for p in range(d.n_points)]
    for name, col in cols.items():
        data[col] = [_cell(v[name], types[name]) for v in values]
    for j, s in enumerate(("ok", "failed", "lost")):
        data[f"n_{s}"] = stats.counts[:, j]
    tab = stats.table()
    for k, key in enumerate(sweep.outcomes):
        for stat in ("mean", "sd", "n", "ci_low", "ci_high"):
            data[f"{key}.{stat}"] = tab[stat][:, k]
    return pd.DataFrame(data)
