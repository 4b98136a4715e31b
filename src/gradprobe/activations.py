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
    #: σ′(z) as a function of a = σ(z), optionally written into a buffer ``out`` of a's shape;
    #: ``None`` means σ′ ≡ 1 (skip the multiplication).
    prime_from_output: Callable[..., torch.Tensor] | None
    #: The largest value σ′ takes (used to define saturation).
    max_prime: float
    #: σ(z) computed in place (z is overwritten with a and returned): the trainer's hot path.
    inplace: Callable[[torch.Tensor], torch.Tensor] = lambda z: z


def _sigmoid_prime(a: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    return torch.addcmul(a, a, a, value=-1.0, out=out)  # a − a² in one kernel


def _tanh_prime(a: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    return torch.mul(a, a, out=out).neg_().add_(1.0)  # 1 − a², rounded as 1 + (−a²)


def _relu_prime(a: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    # a = relu(z) ≥ 0, so sgn(a) is 1 where a > 0 and 0 elsewhere: [a > 0] in one kernel.
    return torch.sign(a, out=out)


def _leaky_prime(a: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    # sgn(a) ∈ {−1, 0, 1}; clamping below at α gives 1 where a > 0 and α elsewhere.
    return torch.sign(a, out=out).clamp_(min=LEAKY_SLOPE)


def _leaky_(z: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.leaky_relu_(z, LEAKY_SLOPE)


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("sigmoid", nn.Sigmoid, torch.sigmoid, _sigmoid_prime, 0.25, torch.sigmoid_),
        Activation("tanh", nn.Tanh, torch.tanh, _tanh_prime, 1.0, torch.tanh_),
        Activation("relu", nn.ReLU, torch.relu, _relu_prime, 1.0, torch.relu_),
        Activation(
            "leaky-relu",
            lambda: nn.LeakyReLU(LEAKY_SLOPE),
            lambda z: torch.nn.functional.leaky_relu(z, LEAKY_SLOPE),
            _leaky_prime,
            1.0,
            _leaky_,
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
