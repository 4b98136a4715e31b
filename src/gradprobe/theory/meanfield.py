"""Mean-field signal propagation through a wide random network (one σ_w², σ_b² for every layer).

For a layer hˡ = Wˡ φ(hˡ⁻¹) + bˡ with Wˡᵢⱼ ~ N(0, σ_w²/n_{l−1}) and bˡᵢ ~ N(0, σ_b²), in the
limit of wide layers (Poole et al. 2016; Schoenholz et al. 2017), with h ~ N(0, q):

* length map      qˡ = σ_w² E[φ(h)²] + σ_b², h ~ N(0, qˡ⁻¹); its attracting fixed point q*.
  (The first layer instead has q¹ = σ_w²·‖x‖²/n_in + σ_b² from the data: see `depth`.)
* slope            χ₁ = σ_w² E[φ′(h)²] at q*: backpropagation multiplies E‖δ‖² by χ₁ per layer
  (δˡ = φ′(hˡ) ⊙ (Wˡ⁺¹)ᵀ δˡ⁺¹, the book's BP2), so the predicted ratio of gradient norms of
  neighbouring layers, ‖δˡ‖ / ‖δˡ⁺¹‖, is √χ₁ deep inside the network.
* correlation map  cˡ = (σ_w² E[φ(u₁)φ(u₂)] + σ_b²) / q*, (u₁, u₂) at variance q* and
  correlation cˡ⁻¹; c = 1 is a fixed point, stable iff χ₁ ≤ 1.
* phases           ordered χ₁ < 1 (inputs' correlations → 1, gradients vanish), chaotic
  χ₁ > 1 (correlations → c* < 1, gradients explode), critical χ₁ = 1.
* depth scales     ξ_q = −1/ln(dqˡ/dqˡ⁻¹ at q*), ξ_c = −1/ln χ_c with χ_c = σ_w² E[φ′(u₁)φ′(u₂)]
  at c* (χ_c = χ₁ when c* = 1), and ξ_∇ = −1/ln χ₁ for E‖δˡ‖² ∝ e^{−(L−l)/ξ_∇}.

Expectations use `quadrature` (Gauss–Hermite). Everything is NumPy/SciPy float64.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..errors import ConfigError
from . import quadrature as gq
from .phi import Phi, get_phi

#: |χ₁ − 1| at or below this is called "critical".
CRITICAL_TOL = 1e-3
#: A length map that passes this variance is taken to grow without bound.
Q_MAX = 1e12


def _check(sigma_w2: float, sigma_b2: float) -> None:
    for name, v in (("sigma_w2", sigma_w2), ("sigma_b2", sigma_b2)):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.floating)):
            raise ConfigError(f"{name} must be a number, got {v!r}")
        if not math.isfinite(v) or v < 0:
            raise ConfigError(f"{name} must be a finite number ≥ 0, got {v!r}")
    if sigma_w2 == 0:
        raise ConfigError("sigma_w2 must be positive (σ_w² = 0 cuts every layer off)")


def length_map(activation: str | Phi, sigma_w2: float, sigma_b2: float, q: Any,
               n: int = gq.NODES) -> np.ndarray:  # fmt: skip
    """qˡ = σ_w² E[φ(h)²] + σ_b² for h ~ N(0, q), elementwise over q."""
    p = get_phi(activation)
    return sigma_w2 * gq.expect(lambda h: p.f(h) ** 2, q, n) + sigma_b2


def length_slope(activation: str | Phi, sigma_w2: float, q: Any, n: int = gq.NODES) -> np.ndarray:
    """dqˡ/dqˡ⁻¹ = σ_w² E[z φ(√q z) φ′(√q z)] / √q (Gaussian integration by parts; needs only
    φ′, so it holds for ReLU too). At q → 0 it tends to σ_w² φ′(0)² (+ σ_w² φ(0)φ″(0))."""
    p = get_phi(activation)
    qq = np.maximum(np.asarray(q, dtype=np.float64), 1e-12)
    return np.asarray(sigma_w2 * gq.expect(lambda h: h * p.f(h) * p.df(h), qq, n) / qq)


def chi(activation: str | Phi, sigma_w2: float, q: Any, n: int = gq.NODES) -> np.ndarray:
    """χ(q) = σ_w² E[φ′(h)²], h ~ N(0, q): the factor by which E‖δ‖² grows from layer l + 1 to
    layer l when layer l's pre-activations have variance q. χ₁ = χ(q*)."""
    p = get_phi(activation)
    return sigma_w2 * gq.expect(lambda h: p.df(h) ** 2, q, n)


