"""What every experiment shares: the base class, the registry and the run context.

An experiment *computes*; it never draws. It supplies

* ``Config``: a frozen dataclass (fields with defaults; ``seeds`` where seeds make sense,
  ``quick: bool`` for the reduced mode) — sweeps vary any of its fields;
* ``quick_config()``: the reduced settings of ``--quick`` (bundled data, seconds);
* ``compute(config, ctx) -> data``: the measurement, as a plain JSON-able dict (per-seed
  arrays, curves …); everything a figure or a comparison needs goes in here;
* ``compare(config, data) -> [Comparison]``: our numbers beside the book's (kind
  ``reproduction``), checks (``identity``/``bound``) and theory (``prediction``);
* ``conclude(config, data, comparisons) -> [str]``: sentences chosen and filled from the
  numbers, saying plainly where a result disagrees with the book;
* optionally ``tables(config, data)`` and ``write_files(config, data, out_dir)`` (CSVs), and
  ``metrics(config, data)``: per-seed values for a sweep's table (`gradprobe.sweep`).

`Experiment.run` (not overridden) owns the rest: thread policy, timing, progress, building the
`gradprobe.results.Result` and writing ``out_dir/result.json`` atomically. Figures are drawn
from ``result.json`` by ``gradprobe.report.plots.<module>`` — ``experiments`` never imports
``report``.

Adding an experiment touches its own file here and its own figure file in ``report/plots/``:
``@register`` puts it in `REGISTRY`, and its ``order`` (a number) places it in
``gradprobe reproduce all`` and the report.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from ..errors import ConfigError
from ..results import Comparison, Result, Table, atomic_write_text, load_json_limited, plain

C = TypeVar("C")
T = TypeVar("T")

#: Signature of a progress sink: (what, done, total) — total 0 when unknown.
ProgressFn = Callable[[str, float, float], None]


def _silent(_what: str, _done: float, _total: float) -> None:
    return None


@dataclass
class RunContext:
    """What `Experiment.compute` gets besides its config.

    ``data``: where MNIST comes from, as `gradprobe.data.load_data` takes it ("bundled", a
    folder, or None for the usual resolution). ``out_dir``: the experiment's folder (for
    resumable partial results under ``out_dir/partial``). ``device``: a torch device string.
    """

    out_dir: Path
    data: str | None = None
    device: str = "cpu"
    progress_fn: ProgressFn = field(default=_silent)

    def progress(self, what: str, done: float = 0, total: float = 0) -> None:
        """Report progress: ``what`` is a short status, ``done``/``total`` units of work."""
        self.progress_fn(what, done, total)

    # -- resumable partial results ------------------------------------------------------------
    def partial_path(self, key: str) -> Path:
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in key)
        return self.out_dir / "partial" / f"{safe}.json"

    def load_partial(self, key: str, config: Any) -> Any | None:
        """A partial result saved by `save_partial` for the same ``key`` and ``config``, or None
        (missing, unreadable or of another configuration: then it is recomputed)."""
        path = self.partial_path(key)
        if not path.is_file():
            return None
        try:
            doc = load_json_limited(path)
        except ValueError:
            return None
        if not isinstance(doc, dict) or doc.get("config_hash") != config_hash(config):
            return None
        return doc.get("value")

    def save_partial(self, key: str, config: Any, value: Any) -> None:
        doc = {"config_hash": config_hash(config), "value": plain(value)}
        atomic_write_text(self.partial_path(key), json.dumps(doc, allow_nan=False))


#: Field metadata key of a config field that changes no number (`result_neutral`).
RESULT_NEUTRAL = "gradprobe.result_neutral"


def result_neutral(default: T) -> T:
    """A config field (``jobs: int = result_neutral(2)``) that changes the wall time only,
    never a number — a worker count: `config_hash` leaves it out, so partial results are found
    again with any value of it."""
    return field(default=default, metadata={RESULT_NEUTRAL: True})


def is_result_neutral(f: dataclasses.Field[Any]) -> bool:
    """Whether the dataclass field ``f`` was declared with `result_neutral`."""
    return bool(f.metadata.get(RESULT_NEUTRAL, False))


def _hashed(value: Any) -> Any:
    """``value`` as `dataclasses.asdict` turns it into dicts and lists, without the
    `result_neutral` fields of the dataclasses in it."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _hashed(getattr(value, f.name))
                for f in dataclasses.fields(value) if not is_result_neutral(f)}  # fmt: skip
    if isinstance(value, (list, tuple)):
        return [_hashed(v) for v in value]
    if isinstance(value, dict):
        return {k: _hashed(v) for k, v in value.items()}
    return value


