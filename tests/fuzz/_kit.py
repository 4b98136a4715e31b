"""Shared pieces of the fuzz suite: case statistics, the outside-the-sandbox watch, limits."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import stat
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings

from gradprobe.cli.main import main


def max_examples(default_share: float = 1.0) -> int:
    """Cases per test: $GRADPROBE_FUZZ_EXAMPLES, else the profile's (times ``default_share``)."""
    if os.environ.get("GRADPROBE_FUZZ_EXAMPLES"):
        return int(os.environ["GRADPROBE_FUZZ_EXAMPLES"])
    return max(1, int(settings.default.max_examples * default_share))


@contextlib.contextmanager
def fresh_sandbox(root: Path) -> Iterator[Path]:
    """A new folder under ``root`` that is the working folder, HOME and the cache while the
    block runs; downloads go nowhere fast. Environment and working folder are restored after."""
    box = Path(tempfile.mkdtemp(prefix="sandbox-", dir=root))
    (box / "home").mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(box)
        mp.setenv("HOME", str(box / "home"))
        mp.setenv("GRADPROBE_CACHE", str(box / "cache"))
        mp.setenv("GRADPROBE_MIRRORS", "http://127.0.0.1:9/")  # discard port: refused
        mp.setenv("GRADPROBE_DOWNLOAD_TIMEOUT", "2")
        mp.setenv("GRADPROBE_DOWNLOAD_DEADLINE", "5")
        mp.setenv("MPLBACKEND", "Agg")
        for var in ("GRADPROBE_DATA", "GRADPROBE_DEBUG", "http_proxy", "HTTP_PROXY"):
            mp.delenv(var, raising=False)
        yield box


CASE_LIMIT_S = float(os.environ.get("GRADPROBE_FUZZ_CASE_LIMIT", "60"))

STATS: Counter[str] = Counter()
FAILURES: list[str] = []


# --- what must not change outside the sandbox ---------------------------------------------------
REPO = Path(__file__).resolve().parents[2]
_SKIP = {".git", "__pycache__", ".pytest_cache", ".hypothesis", ".mypy_cache", ".ruff_cache"}


def _tree(root: Path) -> dict[str, tuple[int, int, int]]:
    out: dict[str, tuple[int, int, int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [
            d
            for d in dirnames
            if d not in _SKIP
            and not d.endswith(".egg-info")
            # A virtual environment inside the checkout (CI's .venv-ci) is the installer's, not
            # the project's: tens of thousands of files, walked twice per case, for nothing.
            and not os.path.exists(os.path.join(dirpath, d, "pyvenv.cfg"))
        ]
        for name in filenames:
            p = os.path.join(dirpath, name)
            try:
                st = os.lstat(p)
            except OSError:
                continue
            out[p] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return out


@dataclass
class Watch:
    """A snapshot of what lies outside the sandbox: the repository's files, /dev/null, and the
    folder the sandbox lives in."""

    repo: dict[str, tuple[int, int, int]]
    dev_null: int
    beside: set[str]

    @classmethod
    def take(cls, sandbox: Path) -> Watch:
        return cls(
            _tree(REPO),
            os.stat("/dev/null").st_mode,
            {p.name for p in sandbox.parent.iterdir() if p != sandbox},
        )

    def changes(self, sandbox: Path) -> list[str]:
        now = Watch.take(sandbox)
        out = []
        if not stat.S_ISCHR(now.dev_null):
            out.append("/dev/null is no longer a device")
        for p in sorted(set(self.repo) | set(now.repo)):
            if self.repo.get(p) != now.repo.get(p):
                out.append(p)
        out += sorted(f"{sandbox.parent}/{n}" for n in now.beside ^ self.beside)
        return out


class CaseTimeout(BaseException):
    """Raised by SIGALRM when a case runs past CASE_LIMIT_S (a hang)."""


def run_case(argv: list[str], box: Path | None = None) -> tuple[int, str, float]:
    """main(argv) in-process: (exit code, stderr, seconds). SystemExit is an exit code."""
    out, err = io.StringIO(), io.StringIO()

    def alarm(signum: int, frame: object) -> None:
        raise CaseTimeout(f"{argv} ran past {CASE_LIMIT_S} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, CASE_LIMIT_S)
    t0 = time.perf_counter()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return code, err.getvalue(), time.perf_counter() - t0


def check_case(argv: list[str], box: Path) -> None:
    watch = Watch.take(box)
    STATS["cli cases"] += 1
    try:
        code, err, _ = run_case(argv, box)
    except CaseTimeout:
        STATS["hangs"] += 1
        FAILURES.append(f"hang: {argv!r}")
        raise AssertionError(f"hang: gradprobe {argv!r} ran past {CASE_LIMIT_S} s") from None
    touched = watch.changes(box)
    STATS[f"exit {code}"] += 1
    problems = []
    if "Traceback" in err or "internal error" in err:
        STATS["tracebacks"] += 1
        problems.append("traceback")
    if code not in (0, 1, 2):
        problems.append(f"exit code {code}")
    if touched:
        STATS["files touched outside"] += 1
        problems.append(f"touched outside the sandbox: {touched[:5]}")
    if problems:
        FAILURES.append(f"{problems}: {argv!r}: {err[-300:]!r}")
        raise AssertionError(f"gradprobe {argv!r}: {'; '.join(problems)}\n{err[-2000:]}")
