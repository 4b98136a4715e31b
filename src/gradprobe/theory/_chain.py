"""The book's analytic predictions, as small functions to check the engine against.

Chapter 5's chain of one sigmoid neuron per layer, x → a₁ → a₂ → … → a_L, with
zⱼ = wⱼ aⱼ₋₁ + bⱼ, aⱼ = σ(zⱼ) and a₀ = x. Written out, backpropagation is a product of terms:

    ∂C/∂bⱼ = σ′(zⱼ) · ∏ₖ₌ⱼ₊₁…L wₖ σ′(zₖ) · ∂C/∂a_L

Because σ′ ≤ σ′(0) = 1/4, every factor |wₖ σ′(zₖ)| is below 1/4 whenever |wₖ| < 1, so the
gradient shrinks towards the input; with wₖ = 100 and zₖ = 0 each factor is 25 and it explodes.

Chapter 3's output error δᴸ = ∂C/∂zᴸ is a − y for cross-entropy + sigmoid, log-likelihood +
softmax and quadratic + linear, but (a − y)·σ′(zᴸ) for quadratic + sigmoid.

Every function works in float64 and takes tensors with any leading batch shape ``...``.
A mean-field predictor of the ratio between consecutive layers of *wide* nets is deliberately
not here: we have no derivation for it that we could test exactly.
"""

from __future__ import annotations

import math

import torch

F64 = torch.float64

#: P(|w| < 1) for w ~ N(0, 1): the book's sufficient condition for |wσ′(z)| < 1/4.
P_ABS_W_BELOW_1 = math.erf(1 / math.sqrt(2))

_Number = float | torch.Tensor


def _t(x: _Number) -> torch.Tensor:
    return torch.as_tensor(x, dtype=F64)


def sigmoid(z: _Number) -> torch.Tensor:
    """σ(z) = 1 / (1 + e⁻ᶻ), elementwise, float64."""
    return torch.sigmoid(_t(z))


def sigmoid_prime(z: _Number) -> torch.Tensor:
    """σ′(z) = σ(z)(1 − σ(z)) ≤ 1/4 (equality at z = 0), elementwise, float64."""
    s = torch.sigmoid(_t(z))
    return s * (1 - s)


def chain_forward(w: _Number, b: _Number, x: _Number) -> tuple[torch.Tensor, torch.Tensor]:
    """The chain's weighted inputs and activations.

    w, b: [..., L] (wⱼ, bⱼ for j = 1 … L); x: a₀, scalar or [...].
    Returns (z, a), both [..., L]: zⱼ = wⱼ aⱼ₋₁ + bⱼ and aⱼ = σ(zⱼ).
    """
    w, b = _t(w), _t(b)
    a = _t(x).expand(w.shape[:-1])
    zs, acts = [], []
    for j in range(w.shape[-1]):
        z = w[..., j] * a + b[..., j]
        a = torch.sigmoid(z)
        zs.append(z)
        acts.append(a)
    return torch.stack(zs, -1), torch.stack(acts, -1)


def cost_derivative(a: _Number, y: _Number, cost: str = "quadratic") -> torch.Tensor:
    """∂C/∂a for one sigmoid output a and target y, elementwise.

    quadratic C = (a − y)²/2 → a − y;  cross-entropy C = −[y ln a + (1 − y) ln(1 − a)]
    → (a − y) / (a(1 − a)).
    """
    a, y = _t(a), _t(y)
    if cost == "quadratic":
        return a - y
    if cost == "cross-entropy":
        return (a - y) / (a * (1 - a))
    raise ValueError(f"cost must be 'quadratic' or 'cross-entropy', got {cost!r}")


def chain_factors(w: _Number, b: _Number, x: _Number) -> torch.Tensor:
    """The factors wⱼ σ′(zⱼ) of the product, [..., L] (the product uses j = 2 … L)."""
    z, _ = chain_forward(w, b, x)
    return _t(w) * sigmoid_prime(z)


