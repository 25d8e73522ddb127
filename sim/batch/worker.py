"""What a worker does with one task: build the point's scenario once, run its replications.

A task is one design point and a block of its replications. The worker returns one row
per run (KPIs, status, error, runtime) and the run's chosen daily series flattened into
one float32 vector per run. When the task holds all of a point's replications it reduces
them to quantiles itself, so only five vectors travel back instead of one per run.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sim.batch.design import point_data
from sim.batch.plan import Task
from sim.metrics.stats import FAN_QUANTILES
from sim.model.world import ARMS

#: Longest error message kept in runs.parquet.
MAX_ERROR_CHARS = 2000
#: Commodity label of programme-level series (finance columns such as debt_usd).
FINANCE_LABEL = "finance"
#: Test hook: a worker process given this design point dies on the spot (never set it in use).
KILL_ENV = "VAULTSIM_BATCH_TEST_KILL_POINT"


@dataclass
class SeriesLayout:
    """How a run's series vector is laid out: blocks of ``n_steps`` values each."""

    start_date: str
    step_days: int
    n_steps: int
    blocks: list[tuple[str, str, str]] = field(default_factory=list)  # (variable, commodity, arm)

    def to_dict(self) -> dict[str, Any]:
        return {"start_date": self.start_date, "step_days": self.step_days, "n_steps": self.n_steps,
                "blocks": [list(b) for b in self.blocks]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SeriesLayout:
        return cls(d["start_date"], int(d["step_days"]), int(d["n_steps"]), [tuple(b) for b in d["blocks"]])

    def table(self, quantiles: np.ndarray, n_ok: int) -> pd.DataFrame:
        """Long table: one row per (variable, commodity, arm, step) with q05..q95 and n."""
        nb, T = len(self.blocks), self.n_steps
        day = np.arange(T, dtype=np.int32) * self.step_days
        start = np.datetime64(self.start_date, "D")
        cols: dict[str, Any] = {
            "variable": np.repeat([b[0] for b in self.blocks], T),
            "commodity": np.repeat([b[1] for b in self.blocks], T),
            "arm": np.repeat([b[2] for b in self.blocks], T),
            "day": np.tile(day, nb),
            "date": np.tile(start + day.astype("timedelta64[D]"), nb),
        }
        for q, row in zip(FAN_QUANTILES, quantiles):
            cols[quantile_column(q)] = row.astype(np.float32)
        cols["n"] = np.full(nb * T, n_ok, dtype=np.int32)
        return pd.DataFrame(cols)


@dataclass
class TaskResult:
    """Rows of a task's runs and its series (quantiles, or raw vectors of ok runs)."""

    task: Task
    rows: list[dict[str, Any]]
    layout: SeriesLayout | None = None
    quantiles: np.ndarray | None = None
    raw: np.ndarray | None = None
    ok_reps: list[int] = field(default_factory=list)

    @property
    def lost(self) -> bool:
        """The task's worker died: nothing of it is known, not even its series."""
        return any(r["status"] == "lost" for r in self.rows)


def quantile_column(q: float) -> str:
    """``0.05 -> 'q05'``."""
    return f"q{round(q * 100):02d}"


def _block_mean(x: np.ndarray, step: int) -> np.ndarray:
    if step == 1:
        return x
    starts = np.arange(0, x.shape[-1], step)
    counts = np.diff(np.append(starts, x.shape[-1]))
    return np.add.reduceat(x, starts, axis=-1) / counts


def series_vector(result: Any, names: tuple[str, ...], step: int, start_date: str) -> tuple[np.ndarray, SeriesLayout]:
    """One run's chosen series as a float32 vector and its layout."""
    rec = getattr(result, "series", None)
    if rec is not None and all(n in rec.names or n in result.finance.columns for n in names):
        return _record_vector(rec, result.finance, names, step, start_date)
    ts, fin = result.timeseries, result.finance
    arm, com = pd.Categorical(ts["arm"]), pd.Categorical(ts["commodity"])
    arms = [str(a) for a in arm.categories]
    comms = [str(c) for c in com.categories]
    A, C = len(arms), len(comms)
    H = int(ts["day"].max()) + 1 if len(ts) else 0
    idx = (arm.codes.astype(np.int64) * C + com.codes.astype(np.int64)) * H
    idx += ts["day"].to_numpy(np.int64)
    n_steps = -(-H // step)
    layout = SeriesLayout(start_date, step, n_steps)
    parts = []
    for name in names:
        if name in ts.columns:
            grid = np.full(A * C * H, np.nan)
            grid[idx] = ts[name].to_numpy(float)
            parts.append(_block_mean(grid.reshape(A * C, H), step).reshape(-1))
            layout.blocks.extend((name, c, a) for a in arms for c in comms)
        else:
            parts.append(_block_mean(fin[name].to_numpy(float), step))
            layout.blocks.append((name, FINANCE_LABEL, "reserve"))
    vec = np.concatenate(parts) if parts else np.zeros(0)
    return vec.astype(np.float32), layout


def _record_vector(rec: Any, fin: pd.DataFrame, names: tuple[str, ...], step: int,
                   start_date: str) -> tuple[np.ndarray, SeriesLayout]:
    """:func:`series_vector` from the recorded arrays (``RunResult.series``), without the long table."""
    _, H, A, C = rec.values.shape
    arms = list(ARMS[:A])
    layout = SeriesLayout(start_date, step, -(-H // step))
    index = {name: i for i, name in enumerate(rec.names)}
    parts = []
    for name in names:
        if name in index:
            grid = rec.values[index[name]].transpose(1, 2, 0).reshape(A * C, H)  # [arm x commodity, day]
            parts.append(_block_mean(grid, step).reshape(-1))
            layout.blocks.extend((name, c, a) for a in arms for c in rec.commodity_ids)
        else:
            parts.append(_block_mean(fin[name].to_numpy(float), step))
            layout.blocks.append((name, FINANCE_LABEL, "reserve"))
    vec = np.concatenate(parts) if parts else np.zeros(0)
    return vec.astype(np.float32), layout


def reduce_quantiles(mat: np.ndarray) -> np.ndarray:
    """Quantiles (``FAN_QUANTILES``) over runs (axis 0) of float32 vectors; NaN if no runs."""
    if mat.shape[0] == 0:
        return np.full((len(FAN_QUANTILES), mat.shape[1]), np.nan, dtype=np.float32)
    return np.quantile(mat, FAN_QUANTILES, axis=0).astype(np.float32)


def error_text(exc: BaseException) -> str:
    """An exception as one line for runs.parquet: type, message and, unless a ValueError, where."""
    text = f"{type(exc).__name__}: {exc}"
    if not isinstance(exc, ValueError):
        tb = traceback.extract_tb(exc.__traceback__)
        if tb:
            last = tb[-1]
            text += f" (at {os.path.basename(last.filename)}:{last.lineno})"
    return text[:MAX_ERROR_CHARS]


def _row(task: Task, i: int, status: str, error: str = "", runtime: float = 0.0) -> dict[str, Any]:
    # outcome columns are present (empty) even for failures: a part's columns say which
    # outcomes its runs answer, which --resume checks
    row: dict[str, Any] = {"run_key": task.keys[i], "replication": task.reps[i], "status": status, "error": error,
                           "runtime_s": runtime, "worker": f"{socket.gethostname()}:{os.getpid()}"}
    row.update(dict.fromkeys(task.outcomes, float("nan")))
    return row


def failed_rows(task: Task, status: str, error: str) -> list[dict[str, Any]]:
    """Rows recording that every run of ``task`` failed (or was lost) with ``error``."""
    return [_row(task, i, status, error[:MAX_ERROR_CHARS]) for i in range(len(task.reps))]


def execute_task(base: dict[str, Any], task: Task) -> TaskResult:
    """Run every replication of ``task`` on the point's scenario (validated once).

    A run that raises is recorded with its error and the others go on; a point whose
    scenario does not validate records all its runs as failed with the located message.
    """
    from sim.core.rng import keep_noise
    from sim.scenario.loader import validate_data
    from sim.simulation.simulate import simulate

    if os.environ.get(KILL_ENV) == str(task.point):
        os._exit(70)
    try:
        scenario = validate_data(point_data(base, task.overrides), source="<design point>")
    except ValueError as exc:
        return TaskResult(task, failed_rows(task, "failed", f"invalid design point: {exc}"))
    start = dt.date.isoformat(scenario.run.start_date)
    rows: list[dict[str, Any]] = []
    vectors: list[np.ndarray] = []
    ok_reps: list[int] = []
    layout: SeriesLayout | None = None
    for i, rep in enumerate(task.reps):
        t0 = time.perf_counter()
        try:
            with keep_noise():  # the next design points draw the same noise (common random numbers)
                result = simulate(scenario, seed=task.seed, replication=rep)
            if task.series:
                vec, layout = series_vector(result, task.series, task.step_days, start)
        except Exception as exc:  # noqa: BLE001 - a failing run is data, the sweep goes on
            rows.append(_row(task, i, "failed", error_text(exc), time.perf_counter() - t0))
            continue
        row = _row(task, i, "ok", "", time.perf_counter() - t0)
        if task.outcomes:
            row.update((k, result.summary.get(k)) for k in task.outcomes)
        else:
            row.update(result.summary)
        rows.append(row)
        if task.series:
            vectors.append(vec)
            ok_reps.append(rep)
    out = TaskResult(task, rows, layout, ok_reps=ok_reps)
    if task.series and layout is not None:
        mat = np.stack(vectors)
        if task.whole_point:
            out.quantiles = reduce_quantiles(mat)
        else:
            out.raw = mat
    return out
