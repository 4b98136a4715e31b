"""``training-speed``: how the speed of every hidden layer evolves during training.

Chapter 5 trains 784-30-…-30-10 on the first 1000 training images by full-batch gradient
descent (mini-batch m = 1000, η = 0.1, λ = 5.0) for 500 epochs and plots the speed of learning
‖δˡ‖ = ‖∂C/∂bˡ‖ of each hidden layer (over the same 1000 images) against the epoch, on a log
scale. The book's data behind those three plots ship with gradprobe (`gradprobe.book`): entry e
of each curve is measured after e epochs (e = 0 … 499).

We measure the speed of every hidden layer before each of the E epochs and once more after the
last, so each seed has E + 1 points (index e = after e epochs, aligned with the book's). All
seeds of one depth train together in one vectorised `Network`. Compared with the book, per
depth and hidden layer: the share of the book's points inside our 10–90 % band at the same
epoch, the speed at the last epoch both have, and the last-to-first layer ratio there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..book import (
    TRAINING_SPEED_EPOCHS,
    TRAINING_SPEED_RATIO_4,
    TRAINING_SPEED_SETUP,
    figure_source,
    norms_during_training,
    norms_file,
)
from ..io import write_csv
from ..nets import Network
from ..results import MIN_BAND_SEEDS, Comparison, Table, band_label, band_of, seed_band
from ..speed import learning_speed
from ..train import Callback, TrainConfig, Trainer, TrainState
from ._mnist import (
    DEPTHS,
    agreement_sentence,
    check_depths,
    check_samples,
    load_samples,
    net_name,
    side_of_band,
    sizes_for,
    sup,
)
from .base import Experiment, RunContext, register

#: A book curve "lies in our band" when at least this share of its points do (a run drawn from
#: our distribution has each point inside with probability 0.8).
SHARE_THRESHOLD = 0.5


@dataclass(frozen=True)
class TrainingSpeedConfig:
    """The book's full-batch run: ``samples`` images, ``epochs`` epochs, ``seeds`` per depth."""

    seeds: int = 5
    samples: int = 1000
    epochs: int = 500
    batch_size: int = 1000
    eta: float = 0.1
    lmbda: float = 5.0
    depths: tuple[int, ...] = DEPTHS
    seed: int = 0
    quick: bool = False


Config = TrainingSpeedConfig


class SpeedRecorder(Callback):
    """Records ``learning_speed(net, x, y).speed`` [S, H] before each epoch and after the last."""

    def __init__(
        self, x: torch.Tensor, y: torch.Tensor, ctx: RunContext, label: str, of: tuple[int, int]
    ):
        self.x, self.y, self.ctx, self.label, self.of = x, y, ctx, label, of
        self.speeds: list[np.ndarray] = []

    def _measure(self, state: TrainState) -> None:
        self.speeds.append(learning_speed(state.net, self.x, self.y).speed.double().cpu().numpy())

    def on_epoch_begin(self, state: TrainState) -> None:
        self._measure(state)
        if state.epoch % 10 == 0:
            i, n = self.of
            E = state.config.epochs
            self.ctx.progress(f"{self.label}: epoch {state.epoch}/{E}", i * E + state.epoch, n * E)

    def on_train_end(self, state: TrainState) -> None:
        self._measure(state)

    def per_seed(self) -> np.ndarray:
        """[S, E + 1, H]: seed, epoch (0 … E), hidden layer."""
        return np.stack(self.speeds, axis=1)


