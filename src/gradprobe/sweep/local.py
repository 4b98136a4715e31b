"""The local backend: a pool of worker processes on this machine (the default).

``jobs`` runs at a time, each on ``threads`` torch threads, with jobs × threads ≤ cores (the
caller chooses them with `plan_threads`). Workers are started with ``spawn`` (no forked torch
state), set their thread counts before torch starts, and die with the sweep on Linux. A worker
that dies (out of memory, a segfault) breaks the pool: its run is retried on a fresh pool up to
``retries`` times, then recorded as failed. With ``jobs == 1`` runs execute in this process,
one after another (no start-up cost; a debugger works).
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..experiments.base import cores
from ..workers import die_with_parent, native_threads_env
from .worker import execute, record_error

Task = dict[str, Any]
Outcome = dict[str, Any]


def plan_threads(jobs: int | None, threads: int | None, n_runs: int) -> tuple[int, int]:
    """(jobs, threads per job) with jobs × threads ≤ cores: ``jobs`` defaults to the cores
    (at most the number of runs) and is capped at the cores; ``threads`` defaults to
    cores // jobs and is capped so the product fits."""
    c = cores()
    j = c if jobs is None else jobs
    j = max(1, min(j, c, max(1, n_runs)))
    t = max(1, c // j) if threads is None else max(1, min(threads, c // j))
    return j, t


def run_local(
    tasks: list[Task],
    *,
    jobs: int,
    threads: int,
    retries: int,
    on_start: Callable[[Task], None],
    on_finish: Callable[[Task, Outcome], None],
) -> None:
    """Execute ``tasks`` (see `worker.execute`), calling ``on_start``/``on_finish`` in this
    process as runs start and end."""
    if jobs <= 1:
        for task in tasks:
            on_start(task)
            on_finish(task, execute({**task, "threads": threads}))
        return
    # Workers start during the first submissions (and again after a crash): the environment
    # they inherit keeps their native libraries on ``threads`` threads from their first import;
    # each dies with this process (Linux) and takes torch's thread count from its task.
    with native_threads_env(threads):
        sweep = _Sweep(deque(tasks), jobs, threads, retries, on_start, on_finish)
        ctx = multiprocessing.get_context("spawn")
        while sweep.queue:  # a fresh pool each time a worker's death broke the last one
            with ProcessPoolExecutor(
                max_workers=jobs, mp_context=ctx, initializer=die_with_parent,
                initargs=(os.getpid(),),
            ) as pool:  # fmt: skip
                sweep.drain(pool)


@dataclass
class _Sweep:
    """The runs still to do on a pool (``queue``) and how often each was tried."""

    queue: deque[Task]
    jobs: int
    threads: int
    retries: int
    on_start: Callable[[Task], None]
    on_finish: Callable[[Task, Outcome], None]
    attempts: dict[str, int] = field(default_factory=dict)

    def drain(self, pool: ProcessPoolExecutor) -> None:
        """Run the queue on ``pool``, ``jobs`` runs at a time, until it is empty or the pool
        breaks; either way every run in flight is finished (or requeued) before returning."""
        running: dict[Future[Outcome], Task] = {}
        broken = False
        while (self.queue and not broken) or running:
            if not broken:
                broken = not self._fill(pool, running)
            finished, _ = wait(running, timeout=0.5, return_when=FIRST_COMPLETED)
            for fut in finished:
                task = running.pop(fut)
                outcome: Outcome | None
                try:
                    outcome = fut.result()
                except BrokenProcessPool as e:
                    broken = True
                    outcome = self._crashed(task, self.retries, e)
                except Exception as e:  # pickling and the like: the task cannot run
                    outcome = self._crashed(task, 0, e)
                self.on_finish(task, outcome or {"hash": task["hash"], "status": "retry"})

    def _fill(self, pool: ProcessPoolExecutor, running: dict[Future[Outcome], Task]) -> bool:
        """Submit queued runs until ``jobs`` are running; False when the pool turned out
        broken (the run goes back to the front of the queue)."""
        while self.queue and len(running) < self.jobs:
            task = self.queue.popleft()
            try:
                fut = pool.submit(execute, {**task, "threads": self.threads})
            except BrokenProcessPool:
                self.queue.appendleft(task)
                return False
            running[fut] = task
            self.on_start(task)
        return True

    def _crashed(self, task: Task, retries: int, e: BaseException) -> Outcome | None:
        """A worker died under ``task``: requeue it (None) or, out of ``retries``, record the
        failure."""
        n = self.attempts.get(task["hash"], 0) + 1
        self.attempts[task["hash"]] = n
        if n <= retries:
            self.queue.append(task)
            return None
        message = f"worker process died ({type(e).__name__}: {e}) after {n} attempt(s)"
        record_error(Path(task["run_dir"]), task["hash"], message, "", 0.0)
        return {"hash": task["hash"], "status": "failed", "seconds": 0.0, "error": message}
