"""``remedies``: what each textbook cure for vanishing gradients does to deep 30-unit nets.

Chapter 5 shows that in network2's deep sigmoid nets (784-30-…-30-10, wˡ ~ N(0, 1/n_in),
bˡ ~ N(0, 1), cross-entropy, λ = 5) the first hidden layer learns far slower than the last:
‖δ¹‖ = ‖∂C/∂b¹‖ ≪ ‖δᴴ‖. Here each remedy is applied *alone* to that baseline at 4, 10 and 20
hidden layers. Most run on the engine (`gradprobe.Network` with S seeds at once,
`gradprobe.train`); the three the engine has no equations for run on `gradprobe.batched`
(one autograd module for S seeds, checked against the engine in tests/test_batched.py):

    relu-he       ReLU hidden units, He init            leaky-he      leaky ReLU, He init
    tanh-xavier   tanh hidden units, Xavier init        sigmoid-large network2's large N(0, 1) init
    clip          gradient clipping by norm (per seed)  l2-off        λ = 0 instead of 5
    quadratic     quadratic cost instead of cross-entropy
    softmax       softmax output + log-likelihood       fewer         2 hidden layers instead of d
    relu-he-clip  ReLU + He *and* clipping (the exploding case)
    orthogonal    sigmoid, orthogonal weights (batched) batchnorm     sigmoid + batch norm (batched)
    residual      sigmoid, aˡ = aˡ⁻¹ + σ(zˡ) (batched)

For each (remedy, depth) and every seed we measure the per-layer speed ‖∂C/∂bˡ‖ (‖∂C/∂βˡ‖
with batch norm) at initialisation and after training (first ≤ 1000 training images), the
first/last hidden-layer ratio ‖δ¹‖/‖δᴴ‖, the test accuracy per epoch after the same budget,
the epochs to a target accuracy and the training time. Where the mean-field theory applies
(engine nets with an elementwise sigmoid output) its predicted first/last ratio at
initialisation is a ``prediction`` comparison. None of these are book numbers.

The learning rate: sigmoid/tanh nets train at ``eta`` (0.5), ReLU nets at ``eta_relu`` (0.1).
Measured on this machine (5 seeds, 2000–3000 steps of mini-batch 10 on 10 000 images): at the
book's η = 0.1 the 4-hidden-layer sigmoid baseline stays at chance for 6000 steps, so "did the
remedy help" could not be answered; at η = 0.5 or more ReLU + He nets die or diverge even at
4 hidden layers. Each family therefore trains at a rate at which its shallow net learns.

The probe's advice is validated too (`._remedies.advice`): for every un-remedied
configuration, ``what_if`` and ``watch(...).diagnose()`` on its first mini-batches, against
the accuracy the remedied nets then gain (Spearman's ρ, and every case the advice was wrong).

Every (remedy, depth) and every advice is saved as a partial result, so an interrupted run
resumes; with ``jobs`` > 1 the cells run on a pool of worker processes (spawned; the numbers
do not depend on it).
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import ConfigError
from ..io import write_csv
from ..nets import Network
from ..results import Comparison, Table, band_of
from ..speed import learning_speed
from ..train import TrainConfig, Trainer
from ..workers import report, run_tasks
from ._mnist import first_training_images, resolve_data, sizes_for
from .base import Experiment, RunContext, register, result_neutral

#: remedy key → (label, changes to the baseline). Keys of ``changes``: activation, init, cost,
#: output, lmbda, clip_norm, hidden (a fixed number of hidden layers).
REMEDIES: dict[str, tuple[str, dict[str, Any]]] = {
    "baseline": ("baseline: sigmoid, default init, cross-entropy, λ = 5", {}),
    "relu-he": ("ReLU + He init", {"activation": "relu", "init": "he"}),
    "leaky-he": ("leaky ReLU + He init", {"activation": "leaky-relu", "init": "he"}),
    "tanh-xavier": ("tanh + Xavier init", {"activation": "tanh", "init": "xavier"}),
    "sigmoid-large": ("sigmoid, large N(0, 1) init", {"init": "large"}),
    "clip": ("gradient clipping by norm", {"clip_norm": "clip"}),
    "l2-off": ("L2 off (λ = 0)", {"lmbda": 0.0}),
    "quadratic": ("quadratic cost", {"cost": "quadratic"}),
    "softmax": ("softmax + log-likelihood", {"cost": "log-likelihood", "output": "softmax"}),
    "fewer": ("fewer layers: 2 hidden", {"hidden": 2}),
    "relu-he-clip": (
        "ReLU + He + clipping (exploding case)",
        {"activation": "relu", "init": "he", "clip_norm": "clip"},
    ),
    "orthogonal": ("sigmoid, orthogonal init", {"init": "orthogonal", "batched": True}),
    "batchnorm": ("sigmoid + batch norm", {"batchnorm": True, "batched": True}),
    "residual": ("sigmoid + residual connections", {"residual": True, "batched": True}),
}

#: Images and image pairs the mean-field prediction averages over (fewer than its defaults:
#: 500/200 took ~35 s per 20-hidden-layer net; 200/50 changes the ratio by < 3 %).
PREDICT_IMAGES, PREDICT_PAIRS = 200, 50
#: A layer "learns" at the ratio's scale when ‖δ¹‖/‖δᴴ‖ lies within this factor of 1.
WITHIN = 10.0
#: A net "does not learn" when its median test accuracy stays below this (chance is 0.1).
NOT_LEARNING = 0.2
#: A remedy "helps" when its median accuracy beats the baseline's by more than this.
HELPS = 0.05


@dataclass(frozen=True)
class RemediesConfig:
    """``seeds`` nets per (remedy, depth) (seeds seed, seed + 1, …), trained for ``epochs`` on
    the first ``train_samples`` MNIST training images (mini-batch ``batch_size``; η = ``eta``
    for sigmoid/tanh nets, ``eta_relu`` for (leaky) ReLU nets; λ = ``lmbda`` for every remedy
    but ``l2-off``), tested on the first ``test_samples`` test images; ``clip_norm`` is the
    clipping remedies' maximum gradient norm per seed; speeds over the first
    ``speed_samples`` training images; ``target``: the accuracy whose first epoch is
    recorded; ``predict``: add the mean-field prediction of the ratio at initialisation
    (images/pairs reduced to `PREDICT_IMAGES`/`PREDICT_PAIRS`); ``advice``: validate the
    probe's advice on the first ``advice_steps`` mini-batches; ``jobs``: worker processes for
    the cells (1: in this process; it does not change any number)."""

    seeds: int = 5
    depths: tuple[int, ...] = (4, 10, 20)
    remedies: tuple[str, ...] = tuple(REMEDIES)
    width: int = 30
    train_samples: int = 10000
    test_samples: int = 1000
    speed_samples: int = 1000
    epochs: int = 2
    batch_size: int = 10
    eta: float = 0.5
    eta_relu: float = 0.1
    lmbda: float = 5.0
    clip_norm: float = 1.0
    target: float = 0.5
    predict: bool = True
    advice: bool = True
    advice_steps: int = 10
    jobs: int = result_neutral(2)
    seed: int = 0
    quick: bool = False


Config = RemediesConfig


@register
class Remedies(Experiment[RemediesConfig]):
    name = "remedies"
    title = "Remedies for the vanishing gradient, one at a time"
    book_ref = "Chapter 5, “What's causing the vanishing gradient problem?” (beyond the book)"
    order = 220
    typical_seconds = (5, 340)  # scheduling hint (RESULTS.md)
    Config = RemediesConfig
    explanation = """The book's deep sigmoid nets learn slowly because δˡ = ((wˡ⁺¹)ᵀδˡ⁺¹) ⊙ σ′(zˡ)
    loses a factor |wσ′(z)| < 1 per layer. Each remedy attacks one part of that product: ReLU
    units have slope 1 where active, He/Xavier inits choose the weights' variance so that
    signals keep their size, orthogonal weights keep every singular value at 1, batch norm
    rescales zˡ (and with it the backward factor) layer by layer, residual connections give δ
    an identity path around every layer, clipping only limits large gradients, L2 and the
    cost change the output error δᴸ, and fewer layers mean fewer factors.

    Every remedy is applied alone to the baseline and trained for the same budget (sigmoid
    and tanh nets at η = 0.5, ReLU nets at η = 0.1: at the book's η = 0.1 even the
    4-hidden-layer baseline stays at chance for thousands of steps, and at 0.5 ReLU nets die
    or diverge), so the accuracies compare how fast learning starts, not what each net can
    finally reach. The first/last ratio ‖δ¹‖/‖δᴴ‖ says how much slower the first hidden layer
    learns than the last (1 = equally fast).

    Then the probe is asked for advice: on the first mini-batches of every un-remedied net,
    diagnose() says whether it is sick and what_if() predicts how much each change would
    balance the layers' speeds; the advice is scored against the accuracy the remedied nets
    actually gained."""
    quick_note = """Three seeds (no bands), 4 hidden layers only, one epoch on 500 bundled
    training images, 5 mini-batches for the advice: it shows which nets start learning and
    runs every remedy and the advice check once, but not the depth trend (10 and 20 hidden
    layers), not the final accuracies, and its rank correlation rests on a handful of pairs."""

    def quick_config(self) -> RemediesConfig:
        return RemediesConfig(
            seeds=3, depths=(4,), train_samples=500, test_samples=500, speed_samples=200,
            epochs=1, predict=False, advice_steps=5, jobs=1, quick=True,
        )  # fmt: skip

    def validate(self, config: RemediesConfig) -> None:
        super().validate(config)
        unknown = [r for r in config.remedies if r not in REMEDIES]
        if unknown:
            raise ConfigError(f"unknown remedies {unknown}; choose from: {', '.join(REMEDIES)}")
        if not config.depths or any(
            isinstance(d, bool) or not isinstance(d, int) or d < 2 for d in config.depths
        ):
            raise ConfigError(f"depths must be integers ≥ 2, got {config.depths!r}")
        for f in ("train_samples", "test_samples", "speed_samples", "epochs", "width",
                  "batch_size", "advice_steps", "jobs"):  # fmt: skip
            v = getattr(config, f)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ConfigError(f"{f} must be a positive integer, got {v!r}")
        if not (math.isfinite(config.clip_norm) and config.clip_norm > 0):
            raise ConfigError(f"clip_norm must be > 0, got {config.clip_norm!r}")
        for f in ("eta", "eta_relu"):
            v = getattr(config, f)
            if (
                isinstance(v, bool)
                or not isinstance(v, int | float)
                or not (math.isfinite(v) and v > 0)
            ):
                raise ConfigError(f"{f} must be a positive number, got {v!r}")

    def compute(self, config: RemediesConfig, ctx: RunContext) -> dict[str, Any]:
        data_spec = resolve_data(ctx.data, max(config.train_samples, config.speed_samples))
        train, _, _, source = _load(config, data_spec)
        jobs: list[tuple[str, int]] = []
        for d in config.depths:
            for r in config.remedies:
                job = (r, hidden_of(r, d))
                if job not in jobs:
                    jobs.append(job)
        cells: dict[str, Any] = {}
        todo: list[tuple[str, int]] = []
        for remedy, hidden in jobs:
            value = ctx.load_partial(cell_key(remedy, hidden), config)
            if value is None:
                todo.append((remedy, hidden))
            else:
                cells[cell_key(remedy, hidden)] = value
        total = len(jobs) + (len(advice_jobs(config)) if config.advice else 0)
        done = len(cells)
        ctx.progress(f"{done} of {len(jobs)} cells from partial results", done, total)

        def finished(remedy: str, hidden: int, value: dict[str, Any]) -> None:
            nonlocal done
            cells[cell_key(remedy, hidden)] = value
            ctx.save_partial(cell_key(remedy, hidden), config, value)
            done += 1
            ctx.progress(f"{REMEDIES[remedy][0]}, {hidden} hidden layers", done, total)

        def started(cell: tuple[str, int]) -> None:
            ctx.progress(f"{REMEDIES[cell[0]][0]}, {cell[1]} hidden layers", done, total)

        # the deepest (slowest) cells first, so that the pool's workers finish together; with
        # jobs = 1 the cells run here in their order
        order = sorted(todo, key=lambda rh: -rh[1]) if config.jobs > 1 else todo
        tasks = [(config, r, h, data_spec) for r, h in order]
        try:
            for (_, r, h, _), value in run_tasks(_cell_task, tasks, config.jobs,
                                                 on_message=started):  # fmt: skip
                finished(r, h, value)
        finally:
            _WORKER.clear()  # the data a cell run here kept
        ordered = {cell_key(r, h): cells[cell_key(r, h)] for r, h in jobs}
        out: dict[str, Any] = {
            "source": source,
            "depths": list(config.depths),
            "remedies": [{"key": r, "label": REMEDIES[r][0]} for r in config.remedies],
            "cells": ordered,
            "budget": budget_text(config),
            "target": config.target,
        }
        if config.advice:
            from ._remedies.advice import validate

            advice: dict[str, Any] = {}
            for remedy, hidden in advice_jobs(config):
                key = f"advice@{cell_key(remedy, hidden)}"
                ctx.progress(f"probe's advice for {REMEDIES[remedy][0]}, {hidden} hidden",
                             done, total)  # fmt: skip
                value = ctx.load_partial(key, config)
                if value is None:
                    value = run_advice(config, remedy, hidden, train)
                    ctx.save_partial(key, config, value)
                advice[cell_key(remedy, hidden)] = value
                done += 1
            accuracy = {k: summary(c)["accuracy"] for k, c in ordered.items()}
            out["advice"] = {"configs": advice, **validate(advice, accuracy, HELPS)}
        ctx.progress("done", total, total)
        return out

    def compare(self, config: RemediesConfig, data: dict[str, Any]) -> list[Comparison]:
        out = []
        for _key, c in data["cells"].items():
            pred = c.get("predicted_ratio")
            ratios = [r for r in c["ratio_init"] if r is not None]
            if pred is None or not ratios:
                continue
            out.append(
                Comparison.prediction(
                    f"{c['label']}, {c['hidden']} hidden: ‖δ¹‖/‖δᴴ‖ at initialisation",
                    ratios,
                    pred,
                    "mean-field theory: gradprobe.theory.predicted_speeds on the same images",
                )
            )
        return out

    def conclude(
        self, config: RemediesConfig, data: dict[str, Any], comparisons: list[Comparison]
    ) -> list[str]:
        return conclude(data)

    def tables(self, config: RemediesConfig, data: dict[str, Any]) -> list[Table]:
        return [
            Table(
                title=f"Remedies × depth ({data['budget']}); bands 10–90 % of single runs "
                "where ≥ 5 seeds",
                columns=[
                    "remedy",
                    "hidden layers",
                    "test accuracy (median)",
                    "10 %",
                    "90 %",
                    "‖δ¹‖/‖δᴴ‖ at init",
                    "predicted",
                    "‖δ¹‖/‖δᴴ‖ after",
                    f"epochs to {data['target']:g}",
                    "diverged seeds",
                    "training s",
                ],
                rows=table_rows(data),
            ),
            *self._advice_table(data),
        ]

    def _advice_table(self, data: dict[str, Any]) -> list[Table]:
        adv = data.get("advice")
        if not adv:
            return []
        rho = adv["spearman"]
        rho_txt = "undefined" if rho is None else f"{rho:.2f} (p = {adv['p_value']:.2g})"
        return [
            Table(
                title=f"The probe's advice against the measured gains: Spearman ρ = {rho_txt} "
                f"over {adv['n']} pairs; 'wrong' = predicted 'helps' but the median accuracy "
                f"rose by ≤ {100 * adv['helps_threshold']:.0f} points, or not predicted and "
                "it rose by more",
                columns=[
                    "sick configuration", "diagnose() findings", "what_if change",
                    "remedied net", "what_if verdict", "predicted improvement (decades)",
                    "sick accuracy", "remedied accuracy", "measured gain", "advice",
                ],
                rows=advice_rows(data),
            )
        ]  # fmt: skip

    def write_files(self, config: RemediesConfig, data: dict[str, Any], out_dir: Path) -> None:
        rows = []
        for c in data["cells"].values():
            for s, acc in enumerate(c["accuracy"]):
                rows.append(
                    [
                        c["remedy"],
                        c["hidden"],
                        c["seeds"][s],
                        acc,
                        c["ratio_init"][s],
                        c["ratio_final"][s],
                    ]
                )
        write_csv(
            Path(out_dir) / "remedies.csv",
            ["remedy", "hidden_layers", "seed", "accuracy", "ratio_init", "ratio_final"],
            rows,
        )


def hidden_of(remedy: str, depth: int) -> int:
    """Hidden layers of ``remedy`` applied at ``depth`` (``fewer`` fixes its own)."""
    return int(REMEDIES[remedy][1].get("hidden", depth))


def cell_key(remedy: str, depth: int) -> str:
    """The key of (remedy, depth) in ``data["cells"]`` and of its partial result."""
    return f"{remedy}@{hidden_of(remedy, depth)}"


def budget_text(config: RemediesConfig) -> str:
    return (
        f"{config.seeds} seeds, {config.epochs} epoch{'s' if config.epochs != 1 else ''} on "
        f"{config.train_samples} training images, mini-batch {config.batch_size}, "
        f"η = {config.eta:g} (ReLU nets {config.eta_relu:g}), λ = {config.lmbda:g}, tested on "
        f"{config.test_samples} images, clip norm {config.clip_norm:g}"
    )


def eta_of(config: RemediesConfig, remedy: str) -> float:
    """The learning rate of ``remedy``'s nets: ``eta_relu`` for (leaky) ReLU, else ``eta``."""
    act = REMEDIES[remedy][1].get("activation", "sigmoid")
    return config.eta_relu if act in ("relu", "leaky-relu") else config.eta