def fixed_point(activation: str | Phi, sigma_w2: float, sigma_b2: float, q0: float = 1.0,
                n: int = gq.NODES) -> float:  # fmt: skip
    """The fixed point q* the length map reaches from q0 (the attracting one on that side);
    ``math.inf`` when q grows without bound (e.g. ReLU with σ_w² > 2). Picard iteration, then
    Brent's method on the bracket the iteration has found (slow convergence near χ = 1)."""
    from scipy.optimize import brentq

    _check(sigma_w2, sigma_b2)

    def L(q: float) -> float:
        return float(length_map(activation, sigma_w2, sigma_b2, q, n))

    q = float(q0)
    for _ in range(300):
        nxt = L(q)
        if not math.isfinite(nxt) or nxt > Q_MAX:
            return math.inf
        if abs(nxt - q) <= 1e-14 * max(1.0, q):
            return nxt
        prev, q = q, nxt
    if q < prev:  # moving down: q* ∈ [σ_b², q]
        lo = sigma_b2
        g_lo = L(lo) - lo
        if g_lo <= 0:
            return lo
        return float(brentq(lambda x: L(x) - x, lo, q, xtol=1e-15, rtol=1e-13))
    hi = max(2 * q, 1.0)
    while L(hi) - hi > 0:
        hi *= 2
        if hi > Q_MAX:
            return math.inf
    return float(brentq(lambda x: L(x) - x, q, hi, xtol=1e-15, rtol=1e-13))


def correlation_map(activation: str | Phi, sigma_w2: float, sigma_b2: float, c: Any, q: float,
                    n: int = gq.NODES) -> np.ndarray:  # fmt: skip
    """cˡ = (σ_w² E[φ(u₁)φ(u₂)] + σ_b²) / q_out for inputs of equal variance q and correlation
    c (elementwise over c), q_out = the length map at q (= q at the fixed point)."""
    p = get_phi(activation)
    q_out = length_map(p, sigma_w2, sigma_b2, q, n)
    return (sigma_w2 * gq.expect2(p.f, p.f, q, q, c, n) + sigma_b2) / q_out


def chi_c(activation: str | Phi, sigma_w2: float, c: Any, q: float,
          n: int = gq.NODES) -> np.ndarray:  # fmt: skip
    """χ_c = σ_w² E[φ′(u₁)φ′(u₂)] at variance q and correlation c: the slope of the
    correlation map at its fixed point, and the factor by which the gradients of two inputs'
    costs keep their inner product per layer (χ_c(c = 1) = χ₁)."""
    p = get_phi(activation)
    return sigma_w2 * gq.expect2(p.df, p.df, q, q, c, n)


def correlation_fixed_point(activation: str | Phi, sigma_w2: float, sigma_b2: float, q: float,
                            c0: float = 0.5, n: int = gq.NODES) -> float:  # fmt: skip
    """The stable fixed point c* of the correlation map at q = q*, iterating from c0."""
    c = float(c0)
    for _ in range(2000):
        nxt = float(correlation_map(activation, sigma_w2, sigma_b2, c, q, n))
        if abs(nxt - c) <= 1e-12:
            return min(nxt, 1.0)
        c = nxt
    return min(c, 1.0)


def phase_of(chi1: float, tol: float = CRITICAL_TOL) -> str:
    """ "ordered" (χ₁ < 1 − tol), "chaotic" (χ₁ > 1 + tol) or "critical"."""
    if chi1 < 1 - tol:
        return "ordered"
    if chi1 > 1 + tol:
        return "chaotic"
    return "critical"


