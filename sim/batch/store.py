"""The sweep's folder on disk: part files written as runs finish, merged at the end.

Layout of an output folder::

    runs/part-SSS-NNNNNN.parquet     runs finished in a stretch of the sweep (session SSS, part N)
    series/points/<point key>.parquet    quantiles of one design point's series
    series/blocks/<point key>-SSS-NNNNNN.{npy,json}  raw series of a split point's block,
                                     kept until all the point's replications are in
    runs.parquet, series.parquet, points.csv   merged results (see :mod:`sim.batch.outputs`)

Every file is written to a temporary name and renamed, so a killed driver leaves only
whole files behind. Part files are the source of truth for ``--resume``: a run is on
disk when its run key is in a part (the latest part wins when a run was retried).

The store takes the plan (run keys, tasks) and the workers' results; it tells the plan
what is on disk (:meth:`Store.on_disk`) as plain data, and :class:`Recorder` is the sink
the runner hands each finished task to.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.batch.plan import OnDisk, Plan
from sim.batch.worker import SeriesLayout, TaskResult, reduce_quantiles

_PART = re.compile(r"part-(\d{3,})-(\d{6,})\.parquet$")
#: Bytes of raw series held in memory at once when reducing a split point.
REDUCE_BYTES = 64 * 2**20
#: Finished runs are written as a part once this many are waiting ...
PART_ROWS = 1000
#: ... or this many seconds after the last part: what a killed driver can lose at most.
PART_SECONDS = 10.0


def _atomic(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Store:
    """Reads and writes the part files of one output folder."""

    def __init__(self, out: Path):
        self.out = Path(out)
        self.runs_dir = self.out / "runs"
        self.points_dir = self.out / "series" / "points"
        self.blocks_dir = self.out / "series" / "blocks"

    def create(self) -> None:
        for d in (self.runs_dir, self.points_dir, self.blocks_dir):
            d.mkdir(parents=True, exist_ok=True)

    def has_results(self) -> bool:
        """True when the folder already holds run parts of some sweep."""
        return self.runs_dir.is_dir() and any(self.runs_dir.glob("part-*.parquet"))

    # ------------------------------------------------------------------ runs

    def parts(self) -> list[Path]:
        """Run part files in the order they were written."""
        if not self.runs_dir.is_dir():
            return []
        return sorted(p for p in self.runs_dir.iterdir() if _PART.match(p.name))

    def next_session(self) -> int:
        sessions = [int(_PART.match(p.name).group(1)) for p in self.parts()]  # type: ignore[union-attr]
        return max(sessions, default=0) + 1

    def write_runs(self, rows: list[dict[str, Any]], session: int, seq: int) -> Path:
        """Write rows of finished runs as a part file."""
        df = pd.DataFrame(rows)
        df["session"] = session
        path = self.runs_dir / f"part-{session:03d}-{seq:06d}.parquet"
        _atomic(path, lambda tmp: df.to_parquet(tmp, index=False))
        return path

    def statuses(self, outcomes: list[str] | None = None) -> dict[str, str]:
        """Run key -> status of every run on disk (latest part wins).

        Args:
            outcomes: when given, parts lacking any of these KPI columns are ignored, so
                their runs count as not done (a sweep asked for new outcomes).
        """
        out: dict[str, str] = {}
        wanted = set(outcomes or ())
        for part in self.parts():
            if wanted and not wanted <= set(pq.read_schema(part).names):
                continue
            t = pq.read_table(part, columns=["run_key", "status"])
            out.update(zip(t.column("run_key").to_pylist(), t.column("status").to_pylist()))
        return out

    def on_disk(self, outcomes: list[str], series: bool) -> OnDisk:
        """What a resumed sweep finds here: run statuses and, when series are kept, their files."""
        found = OnDisk(self.statuses(outcomes))
        if series:
            found.point_series = {p.stem for p in self.points_dir.glob("*.parquet")}
            for meta_path in self.blocks_dir.glob("*.json"):
                pk = meta_path.stem.rsplit("-", 2)[0]
                found.block_reps.setdefault(pk, set()).update(json.loads(meta_path.read_text())["reps"])
        return found

    def winners(self) -> dict[str, int]:
        """Run key -> index (in :meth:`parts`) of the part holding its latest row."""
        out: dict[str, int] = {}
        for i, part in enumerate(self.parts()):
            for k in pq.read_table(part, columns=["run_key"]).column("run_key").to_pylist():
                out[k] = i
        return out

    # ------------------------------------------------------------------ series

    def point_series_path(self, point_key: str) -> Path:
        return self.points_dir / f"{point_key}.parquet"

    def has_point_series(self, point_key: str) -> bool:
        return self.point_series_path(point_key).exists()

    def write_point_series(self, point_key: str, layout: SeriesLayout | None, quantiles: np.ndarray | None,
                           n_ok: int) -> None:
        """Quantiles of a point's series (an empty table when none of its runs succeeded)."""
        if layout is None or quantiles is None:
            df = SeriesLayout("1970-01-01", 1, 0, []).table(np.zeros((5, 0), np.float32), 0)
        else:
            df = layout.table(quantiles, n_ok)
        _atomic(self.point_series_path(point_key), lambda tmp: df.to_parquet(tmp, index=False))

    def write_block(self, point_key: str, session: int, seq: int, reps: list[int], ok_reps: list[int],
                    raw: np.ndarray | None, layout: SeriesLayout | None) -> None:
        """Raw series of a block of a split point; the JSON sidecar, written last, marks it whole."""
        stem = f"{point_key}-{session:03d}-{seq:06d}"
        if raw is not None and len(ok_reps):
            def save(tmp: str) -> None:
                with open(tmp, "wb") as f:
                    np.save(f, raw)

            _atomic(self.blocks_dir / f"{stem}.npy", save)
        meta = {"reps": list(reps), "ok_reps": list(ok_reps), "layout": layout.to_dict() if layout else None}
        _atomic(self.blocks_dir / f"{stem}.json", lambda tmp: Path(tmp).write_text(json.dumps(meta)))

    def blocks(self, point_key: str) -> Iterator[tuple[dict[str, Any], Path]]:
        """(metadata, raw file) of each whole block of a point, oldest first."""
        if not self.blocks_dir.is_dir():
            return
        for meta_path in sorted(self.blocks_dir.glob(f"{point_key}-*.json")):
            yield json.loads(meta_path.read_text()), meta_path.with_suffix(".npy")

    def block_reps(self, point_key: str) -> set[int]:
        """Replications of a point whose series sit in blocks on disk."""
        out: set[int] = set()
        for meta, _ in self.blocks(point_key):
            out.update(meta["reps"])
        return out

    def reduce_point(self, point_key: str, reps: int) -> int:
        """Quantiles of a split point from its blocks, a slice of columns at a time.

        Returns:
            Number of successful runs the quantiles are over.
        """
        source: dict[int, tuple[np.ndarray, int]] = {}
        layout = None
        for meta, raw_path in self.blocks(point_key):
            for r in meta["reps"]:
                source.pop(r, None)
            if meta["ok_reps"]:
                arr = np.load(raw_path, mmap_mode="r")
                layout = SeriesLayout.from_dict(meta["layout"])
                for row, r in enumerate(meta["ok_reps"]):
                    source[r] = (arr, row)
        order = [r for r in range(reps) if r in source]
        if layout is None or not order:
            self.write_point_series(point_key, None, None, 0)
        else:
            width = source[order[0]][0].shape[1]
            step = max(1, REDUCE_BYTES // (4 * len(order)))
            q = np.empty((5, width), dtype=np.float32)
            for j in range(0, width, step):
                mat = np.stack([source[r][0][source[r][1], j:j + step] for r in order])
                q[:, j:j + step] = reduce_quantiles(mat)
            self.write_point_series(point_key, layout, q, len(order))
        source.clear()
        for meta_path in self.blocks_dir.glob(f"{point_key}-*"):
            meta_path.unlink(missing_ok=True)
        return len(order)


class Recorder:
    """The runner's sink: writes each finished task's series as it comes, its runs in parts.

    Runs wait in memory until ``PART_ROWS`` are waiting or ``PART_SECONDS`` have passed
    since the last part, then go to disk as one part: a part per task would cost the
    driver a file write per run when design points have one replication each, and the
    merge a file read. :meth:`flush` writes what waits (the sweep calls it however the
    run ends). A split point's quantiles are reduced once its last block is in. A lost
    task (its worker died) leaves no series, so its point is reduced after it runs again.
    """

    def __init__(self, plan: Plan, store: Store, session: int):
        self.plan, self.store, self.session = plan, store, session
        self.seq = 0
        self.parts = 0
        self.pending = {p: set(reps) for p, reps in plan.pending_reps.items()}
        self.waiting: list[dict[str, Any]] = []
        self.last_part = time.monotonic()

    def reduce_ready(self) -> None:
        """Quantiles of split points whose blocks were all on disk before this session."""
        for point in self.plan.to_reduce:
            self.store.reduce_point(self.plan.point_keys[point], self.plan.sweep.spec.replications)

    def __call__(self, result: TaskResult) -> None:
        self.seq += 1
        task = result.task
        pk = self.plan.point_keys[task.point]
        lost = result.lost
        if self.plan.sweep.series and not lost:
            if task.whole_point:
                self.store.write_point_series(pk, result.layout, result.quantiles, len(result.ok_reps))
            else:
                self.store.write_block(pk, self.session, self.seq, list(task.reps), result.ok_reps, result.raw,
                                       result.layout)
        self.waiting.extend(result.rows)
        if len(self.waiting) >= PART_ROWS or time.monotonic() - self.last_part >= PART_SECONDS:
            self.flush()
        pending = self.pending.get(task.point)
        if pending is not None and not lost:
            pending.difference_update(task.reps)
            if not pending:
                self.store.reduce_point(pk, self.plan.sweep.spec.replications)

    def flush(self) -> None:
        """Write the runs waiting as one part."""
        if self.waiting:
            self.parts += 1
            self.store.write_runs(self.waiting, self.session, self.parts)
            self.waiting = []
        self.last_part = time.monotonic()


def write_table_stream(path: Path, schema: pa.Schema, tables: Iterator[pa.Table]) -> int:
    """Write tables one after another into one parquet file (atomically); returns rows written."""
    rows = 0

    def write(tmp: str) -> None:
        nonlocal rows
        with pq.ParquetWriter(tmp, schema, compression="zstd") as w:
            for t in tables:
                w.write_table(t)
                rows += t.num_rows

    _atomic(Path(path), write)
    return rows