def _load(config: RemediesConfig, data_spec: str | None) -> tuple[Any, Any, Any, str]:
    """(training split, test split, speed split, source) as the config asks."""
    from ..data import load_data

    mnist = load_data(data_spec)
    train = first_training_images(mnist, config.train_samples, "train_samples")
    speed_x = first_training_images(mnist, config.speed_samples, "speed_samples")
    if config.test_samples > len(mnist.test):
        raise ConfigError(
            f"test_samples={config.test_samples} exceeds the {len(mnist.test)} test images"
        )
    return train, mnist.test.subset(config.test_samples), speed_x, mnist.source


#: A process's data and mean-field predictions for the cells of one (config, data).
_WORKER: dict[str, Any] = {}


def _cell_task(
    config: RemediesConfig, remedy: str, hidden: int, data_spec: str | None
) -> dict[str, Any]:
    """`run_cell` as a `gradprobe.workers.TaskPool` task (here or in a worker process): the
    data loaded and the predictions shared once per process and configuration; reports
    ``(remedy, hidden)`` as it starts."""
    report((remedy, hidden))
    if _WORKER.get("key") != (config, data_spec):
        _WORKER.clear()
        _WORKER["key"] = (config, data_spec)
        _WORKER["data"] = _load(config, data_spec)
        _WORKER["predictions"] = {}
    train, test, speed_x, _ = _WORKER["data"]
    return run_cell(config, remedy, hidden, train, test, speed_x, _WORKER["predictions"])


