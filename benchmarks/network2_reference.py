"""A per-example reference trainer, written the way Nielsen's network2.py works.

This is the baseline that ``bench_train.py`` times our trainer against. It is written from the
book's equations (chapter 2, BP1–BP4; chapter 3, cross-entropy cost and L2 regularisation), not
copied from network2, but it does the same work in the same way:

* NumPy, float64 throughout (network2 never sets a dtype, so NumPy's default float64 is used);
* every example is a column vector x: [n_0, 1] with a one-hot column target y: [n_L, 1];
* inside each mini-batch, backpropagation runs **one example at a time** and the per-example
  gradients are summed;
* sigmoid neurons in every layer, cross-entropy cost, so δᴸ = aᴸ − y (BP1 without σ′);
* the update is network2's L2 form

      w ← (1 − ηλ/n)·w − (η/m)·Σₓ ∂Cₓ/∂w,      b ← b − (η/m)·Σₓ ∂Cₓ/∂b

  with n the size of the whole training set and m the size of this mini-batch (the last
  mini-batch of an epoch may be smaller).

The initial weights and the shuffle order can be given, so that a test can check that one
epoch of this reference equals one epoch of `gradprobe.train.Trainer` (same weights, same order).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z: np.ndarray) -> np.ndarray:
    s = sigmoid(z)
    return s * (1.0 - s)


def vectorise(
    images: np.ndarray, labels: np.ndarray, n_out: int = 10
) -> list[tuple[np.ndarray, np.ndarray]]:
    """network2's data layout: a list of (x [n_0, 1], y [n_out, 1]) float64 column pairs."""
    images = np.asarray(images, dtype=np.float64)
    labels = np.asarray(labels).astype(np.int64)
    data = []
    for x, j in zip(images, labels):
        y = np.zeros((n_out, 1))
        y[j] = 1.0
        data.append((x.reshape(-1, 1).copy(), y))
    return data


class ReferenceNetwork:
    """A sigmoid network with cross-entropy cost, trained example by example (network2's way).

    ``weights[l]``: [n_{l+1}, n_l], ``biases[l]``: [n_{l+1}, 1], all float64. Without explicit
    ``weights``/``biases`` they are drawn as network2's default initialiser does:
    w ~ N(0, 1/n_in), b ~ N(0, 1).
    """

    def __init__(
        self,
        sizes: Sequence[int],
        weights: Sequence[np.ndarray] | None = None,
        biases: Sequence[np.ndarray] | None = None,
        seed: int = 0,
    ):
        self.sizes = list(sizes)
        self.num_layers = len(self.sizes)
        rng = np.random.default_rng(seed)
        pairs = list(zip(self.sizes[:-1], self.sizes[1:]))
        if weights is None:
            weights = [rng.standard_normal((o, i)) / np.sqrt(i) for i, o in pairs]
        if biases is None:
            biases = [rng.standard_normal((o, 1)) for _, o in pairs]
        self.weights = [
            np.array(w, dtype=np.float64).reshape(o, i) for w, (i, o) in zip(weights, pairs)
        ]
        self.biases = [
            np.array(b, dtype=np.float64).reshape(o, 1) for b, (_, o) in zip(biases, pairs)
        ]

    @classmethod
    def from_gradprobe(cls, net, seed_index: int = 0) -> ReferenceNetwork:
        """Copy seed ``seed_index`` of a `gradprobe.nets.Network` (its weights, as float64)."""
        return cls(
            net.sizes,
            [w.detach()[seed_index].double().cpu().numpy() for w in net.weights],
            [b.detach()[seed_index].double().cpu().numpy() for b in net.biases],
        )

    # -- the book's equations ----------------------------------------------------------------
    def feedforward(self, a: np.ndarray) -> np.ndarray:
        for w, b in zip(self.weights, self.biases):
            a = sigmoid(w @ a + b)
        return a

    def backprop(self, x: np.ndarray, y: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """(∂Cₓ/∂b, ∂Cₓ/∂w) for one example x [n_0, 1], y [n_L, 1], by BP1–BP4."""
        # Forward pass, keeping every zˡ and aˡ.
        activation = x
        activations = [x]
        zs = []
        for w, b in zip(self.weights, self.biases):
            z = w @ activation + b
            zs.append(z)
            activation = sigmoid(z)
            activations.append(activation)
        nabla_b: list[np.ndarray] = [np.empty(0)] * len(self.weights)
        nabla_w: list[np.ndarray] = [np.empty(0)] * len(self.weights)
        # BP1 for cross-entropy with sigmoid outputs: σ′ cancels.
        delta = activations[-1] - y
        nabla_b[-1] = delta  # BP3
        nabla_w[-1] = delta @ activations[-2].T  # BP4
        for l in range(2, self.num_layers):
            delta = (self.weights[-l + 1].T @ delta) * sigmoid_prime(zs[-l])  # BP2
            nabla_b[-l] = delta
            nabla_w[-l] = delta @ activations[-l - 1].T
        return nabla_b, nabla_w

    def update_mini_batch(
        self, mini_batch: Sequence[tuple[np.ndarray, np.ndarray]], eta: float, lmbda: float, n: int
    ) -> None:
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        for x, y in mini_batch:  # one example at a time
            delta_nabla_b, delta_nabla_w = self.backprop(x, y)
            nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_nabla_b)]
            nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_nabla_w)]
        m = len(mini_batch)
        self.weights = [
            (1 - eta * (lmbda / n)) * w - (eta / m) * nw for w, nw in zip(self.weights, nabla_w)
        ]
        self.biases = [b - (eta / m) * nb for b, nb in zip(self.biases, nabla_b)]

    def sgd_epoch(
        self,
        training_data: Sequence[tuple[np.ndarray, np.ndarray]],
        mini_batch_size: int,
        eta: float,
        lmbda: float = 0.0,
        order: Sequence[int] | np.ndarray | None = None,
        rng: np.random.Generator | None = None,
    ) -> None:
        """One epoch of mini-batch SGD over ``training_data`` (network2's data layout).

        ``order``: the shuffle (a permutation of range(n)); without it the data are shuffled
        with ``rng`` (or a fresh default generator), as network2 shuffles its list each epoch.
        """
        n = len(training_data)
        if order is None:
            order = (rng or np.random.default_rng()).permutation(n)
        data = [training_data[int(i)] for i in order]
        for k in range(0, n, mini_batch_size):
            self.update_mini_batch(data[k : k + mini_batch_size], eta, lmbda, n)

    # -- evaluation --------------------------------------------------------------------------
    def accuracy(self, data: Sequence[tuple[np.ndarray, np.ndarray]]) -> float:
        hits = sum(int(np.argmax(self.feedforward(x)) == np.argmax(y)) for x, y in data)
        return hits / len(data)
