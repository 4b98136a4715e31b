"""Run several experiments of ``gradprobe reproduce`` at once, one per worker process.

`run_pool` executes `Task`s on a pool of ``jobs`` processes started with ``spawn`` (no forked
torch state). Each worker computes one experiment on one torch thread (NumPy's BLAS and OpenMP
limited to one thread too, through the environment the workers start with), writes its
``result.json`` and draws its figures, and sends back an `Outcome`. Progress messages travel
through a queue to this process, which shows them (`Board`): a live line per running
experiment on a terminal, plain ``NAME: started`` / ETA / ``finished`` lines elsewhere.
Outcomes are handed to ``on_outcome`` as they finish; the caller puts them in order.

Workers ignore SIGINT: on Ctrl-C (or SIGTERM, which the CLI turns into an exception) this
process stops the pool and terminates them; what each experiment saved with
`RunContext.save_partial` stays, so rerunning with the same ``--out`` resumes. A worker that
dies (out of memory) is reported as that experiment's failure; the others go on.
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import os
import queue as queue_mod
import signal
import sys
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any, TextIO

from ..workers import die_with_parent, terminate_pool, worker_start_env

#: Most workers ``--jobs auto`` starts (each holds torch and the data: ~0.5 GB).
MAX_AUTO_JOBS = 8


def cores() -> int:
    """CPU cores this process may use (`gradprobe.experiments.base.cores`)."""
    from ..experiments.base import cores as usable_cores

    return usable_cores()


def plan_jobs(jobs: int | None, threads: int, n_tasks: int) -> int:
    """Worker processes for ``n_tasks`` experiments: ``jobs`` if given (at most ``n_tasks``),
    else ``auto``: usable cores // threads, capped at `MAX_AUTO_JOBS` and ``n_tasks``."""
    if jobs is None:
        jobs = min(MAX_AUTO_JOBS, max(1, cores() // max(1, threads)))
    return max(1, min(jobs, n_tasks))


@dataclasses.dataclass
class Task:
    """One experiment to run in a worker: ``spec`` as `gradprobe.sweep.worker.load_experiment`
    takes it (a registered name or ``module:Class``), its ``config`` dataclass, where to write."""

    name: str
    spec: str
    config: Any
    out_dir: str
    data: str | None
    device: str
    threads: int


@dataclasses.dataclass
class Outcome:
    """What one experiment gave: its `Result` (None when it failed, with ``error``), the
    figures drawn (`FigureFile`s), a warning when they could not be drawn, wall seconds."""

    name: str
    result: Any = None
    figures: list[Any] = dataclasses.field(default_factory=list)
    error: str = ""
    warning: str = ""
    seconds: float = 0.0


def draw(result: Any, folder: Path) -> tuple[list[Any], str]:
    """Draw ``result``'s figures into ``folder``: (figure files, warning or "")."""
    from ..report.figures import draw_figures

    try:
        return draw_figures(result, folder), ""
    except Exception as e:  # the result is written; a figure bug must not lose it
        return [], f"{result.name}: figures could not be drawn ({type(e).__name__}: {e})"


def spec_of(exp: Any) -> str | None:
    """How a fresh worker process finds ``exp``: its registered name for gradprobe's own
    experiments, ``module:Class`` for one defined at the top level of an importable module,
    None when a worker cannot find it (a class made inside a function, in ``__main__``, or
    whose figure module exists only in this process)."""
    from ..report.figures import plot_module

    cls = type(exp)
    mod = getattr(plot_module(exp.name), "__spec__", False)
    if mod is None:  # a figure module put into sys.modules by hand: not importable
        return None
    if cls.__module__.startswith("gradprobe.experiments."):
        return str(exp.name)
    if "<locals>" in cls.__qualname__ or cls.__module__ == "__main__":
        return None
    return f"{cls.__module__}:{cls.__qualname__}"


# -- the worker side -----------------------------------------------------------------------------
_QUEUE: Any = None
_LAST_SENT: dict[str, float] = {}


def _init_worker(q: Any, parent_pid: int) -> None:
    """Pool initializer: keep the progress queue, ignore Ctrl-C (the parent stops the pool),
    die with the parent (Linux)."""
    global _QUEUE
    _QUEUE = q
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent(parent_pid)


def _send(*message: Any) -> None:
    if _QUEUE is not None:
        with contextlib.suppress(Exception):  # a full or closed queue must not stop the run
            _QUEUE.put_nowait(message)


def _progress_to_parent(name: str) -> Callable[[str, float, float], None]:
    def progress(what: str, done: float = 0, total: float = 0) -> None:
        now = time.monotonic()
        if now - _LAST_SENT.get(name, 0.0) >= 0.2:  # the parent shows a few a second at most
            _LAST_SENT[name] = now
            _send("progress", name, str(what), float(done), float(total))

    return progress


def work(task: Task) -> Outcome:
    """Run one experiment in a worker: compute, write result.json, draw its figures."""
    from ..sweep.worker import load_experiment

    t0 = time.perf_counter()
    _send("start", task.name)
    try:
        exp = load_experiment(task.spec)
        result = exp.run(
            task.config,
            out_dir=task.out_dir,
            data=task.data,
            device=task.device,
            progress=_progress_to_parent(task.name),
            threads=task.threads,
        )
    except Exception as e:
        return Outcome(task.name, error=f"{type(e).__name__}: {e}",
                       seconds=time.perf_counter() - t0)  # fmt: skip
    figures, warning = draw(result, Path(task.out_dir))
    return Outcome(task.name, result, figures, "", warning, time.perf_counter() - t0)


# -- this process's side ---------------------------------------------------------------------
class Board:
    """Progress of several experiments running at once, on ``stream`` (stderr): one live line
    per running experiment on a terminal, `PlainProgress` lines per experiment elsewhere."""

    def __init__(self, stream: TextIO, interactive: bool):
        from ..progress import PlainProgress

        self._plain_cls = PlainProgress
        self.stream = stream
        self.interactive = interactive
        self.plain: dict[str, Any] = {}
        self.bar: Any = None
        self.rows: dict[str, Any] = {}

    def __enter__(self) -> Board:
        if self.interactive:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                Progress,
                SpinnerColumn,
                TaskProgressColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            console = Console(file=self.stream, force_terminal=True)
            self.bar = Progress(
                SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
                TaskProgressColumn(), TimeElapsedColumn(), TextColumn("ETA"),
                TimeRemainingColumn(), console=console, transient=True,
            )  # fmt: skip
            self.bar.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)
        for name in list(self.plain):
            self.finish(name, ok=False)

    def start(self, name: str) -> None:
        if self.bar is not None:
            if name not in self.rows:
                self.rows[name] = self.bar.add_task(f"{name}: starting", total=None)
        elif name not in self.plain:
            self.plain[name] = p = self._plain_cls(name, self.stream)
            p.start()

    def progress(self, name: str, what: str, done: float, total: float) -> None:
        self.start(name)
        if self.bar is not None:
            self.bar.update(self.rows[name], description=f"{name}: {what}", completed=done,
                            total=total if total > 0 else None)  # fmt: skip
        else:
            self.plain[name](what, done, total)

    def finish(self, name: str, ok: bool) -> None:
        if self.bar is not None:
            row = self.rows.pop(name, None)
            if row is not None:
                self.bar.remove_task(row)
        else:
            p = self.plain.pop(name, None)
            if p is not None:
                p.finish(ok)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, OSError, ValueError):
        return False