def advice_jobs(config: RemediesConfig) -> list[tuple[str, int]]:
    """The un-remedied configurations whose advice is validated: (remedy, hidden layers)."""
    from ._remedies.advice import PAIRS

    return [
        (r, d)
        for d in config.depths
        for r in config.remedies
        if r in PAIRS and any(t in config.remedies for _, t in PAIRS[r])
    ]


def run_advice(config: RemediesConfig, remedy: str, hidden: int, train: Any) -> dict[str, Any]:
    """The probe's advice for one un-remedied configuration, every seed (see `advise`)."""
    from ._remedies.advice import PAIRS, advise

    _, ch = REMEDIES[remedy]
    net_args = {
        "sizes": sizes_for(hidden, config.width),
        "activation": ch.get("activation", "sigmoid"),
        "cost": ch.get("cost", "cross-entropy"),
        "output": ch.get("output"),
        "init": ch.get("init", "default"),
    }
    changes = [c for c, t in PAIRS[remedy] if t in config.remedies]
    out = advise(net_args, [config.seed + s for s in range(config.seeds)], changes,
                 train.images, train.labels, config.advice_steps, config.batch_size,
                 eta_of(config, remedy), float(ch.get("lmbda", config.lmbda)),
                 config.train_samples)  # fmt: skip
    return {"remedy": remedy, "hidden": hidden, **out}


