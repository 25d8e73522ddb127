"""Run a plan's tasks in this process, on local worker processes or on a Dask cluster.

The driver keeps a bounded window of tasks in flight (about two per worker) and hands
each task's result to a sink (the store, which writes it to disk) as soon as it returns,
so its memory does not grow with the number of runs. When a local worker dies, every
task in flight on the pool fails with it; those tasks are sent again one at a time, so
only the task that kills a worker on its own is recorded with status ``lost`` (Dask's
scheduler does that sorting itself). ``--resume`` runs lost runs again. A run that raises
is recorded with status ``failed`` and its error; a task that raises records all its
runs so.

This module knows the plan and the workers, not where results go: the sink does.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Any, TextIO

from sim.batch.plan import Plan, Task
from sim.batch.worker import TaskResult, error_text, execute_task, failed_rows


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
    run_s: float = 0.0  # of wall_s: sending tasks and storing their results
    finalize_s: float = 0.0  # of wall_s: merged files, sensitivity, plots
    session: int = 0
    executor: str = ""
    runs_per_task: int = 1


def as_result(task: Task, res: TaskResult | BaseException) -> TaskResult:
    """What an executor returned, as rows: an exception becomes failed (or lost) runs."""
    if isinstance(res, WorkerLost):
        return TaskResult(task, failed_rows(task, "lost", str(res)))
    if isinstance(res, BaseException):
        return TaskResult(task, failed_rows(task, "failed", f"task error: {error_text(res)}"))
    return res


def execute_plan(plan: Plan, executor, sink: Callable[[TaskResult], None], report: SessionReport,
                 progress: Progress, stop_after: int | None = None) -> None:
    """Send the plan's tasks through ``executor`` with a bounded window.

    Each returned task goes to ``sink`` at once (in the order tasks finish) and is then
    dropped, so the driver holds at most the window's results.
    """
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
            result = as_result(task, res)
            sink(result)
            statuses = [r["status"] for r in result.rows]
            failed, lost = statuses.count("failed"), statuses.count("lost")
            report.executed_runs += len(statuses)
            report.failed_runs += failed
            report.lost_runs += lost
            progress.update(len(task.reps), failed + lost)
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
