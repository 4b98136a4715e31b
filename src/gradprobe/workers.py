"""One pool of worker processes for the experiments' independent tasks, and the process setup
every gradprobe pool shares.

`TaskPool` runs ``fn(*args)`` for each submitted ``args`` (a *task*; ``fn``, the arguments and
the result must pickle) on ``processes`` worker processes and yields ``(args, result)`` as each
task finishes. Workers are started with ``spawn`` (no forked torch state) inside
`native_threads_env`, so that their NumPy (OpenBLAS), MKL and OpenMP — which read the
environment once, when they are loaded, before any initializer could run — start on
``threads`` threads; the initializer then puts torch on ``threads`` intra-op threads, ignores
Ctrl-C (this process stops the pool) and makes the worker die with this process (Linux).

* ``processes == 1``: the tasks run here, one after another, in submission order, when
  `TaskPool.as_completed` reaches them (no start-up cost; a debugger works).
* More tasks may be submitted while results arrive (`TaskPool.submit` inside the loop over
  `TaskPool.as_completed`); `TaskPool.has_room` says whether a new task would start at once,
  so a caller that orders its own work (a ladder of lengths) submits only then.
* A worker that dies (out of memory, a script without a ``__main__`` guard) breaks the pool
  (`BrokenProcessPool`): the tasks not yet finished run here, one after another, and so does
  whatever is submitted later (`TaskPool.fell_back` says so).
* An exception raised by a task reaches the caller from `TaskPool.as_completed`, as its own
  type where it pickles; leaving the ``with`` block on an exception terminates the workers at
  once instead of waiting for their tasks.
* A task may call `report` with a picklable message; it reaches ``on_message`` in this process
  (before the task's result is yielded), inline or from a worker.

A task computes the same numbers wherever it runs, as long as it seeds itself: the worker count
is a setting that changes no number (see `gradprobe.experiments.base.result_neutral`).

This module imports nothing of gradprobe (``sweep`` and ``experiments`` both use it).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Generic, TypeVar

R = TypeVar("R")
Task = tuple[Any, ...]

#: The variables native libraries (OpenMP, MKL, OpenBLAS) read once, when they are loaded.
NATIVE_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


@contextlib.contextmanager
def native_threads_env(threads: int) -> Iterator[None]:
    """Set the native libraries' thread variables to ``threads`` in this process's environment
    for the block, restoring them after. A spawned worker inherits the environment it starts
    with, and its NumPy/torch read these variables at import — before any initializer runs,
    which is why they must be set in the parent, around the pool's start."""
    before = {k: os.environ.get(k) for k in NATIVE_THREAD_VARS}
    os.environ.update({k: str(max(1, int(threads))) for k in NATIVE_THREAD_VARS})
    try:
        yield
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.contextmanager
def worker_start_env(threads: int) -> Iterator[None]:
    """`native_threads_env` plus SIGINT ignored while workers start (on the main thread): a
    worker that starts with SIGINT ignored keeps ignoring it while it imports torch (no
    traceback from a half-started worker on Ctrl-C); this process's handler is put back."""
    sigint = None
    if threading.current_thread() is threading.main_thread():
        sigint = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with native_threads_env(threads):
            yield
    finally:
        if sigint is not None:
            signal.signal(signal.SIGINT, sigint)


def die_with_parent(parent_pid: int) -> None:
    """Ask Linux to SIGKILL this process when its parent dies (``PR_SET_PDEATHSIG``), so a
    ``kill -9`` of the parent does not leave workers running on. Elsewhere: nothing."""
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os._exit(1)
    except (OSError, AttributeError):  # pragma: no cover
        return


def terminate_pool(pool: ProcessPoolExecutor) -> None:
    """Cancel what has not started and terminate the workers (which ignore SIGINT) at once,
    without waiting for their tasks."""
    procs = list((getattr(pool, "_processes", None) or {}).values())  # shutdown forgets them
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        if p.is_alive():
            p.terminate()
    for p in procs:
        p.join(timeout=5)


# -- messages from tasks -------------------------------------------------------------------------
#: Where `report` sends: the pool's message queue in a worker, ``on_message`` while a task runs
#: inline, None (messages dropped) elsewhere.
_SINK: Callable[[Any], None] | None = None


def report(message: Any) -> None:
    """From inside a task: hand ``message`` (picklable) to the pool's ``on_message`` in the
    parent process. Outside a pool task, or without ``on_message``: nothing."""
    if _SINK is not None:
        _SINK(message)


@contextlib.contextmanager
def _sink(fn: Callable[[Any], None] | None) -> Iterator[None]:
    global _SINK
    before = _SINK
    _SINK = fn
    try:
        yield
    finally:
        _SINK = before


def _init_worker(messages: Any, parent_pid: int, threads: int) -> None:
    """Pool initializer: ignore Ctrl-C, die with the parent, ``threads`` torch threads, and
    `report` into ``messages``."""
    global _SINK
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent(parent_pid)
    if messages is not None:
        _SINK = messages.put
    import torch

    torch.set_num_threads(max(1, int(threads)))


