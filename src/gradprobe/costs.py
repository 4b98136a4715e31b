"""The book's cost functions and their output errors δᴸ (BP1).

Each cost is summed over the output units and averaged over the n examples, as in network2:

    quadratic       C = (1/n) Σₓ ½‖y − aᴸ‖²
    cross-entropy   C = −(1/n) Σₓ Σⱼ [yⱼ ln aⱼᴸ + (1 − yⱼ) ln(1 − aⱼᴸ)]
    log-likelihood  C = −(1/n) Σₓ ln aᴸ_y            (with softmax outputs)

A cost comes paired with an output activation. δᴸ = ∂Cₓ/∂zᴸ is:

    sigmoid + quadratic        (aᴸ − y) ⊙ σ′(zᴸ)    ← the learning slowdown of chapter 3
    sigmoid + cross-entropy    aᴸ − y               ← σ′ cancels
    softmax + log-likelihood   aᴸ − y
    linear  + quadratic        aᴸ − y
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .errors import ConfigError

#: The output/cost pairs the book uses, the first of each cost being its default output.
PAIRS: tuple[tuple[str, str], ...] = (
    ("sigmoid", "cross-entropy"),
    ("sigmoid", "quadratic"),
    ("softmax", "log-likelihood"),
    ("linear", "quadratic"),
)
COSTS = ("cross-entropy", "quadratic", "log-likelihood")
OUTPUTS = ("sigmoid", "softmax", "linear")


@dataclass(frozen=True)
class Cost:
    """A cost C paired with an output activation aᴸ = f(zᴸ).

    Tensors carry any leading batch dimensions; the last is the output unit j.
    """

    name: str
    output: str

    def output_fn(self, z: torch.Tensor) -> torch.Tensor:
        """aᴸ = f(zᴸ); ``z``: [..., n_out]."""
        if self.output == "sigmoid":
            return torch.sigmoid(z)
        if self.output == "softmax":
            return torch.softmax(z, dim=-1)
        return z

    def output_fn_(self, z: torch.Tensor) -> torch.Tensor:
        """aᴸ = f(zᴸ), overwriting ``z`` where the function allows it (sigmoid, linear); the
        softmax returns a new tensor. Use the return value."""
        if self.output == "sigmoid":
            return torch.sigmoid_(z)
        if self.output == "softmax":
            return torch.softmax(z, dim=-1)
        return z

    def per_example(self, a: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Cₓ for each example, summed over output units: [..., n_out] → [...].

        Differentiable, so `torch.autograd` can check the hand-written δᴸ.
        """
        if self.name == "quadratic":
            return 0.5 * (a - y).pow(2).sum(-1)
        if self.name == "cross-entropy":
            # xlogy gives 0·ln 0 = 0, the book's nan_to_num for saturated outputs.
            c = -(torch.special.xlogy(y, a) + torch.special.xlogy(1 - y, 1 - a))
            return c.sum(-1)
        return -torch.special.xlogy(y, a).sum(-1)  # log-likelihood: −ln aᴸ_y for one-hot y

    def delta(
        self,
        a: torch.Tensor,
        y: torch.Tensor,
        *,
        out: torch.Tensor | None = None,
        scale: float | None = None,
    ) -> torch.Tensor:
        """δᴸ = ∂Cₓ/∂zᴸ from the output activations (BP1). ``a``, ``y``: [..., n_out].

        ``out``: a buffer of a's shape to write δᴸ into (the trainer's hot path reuses one).
        ``scale``: multiply δᴸ by this (1/m gives the δᴸ of the mean cost over m examples).
        """
        d = torch.sub(a, y, out=out) if out is not None else a - y
        if self.name == "quadratic" and self.output == "sigmoid":
            d.mul_(torch.addcmul(a, a, a, value=-1.0))  # ⊙ σ′(zᴸ) = aᴸ(1 − aᴸ)
        if scale is not None and scale != 1.0:
            d.mul_(scale)
        return d


def get_cost(name: str, output: str | None = None) -> Cost:
    """The cost `name` with output activation `output` (default: the book's pairing).

    Raises `ConfigError` for an unknown cost or output, or a pair the book does not use.
    """
    if name not in COSTS:
        raise ConfigError(f"unknown cost {name!r}; choose one of: {', '.join(COSTS)}")
    if output is None:
        output = next(o for o, c in PAIRS if c == name)
    if output not in OUTPUTS:
        raise ConfigError(
            f"unknown output activation {output!r}; choose one of: {', '.join(OUTPUTS)}"
        )
    if (output, name) not in PAIRS:
        pairs = ", ".join(f"{o} + {c}" for o, c in PAIRS)
        raise ConfigError(
            f"output {output!r} does not pair with cost {name!r}; use one of: {pairs}"
        )
    return Cost(name, output)
