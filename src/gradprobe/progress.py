"""Progress of a long run, shown two ways: a live status on a terminal, plain lines elsewhere.

An experiment reports progress as ``(what, done, total)`` (`gradprobe.experiments.base.ProgressFn`:
``what`` a short status such as "seed 3 of 20", ``done``/``total`` units of work, ``total`` 0
when unknown). `progress_display` turns those calls into

* on a terminal: one live line (rich) with a bar, the elapsed time and the time remaining,
  cleared when the run ends;
* anywhere else (a log file, CI, ``nohup``, a pipe): a plain line at the start, then at most
  one line every ``every`` seconds (10 by default) with the fraction done, the elapsed time and
  an ETA, and a last line when the run ends — so a log shows that a run is alive and how long
  it has left, without flooding it.

The ETA is the time per unit of work so far, times the units left. It restarts whenever
``total`` changes or ``done`` goes backwards (an experiment starting a new phase), so it never
mixes the rates of two phases.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from typing import TextIO

ProgressFn = Callable[[str, float, float], None]


def duration(seconds: float) -> str:
    """12 s, 4 min 05 s, 1 h 02 min (whole seconds; progress lines need no more)."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    minutes, secs = divmod(s, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _units(x: float) -> str:
    return f"{x:g}"


class PlainProgress:
    """Plain progress lines for a non-terminal ``stream``: a start line, then at most one line
    every ``every`` seconds, and a last line from `finish`. ``clock`` is injectable for tests."""

    def __init__(
        self,
        name: str,
        stream: TextIO,
        *,
        every: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.stream = stream
        self.every = float(every)
        self.clock = clock
        self.t0 = clock()
        self._last_line = self.t0
        self._phase: tuple[float, float, float] | None = None  # (total, t at start, done at start)
        self._last_done = 0.0

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text + "\n")
            self.stream.flush()
        except (OSError, ValueError):  # a closed or broken log must not stop the run
            pass

    def start(self) -> None:
        self._write(f"{self.name}: started")

    def eta(self, done: float, total: float, now: float) -> float | None:
        """Seconds left by the rate of the current phase, or None when it cannot be told yet."""
        if self._phase is None or total <= 0:
            return None
        _, t_start, done_start = self._phase
        if done <= done_start or now <= t_start:
            return None
        rate = (now - t_start) / (done - done_start)
        return max(0.0, rate * (total - done))

    def line(self, what: str, done: float, total: float, now: float) -> str:
        """The text of one progress line."""
        elapsed = duration(now - self.t0)
        if total > 0:
            pct = 100.0 * min(max(done / total, 0.0), 1.0)
            text = f"{self.name}: {what} · {_units(done)}/{_units(total)} ({pct:.0f} %)"
            eta = self.eta(done, total, now)
            tail = f"{elapsed} elapsed, ETA {duration(eta) if eta is not None else 'unknown'}"
        else:
            text, tail = f"{self.name}: {what}", f"{elapsed} elapsed"
        return f"{text} · {tail}"

    def __call__(self, what: str, done: float = 0, total: float = 0) -> None:
        now = self.clock()
        done, total = float(done), float(total)
        if self._phase is None or self._phase[0] != total or done < self._last_done:
            self._phase = (total, now, done)
        self._last_done = done
        if now - self._last_line >= self.every:
            self._last_line = now
            self._write(self.line(what, done, total, now))

    def finish(self, ok: bool = True) -> None:
        state = "finished" if ok else "stopped"
        self._write(f"{self.name}: {state} after {duration(self.clock() - self.t0)}")


@contextlib.contextmanager
def _live(name: str, stream: TextIO) -> Iterator[ProgressFn]:
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

    console = Console(file=stream, force_terminal=True)
    columns = (
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(f"{name}: starting", total=None)

        def show(what: str, done: float = 0, total: float = 0) -> None:
            bar.update(
                task,
                description=f"{name}: {what}",
                completed=float(done),
                total=float(total) if total > 0 else None,
            )

        yield show


@contextlib.contextmanager
def progress_display(
    name: str,
    *,
    stream: TextIO | None = None,
    interactive: bool | None = None,
    every: float = 10.0,
) -> Iterator[ProgressFn]:
    """A progress sink for one run of ``name``, shown on ``stream`` (default stderr): live on a
    terminal, plain lines every ``every`` seconds otherwise (``interactive`` overrides the
    choice). Usage::

        with progress_display("initial-speed") as progress:
            experiment.run(config, out_dir=out, progress=progress)
    """
    out = sys.stderr if stream is None else stream
    if interactive is None:
        isatty = getattr(out, "isatty", None)
        try:
            interactive = bool(isatty()) if isatty is not None else False
        except (OSError, ValueError):
            interactive = False
    if interactive:
        with _live(name, out) as show:
            yield show
        return
    plain = PlainProgress(name, out, every=every)
    plain.start()
    ok = False
    try:
        yield plain
        ok = True
    finally:
        plain.finish(ok)


def silent(_what: str, _done: float = 0, _total: float = 0) -> None:
    """A progress sink that shows nothing."""