class _RecordingTrainer(Trainer):
    """A `Trainer` that records seeds whose parameters became non-finite instead of raising:
    seeds are independent slices of every batched product, so the others train on."""

    diverged: set[int]

    def _check_finite(self, epoch: int) -> None:
        if not hasattr(self, "diverged"):
            self.diverged = set()
        for s in range(self.net.n_seeds):
            if not all(bool(torch.isfinite(p[s]).all()) for p in self._params):
                self.diverged.add(s)


def _finite_or_none(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def run_cell(
    config: RemediesConfig, remedy: str, depth: int, train: Any, test: Any, speed_x: Any,
    predictions: dict[tuple[Any, ...], float | None] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Train and measure one (remedy, depth): a plain dict of per-seed numbers.
    ``train``/``test``/``speed_x``: Split-like (``.images`` [n, 784], ``.labels`` [n]);
    ``predictions``: a cache of mean-field ratios shared between cells."""
    label, ch = REMEDIES[remedy]
    hidden = hidden_of(remedy, depth)
    sizes = sizes_for(hidden, config.width)
    activation = ch.get("activation", "sigmoid")
    init = ch.get("init", "default")
    cost = ch.get("cost", "cross-entropy")
    output = ch.get("output")
    x, y = speed_x.images, speed_x.labels
    eta = eta_of(config, remedy)
    lmbda = float(ch.get("lmbda", config.lmbda))
    clip = config.clip_norm if "clip_norm" in ch else None
    if ch.get("batched"):
        from ..batched import BatchedNet, BatchedTrainConfig, BatchedTrainer, speeds

        bnet = BatchedNet(sizes, activation, cost, output=output, init=init,
                          batchnorm=bool(ch.get("batchnorm")), residual=bool(ch.get("residual")),
                          seeds=config.seeds, seed=config.seed)  # fmt: skip
        speed0 = speeds(bnet, x, y).double().numpy()
        btrainer = BatchedTrainer(bnet, BatchedTrainConfig(
            epochs=config.epochs, batch_size=config.batch_size, eta=eta, lmbda=lmbda,
            clip_norm=clip))  # fmt: skip
        t0, c0 = time.perf_counter(), time.process_time()
        res = btrainer.fit(train, test)
        seconds = time.perf_counter() - t0
        cpu = time.process_time() - c0
        diverged = res.diverged
        with np.errstate(all="ignore"):
            speed1 = speeds(bnet, x, y).double().numpy()
    else:
        net = Network(sizes, activation, cost, output=output, init=init, seeds=config.seeds,
                      seed=config.seed)  # fmt: skip
        speed0 = learning_speed(net, x, y).speed.double().numpy()
        tc = TrainConfig(epochs=config.epochs, batch_size=config.batch_size, eta=eta,
                         lmbda=lmbda, clip_norm=clip)  # fmt: skip
        trainer = _RecordingTrainer(net, tc)
        t0, c0 = time.perf_counter(), time.process_time()
        res = trainer.fit(train, test)  # type: ignore[assignment]
        seconds = time.perf_counter() - t0
        cpu = time.process_time() - c0
        diverged = sorted(getattr(trainer, "diverged", set()))
        with np.errstate(all="ignore"):
            speed1 = learning_speed(net, x, y).speed.double().numpy()
    acc = res.accuracy.numpy()  # [S, E]
    S = config.seeds

    def ratio(sp: np.ndarray, s: int) -> float | None:
        return None if s in diverged else _finite_or_none(sp[s, 0] / sp[s, -1])

    predicted = (
        None
        if ch.get("batched")
        else _cached_prediction(predictions, config, sizes, activation, init, cost, output, speed_x)
    )
    to_target: list[int | None] = []
    for s in range(S):
        hit = [e + 1 for e in range(acc.shape[1]) if acc[s, e] >= config.target]
        to_target.append(None if s in diverged or not hit else hit[0])
    return {
        "remedy": remedy,
        "label": label,
        "hidden": hidden,
        "sizes": list(sizes),
        "seeds": [config.seed + s for s in range(S)],
        "speed_init": speed0.tolist(),
        "speed_final": [
            None if s in diverged else [_finite_or_none(v) for v in speed1[s]] for s in range(S)
        ],
        "ratio_init": [_finite_or_none(speed0[s, 0] / speed0[s, -1]) for s in range(S)],
        "ratio_final": [ratio(speed1, s) for s in range(S)],
        "accuracy": [None if s in diverged else float(acc[s, -1]) for s in range(S)],
        "curve": [None if s in diverged else [float(v) for v in acc[s]] for s in range(S)],
        "epochs_to_target": to_target,
        "diverged": len(diverged),
        "seconds": seconds,
        "cpu_seconds": cpu,
        "predicted_ratio": predicted,
        "eta": eta,
    }


def _cached_prediction(
    cache: dict[tuple[Any, ...], float | None] | None, config: RemediesConfig,
    sizes: tuple[int, ...], activation: str, init: str, cost: str, output: str | None,
    speed_x: Any,
) -> float | None:  # fmt: skip
    if not config.predict:
        return None
    key = (sizes, activation, init, cost, output)
    if cache is not None and key in cache:
        return cache[key]
    value = predicted_ratio(sizes, activation, init, cost, output, speed_x)
    if cache is not None:
        cache[key] = value
    return value


def predicted_ratio(
    sizes: tuple[int, ...], activation: str, init: str, cost: str, output: str | None,
    speed_x: Any,
) -> float | None:  # fmt: skip
    """Mean-field ‖δ¹‖/‖δᴴ‖ at initialisation, or None where the theory does not apply
    (softmax output: δᴸ is not elementwise; fewer than 2 hidden layers)."""
    from .. import theory
    from ..errors import GradprobeError

    out = output or "sigmoid"
    if out != "sigmoid" or cost not in ("cross-entropy", "quadratic") or len(sizes) < 4:
        return None
    try:
        inputs = theory.Inputs.from_data(
            speed_x.images.double().numpy(),
            speed_x.labels.numpy(),
            images=PREDICT_IMAGES,
            pairs=PREDICT_PAIRS,
        )
        sp = theory.predicted_speeds(sizes, activation, init, inputs=inputs, cost=cost,
                                     output=out).speeds  # fmt: skip
    except GradprobeError:
        return None
    r = sp[0] / sp[-1] if sp[-1] > 0 else float("nan")
    return _finite_or_none(r)


# -- summaries ------------------------------------------------------------------------------------
def _band(values: list[Any]) -> tuple[float | None, float | None, float | None]:
    v = [x for x in values if x is not None]
    if not v:
        return None, None, None
    b = band_of(v)
    return b.median, b.low, b.high


def summary(cell: dict[str, Any]) -> dict[str, Any]:
    """Medians (and bands) of one cell's per-seed numbers; None where every seed diverged."""
    acc, lo, hi = _band(cell["accuracy"])
    r0 = _band(cell["ratio_init"])[0]
    r1 = _band(cell["ratio_final"])[0]
    ett = [e for e in cell["epochs_to_target"] if e is not None]
    return {
        "accuracy": acc,
        "low": lo,
        "high": hi,
        "ratio_init": r0,
        "ratio_final": r1,
        "to_target": float(np.median(ett)) if ett else None,
        "reached": len(ett),
        "diverged": int(cell["diverged"]),
        "n": len(cell["accuracy"]),
        "seconds": float(cell["seconds"]),
    }


def table_rows(data: dict[str, Any]) -> list[list[Any]]:
    rows = []
    seen: set[str] = set()
    for r in data["remedies"]:
        for d in data["depths"]:
            key = cell_key(r["key"], d)
            c = data["cells"].get(key)
            if c is None or key in seen:  # "fewer" has one cell for every depth
                continue
            seen.add(key)
            s = summary(c)
            rows.append([
                r["label"], c["hidden"], s["accuracy"], s["low"], s["high"], s["ratio_init"],
                c.get("predicted_ratio"), s["ratio_final"], s["to_target"],
                f"{s['diverged']} of {s['n']}", s["seconds"],
            ])  # fmt: skip
    return rows


def _fold(r: float | None) -> float | None:
    """How many times slower (or faster) the first layer learns: max(r, 1/r)."""
    if r is None or r <= 0:
        return None
    return max(r, 1 / r)


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f} %"


def _fmt_ratio(r: float | None) -> str:
    if r is None:
        return "undefined"
    return f"{r:.3g}"


def conclude(data: dict[str, Any]) -> list[str]:
    """Sentences chosen and filled from the measured numbers (deepest depth first)."""
    out: list[str] = []
    depths = sorted(data["depths"])
    deep = depths[-1]
    cells = data["cells"]
    base = cells.get(cell_key("baseline", deep))
    base_s = summary(base) if base else None
    if base_s is not None:
        acc = base_s["accuracy"]
        fold = _fold(base_s["ratio_init"])
        learns = acc is not None and acc >= NOT_LEARNING
        out.append(
            f"The baseline sigmoid net with {deep} hidden layers "
            + ("learns" if learns else "does not learn")
            + f" in this budget (median test accuracy {_pct(acc)}; chance is 10 %); at "
            f"initialisation its first hidden layer learns "
            + (f"{fold:.3g}× {'slower' if base_s['ratio_init'] < 1 else 'faster'} than its last"
               if fold is not None else "at an undefined rate relative to its last")
            + "."
        )  # fmt: skip
    for r in data["remedies"]:
        key = r["key"]
        if key == "baseline":
            continue
        c = cells.get(cell_key(key, deep))
        if c is None:
            continue
        s = summary(c)
        parts = [f"{r['label']} at {deep} hidden layers" if key != "fewer" else r["label"]]
        if s["diverged"] == s["n"]:
            out.append(
                f"{parts[0]}: every seed diverged (parameters became non-finite) at "
                "η as used — the gradient explodes instead of vanishing; it did not help."
            )
            continue
        fold0 = _fold(s["ratio_init"])
        within = fold0 is not None and fold0 <= WITHIN
        ratio_txt = (
            f"keeps the first layer within {fold0:.3g}× of the last at initialisation"
            if within and fold0 is not None
            else f"leaves the first layer {fold0:.3g}× "
            f"{'slower' if (s['ratio_init'] or 0) < 1 else 'faster'} than the last"
            if fold0 is not None
            else "has an undefined first/last ratio"
        )
        acc, bacc = s["accuracy"], (base_s or {}).get("accuracy")
        if acc is not None and bacc is not None:
            gain = acc - bacc
            verdict = (
                f"it helped: median accuracy {_pct(acc)} against the baseline's {_pct(bacc)}"
                if gain > HELPS
                else f"it did not help: median accuracy {_pct(acc)} against the baseline's "
                f"{_pct(bacc)}"
                if gain >= -HELPS
                else f"it made things worse: median accuracy {_pct(acc)} against the "
                f"baseline's {_pct(bacc)}"
            )
        else:
            verdict = f"median accuracy {_pct(acc)}"
        div = f"; {s['diverged']} of {s['n']} seeds diverged" if s["diverged"] else ""
        after = _fold(s["ratio_final"])
        after_txt = (
            f" (after training: {after:.3g}× "
            f"{'slower' if (s['ratio_final'] or 0) < 1 else 'faster'})"
            if after is not None and key not in ("clip", "l2-off")
            else ""
        )
        reason = ""
        if acc is not None and bacc is not None:
            if acc - bacc <= HELPS and not within and fold0 is not None:
                reason = (
                    f" — its first layer still learns {fold0:.3g}× "
                    f"{'slower' if (s['ratio_init'] or 0) < 1 else 'faster'} than its last, so "
                    "the gradient problem it was meant to fix is still there"
                )
            elif acc - bacc <= HELPS and within:
                reason = (
                    " — its gradient does reach the first layer, yet the net did not learn "
                    "faster within this budget"
                )
            elif acc - bacc > HELPS and not within and fold0 is not None:
                reason = f", although at initialisation its first layer is {fold0:.3g}× off"
        out.append(f"{parts[0]} {ratio_txt}{after_txt}; {verdict}{reason}{div}.")
    # the other depths, one sentence each: which remedies beat the baseline there
    for d in depths[:-1]:
        bc = cells.get(cell_key("baseline", d))
        bacc = summary(bc)["accuracy"] if bc else None
        if bacc is None:
            continue
        better: list[str] = []
        not_better: list[str] = []
        for r in data["remedies"]:
            c = cells.get(cell_key(r["key"], d))
            if r["key"] == "baseline" or c is None:
                continue
            acc = summary(c)["accuracy"]
            item = f"{r['label']} {_pct(acc)}"
            (better if acc is not None and acc - bacc > HELPS else not_better).append(item)
        out.append(
            f"At {d} hidden layers (baseline {_pct(bacc)}) these beat the baseline by more "
            f"than {100 * HELPS:.0f} points: {', '.join(better) or 'none'}; these did not: "
            f"{', '.join(not_better) or 'none'}."
        )
    shallow = cells.get(cell_key("baseline", depths[0]))
    sacc = summary(shallow)["accuracy"] if shallow else None
    if sacc is not None and sacc < NOT_LEARNING:
        out.append(
            f"Even at {depths[0]} hidden layers the baseline stays at {_pct(sacc)} in this "
            f"budget ({data.get('budget', 'see the table')}): a remedy that 'did not help' "
            "shows no start of learning within it, which is not proof that it cannot help "
            "with longer training."
        )
    # depth trend of the baseline
    accs = [(d, summary(cells[cell_key("baseline", d)])["accuracy"]) for d in depths
            if cell_key("baseline", d) in cells]  # fmt: skip
    if len(accs) > 1 and all(a is not None for _, a in accs):
        out.append(
            "Baseline median accuracy by depth: "
            + ", ".join(f"{d} hidden {_pct(a)}" for d, a in accs)
            + (
                " — about the same at every depth."
                if max(a for _, a in accs) - min(a for _, a in accs) <= HELPS
                else " — deeper is never better and worse overall in this budget."
                if all(a1 >= a2 for (_, a1), (_, a2) in itertools.pairwise(accs))
                else " — not monotone in depth."
            )
        )
    out.extend(advice_sentences(data))
    return out


def advice_sentences(data: dict[str, Any]) -> list[str]:
    """What the validation of the probe's advice found, from ``data["advice"]``."""
    adv = data.get("advice")
    if not adv:
        return []
    configs = adv["configs"]
    sick = [k for k, v in configs.items() if v["sick"]]
    healthy = [k for k, v in configs.items() if not v["sick"]]
    out: list[str] = []
    if not sick:
        return [
            "The probe's diagnose() found none of the un-remedied configurations sick on their "
            f"first mini-batches ({', '.join(configs)}), so its advice was not validated."
        ]
    rho, n, p = adv["spearman"], adv["n"], adv["p_value"]
    head = (
        f"The probe's advice, validated on {len(sick)} configurations diagnose() calls sick: "
        f"what_if's predicted improvement (decades by which the first/last speed ratio moves "
        f"towards 1) against the measured gain in median test accuracy of the remedied nets, "
    )
    if rho is None:
        head += f"over {n} pairs, has no defined rank correlation (fewer than 3 pairs or "
        head += "constant values)."
    else:
        strength = "strong" if abs(rho) >= 0.7 else "moderate" if abs(rho) >= 0.4 else "weak"
        sign = "positive" if rho > 0 else "negative"
        head += f"has Spearman ρ = {rho:.2f} over {n} pairs (p = {p:.2g}): a {strength} {sign} "
        head += "rank correlation."
    out.append(head)
    wrong = [r for r in adv["rows"] if r["wrong"]]
    if wrong:
        items = [
            f"{r['change']} on {r['sick']} (predicted '{r['verdict']}', "
            f"{_signed_points(r['gain'])})"
            for r in wrong
        ]
        out.append(
            f"The advice was wrong in {len(wrong)} of {len(adv['rows'])} cases: "
            + "; ".join(items)
            + "."
        )
    else:
        out.append(f"The advice was right in all {len(adv['rows'])} cases.")
    if healthy:
        out.append(
            "diagnose() found no vanishing, exploding, saturation or dead units on the first "
            f"mini-batches of {', '.join(healthy)}; their advice is not counted."
        )
    return out


def _signed_points(gain: float) -> str:
    return f"measured {100 * gain:+.1f} points"


def advice_rows(data: dict[str, Any]) -> list[list[Any]]:
    """Rows of the advice-validation table."""
    adv = data.get("advice") or {}
    return [
        [
            r["sick"], ", ".join(r["findings"]) or "—", r["change"], r["remedied"],
            r["verdict"], r["predicted"], r["sick_accuracy"], r["remedied_accuracy"],
            r["gain"], "wrong" if r["wrong"] else "right",
        ]
        for r in adv.get("rows", [])
    ]  # fmt: skip
