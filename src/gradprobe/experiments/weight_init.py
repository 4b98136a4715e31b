"""``weight-init``: N(0, 1) weights against N(0, 1/n_in), the book's chapter-3 figure.

Chapter 3, "Weight initialization", trains 784-30-10 and 784-100-10 (sigmoid, cross-entropy)
for 30 epochs by SGD (mini-batch m = 10, η = 0.1, λ = 5.0) on the 50 000 training images, once
with network2's ``large_weight_initializer`` (wˡ ~ N(0, 1)) and once with its default
(wˡ ~ N(0, 1/n_in)); biases are N(0, 1) in both. With N(0, 1) weights a hidden neuron's input
zʲ = Σ wⱼₖxₖ + bⱼ has a standard deviation of about √(n_in/2 + 1) ≈ 22 for MNIST, so σ(z)
saturates, σ′(zˡ) ≈ 0 and δˡ = ∂C/∂bˡ (BP2) is tiny: the hidden layer learns slowly at first.
The text says: after the first epoch "under 87 percent" with N(0, 1) and "almost 93 percent"
with N(0, 1/n_in); both end "somewhat over 96 percent". The book's own curve for 784-30-10 is
its published figure data (validation images correct per epoch, one run per initialisation).

Before that, "Using the cross-entropy to classify MNIST digits" trains the same nets with
N(0, 1) weights, η = 0.5, no regularisation, for 30 epochs and prints the TEST accuracy:
95.49 % with 30 hidden neurons and 96.82 % with 100.

Each (network, init, η, λ) run trains ``seeds`` networks at once (one vectorised `Network`) and
records the evaluation accuracy (%) after every epoch, [S, E]. Long runs resume: each finished
run is saved with `RunContext.save_partial` under a key of its own settings, and an unfinished
run continues from its per-epoch training checkpoint.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, DataError
from ..io import write_csv
from ..results import Comparison, Table, band_label, seed_band
from ..workers import report, run_tasks
from .base import Experiment, RunContext, config_hash, cores, register, result_neutral

#: Chapter 3, "Weight initialization" — the printed numbers (percent).
SOURCE_FIGURE = "ch. 3, “Weight initialization”"
FIRST_EPOCH_LARGE_BOUND = 87.0  # "under 87 percent"
FIRST_EPOCH_DEFAULT_ALMOST = 93.0  # "almost 93 percent"
FINAL_BOUND = 96.0  # "somewhat over 96 percent"
#: Chapter 3, "Using the cross-entropy to classify MNIST digits": test accuracy (%) after 30
#: epochs, N(0, 1) weights, η = 0.5, m = 10, λ = 0.
CE_TEST_ACCURACY = {30: 95.49, 100: 96.82}
SOURCE_CE = "ch. 3, “Using the cross-entropy to classify MNIST digits”"
#: The book's figure data (one run per init), shipped in the package.
FIGURE_DATA = "weight_initialization_30.json"
FIGURE_SIZES = (784, 30, 10)
INITS = ("large", "default")
INIT_LABEL = {"large": "N(0, 1)", "default": "N(0, 1/n_in)"}


@dataclass(frozen=True)
class WeightInitConfig:
    """The book's two figures' settings.

    ``hidden``: hidden-layer widths (784-h-10); figure runs use ``eta``/``lmbda`` and both
    ``inits``, evaluated on the validation images; ``ce_hidden`` (empty: skipped) are the
    cross-entropy runs of ch. 3 with N(0, 1) weights, ``ce_eta``, no regularisation, evaluated
    on the test images. ``train_size``: the first n training images (None: all).
    ``jobs``: processes training runs at once (None: up to 2, see `plan_jobs`); it changes
    the wall time only, never a number.
    """

    seeds: int = 5
    seed: int = 0
    epochs: int = 30
    batch_size: int = 10
    eta: float = 0.1
    lmbda: float = 5.0
    hidden: tuple[int, ...] = (30, 100)
    inits: tuple[str, ...] = INITS
    ce_hidden: tuple[int, ...] = (30, 100)
    ce_eta: float = 0.5
    train_size: int | None = None
    jobs: int | None = result_neutral(None)
    quick: bool = False


Config = WeightInitConfig


@register
class WeightInit(Experiment[WeightInitConfig]):
    name = "weight-init"
    title = "Weight initialisation: N(0, 1) against N(0, 1/n_in)"
    book_ref = "Chapter 3, “Weight initialization” and “Using the cross-entropy to classify MNIST”"
    order = 130
    typical_seconds = (2.5, 1180)  # scheduling hint (RESULTS.md)
    Config = WeightInitConfig
    explanation = """With weights N(0, 1) each hidden neuron of a 784-input net starts with a
    weighted input z of standard deviation ≈ 22: σ(z) is saturated, σ′(z) ≈ 0, and by BP2 the
    hidden layer's δ = ∂C/∂b is tiny, so it learns slowly. Weights N(0, 1/n_in) keep z near
    unit spread. We train both, several seeds each, and compare the accuracy per epoch with the
    book's text and its published curve for 784-30-10. The book's numbers are single runs; ours
    are bands (10–90 %) of single runs over seeds.

    The full run trains 6 configurations × 5 seeds × 30 epochs on 50 000 images (900
    seed-epochs): 1180 CPU-seconds measured on a loaded 2-core AMD EPYC (2026-12-01), 250–300
    per 784-100-10 configuration and 95–120 per 784-30-10 one (the 5 seeds of each in one
    vectorised network). Two processes, longest first, make that about 10 minutes of wall time
    on a quiet 2-core machine; each finished configuration is saved, so a rerun resumes."""
    quick_note = """Quick mode trains 3 epochs (5 seeds, 784-30-10 and 784-100-10, and the
    30-neuron cross-entropy run) on the 1000 bundled training images, evaluated on the 1000
    bundled test images (no validation split), in one process: about 2–3 CPU-seconds. It shows
    that N(0, 1/n_in) starts well ahead of N(0, 1) at both widths, but its accuracies (about
    25–70 %) are far from the book's 30 epochs on 50 000 images: it cannot show whether N(0, 1)
    catches up, the 96.82 % run with 100 hidden neurons is not made, and no book number is
    judged."""

    def quick_config(self) -> WeightInitConfig:
        return WeightInitConfig(seeds=5, epochs=3, ce_hidden=(30,), jobs=1, quick=True)

    def validate(self, config: WeightInitConfig) -> None:
        super().validate(config)
        for f in ("epochs", "batch_size"):
            v = getattr(config, f)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ConfigError(f"weight-init: {f} must be a positive integer, got {v!r}")
        for f in ("eta", "ce_eta"):
            v = getattr(config, f)
            if not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
                raise ConfigError(f"weight-init: {f} must be a positive number, got {v!r}")
        if not math.isfinite(config.lmbda) or config.lmbda < 0:
            raise ConfigError(f"weight-init: lmbda must be ≥ 0, got {config.lmbda!r}")
        for f in ("hidden", "ce_hidden"):
            for h in getattr(config, f):
                if isinstance(h, bool) or not isinstance(h, int) or h < 1:
                    raise ConfigError(f"weight-init: {f} must be positive integers, got {h!r}")
        if not config.hidden and not config.ce_hidden:
            raise ConfigError("weight-init: nothing to run (hidden and ce_hidden both empty)")
        bad = [i for i in config.inits if i not in INITS]
        if bad or not config.inits:
            raise ConfigError(f"weight-init: inits must be among {INITS}, got {config.inits!r}")
        if config.train_size is not None and (
            isinstance(config.train_size, bool)
            or not isinstance(config.train_size, int)
            or config.train_size < 1
        ):
            raise ConfigError(f"weight-init: train_size must be ≥ 1, got {config.train_size!r}")
        if config.jobs is not None and (
            isinstance(config.jobs, bool) or not isinstance(config.jobs, int) or config.jobs < 1
        ):
            raise ConfigError(f"weight-init: jobs must be ≥ 1 or None, got {config.jobs!r}")

    def compute(self, config: WeightInitConfig, ctx: RunContext) -> dict[str, Any]:
        return measure(config, ctx)

    def compare(self, config: WeightInitConfig, data: dict[str, Any]) -> list[Comparison]:
        return compare(config, data)

    def conclude(
        self, config: WeightInitConfig, data: dict[str, Any], comparisons: list[Comparison]
    ) -> list[str]:
        return conclude(config, data, comparisons)

    def tables(self, config: WeightInitConfig, data: dict[str, Any]) -> list[Table]:
        rows = []
        for r in data["runs"]:
            acc = np.asarray(r["accuracy"], dtype=np.float64)
            med, lo, hi = seed_band(acc)
            rows.append([
                r["net"], INIT_LABEL[r["init"]], r["eta"], r["lmbda"], r["evaluated_on"],
                float(med[0]), float(lo[0]), float(hi[0]),
                float(med[-1]), float(lo[-1]), float(hi[-1]), r["train_seconds"],
                r.get("cpu_seconds"), acc.size / r["train_seconds"] if r["train_seconds"] else None,
            ])  # fmt: skip
        n = data["seeds"]
        return [
            Table(
                title=f"Accuracy (%) after the first and the last epoch ({band_label(n)})",
                columns=[
                    "network",
                    "weights",
                    "η",
                    "λ",
                    "evaluated on",
                    "epoch 1 median",
                    "10 %",
                    "90 %",
                    "last median",
                    "10 %",
                    "90 %",
                    "train seconds",
                    "CPU seconds",
                    "seed-epochs / s",
                ],
                rows=rows,
            )
        ]

    def write_files(self, config: WeightInitConfig, data: dict[str, Any], out_dir: Path) -> None:
        rows = [
            [
                r["net"],
                r["init"],
                r["eta"],
                r["lmbda"],
                r["evaluated_on"],
                config.seed + s,
                e + 1,
                v,
            ]
            for r in data["runs"]
            for s, row in enumerate(r["accuracy"])
            for e, v in enumerate(row)
        ]
        write_csv(
            Path(out_dir) / "weight_init.csv",
            ["network", "init", "eta", "lmbda", "evaluated_on", "seed", "epoch", "accuracy_pct"],
            rows,
        )


# -- the book's figure data ----------------------------------------------------------------------
def book_curves() -> dict[str, list[float]] | None:
    """The book's 784-30-10 curves (validation accuracy %, per epoch) by init, or None when the
    package does not ship ``gradprobe/bookdata/weight_initialization_30.json``.

    The file holds ``{"default_weight_initialization": [[], acc, [], []], "large_…": …}`` with
    acc the number of the 10 000 validation images classified correctly after each epoch."""
    from .. import book

    loader = getattr(book, "figure_data", None)  # the shared loader (checks SHA-256), if merged
    if loader is not None:
        try:
            doc = loader(FIGURE_DATA)
        except ValueError as e:
            raise DataError(str(e)) from None
    else:
        try:
            raw = resources.files("gradprobe.bookdata").joinpath(FIGURE_DATA).read_bytes()
        except (ModuleNotFoundError, FileNotFoundError, OSError):
            return None
        doc = json.loads(raw)
    out: dict[str, list[float]] = {}
    try:
        for init in INITS:
            acc = doc[f"{init}_weight_initialization"][1]
            out[init] = [100.0 * float(v) / 10_000 for v in acc]
    except (KeyError, IndexError, TypeError, ValueError):
        raise DataError(f"{FIGURE_DATA}: not the book's [[], acc, [], []] layout") from None
    return out


# -- computing -----------------------------------------------------------------------------------
def run_specs(config: WeightInitConfig) -> list[dict[str, Any]]:
    """One record per training run: network, init, η, λ and what it is evaluated on."""
    specs = []
    for h in config.hidden:
        for init in config.inits:
            specs.append({"hidden": h, "init": init, "eta": config.eta, "lmbda": config.lmbda,
                          "evaluate": "validation", "role": "figure"})  # fmt: skip
    for h in config.ce_hidden:
        specs.append({"hidden": h, "init": "large", "eta": config.ce_eta, "lmbda": 0.0,
                      "evaluate": "test", "role": "cross-entropy"})  # fmt: skip
    return specs


def run_key(spec: dict[str, Any]) -> str:
    return f"784-{spec['hidden']}-10_{spec['init']}_eta{spec['eta']:g}_lmbda{spec['lmbda']:g}"


def run_cost(spec: dict[str, Any]) -> int:
    """Relative cost of a run: its number of weights (time per step grows with it)."""
    return int(spec["hidden"]) * (784 + 10)


def plan_jobs(config: WeightInitConfig, pending: int) -> int:
    """Processes to train ``pending`` runs with: ``config.jobs`` if set, else up to 2 (the
    cores this process may use, at most) — 1 inside a child process (a sweep worker, a pool)
    so that nested parallelism never oversubscribes the machine. Never more than ``pending``."""
    if config.jobs is not None:
        jobs = config.jobs
    elif multiprocessing.parent_process() is not None:
        jobs = 1
    else:
        jobs = min(2, cores())
    return max(1, min(jobs, pending))


def _splits(config: WeightInitConfig, mnist: Any) -> tuple[Any, Any, Any]:
    """(training, validation or None, test) after ``train_size``."""
    training = mnist.training
    if config.train_size is not None:
        if config.train_size > len(training):
            raise ConfigError(
                f"train_size={config.train_size} exceeds the {len(training)} training images "
                f"of {mnist.source}"
            )
        training = training.subset(config.train_size)
    return training, mnist.validation, mnist.test


def measure(config: WeightInitConfig, ctx: RunContext) -> dict[str, Any]:
    """Train every run of `run_specs`; accuracy per seed and epoch, [S, E] percent.

    Runs finished earlier (`RunContext.load_partial`) are reused; the others are trained on
    `plan_jobs` processes at once, the costliest first, each process training all seeds of one
    run in one vectorised `Network` (a `gradprobe.workers.TaskPool` task; ``jobs == 1``: here,
    one after another). Results do not depend on the number of processes: a run is the same
    computation, on this process's number of torch threads, wherever it executes."""
    import torch

    from ..data import load_data

    t0 = time.perf_counter()
    mnist = load_data(ctx.data)
    training, _, _ = _splits(config, mnist)
    specs = run_specs(config)
    E = config.epochs
    total = len(specs) * E
    runs: dict[str, dict[str, Any]] = {}
    pending: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for spec in specs:
        key = run_key(spec)
        done = ctx.load_partial(key, _settings(spec, config, len(training), mnist.source))
        if done is not None:
            runs[key] = done
        else:
            pending.append((spec, _settings(spec, config, len(training), mnist.source)))
    epochs_done = {run_key(s): (E if run_key(s) in runs else 0) for s in specs}

    def tick(key: str, epoch: int, acc: float) -> None:
        epochs_done[key] = epoch
        ctx.progress(f"{key}: epoch {epoch}, mean {acc:.2f} %", sum(epochs_done.values()), total)

    for key in runs:
        ctx.progress(f"{key}: reused from an earlier run", sum(epochs_done.values()), total)
    pending.sort(key=lambda p: -run_cost(p[0]))  # longest first: the pool ends together
    jobs = plan_jobs(config, len(pending))
    data = "bundled" if ctx.data == "bundled" else mnist.source
    tasks = [(spec, settings, config, str(ctx.out_dir), data, ctx.device)
             for spec, settings in pending]  # fmt: skip
    for (spec, *_), run in run_tasks(_train_task, tasks, jobs, threads=torch.get_num_threads(),
                                     on_message=lambda m: tick(*m)):  # fmt: skip
        runs[run_key(spec)] = run
    return {
        "runs": [runs[run_key(s)] for s in specs],
        "seeds": config.seeds,
        "epochs": E,
        "training_images": len(training),
        "source": mnist.source,
        "book_curves": book_curves(),
        "jobs": jobs,
        "trained_runs": len(pending),
        "wall_seconds": time.perf_counter() - t0,
    }