def run_pool(
    tasks: list[Task],
    jobs: int,
    on_outcome: Callable[[Outcome], None],
    *,
    stream: TextIO | None = None,
) -> None:
    """Run ``tasks`` on ``jobs`` worker processes, submitted in the given order; call
    ``on_outcome`` in this process as each finishes. Ctrl-C stops the workers and re-raises."""
    from concurrent.futures.process import BrokenProcessPool

    out = sys.stderr if stream is None else stream
    ctx = multiprocessing.get_context("spawn")
    messages = ctx.Queue()
    with worker_start_env(1):
        pool = ProcessPoolExecutor(
            max_workers=jobs, mp_context=ctx, initializer=_init_worker,
            initargs=(messages, os.getpid()),
        )  # fmt: skip
    try:
        with Board(out, _is_terminal(out)) as board:
            with worker_start_env(1):  # workers start on the first submissions
                running: dict[Future[Outcome], Task] = {pool.submit(work, t): t for t in tasks}
            while running:
                finished, _ = wait(running, timeout=0.25, return_when=FIRST_COMPLETED)
                _drain(messages, board)
                for fut in finished:
                    task = running.pop(fut)
                    try:
                        outcome = fut.result()
                    except BrokenProcessPool as e:
                        outcome = Outcome(task.name, error=f"a worker process died ({e})")
                    except Exception as e:  # the task could not be sent or its answer read
                        outcome = Outcome(task.name, error=f"{type(e).__name__}: {e}")
                    board.finish(task.name, ok=not outcome.error)
                    on_outcome(outcome)
    except BaseException:
        terminate_pool(pool)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        messages.close()
        messages.join_thread()


def _drain(messages: Any, board: Board) -> None:
    while True:
        try:
            m = messages.get_nowait()
        except (queue_mod.Empty, OSError, ValueError, EOFError):
            return
        if m[0] == "start":
            board.start(m[1])
        elif m[0] == "progress":
            board.progress(m[1], m[2], m[3], m[4])
