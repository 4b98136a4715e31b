"""Task functions for tests/test_workers.py: importable by spawned workers (``tests`` is on
the path, see pyproject's ``pythonpath``), each cheap and deterministic."""

from __future__ import annotations

import os
import time
from typing import Any

from gradprobe.workers import report


def square(x: int) -> int:
    """x², after reporting ``("start", x, pid)``."""
    report(("start", x, os.getpid()))
    return x * x


def threads() -> dict[str, Any]:
    """What this process runs on: its pid, torch's intra-op threads, NumPy's OpenBLAS threads
    ("-" where none is found) and the native thread variables it started with."""
    import torch

    from gradprobe.backprop import _openblas
    from gradprobe.workers import NATIVE_THREAD_VARS

    libs = _openblas()
    return {
        "pid": os.getpid(),
        "torch": torch.get_num_threads(),
        "openblas": libs[0].get() if libs else "-",
        "env": {k: os.environ.get(k) for k in NATIVE_THREAD_VARS},
    }


def crash_unless_in(pid: int, x: int) -> int:
    """x + 1 in process ``pid``; anywhere else the process dies at once (as a worker killed
    for memory would)."""
    if os.getpid() != pid:
        os._exit(3)
    return x + 1


def fail_or_sleep(x: int, path: str) -> int:
    """x ≠ 0 writes its pid to ``path`` and sleeps an hour; x = 0 waits (up to a minute) for
    that file, then raises ValueError."""
    if x != 0:
        with open(path + ".tmp", "w") as f:
            f.write(str(os.getpid()))
        os.replace(path + ".tmp", path)
        time.sleep(3600)
        return x
    t0 = time.monotonic()
    while not os.path.exists(path) and time.monotonic() - t0 < 60:
        time.sleep(0.05)
    raise ValueError("task 0 failed")
