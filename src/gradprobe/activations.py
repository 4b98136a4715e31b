"""Hidden-layer activations σ and their derivatives σ′, written in terms of the output a = σ(z).

Backpropagation needs σ′(zˡ) (BP2). For every activation here σ′ can be computed from the
activation aˡ itself, so the forward pass need not keep zˡ:

    sigmoid     σ′ = a(1 − a)           ≤ 1/4, reached at z = 0
    tanh        σ′ = 1 − a²             ≤ 1
    relu        σ′ = [a > 0]
    leaky-relu  σ′ = 1 if a > 0 else α
    linear      σ′ = 1
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from .errors import ConfigError

LEAKY_SLOPE = 0.01


@dataclass(frozen=True)
class Activation:
    """An activation: `name`, an `nn.Module` factory (so probes can hook it), σ(z), σ′ from a."""

    name: str
    module: Callable[[], nn.Module]
    fn: Callable[[torch.Tensor], torch.Tensor]
    #: σ′(z) as a function of a = σ(z), optionally written into a buffer ``out`` (the sigmoid
    #: and tanh use it; the others allocate); ``None`` means σ′ ≡ 1 (skip the multiplication).
    prime_from_output: Callable[..., torch.Tensor] | None
    #: The largest value σ′ takes (used to define saturation).
    max_prime: float


def _sigmoid_prime(a: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    return torch.addcmul(a, a, a, value=-1.0, out=out)  # a − a² in one kernel


def _tanh_prime(a: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    return torch.addcmul(torch.ones_like(a), a, a, value=-1.0, out=out)


def _relu_prime(a: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    return (a > 0).to(a.dtype)


def _leaky_prime(a: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    return torch.where(a > 0, torch.ones_like(a), torch.full_like(a, LEAKY_SLOPE))


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("sigmoid", nn.Sigmoid, torch.sigmoid, _sigmoid_prime, 0.25),
        Activation("tanh", nn.Tanh, torch.tanh, _tanh_prime, 1.0),
        Activation("relu", nn.ReLU, torch.relu, _relu_prime, 1.0),
        Activation(
            "leaky-relu",
            lambda: nn.LeakyReLU(LEAKY_SLOPE),
            lambda z: torch.nn.functional.leaky_relu(z, LEAKY_SLOPE),
            _leaky_prime,
            1.0,
        ),
        Activation("linear", nn.Identity, lambda z: z, None, 1.0),
    )
}


def get_activation(name: str) -> Activation:
    """Look up a hidden activation by name; raise `ConfigError` listing the choices if unknown."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        choices = ", ".join(ACTIVATIONS)
        raise ConfigError(f"unknown activation {name!r}; choose one of: {choices}") from None
