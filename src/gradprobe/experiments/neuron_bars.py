"""``neuron-bars``: the book's bar picture of ∂C/∂bˡⱼ for single neurons at initialisation.

Chapter 5 draws 784-30-30-10 with the top six neurons of each hidden layer and, beside each
neuron j of layer l, a bar whose length is ∂C/∂bˡⱼ = (1/n) Σₓ δˡⱼ over the first 1000 training
images: how fast that neuron's bias starts to change. The bars of the second hidden layer are
mostly much longer than those of the first. The book draws one network and prints no numbers.

We draw the same picture for our first seed and back it with statistics over seeds: the length
‖·‖ of the six bars of each layer, and how often layer 2's six bars are longer than layer 1's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..book import INITIAL_SPEED
from ..errors import ConfigError
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
from ._mnist import load_samples, net_name

SIZES = (784, 30, 30, 10)


@dataclass(frozen=True)
class NeuronBarsConfig:
    """``neurons`` = how many of the top neurons of each hidden layer to draw (the book: 6);
    ``seeds`` networks for the statistics; the picture shows the first seed (``seed``)."""

    seeds: int = 100
    samples: int = 1000
    neurons: int = 6
    seed: int = 0
    quick: bool = False


Config = NeuronBarsConfig


@register
class NeuronBars(Experiment):
    name = "neuron-bars"
    title = "Neuron bars: ∂C/∂b of single neurons"
    book_ref = "Chapter 5, “The vanishing gradient problem” (the bar diagrams)"
    Config = NeuronBarsConfig

    def quick_config(self) -> NeuronBarsConfig:
        return NeuronBarsConfig(seeds=20, quick=True)

    def run(
        self,
        config: NeuronBarsConfig,
        *,
        data: str | None,
        out_dir: Path,
        progress: Callable[[str], None] | None = None,
    ) -> ExperimentResult:
        say = progress or (lambda _msg: None)
        out_dir = Path(out_dir)
        if not 1 <= config.neurons <= min(SIZES[1:-1]):
            raise ConfigError(f"neurons must be 1 … {min(SIZES[1:-1])}, got {config.neurons}")
        with one_thread(), Timer() as timer:
            mnist, split = load_samples(data, config.samples)
            say(f"{net_name(SIZES)}: ∂C/∂bˡⱼ for {config.seeds} seeds")
            net = Network(SIZES, seeds=config.seeds, seed=config.seed)
            ls = learning_speed(net, split.images, split.labels)
            # [S, H, k]: the top k neurons of every hidden layer, signed ∂C/∂bˡⱼ
            grads = np.stack(
                [g[:, : config.neurons].double().numpy() for g in ls.bias_grad], axis=1
            )
            layer_speed = ls.speed.double().numpy()  # [S, H] ‖∂C/∂bˡ‖ over all 30 neurons
        result = _result(config, grads, layer_speed, mnist.source, out_dir, timer.seconds)
        result.write(out_dir)
        return result


def _result(
    config: NeuronBarsConfig,
    grads: np.ndarray,
    layer_speed: np.ndarray,
    source: str,
    out_dir: Path,
    seconds: float,
) -> ExperimentResult:
    from ..report.plots.neuron_bars import plot

    n, k = config.seeds, config.neurons
    six = np.linalg.norm(grads, axis=2)  # [S, H] length of the k bars of each layer together
    ratio = six[:, 1] / six[:, 0]  # [S]
    longer = float(np.mean(ratio > 1))
    mean_abs = np.abs(grads).mean(axis=2)  # [S, H] mean bar length per layer
    med6, lo6, hi6 = median_band(six)
    medr, lor, hir = median_band(ratio)
    medm, lom, him = median_band(mean_abs)
    book_speed = INITIAL_SPEED.get(SIZES)
    comparisons = [
        Comparison(
            quantity=f"‖∂C/∂b¹ⱼ‖ of the top {k} neurons of hidden layer 1",
            ours=float(med6[0]),
            low=float(lo6[0]),
            high=float(hi6[0]),
            band=f"10–90 % over {n} seeds",
            note="The book prints no numbers for the bars; compare their lengths in the figure.",
        ),
        Comparison(
            quantity=f"‖∂C/∂b²ⱼ‖ of the top {k} neurons of hidden layer 2",
            ours=float(med6[1]),
            low=float(lo6[1]),
            high=float(hi6[1]),
            band=f"10–90 % over {n} seeds",
        ),
        Comparison(
            quantity=f"layer 2 / layer 1, top {k} neurons (book: ratio of its printed ‖δˡ‖)",
            ours=float(medr),
            low=float(lor),
            high=float(hir),
            band=f"10–90 % over {n} seeds",
            book=book_speed[1] / book_speed[0] if book_speed else None,
        ),
        Comparison(
            quantity=f"share of networks whose layer-2 bars are longer than layer 1's (top {k})",
            ours=longer,
            band=f"{n} seeds",
            note="The book says the second layer's bars are “mostly much larger”.",
        ),
    ]
    if comparisons[2].inside is False:
        comparisons[2].note = (
            "quick mode: few seeds, rough band."
            if config.quick
            else "The book's ratio is one network's whole-layer ‖δ²‖/‖δ¹‖ (0.31/0.07, rounded), "
            f"ours uses only the top {k} of 30 neurons per layer, which is noisier."
        )
    write_csv(
        out_dir / "neuron_bars.csv",
        ["seed", "hidden_layer", "neuron", "dC_db"],
        [
            [config.seed + s, l + 1, j + 1, grads[s, l, j]]
            for s in range(grads.shape[0])
            for l in range(grads.shape[1])
            for j in range(grads.shape[2])
        ],
    )
    figure = plot(grads[0], layer_speed[0], out_dir, seed=config.seed, samples=config.samples)
    rows = [
        [l + 1, float(med6[l]), float(lo6[l]), float(hi6[l]), float(medm[l]), float(lom[l]),
         float(him[l]), float(np.median(layer_speed[:, l]))]
        for l in range(grads.shape[1])
    ]  # fmt: skip
    first = grads[0]
    summary = (
        f"In our first network (seed {config.seed}) the top {k} bars of hidden layer 1 have "
        f"lengths {_bars(first[0])} and those of hidden layer 2 {_bars(first[1])}. Over {n} "
        f"seeds the layer-2 bars are longer than the layer-1 bars (together) in "
        f"{100 * longer:.0f} % of networks, by a median factor of {medr:.1f} "
        f"(10–90 %: {lor:.1f}–{hir:.1f}); the book's whole-layer speeds give "
        + (f"{book_speed[1] / book_speed[0]:.1f}." if book_speed else "no number.")
    )
    return NeuronBars.make_result(
        config,
        summary=summary,
        explanation=EXPLANATION,
        comparisons=comparisons,
        tables=[
            Table(
                title=f"bars of the top {k} neurons per hidden layer, over {n} seeds",
                columns=[
                    "hidden layer",
                    "‖bars‖ median",
                    "10 %",
                    "90 %",
                    "mean |∂C/∂b| median",
                    "10 %",
                    "90 %",
                    "whole layer ‖δˡ‖ median",
                ],
                rows=rows,
            )
        ],
        figures=[figure],
        data={
            "sizes": list(SIZES),
            "per_seed": grads.tolist(),
            "per_seed_shape": "[seed][hidden layer][neuron]: signed ∂C/∂bˡⱼ",
            "layer_speed": layer_speed.tolist(),
            "ratio_layer2_to_layer1": ratio.tolist(),
            "source": source,
        },
        seconds=seconds,
    )


def _bars(values: np.ndarray) -> str:
    return ", ".join(f"{abs(v):.3f}" for v in values)


EXPLANATION = """\
Each bar is one neuron's ∂C/∂bˡⱼ = δˡⱼ averaged over the images: by BP3 it is exactly how fast
that neuron's bias moves under gradient descent, and by BP4 its incoming weights move in
proportion to it too. By BP2, δˡⱼ = σ′(zˡⱼ) Σₖ wˡ⁺¹ₖⱼ δˡ⁺¹ₖ: the first hidden layer's error is the
second layer's error sent back through one more factor of weights and of σ′ ≤ 1/4. With network2's
N(0, 1/n_in) weights that extra factor is usually well below one, so the first layer's bars are
shorter. Individual bars vary a lot (a neuron whose sigmoid is saturated has σ′ ≈ 0 and a tiny bar
in either layer), which is why the picture of one network is backed by statistics over many.
"""
