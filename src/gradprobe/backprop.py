"""The four equations of backpropagation, written out and batched over seeds and examples.

For a batch of examples x and every seed at once (no autograd):

    BP1  δᴸ = ∇ₐC ⊙ σ′(zᴸ)                   (`Cost.delta`)
    BP2  δˡ = ((wˡ⁺¹)ᵀ δˡ⁺¹) ⊙ σ′(zˡ)
    BP3  ∂C/∂bˡⱼ = δˡⱼ
    BP4  ∂C/∂wˡⱼₖ = aˡ⁻¹ₖ δˡⱼ

Summed over the batch, BP3 and BP4 give Σₓ ∂Cₓ/∂bˡ and Σₓ ∂Cₓ/∂wˡ; divide by the batch size
for the gradient of the mean cost. This is the engine of both the trainer and the book's
learning-speed measurement; tests check it against `torch.autograd` in float64.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .nets import Network


@dataclass
class Gradients:
    """Σₓ over a batch of the per-example gradients, for every layer l = 1 … L.

    ``bias``: list of [S, n_l] (Σₓ δˡ), ``weight``: list of [S, n_l, n_{l−1}].
    """

    bias: list[torch.Tensor]
    weight: list[torch.Tensor]


def feedforward(net: Network, x: torch.Tensor) -> list[torch.Tensor]:
    """The activations a⁰ … aᴸ: x [B, n_0] or [S, B, n_0] → list of [S, B, n_l] (a⁰ = x)."""
    acts = [x]
    a = x
    hidden = net.act.fn
    last = len(net.layers) - 1
    for l, (w, b) in enumerate(zip(net.weights, net.biases)):
        z = torch.matmul(a, w.detach().transpose(-1, -2)) + b.detach().unsqueeze(-2)
        a = net.cost.output_fn(z) if l == last else hidden(z)
        acts.append(a)
    return acts


def backprop(net: Network, x: torch.Tensor, y: torch.Tensor) -> Gradients:
    """Σₓ ∂Cₓ/∂bˡ and Σₓ ∂Cₓ/∂wˡ by BP1–BP4.

    x: [B, n_0] (the same examples for every seed) or [S, B, n_0]; y: one-hot targets
    [B, n_L] or [S, B, n_L]. Returns `Gradients` summed (not averaged) over the B examples.
    """
    acts = feedforward(net, x)
    delta = net.cost.delta(acts[-1], y)  # BP1, [S, B, n_L]
    prime = net.act.prime_from_output
    weights = [w.detach() for w in net.weights]
    nb: list[torch.Tensor] = [torch.empty(0)] * len(weights)
    nw: list[torch.Tensor] = [torch.empty(0)] * len(weights)
    for l in range(len(weights) - 1, -1, -1):
        nb[l] = delta.sum(-2)  # BP3
        nw[l] = torch.matmul(delta.transpose(-1, -2), acts[l])  # BP4
        if l > 0:
            delta = torch.matmul(delta, weights[l])  # (wˡ⁺¹)ᵀ δˡ⁺¹ …
            if prime is not None:
                delta = delta * prime(acts[l])  # … ⊙ σ′(zˡ)   (BP2)
    return Gradients(bias=nb, weight=nw)
