"""Shared fixtures. Keep each block small; add new ones below."""

from __future__ import annotations

import os
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
