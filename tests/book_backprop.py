"""The book's backpropagation, one example at a time, in float64 NumPy: an independent oracle.

Written straight from BP1–BP4 (chapter 2) with column vectors, as network2 does; the engine's
batched implementation is tested against it.
"""

from __future__ import annotations

import numpy as np

LEAKY = 0.01


def act(name: str, z: np.ndarray) -> np.ndarray:
    if name == "sigmoid":
        return 1 / (1 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.maximum(z, 0)
    if name == "leaky-relu":
        return np.where(z > 0, z, LEAKY * z)
    return z


def act_prime(name: str, z: np.ndarray) -> np.ndarray:
    if name == "sigmoid":
        s = act("sigmoid", z)
        return s * (1 - s)
    if name == "tanh":
        return 1 - np.tanh(z) ** 2
    if name == "relu":
        return (z > 0).astype(float)
    if name == "leaky-relu":
        return np.where(z > 0, 1.0, LEAKY)
    return np.ones_like(z)


def output(name: str, z: np.ndarray) -> np.ndarray:
    if name == "softmax":
        e = np.exp(z - z.max())
        return e / e.sum()
    return act(name, z)


def backprop_one(weights, biases, x, y, activation, cost, out):
    """∂Cₓ/∂bˡ and ∂Cₓ/∂wˡ for one example x (column [n_0, 1]), target y ([n_L, 1])."""
    a, acts, zs = x, [x], []
    for l, (w, b) in enumerate(zip(weights, biases)):
        z = w @ a + b
        zs.append(z)
        a = output(out, z) if l == len(weights) - 1 else act(activation, z)
        acts.append(a)
    if cost == "quadratic" and out == "sigmoid":
        delta = (a - y) * act_prime("sigmoid", zs[-1])  # BP1 with σ′(zᴸ)
    else:
        delta = a - y  # σ′ cancels (cross-entropy, log-likelihood) or is 1 (linear)
    nb = [np.zeros_like(b) for b in biases]
    nw = [np.zeros_like(w) for w in weights]
    nb[-1], nw[-1] = delta, delta @ acts[-2].T  # BP3, BP4
    for l in range(2, len(weights) + 1):
        delta = (weights[-l + 1].T @ delta) * act_prime(activation, zs[-l])  # BP2
        nb[-l], nw[-l] = delta, delta @ acts[-l - 1].T
    return nb, nw


def mean_gradients(weights, biases, X, Y, activation, cost, out):
    """(1/n) Σₓ over the rows of X [n, n_0], Y [n, n_L]."""
    sb = [np.zeros_like(b) for b in biases]
    sw = [np.zeros_like(w) for w in weights]
    for x, y in zip(X, Y):
        nb, nw = backprop_one(weights, biases, x[:, None], y[:, None], activation, cost, out)
        sb = [s + d for s, d in zip(sb, nb)]
        sw = [s + d for s, d in zip(sw, nw)]
    n = len(X)
    return [s[:, 0] / n for s in sb], [s / n for s in sw]
