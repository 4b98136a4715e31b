"""``initial-speed``: the speed of learning ‖δˡ‖ of every hidden layer at initialisation.

Chapter 5 measures, for freshly initialised sigmoid networks 784-30-…-30-10 (network2's
defaults: cross-entropy, wˡ ~ N(0, 1/n_in), bˡ ~ N(0, 1)), the length of the bias gradient

    speedˡ = ‖∂C/∂bˡ‖ = ‖(1/n) Σₓ δˡ‖      over the first n = 1000 training images

and prints 0.07, 0.31 for two hidden layers, 0.012, 0.060, 0.283 for three and 0.003, 0.017,
0.070, 0.285 for four. We measure the same for ``seeds`` independently initialised networks per
depth (all seeds of one depth in one vectorised `Network`); each printed number is one
network, so it is compared with our 10–90 % band of single networks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import theory
from ..book import CH5_TEXT, INITIAL_SPEED, norms_during_training, norms_file
from ..io import write_csv
from ..nets import Network
from ..results import Comparison, Table, band_of, seed_band
from ..speed import learning_speed
from ._mnist import (
    DEPTHS,
    agreement_sentence,
    check_depths,
    check_samples,
    load_samples,
    net_name,
    per_seed_rows,
    sizes_for,
    sup,
)
from .base import Experiment, RunContext, register

PREDICTION_SOURCE = (
    "mean-field theory (gradprobe.theory.predicted_speeds: network2's init, the same images)"
)


@dataclass(frozen=True)
class InitialSpeedConfig:
    """``seeds`` networks per depth (seed, seed + 1, …); speeds over the first ``samples``
    training images; ``depths`` = numbers of hidden layers."""

    seeds: int = 100
    samples: int = 1000
    depths: tuple[int, ...] = DEPTHS
    seed: int = 0
    quick: bool = False


Config = InitialSpeedConfig


@register
class InitialSpeed(Experiment[InitialSpeedConfig]):
    name = "initial-speed"
    title = "Speed of learning at initialisation"
    book_ref = "Chapter 5, “The vanishing gradient problem”"
    order = 10 * 2
    typical_seconds = (3, 3)  # scheduling hint (RESULTS.md)
    Config = InitialSpeedConfig
    quick_note = """\
        Quick mode measures 20 networks per depth instead of 100, on the same 1000 bundled
        images the book uses (the first 1000 of MNIST's training set), so it can already judge
        the book's nine printed speeds; its 10–90 % bands are rougher than the full run's."""

    def quick_config(self) -> InitialSpeedConfig:
        return InitialSpeedConfig(seeds=20, quick=True)

    def validate(self, config: InitialSpeedConfig) -> None:
        super().validate(config)
        check_depths(config.depths)
        check_samples(config.samples)

    def compute(self, config: InitialSpeedConfig, ctx: RunContext) -> dict[str, Any]:
        mnist, split = load_samples(ctx.data, config.samples)
        # The theory averages over images as the book does; 200 images and 100 pairs of them
        # fix its input moments to well under 1 % (theory.Inputs).
        inputs = theory.Inputs.from_data(
            split.images.double().cpu().numpy(), split.labels.cpu().numpy(), images=200, pairs=100
        )
        depths: dict[str, dict[str, Any]] = {}
        for i, hidden in enumerate(config.depths):
            sizes = sizes_for(hidden)
            ctx.progress(
                f"{net_name(sizes)}: ‖δˡ‖ of {config.seeds} networks", i, len(config.depths)
            )
            net = Network(sizes, seeds=config.seeds, seed=config.seed, device=ctx.device)
            speed = learning_speed(net, split.images.to(ctx.device), split.labels.to(ctx.device))
            predicted = theory.predicted_speeds(sizes, "sigmoid", "default", inputs=inputs)
            depths[str(hidden)] = {
                "sizes": list(sizes),
                "per_seed": speed.speed.double().cpu().numpy(),  # [S, H]
                "book": _book(sizes, config),
                # Mean-field prediction for the same images: ‖δˡ‖ [H] and ‖δˡ⁺¹‖/‖δˡ‖ [H − 1].
                "predicted_speeds": list(predicted.speeds),
                "predicted_ratios": [1.0 / r for r in predicted.ratios],
            }
        ctx.progress("done", len(config.depths), len(config.depths))
        return {"source": mnist.source, "samples": config.samples, "depths": depths}

    def compare(self, config: InitialSpeedConfig, data: dict[str, Any]) -> list[Comparison]:
        out: list[Comparison] = []
        for d in data["depths"].values():
            book = d.get("book")
            if not book:
                continue
            per_seed = np.asarray(d["per_seed"], dtype=np.float64)
            for l, (printed, unrounded) in enumerate(zip(book["printed"], book["figure_data"])):
                note = ""
                if unrounded is not None:
                    note = (
                        f"The book's figure data give {unrounded:.4g} for the same network "
                        "(the text rounds it)."
                    )
                out.append(
                    Comparison.reproduction(
                        f"{net_name(d['sizes'])}: ‖δ{sup(l + 1)}‖, hidden layer {l + 1}",
                        per_seed[:, l],
                        printed,
                        CH5_TEXT,
                        note=note,
                    )
                )
        predicted = {
            int(k): d["predicted_ratios"]
            for k, d in data["depths"].items()
            if d.get("predicted_ratios")
        }
        out += ratio_predictions(data, predicted, PREDICTION_SOURCE)
        for d in data["depths"].values():
            per_seed = np.asarray(d["per_seed"], dtype=np.float64)
            for l, p in enumerate(d.get("predicted_speeds") or []):
                out.append(
                    Comparison.prediction(
                        f"{net_name(d['sizes'])}: ‖δ{sup(l + 1)}‖ (theory)",
                        per_seed[:, l],
                        float(p),
                        PREDICTION_SOURCE,
                    )
                )
        return out

    def conclude(
        self, config: InitialSpeedConfig, data: dict[str, Any], comparisons: list[Comparison]
    ) -> list[str]:
        return conclusions(data, comparisons)

    def tables(self, config: InitialSpeedConfig, data: dict[str, Any]) -> list[Table]:
        rows = _summary_rows(data)
        return [
            Table(
                title=f"‖δˡ‖ at initialisation: median and 10–90 % band of single networks, "
                f"{config.seeds} seeds per depth",
                columns=[
                    "network",
                    "hidden layer",
                    "median",
                    "10 %",
                    "90 %",
                    "book (text)",
                    "book (figure data)",
                ],
                rows=rows,
            )
        ]

    def write_files(self, config: InitialSpeedConfig, data: dict[str, Any], out_dir: Path) -> None:
        write_csv(
            out_dir / "initial_speed.csv",
            ["sizes", "seed", "hidden_layer", "speed"],
            per_seed_rows(data["depths"], "per_seed", config.seed),
        )
        write_csv(
            out_dir / "initial_speed_summary.csv",
            ["sizes", "hidden_layer", "median", "q10", "q90", "book_text", "book_figure_data"],
            _summary_rows(data),
        )


def _book(sizes: tuple[int, ...], config: InitialSpeedConfig) -> dict[str, Any] | None:
    """The book's numbers for ``sizes``: printed (text) and unrounded (epoch 0 of its figure
    data, the same networks); None when the book has none or the setting differs (not 1000
    images)."""
    printed = INITIAL_SPEED.get(sizes)
    if printed is None or config.samples != 1000:
        return None
    hidden = len(sizes) - 2
    unrounded = norms_during_training(hidden)[0] if hidden in (2, 3, 4) else [None] * hidden
    return {
        "printed": list(printed),
        "figure_data": list(unrounded),
        "figure_file": norms_file(hidden),
    }


def _summary_rows(data: dict[str, Any]) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for d in data["depths"].values():
        med, lo, hi = seed_band(d["per_seed"])
        book = d.get("book") or {}
        printed = book.get("printed") or [None] * len(med)
        unrounded = book.get("figure_data") or [None] * len(med)
        seeds = len(d["per_seed"])
        for l in range(len(med)):
            band = seeds >= 5
            rows.append(
                [
                    net_name(d["sizes"]),
                    l + 1,
                    float(med[l]),
                    float(lo[l]) if band else None,
                    float(hi[l]) if band else None,
                    printed[l],
                    unrounded[l],
                ]
            )
    return rows


def ratio_predictions(
    data: dict[str, Any], predicted: Mapping[int, Sequence[float]], source: str
) -> list[Comparison]:
    """``prediction`` rows: a theory's ratio ‖δˡ⁺¹‖/‖δˡ‖ for each pair of consecutive hidden
    layers against our per-seed ratios. ``predicted[h]`` lists h − 1 ratios (layer 2 to 1,
    3 to 2, …) for h hidden layers; depths it lacks get no row."""
    out: list[Comparison] = []
    for key, d in data["depths"].items():
        ratios = predicted.get(int(key))
        if not ratios:
            continue
        s = np.asarray(d["per_seed"], dtype=np.float64)
        for l, r in enumerate(ratios[: s.shape[1] - 1]):
            out.append(
                Comparison.prediction(
                    f"{net_name(d['sizes'])}: ‖δ{sup(l + 2)}‖ / ‖δ{sup(l + 1)}‖",
                    s[:, l + 1] / s[:, l],
                    float(r),
                    source,
                )
            )
    return out


def conclusions(data: dict[str, Any], comparisons: Sequence[Comparison]) -> list[str]:
    """Sentences chosen and filled from the measured speeds (and the comparisons)."""
    out: list[str] = []
    steps: list[float] = []
    unordered: list[str] = []
    for d in data["depths"].values():
        s = np.asarray(d["per_seed"], dtype=np.float64)
        med = np.median(s, axis=0)
        steps += [float(np.median(s[:, l + 1] / s[:, l])) for l in range(s.shape[1] - 1)]
        bad = [l + 1 for l in range(s.shape[1] - 1) if not med[l] < med[l + 1]]
        if bad:
            unordered.append(f"{net_name(d['sizes'])} (hidden layer {', '.join(map(str, bad))})")
    deepest = max(data["depths"].values(), key=lambda d: len(d["sizes"]))
    s = np.asarray(deepest["per_seed"], dtype=np.float64)
    med = np.median(s, axis=0)
    seeds = s.shape[0]
    if s.shape[1] >= 2:
        ratio = band_of(s[:, -1] / s[:, 0])
        slower = ratio.median > 1
        out.append(
            f"Over {seeds} freshly initialised networks and the first {data['samples']} training "
            f"images, the median speeds ‖δˡ‖ of {net_name(deepest['sizes'])} are "
            + ", ".join(f"{m:.3g}" for m in med)
            + " from the first hidden layer to the last: the first hidden layer learns "
            + (
                f"{ratio.median:.0f}× slower than the last"
                if slower
                else f"{1 / ratio.median:.1f}× faster than the last, the opposite of the book"
            )
            + (
                f" (10–90 % of single networks: {ratio.low:.0f}–{ratio.high:.0f}×)."
                if ratio.low is not None and ratio.high is not None and slower
                else "."
            )
        )
    if not unordered and steps:
        out.append(
            f"At every depth each hidden layer learns slower than the next one (medians), as the "
            f"book finds: each step back towards the input divides the speed by "
            f"{min(steps):.1f}–{max(steps):.1f}."
        )
    elif unordered:
        out.append(
            "Unlike the book, where every earlier hidden layer is slower than the next, here the "
            "median speed does not fall towards the input in " + "; ".join(unordered) + "."
        )
    sentence = agreement_sentence(comparisons, "printed speeds")
    if sentence:
        out.append(sentence)
    elif not any(c.kind == "reproduction" for c in comparisons):
        out.append(
            "No book numbers for these settings: the book measures on the first 1000 "
            "training images, with 2, 3 and 4 hidden layers."
        )
    preds = [c for c in comparisons if c.kind == "prediction"]
    if preds:
        inside = sum(c.verdict == "agrees" for c in preds)
        out.append(
            f"{inside} of {len(preds)} mean-field predictions (per-layer speeds and ratios) lie "
            "inside our band; the theory describes initialisation only."
        )
    return out


EXPLANATION = """\
By backpropagation (BP2) the error of a hidden layer is the next layer's error sent back through
the weights and multiplied by the slope of the sigmoid: δˡ = ((wˡ⁺¹)ᵀ δˡ⁺¹) ⊙ σ′(zˡ). Going from the
output back to hidden layer l therefore multiplies δᴸ by one factor wⱼσ′(zⱼ) per layer in between.
The sigmoid's slope is at most σ′(0) = 1/4, and with network2's default initialisation the weights
are N(0, 1/n_in), so these factors are typically well below one: each layer further from the output
gets a smaller ‖δˡ‖ = ‖∂C/∂bˡ‖, and it is this gradient that decides how fast its biases (and, by
BP4, its weights) move.

The figure shows the speed of each hidden layer on a log axis for two, three and four hidden
layers. The band is the spread of single networks over seeds (10–90 %); the book's numbers are one
network each, so they should fall inside our band, not on our median.
"""
InitialSpeed.explanation = EXPLANATION
