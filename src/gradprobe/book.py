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
