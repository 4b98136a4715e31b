"""``chain``: nets of one sigmoid neuron per layer, where the gradient is a product of terms.

Chapter 5 writes ∂C/∂b₁ of the chain x → a₁ → … → a_L as

    ∂C/∂b₁ = σ′(z₁) · w₂σ′(z₂) · w₃σ′(z₃) ⋯ w_Lσ′(z_L) · ∂C/∂a_L

and argues that since σ′ ≤ 1/4 and N(0, 1) weights usually have |wⱼ| < 1, each factor is below
1/4, so ∂C/∂b₁ "will usually be a factor of 16 (or more) smaller than ∂C/∂b₃". For many random
chains (one seed each, wⱼ, bⱼ ~ N(0, 1): the engine's default initialisation for one input) we
compute every ∂C/∂bⱼ three ways — that product, the engine's BP1–BP4 and `torch.autograd` — in
float64, and measure how often the factors are below 1/4 and how the ratio ∂C/∂b₁ / ∂C/∂b₃ is
spread over chains.

What counts as what: σ′ ≤ 1/4, the agreement of the three ways and "ratio ≤ 1/16 whenever
|w₂|, |w₃| < 1" are true by construction (``identity``); "usually a factor of 16 or more" is a
``bound`` (checked on the median chain); the share of first-layer factors below 1/4 has an exact
value by quadrature (``prediction``). The book prints no measured number here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import theory
from ..backprop import backprop
from ..book import CHAIN_B1_OVER_B3_BOUND, CHAIN_B1_OVER_B3_SOURCE
from ..errors import ConfigError
from ..io import write_csv
from ..nets import Network
from ..results import Comparison, Table, band_label, seed_band
from .base import Experiment, RunContext, register, unwrap

#: Float64 agreement of the three ways to ∂C/∂bⱼ that we call exact (relative).
REL_TOL = 1e-12
#: Half-width of the binomial check of a share, in standard errors.
BINOMIAL_SE = 3.0
#: |w| < 1 for w ~ N(0, 1): the book's "the weights will usually satisfy |wⱼ| < 1".
P_ABS_W_BELOW_1 = math.erf(1 / math.sqrt(2))


@dataclass(frozen=True)
class ChainConfig:
    """``seeds`` random chains of ``depth`` neurons (seed, seed + 1, …), input x, target y."""

    depth: int = 4
    seeds: int = 1000
    seed: int = 0
    x: float = 1.0
    y: float = 0.0
    cost: str = "quadratic"
    quick: bool = False


#: The experiment's configuration under its conventional name.
Config = ChainConfig


@register
class Chain(Experiment[ChainConfig]):
    name = "chain"
    title = "The chain of one neuron per layer: a product of terms"
    book_ref = "Chapter 5, “What's causing the vanishing gradient problem?”"
    order = 50
    typical_seconds = (0.1, 1.3)  # scheduling hint (RESULTS.md)
    Config = ChainConfig
    quick_note = """200 chains instead of 1000: the same comparisons; the shares and the
    ratio's band are statistically less precise. Takes a second or two."""

    def quick_config(self) -> ChainConfig:
        return ChainConfig(seeds=200, quick=True)

    def validate(self, config: ChainConfig) -> None:
        super().validate(config)
        if isinstance(config.depth, bool) or not isinstance(config.depth, int) or config.depth < 3:
            raise ConfigError(
                f"chain depth must be an integer ≥ 3 (to compare b₁ with b₃), got {config.depth!r}"
            )
        if config.cost not in ("quadratic", "cross-entropy"):
            raise ConfigError(f"chain cost must be quadratic or cross-entropy, got {config.cost!r}")
        if not (math.isfinite(config.x) and math.isfinite(config.y)):
            raise ConfigError("chain x and y must be finite numbers")

    def compute(self, config: ChainConfig, ctx: RunContext) -> dict[str, Any]:
        ctx.progress(f"∂C/∂bⱼ of {config.seeds} chains of depth {config.depth}, three ways", 0, 1)
        data = measure(config)
        ctx.progress("done", 1, 1)
        return data

    def compare(self, config: ChainConfig, data: dict[str, Any]) -> list[Comparison]:
        return compare(data)

    def conclude(
        self, config: ChainConfig, data: dict[str, Any], comparisons: list[Comparison]
    ) -> list[str]:
        return conclude(config, data)

    def tables(self, config: ChainConfig, data: dict[str, Any]) -> list[Table]:
        S = data["chains"]
        med, lo, hi = (data["abs_bias_gradient"][k] for k in ("median", "q10", "q90"))
        rows = [
            [j + 1, med[j], lo[j], hi[j], data["share_factors_below_quarter_per_layer"][j]]
            for j in range(data["depth"])
        ]
        dis = data["max_disagreement"]
        return [
            Table(
                title=f"|∂C/∂bⱼ| per layer over {S} chains (median, 10–90 %) and the share of "
                "factors |wⱼσ′(zⱼ)| below 1/4",
                columns=["layer j", "median |∂C/∂bⱼ|", "10 %", "90 %", "P(|wⱼσ′(zⱼ)| < 1/4)"],
                rows=rows,
            ),
            Table(
                title="Three ways to ∂C/∂bⱼ: largest disagreement with the engine's BP (float64)",
                columns=["method", "max abs difference", "max relative difference"],
                rows=[
                    ["product formula", dis["product_abs"], dis["product_rel"]],
                    ["torch.autograd", dis["autograd_abs"], dis["autograd_rel"]],
                ],
            ),
        ]

    def write_files(self, config: ChainConfig, data: dict[str, Any], out_dir: Path) -> None:
        L = data["depth"]
        cols = ["seed"]
        for name in ("w", "b", "factor", "dC_db"):
            cols += [f"{name}{j + 1}" for j in range(L)]
        cols.append("ratio_b1_b3")
        rows = [
            [
                config.seed + s,
                *data["w"][s],
                *data["b"][s],
                *data["factors"][s],
                *data["dC_db"][s],
                data["ratio_b1_b3"][s],
            ]
            for s in range(data["chains"])
        ]
        write_csv(Path(out_dir) / "chain.csv", cols, rows)


