"""One run of a sweep, as a worker process (local pool or Ray task) executes it.

A task is a plain dict (it crosses process and machine boundaries)::

    {"experiment": "chain" | "package.module:Class", "hash": "…", "run_dir": "/abs/…",
     "config": {...plain JSON...}, "data": None | "bundled" | "/path", "device": "cpu",
     "threads": 1}

`execute` takes the run directory's lock (a ``flock``, released by the kernel when a process
dies, so a ``kill -9`` never leaves a stale lock), skips the run if ``result.json`` is already
there (a finished run is never redone), otherwise runs the experiment — whose ``run`` writes
``result.json`` atomically, the marker of a finished run — and records an exception in
``error.json`` instead of raising it, so one failed run does not stop a sweep.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import os
import socket
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..results import ResultError, atomic_write_text, read_result
from .spec import coerce, field_types

RESULT = "result.json"
ERROR = "error.json"
CONFIG = "config.json"
LOCK = ".lock"

_CACHE: dict[str, Any] = {}


def load_experiment(spec: str) -> Any:
    """The experiment named ``spec``: a registered name ("chain"), or ``module:Name`` where
    ``Name`` is an `Experiment` subclass in ``module`` (for experiments outside gradprobe)."""
    if spec in _CACHE:
        return _CACHE[spec]
    from ..experiments.base import Experiment, get_experiment

    if ":" in spec:
        mod_name, _, attr = spec.partition(":")
        try:
            module = importlib.import_module(mod_name)
        except ImportError as e:
            raise ConfigError(f"cannot import {mod_name!r} for experiment {spec!r}: {e}") from None
        obj = getattr(module, attr, None)
        if not (isinstance(obj, type) and issubclass(obj, Experiment)):
            raise ConfigError(f"{spec!r}: {attr!r} is not an Experiment class in {mod_name}")
        exp = obj()
    else:
        exp = get_experiment(spec)
    if not isinstance(exp, Experiment):  # registered by hand without the base class
        raise ConfigError(f"{spec!r} is not a gradprobe.experiments.Experiment")
    _CACHE[spec] = exp
    return exp


def config_from_plain(exp: Any, plain_config: dict[str, Any]) -> Any:
    """Rebuild the config dataclass from its plain JSON form (lists back to tuples)."""
    types_ = field_types(exp.Config)
    unknown = set(plain_config) - set(types_)
    if unknown:
        raise ConfigError(f"{exp.name}: config has unknown field(s) {sorted(unknown)}")
    values = {k: coerce(v, types_[k], k) for k, v in plain_config.items()}
    return dataclasses.replace(exp.default_config(), **values)


def is_finished(run_dir: Path) -> bool:
    """True when ``run_dir/result.json`` exists and is a valid result (the done marker)."""
    path = run_dir / RESULT
    if not path.is_file():
        return False
    try:
        read_result(path)
    except ResultError:
        return False
    return True


@contextlib.contextmanager
def run_lock(run_dir: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``run_dir/.lock`` (blocking). The kernel drops it when
    the holder dies; on systems without ``fcntl`` this is a no-op."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    fd = os.open(run_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _outcome(task: dict[str, Any], status: str, seconds: float, error: str = "") -> dict[str, Any]:
    return {
        "hash": task["hash"],
        "status": status,
        "seconds": seconds,
        "error": error,
        "host": socket.gethostname(),
        "pid": os.getpid(),
    }


def execute(task: dict[str, Any]) -> dict[str, Any]:
    """Run one task; returns ``{"hash", "status": done|skipped|failed, "seconds", "error",
    "host", "pid"}``. Never raises for an error of the experiment itself."""
    run_dir = Path(task["run_dir"])
    run_dir.mkdir(parents=True, exist_ok=True)
    with run_lock(run_dir):
        if is_finished(run_dir):
            return _outcome(task, "skipped", 0.0)
        (run_dir / ERROR).unlink(missing_ok=True)
        t0 = time.perf_counter()
        try:
            exp = load_experiment(task["experiment"])
            config = config_from_plain(exp, task["config"])
            exp.run(
                config,
                out_dir=run_dir,
                data=task.get("data"),
                device=task.get("device", "cpu"),
                threads=int(task.get("threads", 1)),
            )
        except Exception as e:
            seconds = time.perf_counter() - t0
            message = f"{type(e).__name__}: {e}"
            record_error(run_dir, task["hash"], message, traceback.format_exc(), seconds)
            return _outcome(task, "failed", seconds, message)
        return _outcome(task, "done", time.perf_counter() - t0)


def record_error(run_dir: Path, run_hash: str, message: str, tb: str, seconds: float) -> None:
    """Write ``error.json`` (atomically): why the run failed."""
    import json

    doc = {
        "hash": run_hash,
        "error": message,
        "traceback": tb,
        "seconds": seconds,
        "host": socket.gethostname(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    atomic_write_text(run_dir / ERROR, json.dumps(doc, indent=1) + "\n")
