"""Shared fixtures. Keep each block small; add new ones below."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


# --- data -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """Folder with the four full MNIST files: $GRADPROBE_DATA, else ../shared/data/mnist."""
    if os.environ.get("GRADPROBE_DATA"):
        return Path(os.environ["GRADPROBE_DATA"])
    shared = REPO.parent / "shared" / "data" / "mnist"
    if shared.is_dir():
        return shared
    pytest.skip(
        "full MNIST not found: set GRADPROBE_DATA or put ../shared/data/mnist beside the repo"
    )


# --- the Quickstart's run, once per session -------------------------------------------------

QUICKSTART = "gradprobe reproduce all --quick --out results"


@dataclass(frozen=True)
class QuickRun:
    """The Quickstart's `gradprobe reproduce all --quick --out results`, run once in a fresh
    interpreter in ``folder`` (results land in ``folder/results``)."""

    command: str
    folder: Path
    returncode: int
    stdout: str
    stderr: str
    seconds: float


@pytest.fixture(scope="session")
def quick_all(tmp_path_factory: pytest.TempPathFactory) -> QuickRun:
    """The most expensive command of the suite, shared by the README test (which goes on to
    run `gradprobe report results` in the same folder) and the end-to-end reproduce test."""
    folder = tmp_path_factory.mktemp("quickstart")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), env.get("PYTHONPATH", "")])
    env["MPLBACKEND"] = "Agg"
    env.setdefault("GRADPROBE_CACHE", str(folder / "cache"))
    argv = shlex.split(QUICKSTART)
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "gradprobe.cli.main", *argv[1:]],
        cwd=folder, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    return QuickRun(
        QUICKSTART, folder, done.returncode, done.stdout, done.stderr, time.perf_counter() - t0
    )
