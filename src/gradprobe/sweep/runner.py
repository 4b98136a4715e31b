"""Plan a sweep (validate every configuration before anything runs) and run it on a backend."""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from ..errors import ConfigError
from ..experiments.base import with_fields
from ..results import plain
from .gather import GatherInfo, _pyarrow, gather
from .local import plan_threads, run_local
from .progress import LogSink, Tracker, make_sinks
from .spec import SweepSpec, build_spec, describe, expand
from .store import PlannedRun, Store, run_hash
from .worker import load_experiment

BACKENDS = ("local", "ray")


@dataclass
class SweepPlan:
    """Every run of a sweep, validated, with its state in ``store`` before it starts."""

    experiment: str
    name: str
    spec: SweepSpec
    store: Store
    runs: list[PlannedRun]

    @property
    def keys(self) -> list[str]:
        return self.spec.keys

    def count(self, state: str) -> int:
        return sum(r.state == state for r in self.runs)


@dataclass
class SweepSummary:
    """How a sweep ended. ``failed`` maps a run's hash to its error."""

    out: Path
    total: int
    skipped: int
    done: int
    failed: dict[str, str]
    backend: str
    jobs: int
    threads: int
    seconds: float
    table: GatherInfo | None = None
    outcomes: list[dict[str, Any]] = field(default_factory=list)


def plan_sweep(
    experiment: str,
    grid: dict[str, Any],
    out: str | Path,
    *,
    random_n: int | None = None,
    random_seed: int = 0,
    quick: bool = False,
) -> SweepPlan:
    """Parse and validate the sweep: every configuration is built and checked by the
    experiment's ``validate`` before anything runs; `ConfigError` names the first bad one."""
    exp = load_experiment(experiment)
    spec = build_spec(exp.Config, grid, random_n=random_n, random_seed=random_seed, quick=quick)
    store = Store(out)
    store.check_experiment(exp.name)
    base = exp.quick_config() if quick else exp.default_config()
    runs: list[PlannedRun] = []
    seen: set[str] = set()
    for point in expand(spec):
        config = with_fields(base, **point)
        try:
            exp.validate(config)
        except ConfigError as e:
            raise ConfigError(f"run {describe(point)}: {e}") from None
        h = run_hash(exp.name, config)
        if h in seen:
            continue
        seen.add(h)
        runs.append(
            PlannedRun(
                h, point, plain(dataclasses.asdict(config)), store.run_dir(h), store.state(h)
            )
        )
    return SweepPlan(experiment, exp.name, spec, store, runs)


def run_sweep(
    plan: SweepPlan,
    *,
    backend: str = "local",
    jobs: int | None = None,
    threads: int | None = None,
    address: str | None = None,
    retries: int = 2,
    data: str | None = None,
    device: str = "cpu",
    show: str = "auto",
    stream: TextIO | None = None,
) -> SweepSummary:
    """Run every unfinished run of ``plan`` (finished ones are skipped), then gather the
    tables. Failed runs are recorded and do not stop the sweep."""
    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if retries < 0:
        raise ConfigError(f"retries must be ≥ 0, got {retries}")
    _pyarrow()  # the tables need it: say so before anything runs
    store = plan.store
    todo = [r for r in plan.runs if r.state != "finished"]
    if backend == "local":
        jobs, threads = plan_threads(jobs, threads, len(todo))
    else:
        jobs, threads = 0, max(1, threads or 1)
    settings = {"quick": plan.spec.quick, "data": data, "device": device}
    store.prepare(plan.experiment, plan.name, plan.keys, plan.runs, settings)
    tasks = [
        {
            "experiment": plan.experiment,
            "hash": r.hash,
            "run_dir": str(r.run_dir),
            "config": r.config,
            "data": data,
            "device": device,
        }
        for r in todo
    ]
    by_hash = {r.hash: r for r in plan.runs}
    tracker = Tracker(total=len(plan.runs), skipped=len(plan.runs) - len(todo))
    log = LogSink(store.log_path)
    how = "Ray" if backend == "ray" else f"{jobs} job(s) × {threads} thread(s)"
    log.write(
        f"sweep {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {plan.name}: "
        f"{len(plan.runs)} runs, {tracker.skipped} finished before, {len(todo)} to run ({how}, "
        f"pid {os.getpid()})"
    )
    closers = make_sinks(tracker, log, show=show, stream=stream)
    failed: dict[str, str] = {}
    outcomes: list[dict[str, Any]] = []

    def on_start(_task: dict[str, Any]) -> None:
        tracker.start()

    def on_finish(task: dict[str, Any], outcome: dict[str, Any]) -> None:
        status = str(outcome.get("status"))
        r = by_hash[task["hash"]]
        what = f"{r.hash} {describe(r.point, plan.keys)}"
        if status == "retry":
            tracker.running = max(0, tracker.running - 1)
            tracker._emit(tracker.line("retry", what + " (worker died)"))
            return
        outcomes.append(outcome)
        if status == "failed":
            failed[r.hash] = str(outcome.get("error", ""))
            what += f": {failed[r.hash]}"
        elif status == "done":
            what += f" ({float(outcome.get('seconds', 0.0)):.1f} s)"
        tracker.finish(status, "")
        tracker._emit(tracker.line(status, what))

    t0 = time.perf_counter()
    try:
        if backend == "local":
            run_local(tasks, jobs=jobs, threads=threads, retries=retries,
                      on_start=on_start, on_finish=on_finish)  # fmt: skip
        else:
            from .ray_backend import run_ray

            run_ray(tasks, address=address, threads=threads, retries=retries,
                    on_start=on_start, on_finish=on_finish)  # fmt: skip
        seconds = time.perf_counter() - t0
        table = gather(store.root)
        log.write(
            f"sweep ended: {tracker.finished} of {tracker.total} finished "
            f"({tracker.done} now), {tracker.failed} failed, {seconds:.1f} s; "
            f"table {table.results.name} ({table.n_rows} rows)"
        )
    finally:
        for c in closers:
            c.close()
    return SweepSummary(
        out=store.root,
        total=tracker.total,
        skipped=tracker.skipped,
        done=tracker.done,
        failed=failed,
        backend=backend,
        jobs=jobs,
        threads=threads,
        seconds=seconds,
        table=table,
        outcomes=outcomes,
    )


def resolve_data(data: str | None) -> str | None:
    """``--data`` as workers elsewhere can use it: a folder made absolute."""
    if data is None or data == "bundled":
        return data
    return str(Path(data).expanduser().resolve())
