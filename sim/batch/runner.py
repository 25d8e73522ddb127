"""Run a sweep's tasks in this process, on local worker processes or on a Dask cluster.

The driver keeps a bounded window of tasks in flight (about two per worker) and writes
each task's results to disk as soon as it returns, so its memory does not grow with the
number of runs and an interruption loses at most the tasks in flight. When a local
worker dies, every task in flight on the pool fails with it; those tasks are sent again
one at a time, so only the task that kills a worker on its own is recorded with status
``lost`` (Dask's scheduler does that sorting itself). ``--resume`` runs lost runs again.
A run that raises is recorded with status ``failed`` and its error.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any, TextIO

from sim.batch.plan import Plan, make_plan
from sim.batch.spec import ResolvedSweep
from sim.batch.store import Store
from sim.batch.worker import Task, TaskResult, _error_text, execute_task, failed_rows


class WorkerLost(RuntimeError):
    """The process running a task died (killed, out of memory, cluster lost)."""


class StopRequested(Exception):
    """Raised by the ``stop_after`` test hook to simulate an interruption."""


def default_workers() -> int:
    """Cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


# --------------------------------------------------------------------------- executors


class InProcess:
    """Runs each task in the driver (``--workers 1``): easiest to debug."""

    capacity = 1
    label = "1 worker (in process)"
    finds_culprit = True

    def __init__(self, base: dict[str, Any]):
        self.base = base
        self._queue: deque[Task] = deque()

    def submit(self, task: Task) -> None:
        self._queue.append(task)

    def next_done(self) -> tuple[Task, TaskResult | BaseException]:
        task = self._queue.popleft()
        try:
            return task, execute_task(self.base, task)
        except Exception as exc:  # noqa: BLE001 - recorded against the task's runs
            return task, exc

    def close(self, cancel: bool = False) -> None:
        self._queue.clear()


def _ignore_sigint() -> None:
    # Ctrl-C is the driver's to handle: it stops submitting and ends the pool.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class LocalPool:
    """Local worker processes (spawned, so no state leaks from the driver)."""

    finds_culprit = False

    def __init__(self, base: dict[str, Any], workers: int):
        self.base = base
        self.workers = workers
        self.capacity = 2 * workers
        self.label = f"{workers} local worker processes"
        self._pool: ProcessPoolExecutor | None = None
        self._futures: dict[Any, tuple[Task, ProcessPoolExecutor]] = {}

    def submit(self, task: Task) -> None:
        for _ in range(2):
            if self._pool is None:
                self._pool = ProcessPoolExecutor(self.workers, mp_context=get_context("spawn"),
                                                 initializer=_ignore_sigint)
            try:
                self._futures[self._pool.submit(execute_task, self.base, task)] = (task, self._pool)
                return
            except BrokenProcessPool:
                # broke before its failed futures were collected: start afresh
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
        raise BrokenProcessPool("cannot start local worker processes")

    def next_done(self) -> tuple[Task, TaskResult | BaseException]:
        done, _ = wait(list(self._futures), return_when=FIRST_COMPLETED)
        fut = min(done, key=lambda f: (self._futures[f][0].point, self._futures[f][0].reps[0]))
        task, pool = self._futures.pop(fut)
        try:
            return task, fut.result()
        except BrokenProcessPool as exc:
            # Other futures of the same broken pool report it too; a new pool is made on
            # the next submit, and only the broken one is shut down here.
            if pool is self._pool:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
            return task, WorkerLost(f"worker process died ({exc})")
        except Exception as exc:  # noqa: BLE001
            return task, exc

    def close(self, cancel: bool = False) -> None:
        if self._pool is None:
            return
        if cancel:
            for proc in list(getattr(self._pool, "_processes", {}).values()):
                proc.terminate()
        self._pool.shutdown(wait=not cancel, cancel_futures=cancel)
        self._pool = None


