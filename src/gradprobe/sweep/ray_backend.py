"""The Ray backend: one Ray task per run, on a local Ray or a cluster (``pip install
gradprobe[ray]``).

Each task asks for ``num_cpus = threads`` (Ray then never puts more runs on a node than it has
CPUs) and is retried up to ``retries`` times when its worker or node dies (``max_retries``). An
exception inside the experiment is not a system failure: the run records it in ``error.json``
and the task returns normally (same seed, same error — retrying would not help). Runs write to
the same ``DIR/runs/<hash>/`` folders as the local backend, so ``DIR`` must be on storage every
node sees (NFS, a shared disk); the manifest and the tables are written by this process.

Connecting: if Ray is already initialised in this process, that connection is used as is;
otherwise ``ray.init(address=...)`` with ``address`` "auto" (a running ``ray start --head`` on
this machine), "HOST:PORT" (a cluster's head), or None (start a private local Ray). The
client's ``PYTHONPATH`` is passed to the workers (``runtime_env``), so experiments imported as
``module:Class`` from the client's path are found.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from ..errors import ConfigError
from .worker import execute

Task = dict[str, Any]
Outcome = dict[str, Any]


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "the Ray backend needs Ray: pip install 'gradprobe[ray]' (or use --backend local)"
        ) from None
    return ray


def connect(address: str | None) -> tuple[Any, bool]:
    """(ray module, whether we started the connection and should shut it down)."""
    ray = import_ray()
    if ray.is_initialized():
        return ray, False
    kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
    if os.environ.get("PYTHONPATH"):
        kwargs["runtime_env"] = {"env_vars": {"PYTHONPATH": os.environ["PYTHONPATH"]}}
    try:
        ray.init(address=address, **kwargs)
    except ConnectionError as e:
        raise ConfigError(f"cannot reach a Ray cluster at {address!r}: {e}") from None
    return ray, True


def slots(ray: Any, threads: int) -> int:
    """How many runs of ``threads`` CPUs the cluster can hold at once."""
    cpus = int(ray.cluster_resources().get("CPU", 1))
    return max(1, cpus // max(1, threads))


def run_ray(
    tasks: list[Task],
    *,
    address: str | None,
    threads: int,
    retries: int,
    on_start: Callable[[Task], None],
    on_finish: Callable[[Task, Outcome], None],
) -> None:
    """Submit every task with ``num_cpus=threads, max_retries=retries``; report runs as they
    end. "Running" is estimated as min(submitted − finished, cluster slots)."""
    ray, owned = connect(address)
    try:
        remote = ray.remote(execute).options(
            num_cpus=threads, max_retries=retries, retry_exceptions=False, name="gradprobe-run"
        )
        capacity = slots(ray, threads)
        pending: dict[Any, Task] = {}
        for task in tasks:
            pending[remote.remote({**task, "threads": threads})] = task
        started = 0
        for task in tasks[:capacity]:
            on_start(task)
            started += 1
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
            for ref in ready:
                task = pending.pop(ref)
                try:
                    outcome = ray.get(ref)
                except Exception as e:  # the task died more than max_retries times
                    from pathlib import Path

                    from .worker import record_error

                    message = f"Ray task failed after {retries + 1} attempt(s): {type(e).__name__}"
                    record_error(Path(task["run_dir"]), task["hash"], message, str(e), 0.0)
                    outcome = {"hash": task["hash"], "status": "failed", "error": message}
                on_finish(task, outcome)
                if started < len(tasks):
                    on_start(tasks[started])
                    started += 1
    finally:
        if owned:
            ray.shutdown()