def _settings(spec: dict[str, Any], config: WeightInitConfig, n: int, source: str) -> dict:
    """What identifies a finished run (the key of its partial result)."""
    return {**spec, "seeds": config.seeds, "seed": config.seed, "epochs": config.epochs,
            "batch_size": config.batch_size, "train_images": n, "data": source}  # fmt: skip


def _train_run(
    spec: dict[str, Any],
    settings: dict[str, Any],
    config: WeightInitConfig,
    ctx: RunContext,
    mnist: Any,
    tick: Callable[[str, int, float], None],
) -> dict[str, Any]:
    """Train one run (all seeds at once), resuming from its per-epoch checkpoint; save and
    return its record. ``tick(key, epoch, mean accuracy %)`` after each epoch."""
    from ..nets import Network
    from ..train import Callback, TrainConfig, Trainer, TrainState

    training, validation, test = _splits(config, mnist)
    evaluation, evaluated_on = test, "test"
    if spec["evaluate"] == "validation" and validation is not None:
        evaluation, evaluated_on = validation, "validation"
    key = run_key(spec)

    class _Tick(Callback):
        def on_epoch_end(self, state: TrainState) -> None:
            tick(key, state.epoch, 100 * float(np.mean(state.accuracy[-1])))

    cpu0 = time.process_time()
    net = Network((784, spec["hidden"], 10), init=spec["init"], seeds=config.seeds,
                  seed=config.seed, device=ctx.device)  # fmt: skip
    checkpoint = ctx.partial_path(f"{key}_{config_hash(settings)}").with_suffix(".safetensors")
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    trainer = Trainer(
        net,
        TrainConfig(config.epochs, config.batch_size, eta=spec["eta"], lmbda=spec["lmbda"]),
        callbacks=[_Tick()],
        checkpoint=checkpoint,
    )
    fit = trainer.fit(training, evaluation, resume=True)
    run = {
        "net": f"784-{spec['hidden']}-10",
        "hidden": spec["hidden"],
        "init": spec["init"],
        "eta": spec["eta"],
        "lmbda": spec["lmbda"],
        "role": spec["role"],
        "evaluated_on": evaluated_on,
        "accuracy": (100 * fit.accuracy).tolist(),  # [S, E] percent
        "train_seconds": float(sum(fit.seconds_per_epoch)),
        "cpu_seconds": time.process_time() - cpu0,
    }
    ctx.save_partial(key, settings, run)
    checkpoint.unlink(missing_ok=True)
    return run


