"""Make the toy experiments importable (``sweep_toys``) here and in spawned workers."""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parents[1] / "src"
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))


def subprocess_env(**extra: str) -> dict[str, str]:
    """Environment for a `gradprobe` subprocess that finds this tree and the toys."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), str(HERE), env.get("PYTHONPATH", "")])
    env.update(extra)
    return env
