"""Dynamical isometry: the singular values of the input–output Jacobian at initialisation.

For hˡ = Wˡ xˡ⁻¹ + bˡ, xˡ = φ(hˡ), l = 1 … L, all layers N wide, the Jacobian is

    J = ∂xᴸ/∂x⁰ = Dᴸ Wᴸ ⋯ D¹ W¹,     Dˡ = diag φ′(hˡ)

(the book's BP2 applied to a unit vector instead of δ). "Dynamical isometry" (Pennington,
Schoenholz & Ganguli 2017) means all singular values of J near 1, so that no direction of the
gradient vanishes or explodes. Free probability gives the first two moments of the spectrum of
JJᵀ for wide layers: with μₖ(l) = E[φ′(hˡ)^{2k}], hˡ ~ N(0, qˡ),

    mean      m₁ = ∏ₗ σ_w² μ₁(l)                 (= χ₁ᴸ at the fixed point)
    spread    m₂/m₁² − 1 = Σₗ [μ₂(l)/μ₁(l)² − 1 + s_W]

with s_W = 1 for Gaussian weights (Marchenko–Pastur) and s_W = 0 for orthogonal ones (for
freely independent positive a, b: φ(abab)/(φ(a)φ(b))² = 1 + v_a + v_b, so normalised variances
add). For a linear net with Gaussian weights the whole law is known: the squared singular values
of a product of L Ginibre matrices follow the Fuss–Catalan distribution (`fuss_catalan_density`);
with orthogonal weights every singular value is σ_wᴸ exactly.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..errors import ConfigError
from . import quadrature as gq
from .meanfield import fixed_point
from .phi import Phi, get_phi

WEIGHTS: tuple[str, ...] = ("gaussian", "orthogonal")


def _check_weights(weights: str) -> None:
    if weights not in WEIGHTS:
        raise ConfigError(f"weights must be one of {', '.join(WEIGHTS)}, got {weights!r}")


@dataclass(frozen=True)
class JacobianMoments:
    """Free-probability moments of λ = squared singular value of J (see module docstring).

    ``mean`` = m₁ (E λ), ``spread`` = m₂/m₁² − 1 (normalised variance), ``per_layer_spread`` =
    the activation's share μ₂/μ₁² − 1 per layer at q*, ``q_star`` the layers' variance."""

    activation: str
    sigma_w2: float
    sigma_b2: float
    depth: int
    weights: str
    q_star: float
    mean: float
    spread: float
    per_layer_spread: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def derivative_moments(activation: str | Phi, q: float, n: int = gq.NODES) -> tuple[float, float]:
    """(μ₁, μ₂) = (E[φ′(h)²], E[φ′(h)⁴]) for h ~ N(0, q)."""
    p = get_phi(activation)
    return (float(gq.expect(lambda h: p.df(h) ** 2, q, n)),
            float(gq.expect(lambda h: p.df(h) ** 4, q, n)))  # fmt: skip


def jacobian_moments(activation: str | Phi, sigma_w2: float, sigma_b2: float, depth: int,
                     weights: str = "gaussian", n: int = gq.NODES) -> JacobianMoments:  # fmt: skip
    """The mean and normalised variance of JJᵀ's spectrum for a depth-``depth`` net whose
    layers sit at the fixed point q* (the input drawn at q*)."""
    _check_weights(weights)
    if depth < 1:
        raise ConfigError(f"depth must be at least 1, got {depth}")
    p = get_phi(activation)
    q = fixed_point(p, sigma_w2, sigma_b2, 1.0, n)
    if not math.isfinite(q):
        raise ConfigError(f"{p.name} at σ_w² = {sigma_w2}, σ_b² = {sigma_b2}: q grows without "
                          "bound, no stationary spectrum")  # fmt: skip
    mu1, mu2 = derivative_moments(p, q, n)
    v_d = mu2 / mu1**2 - 1.0
    s_w = 1.0 if weights == "gaussian" else 0.0
    return JacobianMoments(p.name, float(sigma_w2), float(sigma_b2), int(depth), weights, q,
                           (sigma_w2 * mu1) ** depth, depth * (v_d + s_w), v_d)  # fmt: skip


def _orthogonal(rng: np.random.Generator, n: int) -> np.ndarray:
    qm, r = np.linalg.qr(rng.standard_normal((n, n)))
    return qm * np.sign(np.diag(r))


def jacobian_singular_values(
    activation: str | Phi, sigma_w2: float, sigma_b2: float, depth: int, *, width: int = 100,
    weights: str = "gaussian", seeds: int = 10, seed: int = 0, q0: float | None = None,
) -> np.ndarray:  # fmt: skip
    """Singular values of J = Dᴸ Wᴸ ⋯ D¹ W¹ for ``seeds`` random nets of ``depth`` layers,
    each ``width`` wide, input x⁰ = φ(h⁰) with h⁰ ~ N(0, q0) (default q*): [seeds · width],
    float64. Weights Gaussian N(0, σ_w²/N) or σ_w·(Haar orthogonal); biases N(0, σ_b²)."""
    _check_weights(weights)
    p = get_phi(activation)
    if q0 is None:
        q0 = fixed_point(p, sigma_w2, sigma_b2, 1.0)
        if not math.isfinite(q0):
            q0 = 1.0
    sw, sb = math.sqrt(sigma_w2), math.sqrt(sigma_b2)
    out = []
    for k in range(seeds):
        rng = np.random.default_rng(seed + k)
        x = p.f(rng.standard_normal(width) * math.sqrt(q0))
        J = np.eye(width)
        for _ in range(depth):
            if weights == "gaussian":
                W = rng.standard_normal((width, width)) * (sw / math.sqrt(width))
            else:
                W = sw * _orthogonal(rng, width)
            h = W @ x + sb * rng.standard_normal(width)
            J = p.df(h)[:, None] * (W @ J)
            x = p.f(h)
        out.append(np.linalg.svd(J, compute_uv=False))
    return np.concatenate(out)


def fuss_catalan_moment(depth: int, k: int) -> float:
    """E[λᵏ] of the Fuss–Catalan law: binom((L+1)k, k)/(Lk + 1), L = depth."""
    return math.comb((depth + 1) * k, k) / (depth * k + 1)


def fuss_catalan_density(depth: int, points: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """(λ, density) of the squared singular values of a product of ``depth`` independent
    N × N Gaussian matrices with entries N(0, 1/N), N → ∞ (a linear net at σ_w² = 1). With
    L = depth and θ ∈ (0, π/(L+1)) (from w = 1 + z w^{L+1} for the moment series):

        λ(θ) = sin((L+1)θ)^{L+1} / (sin θ · sin(Lθ)^L),
        ρ(λ) = sin((L+1)θ) sin θ / (π λ sin(Lθ)),

    support (0, (L+1)^{L+1}/L^L]. Returned with λ increasing."""
    if depth < 1:
        raise ConfigError(f"depth must be at least 1, got {depth}")
    L = depth
    th = np.linspace(0, math.pi / (L + 1), points + 2)[1:-1]
    lam = np.sin((L + 1) * th) ** (L + 1) / (np.sin(th) * np.sin(L * th) ** L)
    rho = np.sin((L + 1) * th) * np.sin(th) / (math.pi * lam * np.sin(L * th))
    return lam[::-1].copy(), rho[::-1].copy()


def critical_sigma_w2(activation: str | Phi, sigma_b2: float, *, lo: float = 1e-3,
                      hi: float = 1e4) -> float:  # fmt: skip
    """σ_w² on the critical line χ₁ = 1 for this σ_b² (NaN when χ₁ − 1 does not change sign in
    [lo, hi])."""
    from scipy.optimize import brentq

    p = get_phi(activation)

    def g(sw2: float) -> float:
        q = fixed_point(p, sw2, sigma_b2)
        q = q if math.isfinite(q) else 1e12
        return float(sw2 * gq.expect(lambda h: p.df(h) ** 2, q)) - 1.0

    a, b = g(lo), g(hi)
    if a * b > 0:
        return math.nan
    return float(brentq(g, lo, hi, xtol=1e-12, rtol=1e-10))