# -- one run as a pool task -----------------------------------------------------------------------
def _train_task(
    spec: dict[str, Any],
    settings: dict[str, Any],
    config: WeightInitConfig,
    out_dir: str,
    data: str,
    device: str,
) -> dict[str, Any]:
    """`_train_run` as a `gradprobe.workers.TaskPool` task (here or in a worker process, on
    the pool's torch threads): the data by its resolved source (loaded once per process), each
    epoch reported to the parent as ``(key, epoch, mean accuracy %)``."""
    from ..data import load_data

    mnist = load_data(data, download=False)
    ctx = RunContext(out_dir=Path(out_dir), data=data, device=device)

    def tick(key: str, epoch: int, acc: float) -> None:
        report((key, epoch, acc))

    return _train_run(spec, settings, config, ctx, mnist, tick)


# -- comparing -----------------------------------------------------------------------------------
def _run(data: dict[str, Any], role: str, hidden: int, init: str) -> dict[str, Any] | None:
    for r in data["runs"]:
        if r["role"] == role and r["hidden"] == hidden and r["init"] == init:
            return r
    return None


def _find(data: dict[str, Any], role: str, hidden: int, init: str) -> np.ndarray | None:
    """Accuracy (%) [S, E] of one run, or None if it was not run."""
    r = _run(data, role, hidden, init)
    return None if r is None else np.asarray(r["accuracy"], dtype=np.float64)


