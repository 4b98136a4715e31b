"""LEGACY (being replaced by `experiments.base`): what every experiment shared: its result
record, the registry, statistics over seeds and helpers (`one_thread`, `Timer`, `unwrap`).

An experiment is a class with a dataclass ``Config`` and a ``run`` method that computes, writes
its data (result.json, CSVs) and figures into ``out_dir``, and returns an `ExperimentResult`.
``result.json`` follows the schema ``gradprobe.result/1`` that `gradprobe.report` reads.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from ..errors import ConfigError
from ..io import write_json

SCHEMA = "gradprobe.result/1"

#: The order of `gradprobe reproduce all` and of the report's sections.
ORDER = (
    "depth-accuracy",
    "initial-speed",
    "neuron-bars",
    "training-speed",
    "chain",
    "exploding",
    "slowdown",
    "output-layers",
)


@dataclass
class Comparison:
    """One of our numbers beside the book's. ``inside`` is whether book ∈ [low, high]."""

    quantity: str
    ours: float
    book: float | None = None
    low: float | None = None
    high: float | None = None
    band: str = ""
    note: str = ""
    inside: bool | None = None

    def __post_init__(self) -> None:
        if self.inside is None and None not in (self.book, self.low, self.high):
            assert self.book is not None and self.low is not None and self.high is not None
            self.inside = bool(self.low <= self.book <= self.high)


@dataclass
class Figure:
    """A figure written as both SVG and PNG (paths relative to the experiment's folder)."""

    svg: str
    png: str
    caption: str = ""


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[Any]]


@dataclass
class ExperimentResult:
    """Everything an experiment reports; ``data`` holds its raw numbers (e.g. per_seed)."""

    name: str
    title: str
    book_ref: str
    config: dict[str, Any]
    quick: bool
    summary: str
    explanation: str
    comparisons: list[Comparison] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    created: str = field(
        default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds")
    )

    def to_dict(self) -> dict[str, Any]:
        from .. import __version__

        d = dataclasses.asdict(self)
        return {"schema": SCHEMA, "gradprobe_version": __version__, **d}

    def write(self, out_dir: str | Path) -> Path:
        """Write ``out_dir/result.json`` atomically; returns its path."""
        return write_json(Path(out_dir) / "result.json", self.to_dict())


class Experiment:
    """Base class. Subclasses set ``name``, ``title``, ``book_ref``, ``Config`` and ``run``.

    ``Config`` is a dataclass with a ``seeds`` field where seeds make sense; ``quick_config``
    returns the reduced version used by ``--quick`` (bundled data only, seconds not minutes).
    """

    name: ClassVar[str]
    title: ClassVar[str]
    book_ref: ClassVar[str]
    Config: ClassVar[type]

    def default_config(self) -> Any:
        return self.Config()

    def quick_config(self) -> Any:
        raise NotImplementedError

    def run(
        self,
        config: Any,
        *,
        data: str | None,
        out_dir: Path,
        progress: Callable[[str], None] | None = None,
    ) -> ExperimentResult:
        """Compute, write data and figures into ``out_dir``, return the result (also written).

        ``data``: where MNIST comes from, as `gradprobe.data.load_data` takes it ("bundled",
        a folder, or None for the usual resolution); ``progress`` receives short status lines.
        """
        raise NotImplementedError

    @classmethod
    def make_result(cls, config: Any, **fields: Any) -> ExperimentResult:
        """An `ExperimentResult` of this experiment: its ``name``, ``title`` and ``book_ref``,
        ``config`` as a dict and its ``quick`` flag, plus ``fields`` (summary, comparisons, …)."""
        return ExperimentResult(
            name=cls.name,
            title=cls.title,
            book_ref=cls.book_ref,
            config=dataclasses.asdict(config),
            quick=config.quick,
            **fields,
        )


# Transitional: legacy experiments register into the new registry (experiments.base) with an
# order derived from ORDER, until each is moved to the new base class.
from .base import REGISTRY, get_experiment  # noqa: E402, F401


def register(cls: type[Experiment]) -> type[Experiment]:
    """Class decorator: make an experiment available to `gradprobe reproduce` by its name."""
    from . import base

    if cls.name not in ORDER:
        raise ValueError(f"experiment {cls.name!r} is not in ORDER")
    cls.order = 10 * (ORDER.index(cls.name) + 1)  # type: ignore[attr-defined]
    base.register(cls)  # type: ignore[arg-type]
    return cls


def with_seeds(config: Any, seeds: int | None) -> Any:
    """``config`` with ``seeds`` replaced, if given (and if the experiment has seeds)."""
    if seeds is None:
        return config
    if "seeds" not in {f.name for f in dataclasses.fields(config)}:
        raise ConfigError(f"this experiment has no seeds to set ({type(config).__qualname__})")
    return dataclasses.replace(config, seeds=seeds)


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one intra-op thread for the block. The book's layers are 30 wide: splitting
    such small products across threads gains nothing, and on a busy 2-core machine the threads
    wait for each other, making training 10× slower or worse (measured)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def unwrap(text: str) -> str:
    """Join the hard-wrapped lines of each paragraph (the report turns newlines into breaks)."""
    return "\n\n".join(" ".join(p.split()) for p in text.split("\n\n") if p.strip())


class Timer:
    def __enter__(self) -> Timer:
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.t0


# -- statistics over seeds ---------------------------------------------------------------------
def median_band(
    x: np.ndarray, axis: int = 0, q: tuple[float, float] = (0.10, 0.90)
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(median, low quantile, high quantile) along ``axis`` (the seeds)."""
    x = np.asarray(x, dtype=np.float64)
    return (
        np.median(x, axis=axis),
        np.quantile(x, q[0], axis=axis),
        np.quantile(x, q[1], axis=axis),
    )


# Two-sided 97.5 % quantiles of Student's t for 1 … 30 degrees of freedom.
_T975 = (
    12.706,
    4.303,
    3.182,
    2.776,
    2.571,
    2.447,
    2.365,
    2.306,
    2.262,
    2.228,
    2.201,
    2.179,
    2.160,
    2.145,
    2.131,
    2.120,
    2.110,
    2.101,
    2.093,
    2.086,
    2.080,
    2.074,
    2.069,
    2.064,
    2.060,
    2.056,
    2.052,
    2.048,
    2.045,
    2.042,
)


def mean_std_ci(x: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, sample std, half-width of the 95 % t-interval of the mean) along ``axis``."""
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[axis]
    mean = x.mean(axis=axis)
    if n < 2:
        nan = np.full_like(mean, math.nan)
        return mean, nan, nan
    std = x.std(axis=axis, ddof=1)
    t = _T975[n - 2] if n - 1 <= len(_T975) else 1.96
    return mean, std, t * std / math.sqrt(n)