def chain_gradient(
    w: _Number, b: _Number, x: _Number, y: _Number, cost: str = "quadratic"
) -> torch.Tensor:
    """∂C/∂bⱼ for j = 1 … L by the book's product formula (not by backpropagation).

    ∂C/∂bⱼ = σ′(zⱼ) · ∏ₖ₌ⱼ₊₁…L wₖσ′(zₖ) · ∂C/∂a_L.
    w, b: [..., L]; x, y: scalar or [...]. Returns [..., L].
    """
    w = _t(w)
    z, a = chain_forward(w, b, x)
    prime = sigmoid_prime(z)
    factors = w * prime
    dc_da = cost_derivative(a[..., -1], y, cost)
    L = w.shape[-1]
    out = []
    for j in range(L):
        tail = torch.prod(factors[..., j + 1 :], dim=-1)  # empty product = 1 for j = L
        out.append(prime[..., j] * tail * dc_da)
    return torch.stack(out, -1)


def factor_below_probability(
    x: float = 1.0, threshold: float = 0.25, points: int = 200_001
) -> float:
    """P(|w σ′(w x + b)| < threshold) for w, b ~ N(0, 1) independent and a fixed input x.

    This is the first factor of a chain drawn with N(0, 1) weights and biases (a₀ = x). Exact
    up to quadrature: for |w| ≤ 4·threshold it always holds (σ′ ≤ 1/4); otherwise it needs
    σ′(z) < c = threshold/|w|, i.e. |z| > z* with σ(z*) = (1 + √(1 − 4c))/2, whose probability
    over b is Φ(wx − z*) + Φ(−wx − z*). The outer integral over w is the trapezoid rule.
    """
    w = torch.linspace(-12.0, 12.0, points, dtype=F64)
    c = (threshold / w.abs().clamp_min(1e-300)).clamp(max=0.25)
    s = (1 + torch.sqrt((1 - 4 * c).clamp_min(0))) / 2
    zstar = torch.log(s / (1 - s).clamp_min(1e-300))
    p_b = torch.special.ndtr(w * x - zstar) + torch.special.ndtr(-w * x - zstar)
    p_b = torch.where(w.abs() <= 4 * threshold, torch.ones_like(p_b), p_b.clamp(max=1.0))
    phi = torch.exp(-0.5 * w**2) / math.sqrt(2 * math.pi)
    return float(torch.trapezoid(phi * p_b, w))


def exploding_biases(depth: int, w: float = 100.0, x: float = 1.0) -> torch.Tensor:
    """The book's exploding construction: bⱼ = −w·aⱼ₋₁, so that every zⱼ = 0, [depth].

    a₀ = x and aⱼ = σ(0) = 1/2 afterwards, so b₁ = −w·x and bⱼ = −w/2 for j ≥ 2.
    """
    if depth < 1:
        raise ValueError(f"depth must be at least 1, got {depth}")
    b = torch.full((depth,), -w * 0.5, dtype=F64)
    b[0] = -w * x
    return b


def neuron_gradient(
    w: _Number, b: _Number, x: _Number, y: _Number, cost: str = "quadratic"
) -> tuple[torch.Tensor, torch.Tensor]:
    """(∂C/∂w, ∂C/∂b) for chapter 3's single sigmoid neuron a = σ(wx + b).

    quadratic: (a − y)σ′(z)·x and (a − y)σ′(z); cross-entropy: (a − y)·x and a − y.
    """
    z = _t(w) * _t(x) + _t(b)
    delta = output_delta(z, y, cost, "sigmoid")
    return delta * _t(x), delta


def output_delta(z: _Number, y: _Number, cost: str, output: str) -> torch.Tensor:
    """The book's δᴸ = ∂C/∂zᴸ for an output layer, elementwise over [..., n_L].

    (a − y)·σ′(zᴸ) for quadratic + sigmoid, a − y for the other three pairs (for
    log-likelihood + softmax, y one-hot).
    """
    z = _t(z)
    if output == "sigmoid":
        a = torch.sigmoid(z)
    elif output == "softmax":
        a = torch.softmax(z, dim=-1)
    elif output == "linear":
        a = z
    else:
        raise ValueError(f"unknown output {output!r}")
    d = a - _t(y)
    if cost == "quadratic" and output == "sigmoid":
        d = d * a * (1 - a)
    return d