# -- computing ----------------------------------------------------------------------------------
def three_ways(net: Network, x: float, y: float) -> dict[str, torch.Tensor]:
    """∂C/∂bⱼ of every chain of ``net`` (a [1, 1, …, 1] net, float64), each [S, L].

    "product": the book's product formula (`theory.chain_gradient`), "bp": the engine's
    backpropagation, "autograd": `torch.autograd` on the engine's forward pass; also the
    chains' "w" and "b", [S, L].
    """
    w = torch.stack([p.detach()[:, 0, 0] for p in net.weights], -1)
    b = torch.stack([p.detach()[:, 0] for p in net.biases], -1)
    xt = torch.tensor([[x]], dtype=torch.float64)
    yt = torch.tensor([[y]], dtype=torch.float64)
    product = theory.chain_gradient(w, b, x, y, net.cost.name)
    bp = torch.stack([g[:, 0] for g in backprop(net, xt, yt).bias], -1)
    net.zero_grad()
    net.cost_fn(net(xt), yt).backward()
    auto = torch.stack([p.grad[:, 0].clone() for p in net.biases], -1)  # type: ignore[index]
    return {"product": product, "bp": bp, "autograd": auto, "w": w, "b": b}


def max_rel(a: torch.Tensor, ref: torch.Tensor) -> float:
    """max |a − ref| / |ref| over entries (0/0 counted as 0)."""
    den = ref.abs().clamp_min(torch.finfo(torch.float64).tiny)
    return float(((a - ref).abs() / den).max())