@register
class TrainingSpeed(Experiment[TrainingSpeedConfig]):
    name = "training-speed"
    title = "Speed of learning during training"
    book_ref = "Chapter 5, “The vanishing gradient problem”"
    order = 10 * 4
    typical_seconds = (4, 140)  # scheduling hint (RESULTS.md)
    Config = TrainingSpeedConfig
    quick_note = """\
        Quick mode trains 5 networks per depth for 20 epochs instead of 500, on the same 1000
        bundled images as the book: it compares with the first 20 epochs of the book's curves
        and with its speeds after 20 epochs, but says nothing of where the curves go later (the
        book's last-epoch ratios, e.g. about 100 for four hidden layers, need the full run)."""

    def quick_config(self) -> TrainingSpeedConfig:
        return TrainingSpeedConfig(seeds=5, epochs=20, quick=True)

    def validate(self, config: TrainingSpeedConfig) -> None:
        super().validate(config)
        check_depths(config.depths)
        check_samples(config.samples)
        TrainConfig(
            epochs=config.epochs, batch_size=config.batch_size, eta=config.eta, lmbda=config.lmbda
        )  # raises ConfigError for bad values

    def compute(self, config: TrainingSpeedConfig, ctx: RunContext) -> dict[str, Any]:
        mnist, split = load_samples(ctx.data, config.samples)
        x, y = split.images.to(ctx.device), split.labels.to(ctx.device)
        train_config = TrainConfig(
            epochs=config.epochs, batch_size=config.batch_size, eta=config.eta, lmbda=config.lmbda
        )
        depths: dict[str, dict[str, Any]] = {}
        book_setting = _book_setting(config)
        for i, hidden in enumerate(config.depths):
            sizes = sizes_for(hidden)
            net = Network(sizes, seeds=config.seeds, seed=config.seed, device=ctx.device)
            rec = SpeedRecorder(x, y, ctx, net_name(sizes), (i, len(config.depths)))
            Trainer(net, train_config, callbacks=[rec]).fit((x, y))
            book = None
            if book_setting and hidden in (2, 3, 4):
                book = norms_during_training(hidden)[: config.epochs + 1]
            depths[str(hidden)] = {"sizes": list(sizes), "per_seed": rec.per_seed(), "book": book}
        return {
            "depths": depths,
            "epochs": config.epochs,
            "samples": config.samples,
            "per_seed_shape": "[seed][epoch 0 … E][hidden layer]: ‖δˡ‖ after e epochs",
            "book_shape": "[epoch 0 … min(E, 499)][hidden layer]: the book's run (figure data)",
            "source": mnist.source,
        }

    def compare(self, config: TrainingSpeedConfig, data: dict[str, Any]) -> list[Comparison]:
        out: list[Comparison] = []
        for hidden, d in data["depths"].items():
            if not d.get("book"):
                continue
            ours = np.asarray(d["per_seed"], dtype=np.float64)  # [S, E + 1, H]
            book = np.asarray(d["book"], dtype=np.float64)  # [B, H], B ≤ E + 1
            last = book.shape[0] - 1
            src = figure_source(norms_file(int(hidden)))
            name = net_name(d["sizes"])
            seeds = ours.shape[0]
            shares = curve_shares(ours[:, : book.shape[0]], book)
            for l in range(book.shape[1]):
                out.append(
                    Comparison(
                        f"{name}: share of the book's {book.shape[0]} points of ‖δ{sup(l + 1)}‖ "
                        f"(epochs 0–{last}) inside our band",
                        "reproduction",
                        shares[l],
                        SHARE_THRESHOLD,
                        src,
                        band=band_label(seeds),
                        relation=">=",
                        note=f"Agrees when at least {SHARE_THRESHOLD:.0%} of the book's points "
                        "lie in our band at the same epoch (each point of a run like ours: 80 %).",
                    )
                )
            for l in range(book.shape[1]):
                out.append(
                    Comparison.reproduction(
                        f"{name}: ‖δ{sup(l + 1)}‖ after {last} epochs",
                        ours[:, last, l],
                        float(book[last, l]),
                        src,
                    )
                )
            if book.shape[1] >= 2:
                H = book.shape[1]
                note = ""
                if int(hidden) == 4 and last >= TRAINING_SPEED_EPOCHS - 1:
                    note = (
                        f"The text says “roughly {TRAINING_SPEED_RATIO_4:.0f} times”, a "
                        "reading of this plot."
                    )
                out.append(
                    Comparison.reproduction(
                        f"{name}: ‖δ{sup(H)}‖ / ‖δ¹‖ after {last} epochs",
                        ours[:, last, -1] / ours[:, last, 0],
                        float(book[last, -1] / book[last, 0]),
                        src,
                        note=note,
                    )
                )
        return out

    def conclude(
        self, config: TrainingSpeedConfig, data: dict[str, Any], comparisons: list[Comparison]
    ) -> list[str]:
        return conclusions(data, comparisons)

    def tables(self, config: TrainingSpeedConfig, data: dict[str, Any]) -> list[Table]:
        E = data["epochs"]
        rows: list[list[Any]] = []
        for d in data["depths"].values():
            ours = np.asarray(d["per_seed"], dtype=np.float64)
            book = np.asarray(d["book"], dtype=np.float64) if d.get("book") else None
            shares = curve_shares(ours[:, : len(book)], book) if book is not None else None
            for l in range(ours.shape[2]):
                end = band_of(ours[:, -1, l])
                rows.append(
                    [
                        net_name(d["sizes"]),
                        l + 1,
                        float(np.median(ours[:, 0, l])),
                        end.median,
                        end.low,
                        end.high,
                        float(book[-1, l]) if book is not None else None,
                        shares[l] if shares is not None else None,
                    ]
                )
        return [
            Table(
                title=f"‖δˡ‖ before training and after {E} epochs: median and 10–90 % band of "
                "single runs; the book's run at its last epoch ≤ E",
                columns=[
                    "network",
                    "hidden layer",
                    "epoch 0 (median)",
                    f"epoch {E} (median)",
                    "10 %",
                    "90 %",
                    "book, last epoch",
                    "share of book points in band",
                ],
                rows=rows,
            )
        ]

    def write_files(self, config: TrainingSpeedConfig, data: dict[str, Any], out_dir: Path) -> None:
        write_csv(
            out_dir / "training_speed.csv",
            ["sizes", "seed", "epoch", "hidden_layer", "speed"],
            [
                [net_name(d["sizes"]), config.seed + s, e, l + 1, v]
                for d in data["depths"].values()
                for s, seed_rows in enumerate(d["per_seed"])
                for e, layer_row in enumerate(seed_rows)
                for l, v in enumerate(layer_row)
            ],
        )


