"""Toy experiments for the sweep tests: milliseconds per run, deterministic from the seed.

Imported by workers as ``sweep_toys:Toy`` (tests/sweep is put on the path by conftest.py, and
on PYTHONPATH for subprocesses). ``$SWEEP_TOY_LOG``, when set, names a file to which every
finished computation appends one line "<x> <y> <mode> <seed> <pid> <blas threads>" — the kill
test counts them; the last field is the OpenBLAS thread count NumPy runs on in that process.
``crash=True`` makes the worker process exit abruptly on a run's first attempt (never use it
in this process: --jobs 1 runs here).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradprobe.errors import ConfigError
from gradprobe.experiments.base import Experiment, RunContext
from gradprobe.results import Comparison


def _blas_threads() -> str:
    """NumPy's OpenBLAS thread count in this process, or "-" where none is found."""
    from gradprobe.backprop import _openblas

    libs = _openblas()
    return str(libs[0].get()) if libs else "-"


@dataclass(frozen=True)
class ToyConfig:
    x: int = 1
    y: float = 0.5
    mode: str = "a"
    sizes: tuple[int, ...] = (3, 2)
    seeds: int = 3
    seed: int = 0
    fail: bool = False
    sleep: float = 0.0
    crash: bool = False
    quick: bool = False


def score(config: ToyConfig, seed: int) -> float:
    """The toy's measurement for one seed: x·y (+1 in mode b) plus N(0, 0.1²) noise."""
    noise = float(np.random.default_rng(seed).normal(0.0, 0.1))
    return config.x * config.y + (1.0 if config.mode == "b" else 0.0) + noise


class Toy(Experiment[ToyConfig]):
    name = "toy"
    title = "A toy"
    book_ref = "none"
    order = 999.0
    Config = ToyConfig

    def validate(self, config: ToyConfig) -> None:
        super().validate(config)
        if config.mode not in ("a", "b"):
            raise ConfigError(f"toy: mode must be a or b, got {config.mode!r}")
        if config.x < 0:
            raise ConfigError(f"toy: x must be ≥ 0, got {config.x}")

    def compute(self, config: ToyConfig, ctx: RunContext) -> dict[str, Any]:
        ctx.progress("toy", 0, 1)
        if config.sleep:
            time.sleep(config.sleep)
        if config.crash and not (ctx.out_dir / "crashed-once").exists():
            # the worker process dies (as if killed by the OOM killer) on the first attempt
            ctx.out_dir.mkdir(parents=True, exist_ok=True)
            (ctx.out_dir / "crashed-once").touch()
            os._exit(3)
        if config.fail:
            raise RuntimeError(f"toy failure at x={config.x}")
        seeds = list(range(config.seed, config.seed + config.seeds))
        data = {"seeds": seeds, "scores": [score(config, s) for s in seeds]}
        log = os.environ.get("SWEEP_TOY_LOG")
        if log:
            with open(log, "a", encoding="utf-8") as f:
                f.write(
                    f"{config.x} {config.y} {config.mode} {config.seed} {os.getpid()} "
                    f"{_blas_threads()}\n"
                )
        return data

    def compare(self, config: ToyConfig, data: dict[str, Any]) -> list[Comparison]:
        return [
            Comparison.prediction("score", data["scores"], config.x * config.y, "x·y"),
            Comparison.identity("x·y", config.x * config.y, config.x * config.y, 0.0),
        ]

    def metrics(self, config: ToyConfig, data: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            {"metric": "score", "seed": s, "value": v}
            for s, v in zip(data["seeds"], data["scores"])
        ]
