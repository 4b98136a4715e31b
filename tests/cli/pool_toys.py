"""Experiments for the process-pool tests of `gradprobe reproduce all --jobs`: defined at the
top level of an importable module, so that a fresh worker process finds them by
``cli.pool_toys:Name`` (tests/ is on the path; a worker starts with this process's path)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gradprobe.experiments import base


@dataclass(frozen=True)
class BoomConfig:
    quick: bool = False


class Boom(base.Experiment[BoomConfig]):
    """Fails in `compute`, as an experiment with a bug or missing data would."""

    name = "boom-exp"
    title = "Boom"
    book_ref = "none (a test double)"
    order = 15.0  # between depth-accuracy (10) and initial-speed (20)
    Config = BoomConfig

    def compute(self, config: BoomConfig, ctx: base.RunContext) -> dict[str, Any]:
        raise RuntimeError("boom in a worker")