def _evaluated(data: dict[str, Any], role: str, hidden: int) -> str:
    r = _run(data, role, hidden, "large") or _run(data, role, hidden, "default")
    return "validation" if r is None else str(r["evaluated_on"])


def comparable(config: WeightInitConfig, data: dict[str, Any], role: str = "figure") -> bool:
    """The book's settings for ``role``: 30 epochs of SGD with m = 10 on 50 000 images, and
    η = 0.1, λ = 5.0 for the figure or η = 0.5 (λ = 0) for the cross-entropy runs."""
    same = (
        data["epochs"] == 30
        and data["training_images"] == 50_000
        and config.batch_size == 10
        and not config.quick
    )
    if role == "figure":
        return same and config.eta == 0.1 and config.lmbda == 5.0
    return same and config.ce_eta == 0.5


def _not_judged(config: WeightInitConfig, data: dict[str, Any], role: str) -> str:
    """The note of an unjudged row ("" when the settings are the book's)."""
    if comparable(config, data, role):
        return ""
    eta, lmbda = (config.eta, config.lmbda) if role == "figure" else (config.ce_eta, 0.0)
    book = "η = 0.1, λ = 5.0" if role == "figure" else "η = 0.5, λ = 0"
    return (
        f"not judged: {data['epochs']} epochs on {data['training_images']} images, m = "
        f"{config.batch_size}, η = {eta:g}, λ = {lmbda:g}; the book's: 30 epochs on 50 000, "
        f"m = 10, {book}"
    )