class DaskCluster:
    """Tasks sent to an existing dask.distributed scheduler; the base is scattered once.

    The scheduler retries a task whose worker died on other workers and gives up with
    ``KilledWorker`` only for a task that keeps killing them.
    """

    finds_culprit = True

    def __init__(self, base: dict[str, Any], address: str):
        from distributed import Client, as_completed

        self.client = Client(address, timeout="30s")
        threads = sum(self.client.nthreads().values()) or 1
        self.capacity = 2 * threads
        self.label = f"Dask cluster {address} ({threads} worker threads)"
        self._base = self.client.scatter(base, broadcast=True, hash=False)
        self._ac = as_completed()
        self._futures: dict[str, tuple[Any, Task]] = {}

    def submit(self, task: Task) -> None:
        fut = self.client.submit(execute_task, self._base, task, pure=False)
        self._futures[fut.key] = (fut, task)
        self._ac.add(fut)

    def next_done(self) -> tuple[Task, TaskResult | BaseException]:
        from distributed import KilledWorker

        fut = next(self._ac)
        _, task = self._futures.pop(fut.key)
        try:
            return task, fut.result()
        except KilledWorker as exc:
            return task, WorkerLost(str(exc))
        except Exception as exc:  # noqa: BLE001
            return task, exc
        finally:
            fut.release()

    def close(self, cancel: bool = False) -> None:
        if cancel and self._futures:
            self.client.cancel([f for f, _ in self._futures.values()])
        self._futures.clear()
        self.client.close()


def make_executor(base: dict[str, Any], workers: int, scheduler: str | None):
    """In process for one worker, local processes for more, Dask when given a scheduler."""
    if scheduler:
        return DaskCluster(base, scheduler)
    if workers <= 1:
        return InProcess(base)
    return LocalPool(base, workers)


# --------------------------------------------------------------------------- progress