def _depth(rate: float) -> float:
    """−1/ln(rate): the depth over which a quantity multiplied by ``rate`` per layer changes by
    e; ∞ at rate 1, and for rate > 1 the growth scale 1/ln(rate) (reported positive)."""
    if not math.isfinite(rate) or rate <= 0:
        return 0.0 if rate == 0 else math.nan
    lr = math.log(rate)
    return math.inf if abs(lr) < 1e-15 else 1.0 / abs(lr)


@dataclass(frozen=True)
class MeanField:
    """The mean-field description of one (φ, σ_w², σ_b²); see the module docstring.

    ``gradient_ratio`` = √χ₁, the predicted ‖δˡ‖/‖δˡ⁺¹‖ per example deep in the net;
    ``xi_grad`` = 1/|ln χ₁| (layers over which E‖δ‖² changes by e); ``diverges``: q grows
    without bound (then χ's are taken at q = `Q_MAX`)."""

    activation: str
    sigma_w2: float
    sigma_b2: float
    q_star: float
    chi1: float
    length_slope: float
    xi_q: float
    c_star: float
    chi_c: float
    xi_c: float
    phase: str
    gradient_ratio: float
    xi_grad: float
    diverges: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def mean_field(activation: str | Phi = "sigmoid", sigma_w2: float = 1.0, sigma_b2: float = 1.0,
               *, q0: float = 1.0, n: int = gq.NODES,
               tol: float = CRITICAL_TOL) -> MeanField:  # fmt: skip
    """Everything at once for one activation and (σ_w², σ_b²). ``q0`` is where the length
    map starts (it matters only when several fixed points exist, e.g. ReLU at σ_w² = 2, σ_b² = 0
    where every q is one)."""
    p = get_phi(activation)
    q_star = fixed_point(p, sigma_w2, sigma_b2, q0, n)
    diverges = not math.isfinite(q_star)
    q = Q_MAX if diverges else q_star
    c1 = float(chi(p, sigma_w2, q, n))
    slope = float(length_slope(p, sigma_w2, q, n))
    phase = phase_of(c1, tol)
    if phase == "chaotic" and not diverges and q > 0:
        c_star = correlation_fixed_point(p, sigma_w2, sigma_b2, q, 0.5, n)
        cc = float(chi_c(p, sigma_w2, c_star, q, n))
    else:
        c_star, cc = 1.0, c1
    return MeanField(
        activation=p.name,
        sigma_w2=float(sigma_w2),
        sigma_b2=float(sigma_b2),
        q_star=q_star,
        chi1=c1,
        length_slope=slope,
        xi_q=_depth(slope),
        c_star=c_star,
        chi_c=cc,
        xi_c=_depth(cc),
        phase=phase,
        gradient_ratio=math.sqrt(c1),
        xi_grad=_depth(c1),
        diverges=diverges,
    )


def phase_grid(activation: str | Phi, sigma_w2: Any, sigma_b2: Any, *, iterations: int = 80,
               n: int = 4) -> dict[str, list[list[float]]]:  # fmt: skip
    """χ₁ and q* on the grid ``sigma_w2`` [A] × ``sigma_b2`` [B] (rows: σ_b², columns: σ_w²),
    by ``iterations`` vectorised steps of the length map from q = 1 (close to but not exactly
    converged where χ ≈ 1; q capped at `Q_MAX`). Returns plain lists for a result's data:
    ``sigma_w2`` [A], ``sigma_b2`` [B], ``chi1`` [B][A], ``q_star`` [B][A]."""
    p = get_phi(activation)
    sw = np.asarray(sigma_w2, dtype=np.float64)
    sb = np.asarray(sigma_b2, dtype=np.float64)
    W, B = np.meshgrid(sw, sb)
    q = np.ones_like(W)
    for _ in range(iterations):
        q = np.minimum(W * gq.expect(lambda h: p.f(h) ** 2, q, n) + B, Q_MAX)
    c1 = W * gq.expect(lambda h: p.df(h) ** 2, q, n)
    return {"sigma_w2": sw.tolist(), "sigma_b2": sb.tolist(), "chi1": c1.tolist(),
            "q_star": q.tolist()}  # fmt: skip