def measure(config: ChainConfig) -> dict[str, Any]:
    """Every number of the experiment, as plain lists (per chain: [S] or [S, L])."""
    net = Network(
        [1] * (config.depth + 1),
        cost=config.cost,
        seeds=config.seeds,
        seed=config.seed,
        dtype=torch.float64,
    )
    g = three_ways(net, config.x, config.y)
    factors = theory.chain_factors(g["w"], g["b"], config.x)  # [S, L]
    bp = g["bp"]
    ratio = (bp[:, 0].abs() / bp[:, 2].abs()).numpy()
    w = g["w"].numpy()
    f = factors.abs().numpy()
    small = (np.abs(w[:, 1]) < 1) & (np.abs(w[:, 2]) < 1)  # the book's case |w₂|, |w₃| < 1
    med, q10, q90 = seed_band(np.abs(bp.numpy()))
    z = torch.arange(-10_000, 10_001, dtype=torch.float64) / 1000  # exact multiples of 1/1000
    s = torch.sigmoid(z)
    prime = s * (1 - s)
    return {
        "depth": config.depth,
        "chains": config.seeds,
        "w": w,
        "b": g["b"].numpy(),
        "factors": factors.numpy(),
        "dC_db": bp.numpy(),
        "ratio_b1_b3": ratio,
        "max_disagreement": {
            "product_rel": max_rel(g["product"], bp),
            "autograd_rel": max_rel(g["autograd"], bp),
            "product_abs": float((g["product"] - bp).abs().max()),
            "autograd_abs": float((g["autograd"] - bp).abs().max()),
        },
        "abs_bias_gradient": {"median": med, "q10": q10, "q90": q90},
        "share_factors_below_quarter": float(np.mean(f < 0.25)),
        "share_factors_below_quarter_per_layer": np.mean(f < 0.25, axis=0),
        "share_abs_w_below_1": float(np.mean(np.abs(w) < 1)),
        "p_abs_w_below_1": P_ABS_W_BELOW_1,
        "p_layer1_factor_below_quarter": theory.factor_below_probability(config.x),
        "small_weight_chains": int(small.sum()),
        "small_weight_chains_within_bound": int(np.sum(ratio[small] <= CHAIN_B1_OVER_B3_BOUND)),
        "share_ratio_within_bound": float(np.mean(ratio <= CHAIN_B1_OVER_B3_BOUND)),
        "bound": CHAIN_B1_OVER_B3_BOUND,
        # σ and σ′ on the grid, every 50th point for the figure; the maximum on all of it.
        "sigmoid_prime_max": float(prime.max()),
        "curve": {"z": z[::50], "sigmoid": s[::50], "sigmoid_prime": prime[::50]},
    }


# -- comparing and concluding -------------------------------------------------------------------
def _binomial_tol(p: float, n: int) -> float:
    return BINOMIAL_SE * math.sqrt(max(p * (1 - p), 0.0) / max(n, 1))


