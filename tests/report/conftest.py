"""Results folders for the report tests, built from `Result` objects (schema /2) and the toy
experiment of `toy_experiment` (registered with its own figure module for one test)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from report.toy_experiment import NAME, Toy, install, make_result

HOSTILE = "<script>alert(1)</script>"


@pytest.fixture
def toy(monkeypatch: pytest.MonkeyPatch) -> type[Toy]:
    """The toy experiment, registered, with its figure module findable by the report."""
    return install(monkeypatch)


@pytest.fixture(name="hostile")
def hostile_fixture() -> str:
    return HOSTILE


def write(root: Path, folder: str, **changes: Any) -> Path:
    """Write `make_result(**changes)` as root/folder/result.json; returns the folder."""
    out = root / folder
    make_result(**changes).write(out)
    return out


@pytest.fixture
def results_dir(tmp_path: Path, toy: type[Toy]) -> Path:
    """Three results whose folder names sort against their `order`: the toy (with a figure
    module, order 5), 'alpha' (quick, order 20) and 'zeta' (order 1)."""
    root = tmp_path / "results"
    write(root, "a-toy", name=NAME, order=5.0)
    write(root, "b-alpha", name="alpha", order=20.0, quick=True, quick_note="Quick: 5 seeds.")
    write(root, "c-zeta", name="zeta", order=1.0)
    return root
