"""Every Python block and every `gradprobe` command of the README runs, as a user would run it.

Python blocks run as written, each in a fresh interpreter in an empty folder. Commands run
through the CLI in a subprocess; those that need the full MNIST or minutes of training run with
smaller settings, listed in `SMALLER` (a README command missing there and not runnable as
written fails this test, so a new README command cannot go unchecked).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)

# README command → what CI runs instead (fewer epochs, --quick). Same command otherwise.
SMALLER: dict[str, str] = {
    "gradprobe train --sizes 784,30,10 --epochs 30 --batch-size 10 --eta 0.1 --lmbda 5.0 "
    "--seeds 4": "gradprobe train --sizes 784,30,10 --epochs 1 --batch-size 10 --eta 0.1 "
    "--lmbda 5.0 --seeds 4",
    # 100 seeds × 4 depths on the full MNIST: ~50 s of the suite for no extra coverage.
    "gradprobe reproduce initial-speed --out results": "gradprobe reproduce initial-speed "
    "--seeds 10 --out results",
}
# README commands that cannot run here, with the reason.
CANNOT_RUN: dict[str, str] = {
    "gradprobe sweep chain --grid depth=3..12 seed=0..19 --out /shared/sweeps/chain \\": (
        "needs a Ray cluster at HEAD_HOST"
    ),
}


def _blocks(lang: set[str]) -> list[str]:
    return [m.group(2) for m in FENCE.finditer(README) if m.group(1) in lang]


def _python_blocks() -> list[str]:
    return _blocks({"python"})


def _commands() -> list[str]:
    out: list[str] = []
    for block in _blocks({"console", "bash", "sh", "shell"}):
        for line in block.splitlines():
            line = line.strip()
            if line.startswith("$ "):
                line = line[2:]
            elif not line.startswith("gradprobe ") and "&& gradprobe " not in line:
                continue
            # Quickstart lines: keep only the gradprobe part of `pip install … && gradprobe …`.
            if "&& gradprobe " in line:
                line = "gradprobe " + line.split("&& gradprobe ", 1)[1]
            if not line.startswith("gradprobe "):
                continue
            line = line.split("  #", 1)[0].strip()
            if line not in out:  # the Quickstart's command appears again further down
                out.append(line)
    return out


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO / "src"), str(REPO / "examples"), env.get("PYTHONPATH", "")]
    )
    env.setdefault("GRADPROBE_CACHE", str(tmp_path / "cache"))
    env["MPLBACKEND"] = "Agg"
    return env


@pytest.fixture(scope="module")
def workdir(quick_all: Any) -> Path:
    """The folder the Quickstart ran in (conftest): later commands read its results."""
    return quick_all.folder


PY = _python_blocks()
CMDS = _commands()


def test_readme_has_blocks() -> None:
    assert PY and CMDS


@pytest.mark.slow
@pytest.mark.parametrize("code", PY, ids=[f"python-{i}" for i in range(len(PY))])
def test_python_block_runs(code: str, tmp_path: Path) -> None:
    if "load_mnist()" in code and not os.environ.get("GRADPROBE_DATA"):
        pytest.skip("needs the full MNIST (GRADPROBE_DATA)")
    script = tmp_path / "block.py"
    script.write_text(code, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.slow
@pytest.mark.parametrize("command", CMDS, ids=CMDS)
def test_command_runs(command: str, workdir: Path, quick_all: Any) -> None:
    """Commands run in README order in one folder (a later one may read an earlier's output)."""
    if command in CANNOT_RUN:
        pytest.skip(CANNOT_RUN[command])
    run = SMALLER.get(command, command)
    if run == quick_all.command:  # run once per session by conftest, exactly as written
        assert quick_all.returncode == 0, f"{run}\n{quick_all.stderr[-3000:]}"
        assert "Traceback" not in quick_all.stderr
        return
    if ("--data" not in run and "--quick" not in run and "bundled" not in run
            and not os.environ.get("GRADPROBE_DATA")):  # fmt: skip
        pytest.skip("needs the full MNIST (GRADPROBE_DATA)")
    argv = shlex.split(run)
    done = subprocess.run(
        [sys.executable, "-m", "gradprobe.cli.main", *argv[1:]],
        cwd=workdir,
        env=_env(workdir),
        capture_output=True,
        text=True,
        timeout=420,
    )
    assert done.returncode == 0, f"{run}\n{done.stderr[-3000:]}"
    assert "Traceback" not in done.stderr