def compare(data: dict[str, Any]) -> list[Comparison]:
    S, L = data["chains"], data["depth"]
    dis = data["max_disagreement"]
    ratio = np.asarray(data["ratio_b1_b3"], dtype=np.float64)
    med, q10, q90 = (float(v) for v in seed_band(ratio))
    n_small, n_ok = data["small_weight_chains"], data["small_weight_chains_within_bound"]
    p1 = data["p_layer1_factor_below_quarter"]
    f1 = float(np.mean(np.abs(np.asarray(data["factors"], dtype=np.float64)[:, 0]) < 0.25))
    pw = data["p_abs_w_below_1"]
    rows = [
        Comparison.identity(
            "max σ′(z) over z ∈ [−10, 10]",
            data["sigmoid_prime_max"],
            0.25,
            1e-15,
            "σ′(z) = σ(z)(1 − σ(z)) ≤ 1/4, equality at z = 0 (the book: “σ′(0) = 1/4”)",
        ),
        Comparison.identity(
            "∂C/∂bⱼ: product formula vs BP1–BP4, max relative difference",
            dis["product_rel"],
            0.0,
            REL_TOL,
            "the chain rule: BP1–BP4 for a chain are the product formula (float64)",
        ),
        Comparison.identity(
            "∂C/∂bⱼ: torch.autograd vs BP1–BP4, max relative difference",
            dis["autograd_rel"],
            0.0,
            REL_TOL,
            "float64",
        ),
        Comparison(
            "share of chains with |w₂|, |w₃| < 1 whose |∂C/∂b₁|/|∂C/∂b₃| ≤ 1/16",
            "identity",
            n_ok / n_small if n_small else None,
            1.0,
            "|σ′(z₁)w₂σ′(z₂)w₃| ≤ 1/4 · 1 · 1/4 · 1 since σ′ ≤ 1/4",
            relation="==",
            band=f"exact, {n_small} chains",
        ),
        Comparison(
            "median |∂C/∂b₁| / |∂C/∂b₃|",
            "bound",
            med,
            CHAIN_B1_OVER_B3_BOUND,
            CHAIN_B1_OVER_B3_SOURCE,
            q10,
            q90,
            band_label(S).replace("seeds", "chains"),
            relation="<=",
            note=f"{100 * data['share_ratio_within_bound']:.0f} % of chains are at or below 1/16 "
            "(“usually”: the median must be)",
        ),
        Comparison(
            "share of first-layer factors |w₁σ′(z₁)| < 1/4",
            "prediction",
            f1,
            p1,
            "quadrature over w₁, b₁ ~ N(0, 1), x fixed",
            relation="==",
            tolerance=_binomial_tol(p1, S),
            band=f"± {BINOMIAL_SE:g} binomial s.e., {S} chains",
        ),
        Comparison(
            "share of weights with |wⱼ| < 1",
            "prediction",
            data["share_abs_w_below_1"],
            pw,
            "P(|w| < 1) = erf(1/√2) for w ~ N(0, 1) (the book: weights “usually satisfy |wⱼ| < 1”)",
            relation="==",
            tolerance=_binomial_tol(pw, S * L),
            band=f"± {BINOMIAL_SE:g} binomial s.e., {S * L} weights",
        ),
    ]
    return rows