def _book_setting(config: TrainingSpeedConfig) -> bool:
    """Whether the run is the book's (images, batch, η, λ); the epochs may be fewer."""
    mine = {
        "samples": config.samples,
        "batch_size": config.batch_size,
        "eta": config.eta,
        "lmbda": config.lmbda,
    }
    return mine == TRAINING_SPEED_SETUP


def curve_shares(ours: np.ndarray, book: np.ndarray) -> list[float | None]:
    """For each hidden layer: the share of the book's points ``book`` [B, H] that lie inside
    our 10–90 % band of ``ours`` [S, B, H] at the same epoch; None with fewer than
    `MIN_BAND_SEEDS` seeds."""
    if ours.shape[0] < MIN_BAND_SEEDS:
        return [None] * book.shape[1]
    _, lo, hi = seed_band(ours)  # each [B, H]
    inside = (book >= lo) & (book <= hi)
    return [float(v) for v in inside.mean(axis=0)]


def conclusions(data: dict[str, Any], comparisons: list[Comparison]) -> list[str]:
    """Sentences chosen and filled from the measured curves and the comparisons."""
    out: list[str] = []
    E = data["epochs"]
    depths = data["depths"]
    seeds = len(next(iter(depths.values()))["per_seed"])
    broken: list[str] = []
    for d in depths.values():
        med = np.median(np.asarray(d["per_seed"], dtype=np.float64), axis=0)  # [E + 1, H]
        bad = np.nonzero(~np.all(np.diff(med, axis=1) > 0, axis=1))[0]
        if bad.size:
            broken.append(
                f"{net_name(d['sizes'])} (from epoch {int(bad[0])}, at {bad.size} of "
                f"{E + 1} points)"
            )
    if broken:
        out.append(
            "Unlike the book, where each hidden layer stays slower than the next for all "
            "500 epochs, the median order of the layers breaks in " + "; ".join(broken) + "."
        )
    else:
        out.append(
            f"Over {E} epochs of full-batch training ({seeds} seeds per depth), at every "
            "epoch and every depth each hidden layer learns slower than the next (median), "
            "as in the book."
        )
    deepest = max(depths.values(), key=lambda d: len(d["sizes"]))
    s = np.asarray(deepest["per_seed"], dtype=np.float64)
    if s.shape[2] >= 2:
        start, end = band_of(s[:, 0, -1] / s[:, 0, 0]), band_of(s[:, -1, -1] / s[:, -1, 0])
        band = (
            f" (10–90 % of single runs {end.low:.3g}–{end.high:.3g})"
            if end.low is not None and end.high is not None
            else f" ({end.seeds} seeds: no band)"
        )
        trend = "grown" if end.median > start.median else "shrunk"
        out.append(
            f"For {net_name(deepest['sizes'])} the last hidden layer learns {end.median:.3g}× "
            f"faster than the first after {E} epochs{band}, against {start.median:.3g}× at "
            f"initialisation: training has {trend} the gap."
        )
    ratios = [c for c in comparisons if c.kind == "reproduction" and "/" in c.quantity]
    for c in ratios:
        v = c.verdict
        if v == "agrees":
            out.append(
                f"{c.quantity}: the book's {c.reference:.3g} lies inside our band "
                f"{c.low:.3g}–{c.high:.3g} (median {c.ours:.3g})."
            )
        elif v == "disagrees":
            out.append(
                f"{c.quantity}: the book's {c.reference:.3g} lies {side_of_band(c)} our band "
                f"{c.low:.3g}–{c.high:.3g} (median {c.ours:.3g}) — this disagrees with "
                "the book."
            )
    shares = [
        (net_name(d["sizes"]), l + 1, v)
        for d in depths.values()
        if d.get("book")
        for l, v in enumerate(
            curve_shares(
                np.asarray(d["per_seed"], dtype=np.float64)[:, : len(d["book"])],
                np.asarray(d["book"], dtype=np.float64),
            )
        )
    ]
    judged = [(n, l, v) for n, l, v in shares if v is not None]
    if judged:
        name, layer, lowest = min(judged, key=lambda t: t[2])
        n_ok = sum(v >= SHARE_THRESHOLD for _, _, v in judged)
        text = (
            f"{n_ok} of the book's {len(judged)} curves have at least {SHARE_THRESHOLD:.0%} "
            f"of their points inside our band; the lowest share is {lowest:.0%} "
            f"({name}, hidden layer {layer})"
        )
        out.append(
            text + ("." if n_ok == len(judged) else ": there the book's run is not like our runs.")
        )
    elif shares:
        out.append(
            f"The book's curves are not judged: {band_label(seeds)} (a band needs at "
            f"least {MIN_BAND_SEEDS} seeds)."
        )
    speeds = [
        c
        for c in comparisons
        if c.kind == "reproduction" and "after" in c.quantity and "/" not in c.quantity
    ]
    sentence = agreement_sentence(speeds, "last-epoch speeds")
    if sentence:
        out.append(sentence)
    if not comparisons:
        out.append(
            "No book numbers for these settings: the book trains full-batch (m = 1000) "
            "on the first 1000 images with η = 0.1, λ = 5."
        )
    return out


EXPLANATION = """\
Training does not cure the imbalance seen at initialisation. At every epoch each hidden layer's
error is still δˡ = ((wˡ⁺¹)ᵀ δˡ⁺¹) ⊙ σ′(zˡ), a product of one factor wⱼσ′(zⱼ) per later layer, and
with σ′ ≤ 1/4 those factors stay small while the weights stay modest (L2 regularisation with
λ = 5 keeps them so). So on the log-scale plot the curves of the hidden layers stay separated
for the whole run.

The curves are the median over seeds with the 10–90 % band of single runs shaded; the book's run
(its published figure data) is drawn dashed. Each book curve is one run, so it should wander
inside our band rather than follow our median; we count the share of its points inside, and
compare its speeds and its last-to-first ratio at its last epoch.

Mean-field theory (experiment `initial-speed`, `gradprobe theory`) predicts the speeds at
initialisation only: it assumes independent random weights, which training no longer has, so
no prediction is drawn here.
"""
TrainingSpeed.explanation = EXPLANATION