def _bound(quantity: str, values: np.ndarray, ref: float, rel: str, source: str,
           note: str) -> Comparison:  # fmt: skip
    med, lo, hi = (float(v) for v in seed_band(values))
    n = values.size
    return Comparison(quantity, "bound", med, ref, source, lo if n >= 5 else None,
                      hi if n >= 5 else None, band_label(n), relation=rel,  # type: ignore[arg-type]
                      note=note)  # fmt: skip


def compare(config: WeightInitConfig, data: dict[str, Any]) -> list[Comparison]:
    """Bounds from the text (judged on our median), the book's curve and its first/last
    epoch as reproductions — all for 784-30-10: the book prints no number for its 784-100-10
    figure — and the cross-entropy runs' test accuracy (95.49 %, 96.82 %) as reproductions.
    Outside the book's settings (quick mode, other epochs, images, η, λ or m) references are
    kept but set unjudged (reference None, with the book's number in the note)."""
    ok = comparable(config, data, "figure")
    off = _not_judged(config, data, "figure")
    rows: list[Comparison] = []

    def ref(x: float, judged: bool = ok) -> float | None:
        return x if judged else None

    curves = data.get("book_curves")
    for h in config.hidden:
        if h != FIGURE_SIZES[1]:
            continue  # the text's numbers and the figure data are for 784-30-10 only
        net = f"784-{h}-10"
        large = _find(data, "figure", h, "large")
        default = _find(data, "figure", h, "default")
        ev = _evaluated(data, "figure", h)
        if large is not None:
            rows.append(_bound(
                f"{net}, N(0, 1): {ev} accuracy after epoch 1 (%)",
                large[:, 0], ref(FIRST_EPOCH_LARGE_BOUND), "<=",  # type: ignore[arg-type]
                f"{SOURCE_FIGURE}: “under 87 percent” after the first epoch",
                off or "judged on our median; the band shows single runs"))  # fmt: skip
            rows.append(_bound(
                f"{net}, N(0, 1): {ev} accuracy after epoch {data['epochs']} (%)",
                large[:, -1], ref(FINAL_BOUND), ">=",  # type: ignore[arg-type]
                f"{SOURCE_FIGURE}: both end “somewhat over 96 percent”",
                off or "judged on our median"))  # fmt: skip
        if default is not None:
            rows.append(_bound(
                f"{net}, N(0, 1/n_in): {ev} accuracy after epoch 1 (%)",
                default[:, 0], ref(FIRST_EPOCH_DEFAULT_ALMOST), "<=",  # type: ignore[arg-type]
                f"{SOURCE_FIGURE}: “almost 93 percent” after the first epoch",
                off or "“almost 93” read as the bound ≤ 93 (judged on our median); how close "
                "to 93 is judged against the book's own curve (reproduction row)"))  # fmt: skip
            rows.append(_bound(
                f"{net}, N(0, 1/n_in): {ev} accuracy after epoch {data['epochs']} (%)",
                default[:, -1], ref(FINAL_BOUND), ">=",  # type: ignore[arg-type]
                f"{SOURCE_FIGURE}: both end “somewhat over 96 percent”",
                off or "judged on our median"))  # fmt: skip
        if curves is not None:
            for init, ours in (("large", large), ("default", default)):
                if ours is None:
                    continue
                book = curves[init]
                src = f"{SOURCE_FIGURE}, book figure data {FIGURE_DATA}"
                for e, label in ((0, "1"), (len(book) - 1, str(len(book)))):
                    if e < ours.shape[1]:
                        rows.append(Comparison.reproduction(
                            f"{net}, {INIT_LABEL[init]}: {ev} accuracy after epoch "
                            f"{label} (%)", ours[:, e], ref(book[e]), src,  # type: ignore[arg-type]
                            note=off))  # fmt: skip
    ce_ok = comparable(config, data, "cross-entropy")
    ce_off = _not_judged(config, data, "cross-entropy")
    for h in config.ce_hidden:
        ours = _find(data, "cross-entropy", h, "large")
        if ours is None:
            continue
        book = CE_TEST_ACCURACY.get(h)
        rows.append(Comparison.reproduction(
            f"784-{h}-10, N(0, 1), η = {config.ce_eta:g}, λ = 0: "
            f"{_evaluated(data, 'cross-entropy', h)} accuracy after epoch "
            f"{data['epochs']} (%)", ours[:, -1],
            ref(book, ce_ok) if book is not None else None,  # type: ignore[arg-type]
            f"{SOURCE_CE}: {book:.2f} %" if book is not None else SOURCE_CE,
            note=ce_off or ("" if book is not None else "the book prints no number for this width"),
        ))  # fmt: skip
    return rows


