"""The run plan: run keys, tasks, and what ``--resume`` still has to run.

Seeds: every run of design point ``i``, replication ``r`` uses the sweep seed and
replication index ``r``; the engine derives each stream from
``SeedSequence(seed, spawn_key=(r, stream name))``. So all design points see the same
shocks and demand in replication ``r`` (common random numbers): differences between
policies are not blurred by different luck, which is what comparisons of levers need.
Results depend only on (scenario, seed, replication), never on the worker or chunking.

A run's key hashes the resolved base scenario, the point's settings, the seed and the
replication, so a resumed (or edited) sweep reuses exactly the runs that would be the same,
and design points with identical settings share their runs.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

from sim.batch.spec import ResolvedSweep
from sim.batch.store import Store
from sim.batch.worker import Task

#: Most replications of one point sent to a worker as one task when not set in the file.
MAX_RUNS_PER_TASK = 32
#: Statuses that count as done on resume; ``lost`` (worker died) is always run again.
FINAL = ("ok", "failed")


def _h(*parts: Any) -> str:
    text = "|".join(json.dumps(p, sort_keys=True, default=str) for p in parts)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


@dataclass
class Plan:
    """Everything to run (or skip) for one invocation of a sweep."""

    sweep: ResolvedSweep
    tasks: list[Task]
    point_keys: list[str]
    run_keys: dict[str, list[tuple[int, int]]]
    total_runs: int
    skipped_runs: int
    duplicate_runs: int = 0
    pending_reps: dict[int, set[int]] = field(default_factory=dict)
    to_reduce: list[int] = field(default_factory=list)
    runs_per_task: int = 1

    def run_id(self, point: int, rep: int) -> int:
        return point * self.sweep.spec.replications + rep


def runs_per_task(sweep: ResolvedSweep, workers: int) -> int:
    """Replications per task.

    The file's ``runs_per_task`` if given; else a whole point (up to 32 replications),
    split further when there would be fewer than two tasks per worker.
    """
    R = sweep.spec.replications
    if sweep.spec.runs_per_task:
        return min(R, sweep.spec.runs_per_task)
    block = min(R, MAX_RUNS_PER_TASK)
    n_points = sweep.design.n_points
    if n_points * math.ceil(R / block) < 2 * workers:
        block = max(1, math.ceil(n_points * R / (2 * workers)))
    return min(R, block)


def make_plan(sweep: ResolvedSweep, store: Store, workers: int, resume: bool = False,
              retry_failed: bool = False) -> Plan:
    """Run keys and tasks of a sweep; with ``resume``, only what is not on disk yet.

    A run counts as done when its key is on disk with a final status (``ok`` or
    ``failed``; only ``ok`` with ``retry_failed``) in a part holding every outcome now
    asked for (parts keep only the outcomes of their sweep) and, when series are kept, its series
    are on disk too (in the point's quantiles, or in a block of a split point). A point
    whose quantiles exist but some of whose runs must run again is run whole, because
    its quantiles need every replication.
    """
    spec = sweep.spec
    R = spec.replications
    block = runs_per_task(sweep, workers)
    base_hash = sweep.base_hash
    series = tuple(sweep.series)
    accept = ("ok",) if retry_failed else FINAL
    statuses = store.statuses(sweep.outcomes) if resume else {}
    point_files = {p.stem for p in store.points_dir.glob("*.parquet")} if resume and series else set()
    block_reps: dict[str, set[int]] = {}
    if resume and series:
        for meta_path in store.blocks_dir.glob("*.json"):
            pk = meta_path.stem.rsplit("-", 2)[0]
            block_reps.setdefault(pk, set()).update(json.loads(meta_path.read_text())["reps"])
    tasks: list[Task] = []
    point_keys: list[str] = []
    run_keys: dict[str, list[tuple[int, int]]] = {}
    first_point: dict[str, int] = {}
    pending: dict[int, set[int]] = {}
    to_reduce: list[int] = []
    skipped = duplicates = 0
    for point in range(sweep.design.n_points):
        overrides = tuple(sweep.design.overrides(point))
        settings = sorted([p, v] for p, v in overrides)
        pk = _h(base_hash, settings, sweep.seed, R, series, spec.series_step_days)
        keys = [_h(base_hash, settings, sweep.seed, r) for r in range(R)]
        point_keys.append(pk)
        for r, k in enumerate(keys):
            run_keys.setdefault(k, []).append((point, r))
        if pk in first_point:
            # Same settings as an earlier point (Morris revisits, repeated lever values):
            # same runs, run once and reported under both points.
            duplicates += R
            continue
        first_point[pk] = point
        on_disk = {r for r, k in enumerate(keys) if statuses.get(k) in accept}
        if not series:
            needed = [r for r in range(R) if r not in on_disk]
        elif pk in point_files:
            needed = [] if len(on_disk) == R else list(range(R))
        else:
            covered = on_disk & block_reps.get(pk, set())
            needed = [r for r in range(R) if r not in covered]
            if not needed:
                to_reduce.append(point)
        skipped += R - len(needed)
        if not needed:
            continue
        whole = len(needed) == R and R <= block
        if series and not whole:
            pending[point] = set(needed)
        for i in range(0, len(needed), block):
            reps = tuple(needed[i:i + block])
            tasks.append(Task(point, reps, tuple(keys[r] for r in reps), overrides, sweep.seed,
                              series, spec.series_step_days, whole, tuple(sweep.outcomes)))
    return Plan(sweep, tasks, point_keys, run_keys, sweep.design.n_points * R, skipped, duplicates, pending,
                to_reduce, block)
