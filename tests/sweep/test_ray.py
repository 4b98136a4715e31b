"""The Ray backend on a local Ray instance started here: the same tables as the local backend,
finished runs skipped, a worker that dies retried (Ray's ``max_retries``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import subprocess_env
from gradprobe.sweep import plan_sweep, run_sweep

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'gradprobe[ray]')")
pytestmark = [pytest.mark.slow, pytest.mark.distributed]
TOY = "sweep_toys:Toy"


@pytest.fixture(scope="module")
def local_ray() -> Any:
    """A private Ray with 2 CPUs whose workers find this tree and the toys."""
    env = {"PYTHONPATH": subprocess_env()["PYTHONPATH"]}
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": env})  # fmt: skip
    yield ray
    ray.shutdown()


def test_ray_and_local_give_identical_tables(tmp_path: Path, local_ray: Any) -> None:
    import os

    import pandas as pd

    grid = {"x": "1..3", "mode": "a,b", "fail": "false,true"}  # 12 runs, 6 of them fail
    local = run_sweep(plan_sweep(TOY, grid, tmp_path / "local"), jobs=1, show="none")
    remote = run_sweep(plan_sweep(TOY, grid, tmp_path / "ray"), backend="ray", show="none")
    assert (local.done, len(local.failed)) == (remote.done, len(remote.failed)) == (6, 6)
    assert local.failed == remote.failed
    assert all(o["pid"] != os.getpid() for o in remote.outcomes)  # ran in Ray's workers

    a = pd.read_parquet(tmp_path / "local" / "results.parquet")
    b = pd.read_parquet(tmp_path / "ray" / "results.parquet")
    assert len(a) == 6 * (3 + 2)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    ra = pd.read_parquet(tmp_path / "local" / "runs.parquet").drop(columns="seconds")
    rb = pd.read_parquet(tmp_path / "ray" / "runs.parquet").drop(columns="seconds")
    pd.testing.assert_frame_equal(ra, rb, check_exact=True)

    again = run_sweep(plan_sweep(TOY, grid, tmp_path / "ray"), backend="ray", show="none")
    assert (again.skipped, again.done) == (6, 0)  # finished runs skipped, failed ones retried


def test_a_dead_ray_worker_is_retried(tmp_path: Path, local_ray: Any) -> None:
    plan = plan_sweep(TOY, {"x": "7", "crash": "true"}, tmp_path / "s")
    summary = run_sweep(plan, backend="ray", retries=1, show="none")
    assert (summary.done, summary.failed) == (1, {})
    assert (plan.runs[0].run_dir / "crashed-once").is_file()