def curve_share(ours: np.ndarray, book: list[float]) -> tuple[int, int]:
    """(book points inside our 10–90 % band, epochs compared) for ours [S, E]."""
    _, lo, hi = seed_band(ours)
    n = min(len(book), ours.shape[1])
    b = np.asarray(book[:n])
    return int(np.sum((lo[:n] <= b) & (b <= hi[:n]))), n


def epochs_to_reach(curve: np.ndarray, target: float) -> int | None:
    """The first epoch (1-based) at which ``curve`` [E] reaches ``target``; None if never."""
    hit = np.nonzero(curve >= target)[0]
    return int(hit[0]) + 1 if hit.size else None


# -- concluding ----------------------------------------------------------------------------------
#: What the book says of the end of each figure (ch. 3, "Weight initialization"): whether the
#: two initialisations meet after 30 epochs, and its words.
BOOK_MEET: dict[int, tuple[bool, str]] = {
    30: (True, "“The final classification accuracy is almost exactly the same in the two cases”"),
    100: (False, "“In this case, the two curves don't quite meet”"),
}


def conclude(
    config: WeightInitConfig, data: dict[str, Any], comparisons: list[Comparison]
) -> list[str]:
    """Sentences filled from the numbers, per network: the epochs N(0, 1) needs to reach the
    first-epoch accuracy of N(0, 1/n_in), whether it catches up within the run (last-epoch
    seed bands overlap) against what the book says; the book's curve; the cross-entropy runs
    against 95.49 % and 96.82 %; every disagreement with the book."""
    out: list[str] = []
    E = data["epochs"]
    ok = comparable(config, data, "figure")
    curves = data.get("book_curves")
    for h in config.hidden:
        large = _find(data, "figure", h, "large")
        default = _find(data, "figure", h, "default")
        if large is None or default is None:
            continue
        net = f"784-{h}-10"
        ml, md = np.median(large, axis=0), np.median(default, axis=0)
        target = float(md[0])
        k = epochs_to_reach(ml, target)
        head = (
            f"{net}: with N(0, 1/n_in) weights the median run reaches {target:.2f} % after the "
            f"first epoch; with N(0, 1) weights it starts at {ml[0]:.2f} %"
        )
        if k is None:
            text = head + f" and does not reach {target:.2f} % within {E} epochs"
        else:
            text = head + f" and needs {k} epochs to reach it ({k - 1} more)"
        if ok and curves is not None and h == FIGURE_SIZES[1]:
            kb = epochs_to_reach(np.asarray(curves["large"]), curves["default"][0])
            text += (
                f"; in the book's own runs N(0, 1) needs {kb} epochs to reach the "
                f"{curves['default'][0]:.2f} % of N(0, 1/n_in)"
                if kb is not None
                else "; in the book's own runs N(0, 1) never reaches the first epoch of "
                "N(0, 1/n_in)"
            )
        out.append(text + ".")
        gap = float(md[-1] - ml[-1])
        _, lo_l, hi_l = seed_band(large[:, -1])
        _, lo_d, hi_d = seed_band(default[:, -1])
        meet = float(lo_l) <= float(hi_d) and float(lo_d) <= float(hi_l)
        ends = (
            f"{net}: after {E} epochs N(0, 1/n_in) ends at {md[-1]:.2f} % "
            f"({float(lo_d):.2f}–{float(hi_d):.2f}) and N(0, 1) at {ml[-1]:.2f} % "
            f"({float(lo_l):.2f}–{float(hi_l):.2f}), {abs(gap):.2f} points apart: "
        )
        ends += (
            "the seed bands overlap, so N(0, 1) catches up"
            if meet
            else f"the seed bands do not overlap, so N(0, 1) has not caught up within {E} epochs"
        )
        book = BOOK_MEET.get(h)
        if book is None or not ok:
            why = (
                "the book has no figure for this width"
                if book is None
                else "not the book's settings, so not compared with it"
            )
            out.append(f"{ends} ({why}).")
        elif meet == book[0]:
            out.append(f"{ends}, as the book says ({SOURCE_FIGURE}: {book[1]}).")
        else:
            out.append(f"{ends} — unlike the book ({SOURCE_FIGURE}: {book[1]}).")
    if curves is not None and FIGURE_SIZES[1] in config.hidden:
        for init in config.inits:
            ours = _find(data, "figure", FIGURE_SIZES[1], init)
            if ours is None:
                continue
            inside, n = curve_share(ours, curves[init])
            text = (
                f"The book's own 784-30-10 curve with {INIT_LABEL[init]} weights lies inside our "
                f"10–90 % band at {inside} of {n} epochs"
            )
            if not ok:
                text += " (not comparable: not the book's settings)"
            out.append(text + ".")
    ce_ok = comparable(config, data, "cross-entropy")
    for h in config.ce_hidden:
        ours = _find(data, "cross-entropy", h, "large")
        book_ce = CE_TEST_ACCURACY.get(h)
        if ours is None or book_ce is None:
            continue
        med, lo, hi = (float(v) for v in seed_band(ours[:, -1]))
        text = (
            f"Chapter 3's first cross-entropy run, 784-{h}-10 (N(0, 1) weights, η = "
            f"{config.ce_eta:g}, λ = 0): {_evaluated(data, 'cross-entropy', h)} accuracy "
            f"{med:.2f} % after {E} epochs ({band_label(ours.shape[0])}: {lo:.2f}–{hi:.2f})"
        )
        if not ce_ok:
            out.append(text + f"; the book's {book_ce:.2f} % is not compared (not its settings).")
        else:
            where = "inside" if lo <= book_ce <= hi else ("below" if book_ce < lo else "above")
            out.append(text + f"; the book's {book_ce:.2f} % ({SOURCE_CE}) lies {where} our band.")
    judged = [c for c in comparisons if c.verdict != "not judged"]
    bad = [c for c in judged if c.verdict == "disagrees"]
    if not judged:
        out.append(
            "No book number is judged: these are not the book's settings (30 epochs on 50 000 "
            "images, m = 10, η and λ as the book)."
        )
    elif bad:
        for c in bad:
            band = (
                f"our band {c.low:.2f}–{c.high:.2f}" if c.low is not None and c.high is not None
                else "no band"
            )  # fmt: skip
            if c.relation == "inside":
                what = f"the book's {c.reference:g} lies outside {band}"
            else:
                bound = {"<=": "at most", ">=": "at least", "==": "equal to"}[c.relation]
                what = (
                    f"the book's bound ({bound} {c.reference:g}) fails for our median "
                    f"{c.ours:.2f} ({band})"
                )
            out.append(f"Disagrees with the book: {c.quantity}: {what}.")
    else:
        out.append(f"All {len(judged)} judged numbers and bounds of the book agree with ours.")
    return out
