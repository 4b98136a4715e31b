"""``initial-speed``: the speed of learning ‖δˡ‖ of every hidden layer at initialisation.

Chapter 5 measures, for freshly initialised sigmoid networks 784-30-…-30-10 (network2's
defaults: cross-entropy, wˡ ~ N(0, 1/n_in), bˡ ~ N(0, 1)), the length of the bias gradient

    speedˡ = ‖∂C/∂bˡ‖ = ‖(1/n) Σₓ δˡ‖      over the first n = 1000 training images

and prints 0.07, 0.31 for two hidden layers, 0.012, 0.060, 0.283 for three and 0.003, 0.017,
0.070, 0.285 for four: each layer further from the output learns several times slower. We
measure the same for many independently initialised networks (all seeds of one depth in one
vectorised `Network`) and report the median and 10–90 % band per hidden layer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..book import INITIAL_SPEED
from ..io import write_csv
from ..nets import Network
from ..speed import learning_speed
from ._legacy_base import (
    Comparison,
    Experiment,
    ExperimentResult,
    Table,
    Timer,
    median_band,
    one_thread,
    register,
)
from ._mnist import DEPTHS, load_samples, net_name, per_seed_rows, sizes_for


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
class InitialSpeed(Experiment):
    name = "initial-speed"
    title = "Speed of learning at initialisation"
    book_ref = "Chapter 5, “The vanishing gradient problem”"
    Config = InitialSpeedConfig

    def quick_config(self) -> InitialSpeedConfig:
        return InitialSpeedConfig(seeds=20, quick=True)

    def run(
        self,
        config: InitialSpeedConfig,
        *,
        data: str | None,
        out_dir: Path,
        progress: Callable[[str], None] | None = None,
    ) -> ExperimentResult:
        say = progress or (lambda _msg: None)
        out_dir = Path(out_dir)
        with one_thread(), Timer() as timer:
            mnist, split = load_samples(data, config.samples)
            per_depth: dict[str, dict[str, Any]] = {}
            for hidden in config.depths:
                sizes = sizes_for(hidden)
                say(f"{net_name(sizes)}: ‖δˡ‖ for {config.seeds} seeds")
                net = Network(sizes, seeds=config.seeds, seed=config.seed)
                speed = learning_speed(net, split.images, split.labels).speed.double().numpy()
                per_depth[str(hidden)] = _stats(sizes, speed)
        result = _result(config, per_depth, mnist.source, out_dir, timer.seconds)
        result.write(out_dir)
        return result


def _stats(sizes: tuple[int, ...], speed: np.ndarray) -> dict[str, Any]:
    """Per-layer statistics of ``speed`` [S, H] over the S seeds."""
    med, q10, q90 = median_band(speed)
    _, q05, q95 = median_band(speed, q=(0.05, 0.95))
    book = INITIAL_SPEED.get(sizes)
    return {
        "sizes": list(sizes),
        "per_seed": speed.tolist(),
        "median": med.tolist(),
        "q10": q10.tolist(),
        "q90": q90.tolist(),
        "q05": q05.tolist(),
        "q95": q95.tolist(),
        "book": list(book) if book else None,
    }


def _result(
    config: InitialSpeedConfig,
    per_depth: dict[str, dict[str, Any]],
    source: str,
    out_dir: Path,
    seconds: float,
) -> ExperimentResult:
    from ..report.plots.initial_speed import plot

    n = config.seeds
    comparisons: list[Comparison] = []
    rows: list[list[Any]] = []
    for d in per_depth.values():
        sizes = tuple(d["sizes"])
        book = d["book"] or [None] * len(d["median"])
        for l, (m, lo, hi, b) in enumerate(zip(d["median"], d["q10"], d["q90"], book), 1):
            c = Comparison(
                quantity=f"{net_name(sizes)}: ‖δ{_sup(l)}‖, hidden layer {l}",
                ours=m,
                low=lo,
                high=hi,
                band=f"10–90 % over {n} seeds",
                book=b,
            )
            if c.inside is False:
                c.note = _why_outside(config, m, b)
            comparisons.append(c)
            rows.append([net_name(sizes), l, m, lo, hi, b])
    write_csv(
        out_dir / "initial_speed.csv",
        ["sizes", "seed", "hidden_layer", "speed"],
        per_seed_rows(per_depth, "per_seed", config.seed),
    )
    write_csv(
        out_dir / "initial_speed_summary.csv",
        ["sizes", "hidden_layer", "median", "q10", "q90", "book"],
        rows,
    )
    figure = plot(per_depth, out_dir, seeds=n)
    return InitialSpeed.make_result(
        config,
        summary=_summary(per_depth, n, config.samples),
        explanation=EXPLANATION,
        comparisons=comparisons,
        tables=[
            Table(
                title=f"‖δˡ‖ at initialisation, median and 10–90 % band over {n} seeds",
                columns=["network", "hidden layer", "median", "10 %", "90 %", "book"],
                rows=rows,
            )
        ],
        figures=[figure],
        data={"hidden_layers": per_depth, "samples": config.samples, "source": source},
        seconds=seconds,
    )


def _sup(l: int) -> str:
    return "⁰¹²³⁴⁵⁶⁷⁸⁹"[l] if l < 10 else f"^{l}"


def _why_outside(config: InitialSpeedConfig, ours: float, book: float) -> str:
    if config.quick:
        return f"quick mode: only {config.seeds} seeds, so the 10–90 % band is rough."
    side = "above" if book > ours else "below"
    return (
        f"The book prints one network's value (one seed), here {side} our 10–90 % band of "
        f"{config.seeds} seeds; a single draw lands outside that band 20 % of the time, and the "
        "book rounds to one or two significant figures."
    )


def _summary(per_depth: dict[str, dict[str, Any]], seeds: int, samples: int) -> str:
    deepest = per_depth[max(per_depth, key=int)]
    med = deepest["median"]
    ratio = np.median(
        np.asarray(deepest["per_seed"])[:, -1] / np.asarray(deepest["per_seed"])[:, 0]
    )
    factors = [
        np.median(np.asarray(d["per_seed"])[:, l + 1] / np.asarray(d["per_seed"])[:, l])
        for d in per_depth.values()
        for l in range(len(d["median"]) - 1)
    ]
    text = (
        f"Over {seeds} freshly initialised networks and the first {samples} training images, "
        f"the median speed ‖δˡ‖ of {net_name(tuple(deepest['sizes']))} is "
        + ", ".join(f"{m:.3g}" for m in med)
        + f" from the first hidden layer to the last: the first learns {ratio:.0f}× slower "
        f"(median over seeds). "
    )
    if factors:
        text += (
            f"Each step back towards the input divides the speed by {min(factors):.1f}–"
            f"{max(factors):.1f} (medians), of the order of the factor 4 that σ′ ≤ 1/4 alone "
            "would give."
        )
    inside = [
        lo <= b <= hi
        for d in per_depth.values()
        if d["book"]
        for lo, hi, b in zip(d["q10"], d["q90"], d["book"])
    ]
    if inside:
        text += f" {sum(inside)} of the book's {len(inside)} values lie inside our 10–90 % bands."
    return text


EXPLANATION = """\
By backpropagation (BP2) the error of a hidden layer is the next layer's error sent back through
the weights and multiplied by the slope of the sigmoid: δˡ = ((wˡ⁺¹)ᵀ δˡ⁺¹) ⊙ σ′(zˡ). Going from the
output back to hidden layer l therefore multiplies δᴸ by one factor wⱼσ′(zⱼ) per layer in between.
The sigmoid's slope is at most σ′(0) = 1/4, and with network2's default initialisation the weights
are N(0, 1/n_in), so these factors are typically well below one: each layer further from the output
gets a smaller ‖δˡ‖ = ‖∂C/∂bˡ‖, and it is this gradient that decides how fast its biases (and, by
BP4, its weights) move.

The figure shows exactly that on a log axis: for two, three and four hidden layers the speed falls
by a roughly constant factor per layer towards the input, so the first hidden layer of the
four-hidden-layer network learns about a hundred times slower than the last. The band is the
spread over independently initialised networks; the book's numbers are one network each, so they
should fall inside our band, not on our median.
"""
