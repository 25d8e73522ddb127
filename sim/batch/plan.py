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

The plan takes the resolved sweep and, when resuming, what the store found on disk
(:class:`OnDisk`); it knows nothing of how tasks run or where their results go.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

from sim.batch.spec import ResolvedSweep

#: Most replications of one point sent to a worker as one task when not set in the file.
MAX_RUNS_PER_TASK = 32
#: Statuses that count as done on resume; ``lost`` (worker died) is always run again.
FINAL = ("ok", "failed")


@dataclass(frozen=True)
class Task:
    """One design point and a block of its replications: the unit a worker runs.

    Attributes:
        point: design point index (for messages; results are keyed by ``keys``).
        reps: replication indices run by this task.
        keys: run key of each replication (hash of resolved scenario, seed, replication).
        overrides: concrete ``(key.path, value)`` settings of the point.
        seed: root seed; replication ``r`` uses ``SeedSequence(seed, spawn_key=(r, ...))``.
        series: time-series columns to keep.
        step_days: days averaged into one series value.
        whole_point: ``reps`` are all of the point's replications: reduce to quantiles there.
        outcomes: KPI keys kept in the rows (all of them when empty).
    """

    point: int
    reps: tuple[int, ...]
    keys: tuple[str, ...]
    overrides: tuple[tuple[str, Any], ...]
    seed: int
    series: tuple[str, ...] = ()
    step_days: int = 1
    whole_point: bool = True
    outcomes: tuple[str, ...] = ()


@dataclass
class OnDisk:
    """What an output folder already holds, as far as planning a resumed sweep needs.

    Attributes:
        statuses: run key -> status of each run in a part holding every outcome asked for.
        point_series: point keys whose series quantiles are written.
        block_reps: point key -> replications whose raw series sit in blocks.
    """

    statuses: dict[str, str] = field(default_factory=dict)
    point_series: set[str] = field(default_factory=set)
    block_reps: dict[str, set[int]] = field(default_factory=dict)


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


def make_plan(sweep: ResolvedSweep, workers: int, on_disk: OnDisk | None = None,
              retry_failed: bool = False) -> Plan:
    """Run keys and tasks of a sweep; given ``on_disk`` (resuming), only what is not there yet.

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
    on_disk = on_disk or OnDisk()
    statuses = on_disk.statuses
    point_files = on_disk.point_series if series else set()
    block_reps = on_disk.block_reps if series else {}
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
        done = {r for r, k in enumerate(keys) if statuses.get(k) in accept}
        if not series:
            needed = [r for r in range(R) if r not in done]
        elif pk in point_files:
            needed = [] if len(done) == R else list(range(R))
        else:
            covered = done & block_reps.get(pk, set())
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