class Progress:
    """A tqdm bar on a terminal; otherwise a plain line every ``every_s`` seconds or 10%."""

    def __init__(self, total: int, initial: int, stream: TextIO | None = None, every_s: float = 10.0,
                 enabled: bool = True):
        self.total, self.done, self.failed = total, initial, 0
        self.initial = initial
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.every_s = every_s
        self.t0 = self.last = time.monotonic()
        self.last_done = initial
        self.bar = None
        if enabled and getattr(self.stream, "isatty", lambda: False)():
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=initial, unit="run", desc="sweep", file=self.stream,
                            dynamic_ncols=True, smoothing=0.05)
            self.bar.set_postfix(failed=0)

    def update(self, runs: int, failed: int) -> None:
        self.done += runs
        self.failed += failed
        if self.bar is not None:
            self.bar.set_postfix(failed=self.failed, refresh=False)
            self.bar.update(runs)
            return
        now = time.monotonic()
        step = max(1, self.total // 10)
        if self.enabled and (now - self.last >= self.every_s or self.done // step > self.last_done // step
                             or self.done == self.total):
            self.last, self.last_done = now, self.done
            print(self.line(now), file=self.stream, flush=True)

    def line(self, now: float | None = None) -> str:
        elapsed = (now or time.monotonic()) - self.t0
        ran = self.done - self.initial
        rate = ran / elapsed if elapsed > 0 else 0.0
        left = self.total - self.done
        eta = time.strftime("%H:%M:%S", time.gmtime(left / rate)) if rate > 0 else "?"
        pct = 100.0 * self.done / self.total if self.total else 100.0
        return (f"sweep: {self.done}/{self.total} runs ({pct:.0f}%), {self.failed} failed, "
                f"{rate:.2f} runs/s, ETA {eta}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


# --------------------------------------------------------------------------- driver loop


@dataclass
class SessionReport:
    """What one invocation ran."""

    total_runs: int
    skipped_runs: int
    duplicate_runs: int = 0
    executed_runs: int = 0
    failed_runs: int = 0
    lost_runs: int = 0
    interrupted: bool = False
    wall_s: float = 0.0
    session: int = 0
    executor: str = ""
    runs_per_task: int = 1


class _Driver:
    def __init__(self, plan: Plan, store: Store, session: int):
        self.plan, self.store, self.session = plan, store, session
        self.seq = 0

    def handle(self, task: Task, res: TaskResult | BaseException, report: SessionReport) -> int:
        """Write one returned task to disk; returns the number of runs recorded."""
        self.seq += 1
        pk = self.plan.point_keys[task.point]
        keep_series = bool(self.plan.sweep.series)
        if isinstance(res, WorkerLost):
            rows = failed_rows(task, "lost", str(res))
        elif isinstance(res, BaseException):
            rows = failed_rows(task, "failed", f"task error: {_error_text(res)}")
        else:
            rows = res.rows
        if keep_series and not isinstance(res, WorkerLost):
            result = res if isinstance(res, TaskResult) else None
            if task.whole_point:
                self.store.write_point_series(pk, result and result.layout, result and result.quantiles,
                                              len(result.ok_reps) if result else 0)
            else:
                self.store.write_block(pk, self.session, self.seq, list(task.reps),
                                       result.ok_reps if result else [], result and result.raw,
                                       result and result.layout)
        self.store.write_runs(rows, self.session, self.seq)
        failed = sum(r["status"] == "failed" for r in rows)
        lost = sum(r["status"] == "lost" for r in rows)
        report.executed_runs += len(rows)
        report.failed_runs += failed
        report.lost_runs += lost
        pending = self.plan.pending_reps.get(task.point)
        if pending is not None and not lost:
            pending.difference_update(task.reps)
            if not pending:
                self.store.reduce_point(pk, self.plan.sweep.spec.replications)
        return failed + lost


def execute_plan(plan: Plan, store: Store, executor, report: SessionReport, progress: Progress,
                 stop_after: int | None = None) -> None:
    """Send the plan's tasks through ``executor`` with a bounded window, writing results as they come."""
    driver = _Driver(plan, store, report.session)
    for point in plan.to_reduce:
        store.reduce_point(plan.point_keys[point], plan.sweep.spec.replications)
    queue: deque[Task] = deque(plan.tasks)
    suspects: deque[Task] = deque()  # in flight when a worker died: rerun alone to find the culprit
    in_flight = 0
    alone = False
    finished = 0
    try:
        while queue or suspects or in_flight:
            if suspects:
                if in_flight == 0:
                    executor.submit(suspects.popleft())
                    in_flight, alone = 1, True
            else:
                while queue and in_flight < executor.capacity:
                    executor.submit(queue.popleft())
                    in_flight += 1
            task, res = executor.next_done()
            in_flight -= 1
            was_alone, alone = alone, False
            if isinstance(res, WorkerLost) and not (was_alone or executor.finds_culprit):
                suspects.append(task)
                continue
            bad = driver.handle(task, res, report)
            progress.update(len(task.reps), bad)
            finished += 1
            if stop_after is not None and finished >= stop_after:
                raise StopRequested
    except (KeyboardInterrupt, StopRequested):
        report.interrupted = True
        executor.close(cancel=True)
    except BaseException:
        executor.close(cancel=True)
        raise
    else:
        executor.close()


def run_sweep(
    sweep: ResolvedSweep,
    out: Path,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    retry_failed: bool = False,
    progress: bool = True,
    stop_after: int | None = None,
    stream: TextIO | None = None,
    plots: bool = True,
):
    """Run a resolved sweep into ``out`` and write the merged outputs.

    Args:
        sweep: from :func:`sim.batch.spec.load_sweep`.
        out: output folder (created); must not hold another sweep's parts unless ``resume``.
        workers: local processes (default: all cores); 1 runs in this process.
        scheduler: address of a dask.distributed scheduler; overrides ``workers``.
        resume: skip runs already on disk.
        retry_failed: with ``resume``, run failed runs again too.
        progress: show a progress bar (or plain lines when not on a terminal).
        stop_after: test hook: behave as if interrupted after this many tasks.
        stream: where progress goes (default stderr).
        plots: write the PNG plots.

    Returns:
        ``(SessionReport, outputs.Summary | None)``; the summary is None when interrupted.
    """
    from sim.batch.outputs import finalize, write_resolved

    t0 = time.perf_counter()
    out = Path(out)
    store = Store(out)
    if store.has_results() and not resume:
        raise FileExistsError(f"{out} already holds sweep results; use --resume to continue it or another --out")
    store.create()
    write_resolved(sweep, out)
    n = workers or default_workers()
    executor = make_executor(sweep.base, n, scheduler)
    plan = make_plan(sweep, store, max(1, executor.capacity // 2), resume=resume, retry_failed=retry_failed)
    report = SessionReport(plan.total_runs, plan.skipped_runs, plan.duplicate_runs, session=store.next_session(),
                           runs_per_task=plan.runs_per_task)
    bar = Progress(plan.total_runs, plan.skipped_runs + plan.duplicate_runs, stream=stream, enabled=progress)
    report.executor = executor.label
    try:
        execute_plan(plan, store, executor, report, bar, stop_after)
    finally:
        bar.close()
    summary = None if report.interrupted else finalize(plan, store, out, plots=plots)
    report.wall_s = time.perf_counter() - t0
    return report, summary
