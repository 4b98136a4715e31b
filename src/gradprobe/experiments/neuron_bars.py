"""``neuron-bars``: the book's bar picture of ∂C/∂bˡⱼ for single neurons at initialisation.

Chapter 5 draws 784-30-30-10 with the top six neurons of each hidden layer and, beside each
neuron j of layer l, a bar whose length is ∂C/∂bˡⱼ = (1/n) Σₓ δˡⱼ over the first 1000 training
images: how fast that neuron's bias starts to change. The text prints no numbers for the bars,
but the book's figure data (``initial_gradient.json``) holds them: the twelve signed gradients
of its one network. From them, the length ‖·‖ of the six bars of layer 1 (0.0309), of layer 2
(0.0872) and their ratio (2.82) are book numbers, compared with the same quantities of our
networks over seeds. (The book's whole-layer speeds 0.07 and 0.31 are ``initial-speed``'s.)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..book import figure_source, initial_gradient, norms_during_training
from ..errors import ConfigError
from ..io import write_csv
from ..nets import Network
from ..results import Comparison, Table, band_of
from ..speed import learning_speed
from ._mnist import agreement_sentence, check_samples, load_samples, net_name, sup
from .base import Experiment, RunContext, register

SIZES = (784, 30, 30, 10)
BOOK_FILE = "initial_gradient.json"


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
class NeuronBars(Experiment[NeuronBarsConfig]):
    name = "neuron-bars"
    title = "Neuron bars: ∂C/∂b of single neurons"
    book_ref = "Chapter 5, “The vanishing gradient problem” (the bar diagrams)"
    order = 10 * 3
    typical_seconds = (0.1, 1.1)  # scheduling hint (RESULTS.md)
    Config = NeuronBarsConfig
    quick_note = """\
        Quick mode uses 20 networks instead of 100, on the same 1000 bundled images as the book
        (the first 1000 of MNIST's training set): it already compares with the book's bar data,
        with rougher bands."""

    def quick_config(self) -> NeuronBarsConfig:
        return NeuronBarsConfig(seeds=20, quick=True)

    def validate(self, config: NeuronBarsConfig) -> None:
        super().validate(config)
        check_samples(config.samples)
        k = config.neurons
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= min(SIZES[1:-1]):
            raise ConfigError(f"neurons must be 1 … {min(SIZES[1:-1])}, got {k!r}")

    def compute(self, config: NeuronBarsConfig, ctx: RunContext) -> dict[str, Any]:
        mnist, split = load_samples(ctx.data, config.samples)
        ctx.progress(f"{net_name(SIZES)}: ∂C/∂bˡⱼ of {config.seeds} networks", 0, 1)
        net = Network(SIZES, seeds=config.seeds, seed=config.seed, device=ctx.device)
        ls = learning_speed(net, split.images.to(ctx.device), split.labels.to(ctx.device))
        # [S, H, k]: the top k neurons of every hidden layer, signed ∂C/∂bˡⱼ
        grads = np.stack(
            [g[:, : config.neurons].double().cpu().numpy() for g in ls.bias_grad], axis=1
        )
        ctx.progress("done", 1, 1)
        book = initial_gradient() if _book_setting(config) else None
        return {
            "sizes": list(SIZES),
            "samples": config.samples,
            "neurons": config.neurons,
            "seed": config.seed,
            "per_seed": grads,
            "per_seed_shape": "[seed][hidden layer][neuron]: signed ∂C/∂bˡⱼ",
            "layer_speed": ls.speed.double().cpu().numpy(),  # [S, H] all 30 neurons
            "book_bars": [list(b) for b in book] if book else None,
            # the same network's whole-layer speeds (epoch 0 of the book's 2-layer curves)
            "book_layer_speed": norms_during_training(2)[0] if book else None,
            "source": mnist.source,
        }

    def compare(self, config: NeuronBarsConfig, data: dict[str, Any]) -> list[Comparison]:
        if not data.get("book_bars"):
            return []
        ours = quantities(np.asarray(data["per_seed"], dtype=np.float64))
        book = quantities(np.asarray([data["book_bars"]], dtype=np.float64))
        k = data["neurons"]
        src = figure_source(BOOK_FILE)
        return [
            Comparison.reproduction(
                f"‖∂C/∂b¹ⱼ‖ of the top {k} neurons of hidden layer 1",
                ours["norm1"],
                float(book["norm1"][0]),
                src,
            ),
            Comparison.reproduction(
                f"‖∂C/∂b²ⱼ‖ of the top {k} neurons of hidden layer 2",
                ours["norm2"],
                float(book["norm2"][0]),
                src,
            ),
            Comparison.reproduction(
                f"ratio layer 2 / layer 1 of these {k}-bar lengths",
                ours["ratio"],
                float(book["ratio"][0]),
                src,
                note="Not the ratio of whole-layer speeds (0.31/0.07): only the drawn neurons.",
            ),
        ]

    def conclude(
        self, config: NeuronBarsConfig, data: dict[str, Any], comparisons: list[Comparison]
    ) -> list[str]:
        return conclusions(data, comparisons)

    def tables(self, config: NeuronBarsConfig, data: dict[str, Any]) -> list[Table]:
        q = quantities(np.asarray(data["per_seed"], dtype=np.float64))
        speed = np.asarray(data["layer_speed"], dtype=np.float64)
        book = (
            quantities(np.asarray([data["book_bars"]], dtype=np.float64))
            if data.get("book_bars")
            else None
        )
        rows = []
        for key, label in (
            ("norm1", "‖bars‖, hidden layer 1"),
            ("norm2", "‖bars‖, hidden layer 2"),
            ("ratio", "ratio layer 2 / layer 1"),
            ("mean1", "mean |bar|, hidden layer 1"),
            ("mean2", "mean |bar|, hidden layer 2"),
        ):
            b = band_of(q[key])
            rows.append([label, b.median, b.low, b.high, float(book[key][0]) if book else None])
        for l in range(speed.shape[1]):
            b = band_of(speed[:, l])
            rows.append(
                [f"whole layer ‖δ{sup(l + 1)}‖ (all 30 neurons)", b.median, b.low, b.high, None]
            )
        return [
            Table(
                title=f"bars of the top {data['neurons']} neurons per hidden layer, "
                f"{len(speed)} networks (10–90 % of single networks)",
                columns=["quantity", "median", "10 %", "90 %", "book (figure data)"],
                rows=rows,
            )
        ]

    def write_files(self, config: NeuronBarsConfig, data: dict[str, Any], out_dir: Path) -> None:
        grads = data["per_seed"]
        write_csv(
            out_dir / "neuron_bars.csv",
            ["seed", "hidden_layer", "neuron", "dC_db"],
            [
                [config.seed + s, l + 1, j + 1, v]
                for s, per_layer in enumerate(grads)
                for l, bars in enumerate(per_layer)
                for j, v in enumerate(bars)
            ],
        )


def _book_setting(config: NeuronBarsConfig) -> bool:
    """The book's bars are the top 6 neurons over the first 1000 training images."""
    return config.samples == 1000 and config.neurons == 6


def quantities(grads: np.ndarray) -> dict[str, np.ndarray]:
    """Per network (first axis) of ``grads`` [S, 2, k]: the length of layer 1's and layer 2's
    k bars together (``norm1``, ``norm2``), their ``ratio`` and the mean bar lengths
    (``mean1``, ``mean2``). Each [S]."""
    norms = np.linalg.norm(grads, axis=2)
    means = np.abs(grads).mean(axis=2)
    return {
        "norm1": norms[:, 0],
        "norm2": norms[:, 1],
        "ratio": norms[:, 1] / norms[:, 0],
        "mean1": means[:, 0],
        "mean2": means[:, 1],
    }


def conclusions(data: dict[str, Any], comparisons: list[Comparison]) -> list[str]:
    """Sentences chosen and filled from the measured bars."""
    grads = np.asarray(data["per_seed"], dtype=np.float64)
    q = quantities(grads)
    k, seed = data["neurons"], data["seed"]
    ratio = band_of(q["ratio"])
    longer = float(np.mean(q["ratio"] > 1))
    first = np.abs(grads[0])
    out = [
        f"In our first network (seed {seed}) the top {k} bars of hidden layer 1 have lengths "
        + ", ".join(f"{v:.3f}" for v in first[0])
        + " and those of hidden layer 2 "
        + ", ".join(f"{v:.3f}" for v in first[1])
        + f": together {np.linalg.norm(first[1]) / np.linalg.norm(first[0]):.1f}× "
        + (
            "longer in layer 2."
            if np.linalg.norm(first[1]) > np.linalg.norm(first[0])
            else "shorter in layer 2, unlike the book's picture."
        ),
    ]
    if longer >= 0.5:
        out.append(
            f"Over {len(grads)} networks the second layer's {k} bars are longer together than the "
            f"first's in {100 * longer:.0f} % of them, by a median factor of {ratio.median:.1f}: "
            "the second hidden layer starts learning faster, as in the book's picture."
        )
    else:
        out.append(
            f"Over {len(grads)} networks the second layer's {k} bars are longer together than the "
            f"first's in only {100 * longer:.0f} % of them (median factor {ratio.median:.2f}): "
            "this disagrees with the book's picture, where the second layer's bars are mostly "
            "much longer."
        )
    sentence = agreement_sentence(comparisons, "bar quantities (from its figure data)")
    if sentence:
        out.append(sentence)
    else:
        out.append(
            "No book numbers for these settings: the book's bars are the top 6 neurons "
            "over the first 1000 training images."
        )
    return out


EXPLANATION = """\
Each bar is one neuron's ∂C/∂bˡⱼ = δˡⱼ averaged over the images: by BP3 it is exactly how fast
that neuron's bias moves under gradient descent, and by BP4 its incoming weights move in
proportion to it too. By BP2, δˡⱼ = σ′(zˡⱼ) Σₖ wˡ⁺¹ₖⱼ δˡ⁺¹ₖ: the first hidden layer's error is the
second layer's error sent back through one more factor of weights and of σ′ ≤ 1/4. With network2's
N(0, 1/n_in) weights that extra factor is usually well below one, so the first layer's bars are
shorter. Individual bars vary a lot (a neuron whose sigmoid is saturated has σ′ ≈ 0 and a tiny bar
in either layer), which is why the picture of one network is backed by statistics over many, and
why the book's one network is compared with our band of single networks.
"""
NeuronBars.explanation = EXPLANATION
