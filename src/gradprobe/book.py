"""The numbers Nielsen publishes in *Neural Networks and Deep Learning*, to compare ours with.

Chapter 5 ("Why are deep neural networks hard to train?") and chapter 3 ("Improving the way
neural networks learn"). Each value is what the book prints for one run; ours are statistics
over many seeds, and a book value is "reproduced" when it lies inside our band.
"""

from __future__ import annotations

#: ‖δˡ‖ at initialisation, first hidden layer first, averaged over the first 1000 training
#: images (network2 defaults: sigmoid, cross-entropy, weights N(0, 1/n_in)).
INITIAL_SPEED: dict[tuple[int, ...], tuple[float, ...]] = {
    (784, 30, 30, 10): (0.07, 0.31),
    (784, 30, 30, 30, 10): (0.012, 0.060, 0.283),
    (784, 30, 30, 30, 30, 10): (0.003, 0.017, 0.070, 0.285),
}

#: Best validation accuracy (%) after 30 epochs, batch 10, η = 0.1, λ = 5.0.
DEPTH_ACCURACY: dict[tuple[int, ...], float] = {
    (784, 30, 10): 96.48,
    (784, 30, 30, 10): 96.90,
    (784, 30, 30, 30, 10): 96.57,
    (784, 30, 30, 30, 30, 10): 96.53,
}

#: Ratio of the last to the first hidden layer's speed after 500 epochs of full-batch
#: training on 1000 images, four hidden layers ("about 100 times").
TRAINING_SPEED_RATIO_4 = 100.0

#: The chain of one neuron per layer: σ′(0) = 1/4 is σ′'s maximum; the exploding
#: construction w = 100, z = 0 makes each factor wσ′(z) = 25.
SIGMOID_PRIME_MAX = 0.25
EXPLODING_FACTOR = 25.0

#: Chapter 3: one sigmoid neuron, input 1, target 0. Initial outputs for the two starts.
SLOWDOWN_INITIAL_OUTPUT: dict[tuple[float, float], float] = {(0.6, 0.9): 0.82, (2.0, 2.0): 0.98}


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