def config_hash(config: Any) -> str:
    """A stable hash of a config dataclass (or dict): same fields and values → same hash.
    Fields declared `result_neutral` (worker counts) do not count; for a config without such
    fields the hash is that of its `dataclasses.asdict`."""
    text = json.dumps(plain(_hashed(config)), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class Experiment(Generic[C]):
    """Base class; see the module docstring for what a subclass supplies."""

    name: ClassVar[str]
    title: ClassVar[str]
    book_ref: ClassVar[str]
    #: Place in ``reproduce all`` and the report (smaller first). The book's chapter-5
    #: experiments use 10–80, chapter 3's 100+, beyond-the-book experiments 200+.
    order: ClassVar[float]
    Config: ClassVar[type]
    #: The explanation shown in the report (plain text, paragraphs separated by blank lines).
    explanation: ClassVar[str] = ""
    #: What quick mode can and cannot show (shown on quick cards).
    quick_note: ClassVar[str] = ""
    #: Rough CPU seconds of (the quick, the default) configuration on one core of the 2-core
    #: development machine. Only a scheduling hint: ``reproduce all --jobs`` submits the longest
    #: first when the output folder holds no earlier result to time it by. Never a result.
    typical_seconds: ClassVar[tuple[float, float]] = (1.0, 10.0)

    def default_config(self) -> C:
        return self.Config()  # type: ignore[no-any-return]

    def quick_config(self) -> C:
        return dataclasses.replace(self.default_config(), quick=True)  # type: ignore[type-var]

    # -- what a subclass supplies -------------------------------------------------------------
    def compute(self, config: C, ctx: RunContext) -> dict[str, Any]:
        raise NotImplementedError

    def compare(self, config: C, data: dict[str, Any]) -> list[Comparison]:
        return []

    def conclude(self, config: C, data: dict[str, Any], comparisons: list[Comparison]) -> list[str]:
        return []

    def tables(self, config: C, data: dict[str, Any]) -> list[Table]:
        return []

    def write_files(self, config: C, data: dict[str, Any], out_dir: Path) -> None:
        """Extra files beside result.json (CSVs), written atomically. Default: none."""

    def metrics(self, config: C, data: dict[str, Any]) -> list[dict[str, Any]]:
        """Per-seed values a sweep gathers beside the comparisons: rows ``{"metric": str,
        "seed": int, "value": float | None}`` computed from ``data`` (one per quantity and
        seed). Default: none — a sweep's table then holds the comparisons' median and band."""
        return []

    def seeds_of(self, config: C) -> int:
        """How many independent runs stand behind the bands (the config's ``seeds``)."""
        return int(getattr(config, "seeds", 0) or 0)

    # -- what the base does -------------------------------------------------------------------
    def validate(self, config: C) -> None:
        """Raise `ConfigError` for a config that cannot run. Default: ``seeds`` ≥ 1 if present."""
        seeds = getattr(config, "seeds", None)
        if seeds is not None and (isinstance(seeds, bool) or not isinstance(seeds, int)
                                  or seeds < 1):  # fmt: skip
            raise ConfigError(f"{self.name}: seeds must be a positive integer, got {seeds!r}")

    def run(
        self,
        config: C,
        *,
        out_dir: str | Path,
        data: str | None = None,
        device: str = "cpu",
        progress: ProgressFn | None = None,
        threads: int | None = None,
    ) -> Result:
        """Compute, compare, conclude; write ``out_dir/result.json`` (and `write_files`);
        return the `Result`. Torch runs on ``threads`` intra-op threads (default
        `default_threads`) for the duration, restored afterwards."""
        self.validate(config)
        out = Path(out_dir)
        ctx = RunContext(out_dir=out, data=data, device=device, progress_fn=progress or _silent)
        t0 = time.perf_counter()
        with torch_threads(default_threads() if threads is None else threads):
            raw = self.compute(config, ctx)
        seconds = time.perf_counter() - t0
        data_plain = plain(raw)
        comparisons = self.compare(config, data_plain)
        result = Result(
            name=self.name,
            title=self.title,
            book_ref=self.book_ref,
            config=plain(config) if dataclasses.is_dataclass(config) else {},
            quick=bool(getattr(config, "quick", False)),
            data=data_plain,
            comparisons=comparisons,
            conclusions=self.conclude(config, data_plain, comparisons),
            tables=self.tables(config, data_plain),
            explanation=unwrap(self.explanation),
            quick_note=unwrap(self.quick_note),
            seeds=self.seeds_of(config),
            seconds=seconds,
            order=float(self.order),
        )
        self.write_files(config, data_plain, out)
        result.write(out)
        return result


# -- registry ------------------------------------------------------------------------------------
REGISTRY: dict[str, type[Experiment[Any]]] = {}


def register(cls: type[Experiment[Any]]) -> type[Experiment[Any]]:
    """Class decorator: make an experiment available by its ``name`` at its ``order``."""
    for attr in ("name", "title", "book_ref", "order", "Config"):
        if not hasattr(cls, attr):
            raise TypeError(f"experiment {cls.__name__} lacks {attr!r}")
    if not dataclasses.is_dataclass(cls.Config):
        raise TypeError(f"{cls.__name__}.Config must be a dataclass")
    REGISTRY[cls.name] = cls
    return cls


def ordered_names() -> list[str]:
    """Registered experiment names in report order."""
    return sorted(REGISTRY, key=lambda n: (REGISTRY[n].order, n))


def get_experiment(name: str) -> Experiment[Any]:
    from . import load_all

    load_all()
    try:
        return REGISTRY[name]()
    except KeyError:
        known = ", ".join(ordered_names())
        raise ConfigError(f"unknown experiment {name!r}; choose one of: {known}") from None


def with_fields(config: C, **changes: Any) -> C:
    """``config`` with fields replaced; `ConfigError` naming an unknown field."""
    names = {f.name for f in dataclasses.fields(config)}  # type: ignore[arg-type]
    unknown = sorted(set(changes) - names)
    if unknown:
        raise ConfigError(
            f"{type(config).__qualname__} has no field {', '.join(map(repr, unknown))}; "
            f"fields: {', '.join(sorted(names))}"
        )
    return dataclasses.replace(config, **changes)  # type: ignore[type-var]


# -- threads -------------------------------------------------------------------------------------
def default_threads() -> int:
    """One intra-op thread, whatever the number of seeds. Measured (benchmarks/RESULTS.md,
    thread policy): on a quiet 2-core machine a second thread gains at most 1.3× (S = 16,
    784-30-10) and nothing for the deep net; on a busy one (load average 10–12 on 2 cores,
    2026-12-01) it made S = 4 run 85× slower (189 s against 2.2 s per seed-epoch) and S = 16
    9× slower (63 s against 7.2 s), because the threads wait for each other. One thread is
    never pathological; ask for more explicitly (``threads=``, ``--threads``) on an idle
    machine."""
    return 1


def cores() -> int:
    """CPU cores this process may use (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return max(1, os.cpu_count() or 1)


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run torch on ``n`` intra-op threads for the block (restored afterwards)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(max(1, int(n)))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def unwrap(text: str) -> str:
    """Join the hard-wrapped lines of each paragraph (the report keeps paragraph breaks)."""
    return "\n\n".join(" ".join(p.split()) for p in text.split("\n\n") if p.strip())
