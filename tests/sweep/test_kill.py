"""Real processes: the local pool runs in parallel, and ``kill -9`` of a sweep at any moment
loses no finished run — a rerun finishes every run, each exactly once.

The toy appends one line per finished computation to ``$SWEEP_TOY_LOG`` (with its x and pid), so
the test counts how often each run was computed and by which process.
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import subprocess_env
from gradprobe.sweep import plan_sweep, run_sweep
from gradprobe.sweep.local import cores

pytestmark = [pytest.mark.slow, pytest.mark.distributed]
TOY = "sweep_toys:Toy"


def log_lines(path: Path) -> list[list[str]]:
    if not path.exists():
        return []
    return [line.split() for line in path.read_text("utf-8").splitlines() if line.strip()]


def test_the_pool_runs_jobs_in_worker_processes_and_records_failures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if cores() < 2:
        pytest.skip("needs 2 cores for 2 jobs")
    log = tmp_path / "toy.log"
    monkeypatch.setenv("SWEEP_TOY_LOG", str(log))
    plan = plan_sweep(TOY, {"x": "1..4", "fail": "false,true", "sleep": "0.2"}, tmp_path / "s")
    crash = plan_sweep(TOY, {"x": "9", "crash": "true"}, tmp_path / "s").runs
    plan.runs += crash
    summary = run_sweep(plan, jobs=2, show="none")
    assert (summary.jobs, summary.threads) == (2, 1)
    # the worker that died under x=9 broke the pool: x=9 (and whatever ran beside it) was
    # retried on a fresh pool and finished
    assert summary.done == 5 and len(summary.failed) == 4
    assert (crash[0].run_dir / "crashed-once").is_file()
    assert (crash[0].run_dir / "result.json").is_file()
    pids = {int(line[4]) for line in log_lines(log)}
    assert sorted(int(line[0]) for line in log_lines(log)) == [1, 2, 3, 4, 9]
    assert os.getpid() not in pids
    assert {o["pid"] for o in summary.outcomes} >= pids
    assert len({o["pid"] for o in summary.outcomes}) >= 2  # several worker processes did the work
    # each worker's NumPy runs on the planned one BLAS thread from its first import (a variable
    # set in the worker's initializer would come after NumPy had read it)
    assert {line[5] for line in log_lines(log)} <= {"1", "-"}
    log_text = (tmp_path / "s" / "sweep.log").read_text("utf-8")
    assert "retry" in log_text and "(worker died)" in log_text


def test_kill_9_at_any_moment_loses_no_finished_run(tmp_path: Path) -> None:
    out, log = tmp_path / "s", tmp_path / "toy.log"
    runs = 8
    argv = [sys.executable, "-m", "gradprobe.cli.main", "sweep", TOY, "--grid", f"x=1..{runs}",
            "sleep=0.4", "--out", str(out), "--jobs", "2", "--progress", "plain"]  # fmt: skip
    env = subprocess_env(SWEEP_TOY_LOG=str(log))

    def results() -> dict[Path, tuple[int, int]]:
        return {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.glob("runs/*/result.json")}

    finished_at_kill: dict[Path, tuple[int, int]] = {}
    first_finished: set[str] = set()
    for kill_when in (1, 4):  # after the first finished run, then in the middle of a rerun
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)  # fmt: skip
        deadline = time.monotonic() + 240
        while len(results()) < kill_when and proc.poll() is None:
            assert time.monotonic() < deadline, "the sweep made no progress"
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        snapshot = results()
        if kill_when == 1:
            assert 1 <= len(snapshot) < runs, "the first kill must land mid-sweep"
            first_finished = {line[0] for line in log_lines(log)}
        # the workers die with the sweep: nothing is computed after the kill
        n = len(log_lines(log))
        time.sleep(2.0)
        assert len(log_lines(log)) == n, "a worker outlived the killed sweep"
        assert len(results()) == len(snapshot)
        finished_at_kill.update(snapshot)

    done = subprocess.run([*argv, "--json"], env=env, capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    final = results()
    assert len(final) == runs
    for path, stamp in finished_at_kill.items():
        assert final[path] == stamp, f"{path} was rewritten after it was finished"
    counts = collections.Counter(line[0] for line in log_lines(log))
    assert set(counts) == {str(x) for x in range(1, runs + 1)}
    # A run finished before a kill is never computed again. A run computed but killed in the
    # instant before its result.json was renamed into place may be computed once more.
    for x in first_finished:
        assert counts[x] == 1
    assert all(c <= 2 for c in counts.values())
    assert sum(counts.values()) <= runs + 2 * 2  # at most the in-flight runs of two kills
    log_text = (out / "sweep.log").read_text("utf-8")
    assert log_text.count("sweep ended") == 1 and f"{runs} of {runs} finished" in log_text
