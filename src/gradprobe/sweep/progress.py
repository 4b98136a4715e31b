"""Progress of a whole sweep: runs done / running / failed, and an ETA.

The `Tracker` counts; sinks show it. Every finished run becomes one plain line (always
appended to ``DIR/sweep.log``; on stderr too when it is not a terminal), e.g.::

    sweep [12/32] done   3f2a9c0e depth=4 seed=1 (1.3 s) · 2 running · 1 failed · ETA 0:00:21

On a terminal a rich progress bar shows the same counts instead of the per-run lines.
The ETA is the remaining runs times the observed time between finishes in this sweep
(so it accounts for parallel jobs); "ETA ?" until the first run finishes.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO


def _clock(seconds: float) -> str:
    s = round(max(0.0, seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


@dataclass
class Tracker:
    """Counts of one sweep. ``total`` includes runs finished before (``skipped``)."""

    total: int
    skipped: int = 0
    done: int = 0
    failed: int = 0
    running: int = 0
    started_at: float = field(default_factory=time.monotonic)
    sinks: list[Callable[[Tracker, str], None]] = field(default_factory=list)

    @property
    def finished(self) -> int:
        """Runs with a result (finished before, or now)."""
        return self.skipped + self.done

    @property
    def remaining(self) -> int:
        return self.total - self.finished - self.failed

    def eta(self) -> float | None:
        """Seconds left at the rate of this sweep so far; None before the first finish."""
        finished_now = self.done + self.failed
        if finished_now == 0:
            return None
        return (time.monotonic() - self.started_at) / finished_now * self.remaining

    def summary(self) -> str:
        eta = self.eta()
        parts = [f"{self.running} running", f"{self.failed} failed"]
        parts.append("ETA ?" if eta is None else f"ETA {_clock(eta)}")
        return " · ".join(parts)

    def start(self) -> None:
        self.running += 1
        self._emit("")

    def finish(self, status: str, line: str) -> None:
        """A run ended with ``status`` done|failed|skipped; ``line`` describes it."""
        self.running = max(0, self.running - 1)
        if status == "done":
            self.done += 1
        elif status == "failed":
            self.failed += 1
        else:
            self.skipped += 1
        self._emit(line)

    def _emit(self, line: str) -> None:
        for sink in self.sinks:
            sink(self, line)

    def line(self, status: str, what: str) -> str:
        width = len(str(self.total))
        n = self.finished + self.failed
        return f"sweep [{n:>{width}}/{self.total}] {status:<6} {what} · {self.summary()}"


class PlainSink:
    """Writes each finished run's line (and nothing for starts) to a stream."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def __call__(self, tracker: Tracker, line: str) -> None:
        if line:
            self.stream.write(line + "\n")
            self.stream.flush()


class LogSink(PlainSink):
    """Appends the lines to ``DIR/sweep.log`` (opened once, line-buffered)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        super().__init__(open(path, "a", encoding="utf-8", buffering=1))  # noqa: SIM115

    def write(self, text: str) -> None:
        self.stream.write(text + "\n")

    def close(self) -> None:
        self.stream.close()


class RichSink:
    """A rich progress bar on a terminal: finished/total, running, failed, ETA."""

    def __init__(self, total: int, title: str, stream: TextIO | None = None) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"),
            console=Console(file=stream or sys.stderr),
            transient=False,
        )
        self.task = self.progress.add_task(title, total=total, status="")
        self.progress.start()

    def __call__(self, tracker: Tracker, line: str) -> None:
        self.progress.update(
            self.task, completed=tracker.finished + tracker.failed, status=tracker.summary()
        )
        if line and "failed" in line.split("]", 1)[-1][:8]:
            self.progress.console.print(line, markup=False, highlight=False)

    def close(self) -> None:
        self.progress.stop()


def make_sinks(
    tracker: Tracker, log: LogSink, *, show: str, stream: TextIO | None = None
) -> list[Any]:
    """Attach the log and, by ``show`` ("auto" | "rich" | "plain" | "none"), a terminal sink;
    return the sinks that need closing."""
    stream = stream or sys.stderr
    tracker.sinks.append(log)
    closers: list[Any] = [log]
    if show == "auto":
        show = "rich" if stream.isatty() else "plain"
    if show == "rich":
        rich = RichSink(tracker.total, "sweep", stream)
        tracker.sinks.append(rich)
        closers.append(rich)
    elif show == "plain":
        tracker.sinks.append(PlainSink(stream))
    return closers