def conclude(config: ChainConfig, data: dict[str, Any]) -> list[str]:
    """Sentences chosen and filled from ``data``."""
    S, L = data["chains"], data["depth"]
    out: list[str] = []
    dis = data["max_disagreement"]
    worst = max(dis["product_rel"], dis["autograd_rel"])
    if worst <= REL_TOL:
        out.append(
            f"For {S} random chains of depth {L} (wⱼ, bⱼ ~ N(0, 1), x = {config.x:g}, "
            f"y = {config.y:g}, {config.cost} cost) the book's product formula, the engine's "
            f"backpropagation and autograd agree to a relative {worst:.1e} in float64."
        )
    else:
        out.append(
            f"The product formula, the engine's backpropagation and autograd DISAGREE by a "
            f"relative {worst:.1e} (more than {REL_TOL:g}): a bug in one of them."
        )
    fb, pw = data["share_factors_below_quarter"], data["share_abs_w_below_1"]
    if fb >= pw:
        more = ", and more, because σ′(zⱼ) is usually well below its maximum" if fb > pw else ""
        out.append(
            f"{100 * fb:.1f} % of the factors |wⱼσ′(zⱼ)| are below 1/4 — at least the "
            f"{100 * pw:.1f} % of weights with |wⱼ| < 1, as σ′ ≤ 1/4 implies{more}."
        )
    else:
        out.append(
            f"Only {100 * fb:.1f} % of the factors |wⱼσ′(zⱼ)| are below 1/4, fewer than the "
            f"{100 * pw:.1f} % of weights with |wⱼ| < 1 — impossible if σ′ ≤ 1/4: a bug."
        )
    ratio = np.asarray(data["ratio_b1_b3"], dtype=np.float64)
    med, q10, q90 = (float(v) for v in seed_band(ratio))
    share = data["share_ratio_within_bound"]
    spread = f"median {med:.3g}, 10–90 %: {q10:.2g}–{q90:.2g}"
    if med <= data["bound"]:
        out.append(
            f"As the book says, ∂C/∂b₁ is usually a factor of 16 or more smaller than ∂C/∂b₃: "
            f"{100 * share:.0f} % of chains are at or below 1/16 ({spread}); the typical chain "
            f"is {1 / med:.0f} times smaller, so 1/16 is a bound, not a typical value."
        )
    else:
        out.append(
            f"Unlike the book's “usually a factor of 16 (or more)”, only {100 * share:.0f} % of "
            f"chains have |∂C/∂b₁|/|∂C/∂b₃| ≤ 1/16 ({spread})."
        )
    n_small, n_ok = data["small_weight_chains"], data["small_weight_chains_within_bound"]
    if n_small and n_ok == n_small:
        out.append(
            f"All {n_small} chains with |w₂|, |w₃| < 1 are at or below 1/16, as σ′ ≤ 1/4 "
            "guarantees; the chains above it have a weight of magnitude 1 or more."
        )
    elif n_small:
        out.append(
            f"{n_small - n_ok} of {n_small} chains with |w₂|, |w₃| < 1 exceed 1/16, which "
            "σ′ ≤ 1/4 rules out: a bug."
        )
    f1 = float(np.mean(np.abs(np.asarray(data["factors"], dtype=np.float64)[:, 0]) < 0.25))
    p1 = data["p_layer1_factor_below_quarter"]
    tol = _binomial_tol(p1, S)
    verdict = "within" if abs(f1 - p1) <= tol else "OUTSIDE"
    out.append(
        f"In the first layer {100 * f1:.1f} % of factors are below 1/4 against "
        f"{100 * p1:.2f} % exactly (quadrature), {verdict} {BINOMIAL_SE:g} binomial standard "
        f"errors ({100 * tol:.1f} points)."
    )
    return out


# Hard-wrapped here for the source; `unwrap` makes each paragraph one line for the report.
Chain.explanation = unwrap(
    """\
In a chain of single neurons, zⱼ = wⱼaⱼ₋₁ + bⱼ and aⱼ = σ(zⱼ). A small change Δb₁ changes a₁ by
σ′(z₁)Δb₁; that changes z₂ by w₂ times as much and a₂ by w₂σ′(z₂) times as much, and so on to the
output. So ∂C/∂b₁ = σ′(z₁) · w₂σ′(z₂) · w₃σ′(z₃) ⋯ w_Lσ′(z_L) · ∂C/∂a_L: one factor wⱼσ′(zⱼ) per
layer between b₁ and the output. This is what the backpropagation equations compute for a chain.

The sigmoid's slope is at most σ′(0) = 1/4 (figure), so whenever |wⱼ| < 1 — for N(0, 1) weights
that has probability erf(1/√2) ≈ 0.683 — the factor |wⱼσ′(zⱼ)| is below 1/4. Comparing ∂C/∂b₁ with
∂C/∂b₃ removes the common tail of the product and leaves σ′(z₁)·w₂σ′(z₂)·w₃, at most 1/16 when
|w₂|, |w₃| < 1: the early layer learns more slowly. That is the vanishing gradient problem in its
simplest form; in wide nets the same product becomes a product of matrices (wʲ)ᵀ and diagonal
σ′(zʲ).

What is checked how: σ′ ≤ 1/4, the agreement of the three ways to the gradient and the 1/16 for
chains with small weights hold by construction (checks of our code, not agreement with the book);
the book's “usually a factor of 16 (or more)” is a bound, checked on the median chain; the share of
first-layer factors below 1/4 has an exact value by quadrature. The bands are over random chains.
"""
)
