"""`gradprobe.workers.TaskPool`: inline and on 2 spawned processes, the same results as calling
the task here (exact: integers); tasks submitted while results arrive; a broken pool finishing
its tasks here; a task's exception reaching the caller and stopping the workers; and the
workers' thread counts (torch, NumPy's OpenBLAS, the environment) being 1."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import pool_tasks
from gradprobe.workers import NATIVE_THREAD_VARS, TaskPool, native_threads_env, run_tasks


def test_inline_runs_here_in_order_with_messages() -> None:
    seen: list[Any] = []
    got = []
    with TaskPool(pool_tasks.square, 1, on_message=seen.append) as pool:
        for x in (3, 1, 2):
            pool.submit(x)
        assert not pool.has_room  # inline: one waits already
        for task, result in pool.as_completed():
            got.append((task, result))
            assert seen[-1] == ("start", task[0], os.getpid())  # its message came first
    assert got == [((3,), 9), ((1,), 1), ((2,), 4)]
    assert not pool.fell_back


def test_inline_submit_while_running() -> None:
    """A ladder: each result submits the next rung until 5; inline: in order."""
    order = []
    with TaskPool(pool_tasks.square, 1) as pool:
        pool.submit(1)
        for (x,), y in pool.as_completed():
            order.append(x)
            assert y == x * x
            if x < 5:
                assert pool.has_room
                pool.submit(x + 1)
    assert order == [1, 2, 3, 4, 5]


@pytest.mark.distributed
def test_two_processes_same_results_messages_and_ladder() -> None:
    seen: list[Any] = []
    xs = [5, 7, 11, 13]
    got: dict[int, int] = {}
    ladder: list[int] = []
    with TaskPool(pool_tasks.square, 2, on_message=seen.append) as pool:
        for x in xs:
            pool.submit(x)
        assert not pool.has_room and pool.busy
        for (x,), y in pool.as_completed():
            got[x] = y
            assert ("start", x) in [m[:2] for m in seen]  # its message arrived before it
            if x >= 100:
                ladder.append(x)
                if x < 103:
                    pool.submit(x + 1)  # submitted while others run
            elif x == 13:
                pool.submit(100)
    assert got == {x: x * x for x in [*xs, 100, 101, 102, 103]}
    assert ladder == [100, 101, 102, 103]
    pids = {m[2] for m in seen}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2
    assert not pool.fell_back


@pytest.mark.distributed
def test_worker_threads_are_one_and_the_environment_is_restored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """NumPy's OpenBLAS reads OPENBLAS_NUM_THREADS when it is loaded, before any initializer:
    the pool sets it around the workers' start; this process's environment is put back."""
    for k in NATIVE_THREAD_VARS:
        monkeypatch.delenv(k, raising=False)  # a worker's 1 comes from the pool
    before = {k: os.environ.get(k) for k in NATIVE_THREAD_VARS}
    out = [r for _, r in run_tasks(pool_tasks.threads, [(), (), ()], 2)]
    assert {k: os.environ.get(k) for k in NATIVE_THREAD_VARS} == before
    for r in out:
        assert r["pid"] != os.getpid()
        assert r["torch"] == 1
        assert r["openblas"] in (1, "-")
        assert r["env"] == dict.fromkeys(NATIVE_THREAD_VARS, "1")
    # threads=2 reaches torch and OpenBLAS alike
    with TaskPool(pool_tasks.threads, 2, threads=2) as pool:
        pool.submit()
        pool.submit()
        res = [r for _, r in pool.as_completed()]
    assert all(r["torch"] == 2 and r["openblas"] in (2, "-") for r in res)


def test_native_threads_env_restores_unset_and_set_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "7")
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    with native_threads_env(1):
        assert [os.environ[k] for k in NATIVE_THREAD_VARS] == ["1", "1", "1"]
    assert os.environ["OMP_NUM_THREADS"] == "7" and "OPENBLAS_NUM_THREADS" not in os.environ


@pytest.mark.distributed
def test_a_broken_pool_finishes_its_tasks_here() -> None:
    """Every worker dies on its first task: the pool breaks, and all tasks — those lost with
    the workers, those still queued and one submitted afterwards — run here."""
    here = os.getpid()
    got = {}
    with TaskPool(pool_tasks.crash_unless_in, 2) as pool:
        for x in range(5):
            pool.submit(here, x)
        for (_, x), y in pool.as_completed():
            got[x] = y
            if x == 0 and 10 not in got:
                pool.submit(here, 10)
                got[10] = None
    assert pool.fell_back
    assert got == {x: x + 1 for x in [*range(5), 10]}


@pytest.mark.distributed
def test_a_task_error_reaches_the_caller_and_stops_the_workers(tmp_path: Path) -> None:
    """Task 0 fails while task 1 sleeps for an hour in the other worker: the error is raised
    as its own type and leaving the block terminates the sleeping worker."""
    path = str(tmp_path / "pid")
    with pytest.raises(ValueError, match="task 0 failed"), \
            TaskPool(pool_tasks.fail_or_sleep, 2) as pool:  # fmt: skip
        pool.submit(1, path)
        pool.submit(0, path)
        for _ in pool.as_completed():
            pass
    pid = int(Path(path).read_text())
    assert pid != os.getpid()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # gone (terminated and joined), not sleeping on
