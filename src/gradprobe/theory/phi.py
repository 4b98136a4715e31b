"""Elementwise activations φ with their derivatives φ′, in NumPy float64, for mean-field theory.

Built in: sigmoid, tanh, relu, leaky-relu (slope 0.01 below 0, as `gradprobe.activations`),
gelu (exact, x·Φ(x)), softplus (ln(1 + eˣ)), identity (alias linear). A user supplies any
other as ``Phi("name", f, df)`` with vectorised NumPy callables f = φ and df = φ′.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import special

from ..errors import ConfigError

LEAKY_SLOPE = 0.01  # the same slope as gradprobe.activations.LEAKY_SLOPE

Fn = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Phi:
    """An elementwise activation: ``f`` = φ and ``df`` = φ′, both array → array (same shape).

    ``kink``: True when φ′ jumps (ReLU-like); only changes which closed forms apply."""

    name: str
    f: Fn
    df: Fn
    kink: bool = False

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.f(x)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.asarray(special.expit(x))


def _sigmoid_prime(x: np.ndarray) -> np.ndarray:
    s = special.expit(x)
    return np.asarray(s * (1.0 - s))


def _tanh_prime(x: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 - np.tanh(x) ** 2)


def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0)


def _relu_prime(x: np.ndarray) -> np.ndarray:
    return (np.asarray(x) > 0).astype(np.float64)


def _leaky(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x, LEAKY_SLOPE * x)


def _leaky_prime(x: np.ndarray) -> np.ndarray:
    return np.where(np.asarray(x) > 0, 1.0, LEAKY_SLOPE)


_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _gelu(x: np.ndarray) -> np.ndarray:
    return np.asarray(x * special.ndtr(x))


def _gelu_prime(x: np.ndarray) -> np.ndarray:
    return np.asarray(special.ndtr(x) + x * _INV_SQRT_2PI * np.exp(-0.5 * np.asarray(x) ** 2))


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.asarray(np.logaddexp(0.0, x))


def _identity(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def _one(x: np.ndarray) -> np.ndarray:
    return np.ones_like(np.asarray(x, dtype=np.float64))


BUILTIN: dict[str, Phi] = {
    p.name: p
    for p in (
        Phi("sigmoid", _sigmoid, _sigmoid_prime),
        Phi("tanh", np.tanh, _tanh_prime),
        Phi("relu", _relu, _relu_prime, kink=True),
        Phi("leaky-relu", _leaky, _leaky_prime, kink=True),
        Phi("gelu", _gelu, _gelu_prime),
        Phi("softplus", _softplus, _sigmoid),
        Phi("identity", _identity, _one),
    )
}
ALIASES = {"linear": "identity"}
#: The names `get_phi` accepts.
NAMES: tuple[str, ...] = (*BUILTIN, *ALIASES)


def get_phi(activation: str | Phi) -> Phi:
    """A `Phi` by name (see `NAMES`), or ``activation`` itself; `ConfigError` if unknown."""
    if isinstance(activation, Phi):
        return activation
    name = ALIASES.get(activation, activation)
    try:
        return BUILTIN[name]
    except KeyError:
        raise ConfigError(
            f"unknown activation {activation!r}; choose one of: {', '.join(NAMES)}, "
            "or pass Phi(name, f, df)"
        ) from None
