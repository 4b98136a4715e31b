"""Finite-depth mean-field prediction of the book's speed of learning ‖δˡ‖ = ‖(1/n) Σₓ δˡₓ‖.

For a net ``sizes`` = [n₀, n₁, …, n_L] (784-30-…-30-10 in the book) with elementwise hidden
activation φ, layer l has (σ_w²(l), σ_b²(l)) from its initialisation (`layer_variances`). In the
wide-layer limit, with the gradient-independence assumption (Schoenholz et al. 2017):

forward   K¹ₓₓ′ = σ_w²(1)·⟨x, x′⟩/n₀ + σ_b²(1)            (the data's own second moments)
          Kˡ⁺¹ₓₓ′ = σ_w²(l+1)·E[φ(uₓ)φ(uₓ′)] + σ_b²(l+1),  (uₓ, uₓ′) ~ N(0, Kˡ restricted to x, x′)
backward  Gᴸₓₓ′ = E⟨δᴸₓ, δᴸₓ′⟩ with δᴸ = a − y (cross-entropy + sigmoid output, the book's BP1),
          Gˡₓₓ′ = σ_w²(l+1)·E[φ′(hˡₓ)φ′(hˡₓ′)]·Gˡ⁺¹ₓₓ′          (BP2: δˡ = φ′(zˡ) ⊙ (wˡ⁺¹)ᵀδˡ⁺¹)
speed     E‖(1/n) Σₓ δˡₓ‖² = (1/n)·mean Gˡₓₓ + (1 − 1/n)·mean over pairs x ≠ x′ of Gˡₓₓ′

The book's speed is of the *mean* gradient over n = 1000 images, so the cross terms dominate:
the ratio of neighbouring hidden layers is √(mean χ_c Gˡ⁺¹ / mean Gˡ⁺¹), a weighted mean of
χ_c = σ_w² E[φ′φ′] over pairs of images — close to √χ₁ when the images' pre-activations are
strongly correlated (sigmoid with σ_b² = 1: c ≈ 0.99), but well below √χ₁ = 1 for ReLU + He,
whose images stay less correlated. Means over images use up to ``images`` of them and
``pairs`` random pairs (fixed seed). Widths enter only through σ_w²; their finite-width spread
is what `simulate_speeds` (an independent NumPy network, many seeds) measures.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ConfigError
from . import quadrature as gq
from .phi import Phi, get_phi

#: Initialisations the theory knows: network2's and `gradprobe.nets`' names, plus orthogonal.
INITS: tuple[str, ...] = ("default", "large", "xavier", "he", "orthogonal")
OUTPUTS: tuple[str, ...] = ("sigmoid", "linear")


def _sizes(sizes: Sequence[int]) -> tuple[int, ...]:
    try:
        s = tuple(int(v) for v in sizes)
    except (TypeError, ValueError):
        raise ConfigError(f"sizes must be positive integers, got {sizes!r}") from None
    if len(s) < 2 or any(v < 1 for v in s):
        raise ConfigError(f"sizes must be ≥ 2 positive integers, got {list(sizes)!r}")
    return s


def layer_variances(
    sizes: Sequence[int], init: str = "default", *, gain: float = 1.0,
    sigma_w2: float | None = None, sigma_b2: float | None = None,
) -> list[tuple[float, float]]:  # fmt: skip
    """(σ_w², σ_b²) of layers l = 1 … L, with σ_w² = n_in·Var(wˡᵢⱼ) (what the length map uses):

    default     network2: w ~ N(0, 1/n_in), b ~ N(0, 1)      → (1, 1)
    large       network2: w ~ N(0, 1), b ~ N(0, 1)           → (n_in, 1)
    xavier      w ~ N(0, 2/(n_in + n_out)), b = 0            → (2 n_in/(n_in + n_out), 0)
    he          w ~ N(0, 2/n_in), b = 0                      → (2, 0)
    orthogonal  w = gain·(rows orthonormal), b ~ N(0, 1)     → (gain²·min(1, n_in/n_out), 1)

    ``sigma_w2`` / ``sigma_b2`` override every layer's weight / bias variance.
    """
    s = _sizes(sizes)
    if init not in INITS:
        raise ConfigError(f"unknown init {init!r}; choose one of: {', '.join(INITS)}")
    out = []
    for n_in, n_out in itertools.pairwise(s):
        sw2, sb2 = {
            "default": (1.0, 1.0),
            "large": (float(n_in), 1.0),
            "xavier": (2.0 * n_in / (n_in + n_out), 0.0),
            "he": (2.0, 0.0),
            "orthogonal": (gain**2 * min(1.0, n_in / n_out), 1.0),
        }[init]
        if sigma_w2 is not None:
            sw2 = float(sigma_w2)
        out.append((sw2, sb2 if sigma_b2 is None else float(sigma_b2)))
    return out


@dataclass(frozen=True)
class Inputs:
    """Second moments of the inputs the speed is averaged over.

    ``sq`` [m]: ‖xᵢ‖²/n₀ for m images; for P pairs of distinct images: ``a``, ``b`` [P] their
    ‖x‖²/n₀, ``dot`` [P] ⟨x, x′⟩/n₀ and ``same`` [P] the probability that their labels agree
    (1/0 from labels, 1/n_classes without them); ``n``: how many images the gradient is
    averaged over (the book: 1000)."""

    sq: np.ndarray
    a: np.ndarray
    b: np.ndarray
    dot: np.ndarray
    same: np.ndarray
    n: int

    @property
    def q0(self) -> float:
        """mean ‖x‖²/n₀, the data's second moment per input."""
        return float(self.sq.mean())

    @property
    def c0(self) -> float:
        """mean correlation ⟨x, x′⟩/(‖x‖‖x′‖) over the pairs."""
        return float(np.mean(self.dot / np.sqrt(self.a * self.b)))

    @classmethod
    def from_data(cls, x: Any, labels: Any = None, *, n_classes: int = 10, images: int = 500,
                  pairs: int = 200, seed: int = 0) -> Inputs:  # fmt: skip
        """From images x [n, n₀] (NumPy or anything `np.asarray` takes) and optional integer
        labels [n]. Uses the first ``images`` for the diagonal and ``pairs`` random pairs of
        distinct images (generator seeded with ``seed``) among all n."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[0] < 2:
            raise ConfigError(f"inputs must be [n ≥ 2, n_in], got shape {x.shape}")
        n, n0 = x.shape
        rng = np.random.default_rng(seed)
        i = rng.integers(0, n, pairs)
        j = (i + rng.integers(1, n, pairs)) % n  # j ≠ i
        sq_all = (x * x).sum(1) / n0
        if labels is None:
            same = np.full(pairs, 1.0 / n_classes)
        else:
            lab = np.asarray(labels).reshape(-1)
            if lab.shape[0] != n:
                raise ConfigError(f"{lab.shape[0]} labels for {n} inputs")
            same = (lab[i] == lab[j]).astype(np.float64)
        dot = (x[i] * x[j]).sum(1) / n0
        return cls(sq_all[:images].copy(), sq_all[i], sq_all[j], dot, same, n)

    @classmethod
    def homogeneous(cls, q0: float, c0: float = 1.0, *, n: int = 1000,
                    n_classes: int = 10) -> Inputs:  # fmt: skip
        """Every input with ‖x‖²/n₀ = q0 and every pair with correlation c0."""
        if not (math.isfinite(q0) and q0 >= 0):
            raise ConfigError(f"q0 must be a finite number ≥ 0, got {q0!r}")
        if not (-1.0 <= c0 <= 1.0):
            raise ConfigError(f"c0 must lie in [−1, 1], got {c0!r}")
        one = np.ones(1)
        return cls(q0 * one, q0 * one, q0 * one, c0 * q0 * one, one / n_classes, int(n))


@dataclass(frozen=True)
class SpeedPrediction:
    """Mean-field prediction for one net; H hidden layers, first hidden layer first.

    ``speeds`` [H]: √E‖(1/n) Σₓ δˡₓ‖², the book's speed; ``ratios`` [H − 1]: speedˡ/speedˡ⁺¹;
    ``per_example_ratios`` [H − 1]: √(σ_w²(l+1) E[φ′(hˡ)²]), the ratio for a single image;
    ``q`` [L]: mean pre-activation variance of layers 1 … L; ``c`` [L]: mean correlation of two
    images' pre-activations; ``layers`` [L]: (σ_w², σ_b²)."""

    sizes: tuple[int, ...]
    activation: str
    init: str
    speeds: list[float]
    ratios: list[float]
    per_example_ratios: list[float]
    q: list[float]
    c: list[float]
    layers: list[tuple[float, float]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


def _delta_fns(cost: str, output: str) -> tuple[Any, Any]:
    """δᴸ component as a function of zᴸ for target bit 1 and 0 (elementwise outputs only)."""
    from scipy.special import expit

    if output == "sigmoid" and cost == "cross-entropy":
        return (lambda z: expit(z) - 1.0), (lambda z: expit(z))
    if output == "sigmoid" and cost == "quadratic":
        return (lambda z: (expit(z) - 1.0) * expit(z) * (1 - expit(z))), (
            lambda z: expit(z) ** 2 * (1 - expit(z))
        )
    if output == "linear" and cost == "quadratic":
        return (lambda z: z - 1.0), (lambda z: np.asarray(z, dtype=np.float64))
    raise ConfigError(
        f"no mean-field prediction for cost {cost!r} with output {output!r}: the output "
        "δᴸ must act elementwise (cross-entropy or quadratic + sigmoid, quadratic + linear)"
    )


def predicted_speeds(
    sizes: Sequence[int],
    activation: str | Phi = "sigmoid",
    init: str = "default",
    *,
    inputs: Inputs | None = None,
    q0: float | None = None,
    c0: float = 1.0,
    cost: str = "cross-entropy",
    output: str = "sigmoid",
    gain: float = 1.0,
    sigma_w2: float | None = None,
    sigma_b2: float | None = None,
    nodes: int = 4,
) -> SpeedPrediction:
    """Mean-field ‖δˡ‖ for every hidden layer of ``sizes`` at initialisation (see the module
    docstring). Give the data as ``inputs`` (`Inputs.from_data`) or as its second moment
    ``q0`` = mean ‖x‖²/n₀ (with every pair of inputs at correlation ``c0``; c0 = 1 treats all
    inputs as one, giving the per-example prediction). For MNIST's first 1000 training images
    q0 ≈ 0.107. ``sigma_w2``/``sigma_b2`` override the init's variances in every layer."""
    s = _sizes(sizes)
    if len(s) < 3:
        raise ConfigError(f"sizes {list(s)} have no hidden layer")
    p = get_phi(activation)
    if inputs is None:
        if q0 is None:
            raise ConfigError("give the data: inputs=Inputs.from_data(x, labels) or q0=…")
        inputs = Inputs.homogeneous(q0, c0, n_classes=s[-1])
    f1, f0 = _delta_fns(cost, output)
    layers = layer_variances(s, init, gain=gain, sigma_w2=sigma_w2, sigma_b2=sigma_b2)
    L = len(layers)
    # forward: diagonal of the images, and both ends + cross term of each pair
    sw2, sb2 = layers[0]
    kd = sw2 * inputs.sq + sb2
    ka, kb = sw2 * inputs.a + sb2, sw2 * inputs.b + sb2
    kab = sw2 * inputs.dot + sb2
    hist = [(kd, ka, kb, kab)]
    for l in range(1, L):
        sw2, sb2 = layers[l]
        corr = kab / np.sqrt(ka * kb)
        kd, ka, kb, kab = (
            sw2 * gq.expect(lambda h: p.f(h) ** 2, kd, nodes) + sb2,
            sw2 * gq.expect(lambda h: p.f(h) ** 2, ka, nodes) + sb2,
            sw2 * gq.expect(lambda h: p.f(h) ** 2, kb, nodes) + sb2,
            sw2 * gq.expect2(p.f, p.f, ka, kb, corr, nodes) + sb2,
        )
        hist.append((kd, ka, kb, kab))
    # output layer: G over the output units (units independent in the wide limit)
    n_out = s[-1]
    kd, ka, kb, kab = hist[-1]
    corr = kab / np.sqrt(ka * kb)
    gd = gq.expect(lambda z: f1(z) ** 2, kd, nodes) + (n_out - 1) * gq.expect(
        lambda z: f0(z) ** 2, kd, nodes
    )
    e00 = gq.expect2(f0, f0, ka, kb, corr, nodes)
    g_same = gq.expect2(f1, f1, ka, kb, corr, nodes) + (n_out - 1) * e00
    g_diff = (gq.expect2(f1, f0, ka, kb, corr, nodes) + gq.expect2(f0, f1, ka, kb, corr, nodes)
              + (n_out - 2) * e00)  # fmt: skip
    go = inputs.same * g_same + (1 - inputs.same) * g_diff
    n = inputs.n
    speeds2 = [0.0] * (L - 1)
    per_example = [0.0] * (L - 2)
    for l in range(L - 2, -1, -1):  # hidden layer l+1 (1-based) ← layer l+2's weights
        sw2_next = layers[l + 1][0]
        kd, ka, kb, kab = hist[l]
        corr = kab / np.sqrt(ka * kb)
        chi_d = sw2_next * gq.expect(lambda h: p.df(h) ** 2, kd, nodes)
        gd = chi_d * gd
        go = sw2_next * gq.expect2(p.df, p.df, ka, kb, corr, nodes) * go
        speeds2[l] = float(gd.mean() / n + (1 - 1 / n) * go.mean())
        if l < L - 2:
            per_example[l] = math.sqrt(float(chi_d.mean()))
    speeds = [math.sqrt(max(v, 0.0)) for v in speeds2]
    ratios = [speeds[l] / speeds[l + 1] for l in range(L - 2)]
    qs = [float(h[0].mean()) for h in hist]
    cs = [float(np.mean(h[3] / np.sqrt(h[1] * h[2]))) for h in hist]
    return SpeedPrediction(s, p.name, init, speeds, ratios, per_example, qs, cs, layers)


def predicted_speed_ratios(
    sizes: Sequence[int], activation: str | Phi = "sigmoid", init: str = "default", **kw: Any
) -> list[float]:
    """Predicted ‖δˡ‖/‖δˡ⁺¹‖ for hidden layers l = 1 … H − 1 (first hidden layer first), from
    `predicted_speeds` (same keywords: ``inputs=`` or ``q0=``, ``cost``, ``output``, ``gain``).
    E.g. ``predicted_speed_ratios([784, 30, 30, 30, 30, 10], q0=0.1)`` for network2's net."""
    return predicted_speeds(sizes, activation, init, **kw).ratios


# -- finite width: an independent NumPy network ---------------------------------------------------
def _orthogonal(rng: np.random.Generator, n_out: int, n_in: int) -> np.ndarray:
    """A Haar-random matrix [n_out, n_in] with orthonormal rows (or columns if n_out > n_in)."""
    a = rng.standard_normal((max(n_out, n_in), min(n_out, n_in)))
    qm, r = np.linalg.qr(a)
    qm = qm * np.sign(np.diag(r))
    return qm if n_out > n_in else qm.T


def draw_weights(sizes: Sequence[int], init: str, rng: np.random.Generator, *,
                 gain: float = 1.0, sigma_b2: float | None = None
                 ) -> list[tuple[np.ndarray, np.ndarray]]:  # fmt: skip
    """One network's (wˡ [n_l, n_{l−1}], bˡ [n_l]) for l = 1 … L, drawn as `layer_variances`."""
    s = _sizes(sizes)
    out = []
    for (n_in, n_out), (sw2, sb2) in zip(
        itertools.pairwise(s), layer_variances(s, init, gain=gain, sigma_b2=sigma_b2)
    ):
        if init == "orthogonal":
            w = gain * _orthogonal(rng, n_out, n_in)
        else:
            w = rng.standard_normal((n_out, n_in)) * math.sqrt(sw2 / n_in)
        b = rng.standard_normal(n_out) * math.sqrt(sb2)
        out.append((w, b))
    return out


def simulate_speeds(
    sizes: Sequence[int], activation: str | Phi, init: str, x: Any, labels: Any, *,
    seeds: int = 100, seed: int = 0, gain: float = 1.0, sigma_b2: float | None = None,
    cost: str = "cross-entropy", output: str = "sigmoid",
) -> np.ndarray:  # fmt: skip
    """Per-seed speeds ‖(1/n) Σₓ δˡₓ‖ [seeds, H] of ``seeds`` finite-width random nets, by an
    independent NumPy float64 forward and backward pass (BP1–BP2) on x [n, n₀] with integer
    labels [n]. Seed k draws from ``np.random.default_rng(seed + k)``."""
    s = _sizes(sizes)
    p = get_phi(activation)
    f1, f0 = _delta_fns(cost, output)
    x = np.asarray(x, dtype=np.float64)
    lab = np.asarray(labels).reshape(-1)
    y = np.zeros((x.shape[0], s[-1]))
    y[np.arange(x.shape[0]), lab] = 1.0
    out = np.empty((seeds, len(s) - 2))
    for k in range(seeds):
        params = draw_weights(s, init, np.random.default_rng(seed + k), gain=gain,
                              sigma_b2=sigma_b2)  # fmt: skip
        a, zs = x, []
        for w, b in params[:-1]:
            z = a @ w.T + b
            zs.append(z)
            a = p.f(z)
        zL = a @ params[-1][0].T + params[-1][1]
        delta = y * f1(zL) + (1 - y) * f0(zL)
        for l in range(len(zs) - 1, -1, -1):
            delta = (delta @ params[l + 1][0]) * p.df(zs[l])
            out[k, l] = np.linalg.norm(delta.mean(0))
    return out
