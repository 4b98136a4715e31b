"""The numbers Nielsen publishes in *Neural Networks and Deep Learning*, to compare ours with.

Two kinds, both "the book's" (`gradprobe.results` kind ``reproduction``):

* numbers its **text prints** (constants below, each with the passage it comes from), and
* its **published figure data**: the JSON files behind its figures, from the book's code
  repository (``mnielsen/neural-networks-and-deep-learning``, folder ``fig/``, MIT licence),
  shipped in `gradprobe.bookdata` and verified by SHA-256 when loaded (`figure_data`).

Each is one run of one network; ours are statistics over many seeds, and a book number is
"reproduced" when it lies inside our 10–90 % band of single runs. Only numbers that appear in
the book are here: differences, ratios or claims we derive from them are not book numbers.

This module imports only the standard library (no torch, no NumPy).
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from importlib import resources
from typing import Any

# -- chapter 5, "Why are deep neural networks hard to train?" --------------------------------------
#: Where the chapter-5 numbers are printed.
CH5_TEXT = "ch. 5, text of “The vanishing gradient problem”"

#: ‖δˡ‖ = ‖∂C/∂bˡ‖ at initialisation, first hidden layer first, over the first 1000 training
#: images (network2's defaults: sigmoid, cross-entropy, weights N(0, 1/n_in)). Printed in
#: CH5_TEXT ("0.07 and 0.31", "0.012, 0.060, and 0.283", "0.003, 0.017, 0.070, and 0.285").
INITIAL_SPEED: dict[tuple[int, ...], tuple[float, ...]] = {
    (784, 30, 30, 10): (0.07, 0.31),
    (784, 30, 30, 30, 10): (0.012, 0.060, 0.283),
    (784, 30, 30, 30, 30, 10): (0.003, 0.017, 0.070, 0.285),
}

#: Validation accuracy (%) after 30 epochs of SGD, mini-batch 10, η = 0.1, λ = 5.0, on the
#: 50 000 training images; printed in CH5_TEXT (its opening experiment). The book does not say
#: whether it quotes the last epoch or the best one.
DEPTH_ACCURACY: dict[tuple[int, ...], float] = {
    (784, 30, 10): 96.48,
    (784, 30, 30, 10): 96.90,
    (784, 30, 30, 30, 10): 96.57,
    (784, 30, 30, 30, 30, 10): 96.53,
}
#: The setting of `DEPTH_ACCURACY` (network2's SGD arguments).
DEPTH_ACCURACY_SETUP = {"epochs": 30, "batch_size": 10, "eta": 0.1, "lmbda": 5.0}

#: "the first hidden layer is learning roughly 100 times slower than the final hidden layer"
#: (CH5_TEXT, after the 500-epoch plot of 784-30-30-30-30-10). A rounded reading of the plot
#: whose data `norms_during_training` gives exactly.
TRAINING_SPEED_RATIO_4 = 100.0
#: The setting of the 500-epoch speed-of-learning runs (generate_gradient.py): full-batch
#: gradient descent on the first 1000 training images.
TRAINING_SPEED_SETUP = {"samples": 1000, "batch_size": 1000, "eta": 0.1, "lmbda": 5.0}
TRAINING_SPEED_EPOCHS = 500


# ---------------------------------------------------------------------------------------------
# Chapters 3 and 5, the one-neuron experiments (chain, exploding, slowdown, output-layers).
# Only what the book prints or sets up; values true by construction (σ′(0) = 1/4, 100 · 1/4 = 25,
# σ(0.6 + 0.9) = 0.8176) are computed where they are checked, never stored here.
# ---------------------------------------------------------------------------------------------

#: Ch. 5, "What's causing the vanishing gradient problem?": "∂C/∂b₁ will usually be a factor
#: of 16 (or more) smaller than ∂C/∂b₃" — a bound on the ratio |∂C/∂b₁| / |∂C/∂b₃|.
CHAIN_B1_OVER_B3_BOUND = 1 / 16
CHAIN_B1_OVER_B3_SOURCE = (
    "ch. 5, “What's causing the vanishing gradient problem?”: ∂C/∂b₁ “will usually be a factor "
    "of 16 (or more) smaller than ∂C/∂b₃”"
)

#: Ch. 5, "The exploding gradient problem": every wⱼ = 100 and bⱼ = −100·aⱼ₋₁, so every zⱼ = 0
#: (a set-up, not a result).
EXPLODING_WEIGHT = 100.0

#: Ch. 3, "The cross-entropy cost function": one sigmoid neuron, input 1, target 0, started at
#: (w, b) = (0.6, 0.9) and at (2.0, 2.0); quadratic cost with η = 0.15, cross-entropy with
#: η = 0.005 (set-ups, not results). The book's widget (js/saturation1.js) runs 300 frames.
SLOWDOWN_STARTS: tuple[tuple[float, float], ...] = ((0.6, 0.9), (2.0, 2.0))
SLOWDOWN_ETA_QUADRATIC = 0.15
SLOWDOWN_ETA_CROSS_ENTROPY = 0.005
SLOWDOWN_EPOCHS = 300
#: Ch. 3, quadratic cost from (0.6, 0.9): "gives an output from the neuron of about 0.09" — the
#: one number the book prints about where training ends (two decimals: ± 0.005).
SLOWDOWN_FINAL_OUTPUT_QUADRATIC = 0.09
SLOWDOWN_PRINTED_HALF_UNIT = 0.005
SLOWDOWN_FINAL_OUTPUT_SOURCE = (
    "ch. 3, “The cross-entropy cost function”: from (0.6, 0.9), η = 0.15, the neuron "
    "“gives an output from the neuron of about 0.09”"
)
#: Ch. 3, quadratic cost from (2.0, 2.0): "for the first 150 or so learning epochs, the weights
#: and biases don't change much at all" (a claim without a number: we measure it).
SLOWDOWN_PLATEAU_EPOCHS = 150
#: Ch. 3: the initial outputs the book prints, σ(1.5) and σ(4) rounded (true by construction).
SLOWDOWN_PRINTED_INITIAL_OUTPUT: dict[tuple[float, float], float] = {
    (0.6, 0.9): 0.82,
    (2.0, 2.0): 0.98,
}

# -- the book's figure data ------------------------------------------------------------------------
#: SHA-256 of each shipped file (as published in the book's repository).
FIGURE_DATA_SHA256: dict[str, str] = {
    "initial_gradient.json": "d439e10d1411351e291eae91a848e797b1420ed418756e06e7ef17f5a00d6aec",
    "norms_during_training_2_layers.json": (
        "2c8fd42dafd55dd150ae0a919529924ede5c3c971594a9fd6be2a08657202879"
    ),
    "norms_during_training_3_layers.json": (
        "d22c118eb1ee8490e5fbdf1c655c5218eef267bea8ec62e8fdadb74dd7a05007"
    ),
    "norms_during_training_4_layers.json": (
        "5194bd4aef8f9d3350716dc7393ef0cc468297bd34d2c7d64aa5901fc70d61d2"
    ),
    "weight_initialization_30.json": (
        "d3c60914786448a388920b072d2c0c1d3772dc815fef2f03a9695d4a60ac5b2c"
    ),
}

#: What each file is, for the ``source`` of a comparison.
FIGURE_DATA_FIGURE: dict[str, str] = {
    "initial_gradient.json": "ch. 5, the bar picture of ∂C/∂b for 784-30-30-10",
    "norms_during_training_2_layers.json": "ch. 5, speed of learning over 500 epochs, 784-30-30-10",
    "norms_during_training_3_layers.json": (
        "ch. 5, speed of learning over 500 epochs, 784-30-30-30-10"
    ),
    "norms_during_training_4_layers.json": (
        "ch. 5, speed of learning over 500 epochs, 784-30-30-30-30-10"
    ),
    "weight_initialization_30.json": "ch. 3, “Weight initialization”, 784-30-10",
}


class BookDataError(ValueError):
    """A shipped figure-data file is missing or does not match its recorded SHA-256."""


def figure_source(name: str) -> str:
    """The ``source`` text of a comparison with figure-data file ``name``."""
    return f"book figure data: {name} ({FIGURE_DATA_FIGURE[name]})"


@cache
def _raw(name: str) -> bytes:
    if name not in FIGURE_DATA_SHA256:
        raise BookDataError(f"no book figure data named {name!r}")
    try:
        raw = resources.files("gradprobe.bookdata").joinpath(name).read_bytes()
    except OSError as e:
        raise BookDataError(f"book figure data {name} is missing from the package: {e}") from None
    digest = hashlib.sha256(raw).hexdigest()
    if digest != FIGURE_DATA_SHA256[name]:
        raise BookDataError(
            f"book figure data {name} has SHA-256 {digest}, expected {FIGURE_DATA_SHA256[name]}: "
            "the installed copy is damaged; reinstall gradprobe"
        )
    return raw


def figure_data(name: str) -> Any:
    """The parsed JSON of the book's figure-data file ``name`` (a fresh copy each call),
    after checking its SHA-256; `BookDataError` if missing or altered."""
    return json.loads(_raw(name).decode("utf-8"))


def initial_gradient() -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The book's bar picture (ch. 5): signed ∂C/∂bˡⱼ of the top six neurons of hidden layers
    1 and 2 of one freshly initialised 784-30-30-10 network, over the first 1000 training
    images. (The same network as epoch 0 of ``norms_during_training(2)``.)"""
    doc = figure_data("initial_gradient.json")
    return tuple(float(v) for v in doc[0]), tuple(float(v) for v in doc[1])


def norms_during_training(hidden: int) -> list[list[float]]:
    """The book's 500-epoch speed-of-learning curves for ``hidden`` ∈ {2, 3, 4} hidden layers:
    [500][hidden] ‖δˡ‖ over the first 1000 training images, entry e measured after e epochs of
    full-batch training (before epoch e + 1), input side first."""
    if hidden not in (2, 3, 4):
        raise BookDataError(
            f"the book has speed-of-learning data for 2, 3 or 4 hidden layers, not {hidden}"
        )
    doc = figure_data(f"norms_during_training_{hidden}_layers.json")
    return [[float(v) for v in row] for row in doc]


def norms_file(hidden: int) -> str:
    """File name of `norms_during_training` for ``hidden`` hidden layers."""
    return f"norms_during_training_{hidden}_layers.json"


def weight_initialization() -> dict[str, list[int]]:
    """Ch. 3's weight-initialisation figure (784-30-10, 30 epochs): for
    ``default_weight_initialization`` and ``large_weight_initialization`` the number of the
    10 000 validation images classified correctly after each epoch."""
    doc = figure_data("weight_initialization_30.json")
    return {k: [int(v) for v in doc[k][1]] for k in sorted(doc)}