# -- the pool ------------------------------------------------------------------------------------
class TaskPool(Generic[R]):
    """Run ``fn(*task)`` for submitted tasks on ``processes`` spawned workers (1: here); see
    the module docstring. Use as a context manager::

        with TaskPool(fn, processes) as pool:
            for task in tasks:
                pool.submit(*task)
            for task, result in pool.as_completed():
                ...

    ``threads``: native and torch threads per worker. ``on_message``: called here with each
    message a task sends with `report`. ``poll``: seconds between looks at the messages while
    waiting for results."""

    def __init__(
        self,
        fn: Callable[..., R],
        processes: int,
        *,
        threads: int = 1,
        on_message: Callable[[Any], None] | None = None,
        poll: float = 0.2,
    ) -> None:
        self.fn = fn
        self.processes = max(1, int(processes))
        self.threads = max(1, int(threads))
        self.on_message = on_message
        self.poll = poll
        #: True once the pool broke and the remaining tasks ran (or run) in this process.
        self.fell_back = False
        self._queue: deque[Task] = deque()  # submitted, not yet started
        self._running: dict[Future[R], tuple[int, Task]] = {}
        self._count = 0
        self._executor: ProcessPoolExecutor | None = None
        self._messages: Any = None

    @property
    def _inline(self) -> bool:
        """Whether tasks run in this process: one process asked for, or the pool broke."""
        return self.processes == 1 or self.fell_back

    # -- the caller's side ----------------------------------------------------------------------
    def submit(self, *task: Any) -> None:
        """Queue ``fn(*task)``; in worker processes it starts as soon as one is free."""
        self._queue.append(task)
        self._fill()

    @property
    def has_room(self) -> bool:
        """True when a task submitted now would start at once (nothing waits in the queue and
        a worker is free; inline: no task is waiting)."""
        if self._inline:
            return not self._queue
        return not self._queue and len(self._running) < self.processes

    @property
    def busy(self) -> bool:
        """True while a submitted task has not been yielded by `as_completed`."""
        return bool(self._queue or self._running)

    def as_completed(self) -> Iterator[tuple[Task, R]]:
        """Yield ``(task, result)`` as tasks finish (inline: in submission order), until none
        is queued or running — including those submitted while iterating. A task's exception
        is raised here."""
        while True:
            if self._inline:
                if not self._queue:
                    return
                task = self._queue.popleft()
                with _sink(self.on_message):
                    result = self.fn(*task)
                yield task, result
                continue
            self._fill()
            if not self._running:
                if self._inline:  # the pool broke while starting the queued tasks
                    continue
                return
            timeout = None if self._messages is None else self.poll
            done, _ = wait(self._running, timeout=timeout, return_when=FIRST_COMPLETED)
            self._drain()
            ready: list[tuple[Task, R]] = []
            lost: list[tuple[int, Task]] = []
            error: BaseException | None = None
            for fut in sorted(done, key=lambda f: self._running[f][0]):
                n, task = self._running.pop(fut)
                try:
                    ready.append((task, fut.result()))
                except BrokenProcessPool:
                    lost.append((n, task))
                except BaseException as e:  # the task's own error: after the others' results
                    error = error or e
            if lost:
                self._break(lost)
            yield from ready
            if error is not None:
                raise error

    # -- internals ------------------------------------------------------------------------------
    def _fill(self) -> None:
        """Start queued tasks while workers are free (process mode)."""
        while not self._inline and self._queue and len(self._running) < self.processes:
            task = self._queue[0]
            try:
                with worker_start_env(self.threads):  # workers start on submissions
                    fut = self._pool().submit(self.fn, *task)
            except BrokenProcessPool:
                self._break()
                return
            self._queue.popleft()
            self._running[fut] = (self._count, task)
            self._count += 1

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            ctx = multiprocessing.get_context("spawn")
            if self.on_message is not None:
                self._messages = ctx.SimpleQueue()  # put() writes at once: no lost messages
            self._executor = ProcessPoolExecutor(
                max_workers=self.processes,
                mp_context=ctx,
                initializer=_init_worker,
                initargs=(self._messages, os.getpid(), self.threads),
            )
        return self._executor

    def _drain(self) -> None:
        if self._messages is None or self.on_message is None:
            return
        while not self._messages.empty():
            self.on_message(self._messages.get())

    def _break(self, lost: Sequence[tuple[int, Task]] = ()) -> None:
        """The pool broke: ``lost`` and every task still running go back to the front of the
        queue (in submission order) and run here from now on. (Messages still in the queue are
        dropped: a worker killed while writing one could leave half a message.)"""
        left = sorted([*lost, *self._running.values()], key=lambda nt: nt[0])
        self._running.clear()
        self._queue.extendleft(task for _, task in reversed(left))
        self._stop(terminate=True)
        self.fell_back = True

    def _stop(self, *, terminate: bool) -> None:
        """Shut the executor down; ``terminate``: without waiting for running tasks."""
        pool, self._executor = self._executor, None
        if pool is not None:
            if terminate:
                terminate_pool(pool)
            else:
                pool.shutdown(wait=True)
        if self._messages is not None:
            if not terminate:
                self._drain()  # every worker has exited: whole messages only
            self._messages.close()
            self._messages = None

    def __enter__(self) -> TaskPool[R]:
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop the workers: at once (terminated) on an exception or with tasks still
        running, else after they exit."""
        self._stop(terminate=exc[0] is not None or bool(self._running))
        self._running.clear()


def run_tasks(
    fn: Callable[..., R],
    tasks: list[Task],
    processes: int,
    *,
    threads: int = 1,
    on_message: Callable[[Any], None] | None = None,
) -> Iterator[tuple[Task, R]]:
    """``fn(*task)`` for every task on a `TaskPool` of ``processes`` (at most one per task),
    submitted in the given order; yields ``(task, result)`` as each finishes."""
    with TaskPool(fn, min(processes, max(1, len(tasks))), threads=threads,
                  on_message=on_message) as pool:  # fmt: skip
        for task in tasks:
            pool.submit(*task)
        yield from pool.as_completed()
