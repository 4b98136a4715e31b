"""``chain``: nets of one sigmoid neuron per layer, where the gradient is a product of terms.

Chapter 5 writes ∂C/∂b₁ of the chain x → a₁ → … → a_L as

    ∂C/∂b₁ = σ′(z₁) · w₂σ′(z₂) · w₃σ′(z₃) ⋯ w_Lσ′(z_L) · ∂C/∂a_L

and argues that since σ′ ≤ 1/4 and N(0, 1) weights usually have |wⱼ| < 1, each factor is below
1/4, so ∂C/∂b₁ is 16 times (or more) smaller than ∂C/∂b₃. For many random chains (one seed
each, wⱼ, bⱼ ~ N(0, 1): the engine's default initialisation for one input) we compute every
∂C/∂bⱼ three ways — that product, the engine's BP1–BP4, and `torch.autograd` — in float64,
and measure how often the factors are below 1/4 and how the ratio ∂C/∂b₁ / ∂C/∂b₃ is spread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import theory
from ..backprop import backprop
from ..book import SIGMOID_PRIME_MAX
from ..errors import ConfigError
from ..io import write_csv
from ..nets import Network
from ._legacy_base import (
    Comparison,
    Experiment,
    ExperimentResult,
    Table,
    Timer,
    median_band,
    register,
    unwrap,
)

#: Chapter 5: "∂C/∂b₁ will be a factor of 16 (or more) smaller than ∂C/∂b₃" — two factors
#: |wⱼσ′(zⱼ)| < 1/4 between them when |wⱼ| < 1.
BOOK_RATIO_B1_B3 = 1 / 16


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
class Chain(Experiment):
    name = "chain"
    title = "The chain of one neuron per layer: a product of terms"
    book_ref = "Chapter 5, “What's causing the vanishing gradient problem?”"
    Config = ChainConfig

    def quick_config(self) -> ChainConfig:
        return ChainConfig(seeds=200, quick=True)

    def run(
        self,
        config: ChainConfig,
        *,
        data: str | None = None,
        out_dir: Path,
        progress: Callable[[str], None] | None = None,
    ) -> ExperimentResult:
        say = progress or (lambda _msg: None)
        if config.depth < 3:
            raise ConfigError(
                f"chain depth must be at least 3 (to compare b₁ with b₃), got {config.depth}"
            )
        if config.cost not in ("quadratic", "cross-entropy"):
            raise ConfigError(f"chain cost must be quadratic or cross-entropy, got {config.cost!r}")
        out_dir = Path(out_dir)
        with Timer() as timer:
            say(f"chain: ∂C/∂bⱼ of {config.seeds} chains of depth {config.depth}, three ways")
            m = measure(config)
            result = _result(config, m, out_dir)
        result.seconds = timer.seconds
        result.write(out_dir)
        return result


def three_ways(net: Network, x: float, y: float) -> dict[str, torch.Tensor]:
    """∂C/∂bⱼ of every chain of ``net`` (a [1, 1, …, 1] net, float64), each [S, L].

    "product": the book's product formula (`theory.chain_gradient`), "bp": the engine's
    backpropagation, "autograd": `torch.autograd` on the engine's forward pass.
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


def _rel(a: torch.Tensor, ref: torch.Tensor) -> float:
    """max |a − ref| / |ref| over entries (0/0 counted as 0)."""
    den = ref.abs().clamp_min(torch.finfo(torch.float64).tiny)
    return float(((a - ref).abs() / den).max())


def measure(config: ChainConfig) -> dict[str, Any]:
    """All numbers of the experiment (see module doc); arrays are NumPy, [S] or [S, L]."""
    net = Network(
        [1] * (config.depth + 1),
        cost=config.cost,
        seeds=config.seeds,
        seed=config.seed,
        dtype=torch.float64,
    )
    g = three_ways(net, config.x, config.y)
    factors = theory.chain_factors(g["w"], g["b"], config.x)
    bp = g["bp"]
    ratio = (bp[:, 0].abs() / bp[:, 2].abs()).numpy()
    w = g["w"].numpy()
    small = (np.abs(w[:, 1]) < 1) & (np.abs(w[:, 2]) < 1)  # the book's case |w₂|, |w₃| < 1
    f = factors.abs().numpy()
    return {
        "w": w,
        "b": g["b"].numpy(),
        "grads": {k: g[k].numpy() for k in ("product", "bp", "autograd")},
        "factors": factors.numpy(),
        "ratio": ratio,
        "rel_product_bp": _rel(g["product"], bp),
        "rel_autograd_bp": _rel(g["autograd"], bp),
        "abs_product_bp": float((g["product"] - bp).abs().max()),
        "abs_autograd_bp": float((g["autograd"] - bp).abs().max()),
        "frac_below": float(np.mean(f < 0.25)),
        "frac_below_per_layer": np.mean(f < 0.25, axis=0),
        "frac_abs_w_below_1": float(np.mean(np.abs(w) < 1)),
        "p_layer1_exact": theory.factor_below_probability(config.x),
        "small_count": int(small.sum()),
        "small_ratio_ok": float(np.mean(ratio[small] <= BOOK_RATIO_B1_B3))
        if small.any()
        else float("nan"),
        "ratio_below_book": float(np.mean(ratio <= BOOK_RATIO_B1_B3)),
        # z = k/1000 for k = −10000 … 10000: the grid contains z = 0 exactly.
        "sigmoid_prime_max": float(
            theory.sigmoid_prime(torch.arange(-10_000, 10_001, dtype=torch.float64) / 1000).max()
        ),
    }


def _result(config: ChainConfig, m: dict[str, Any], out_dir: Path) -> ExperimentResult:
    from ..report.plots.chain import plot_sigmoid
    from ..report.plots.chain_factors import plot_factors

    S, L = m["w"].shape
    med, q10, q90 = median_band(m["ratio"])
    p = m["frac_below"]
    n_f = m["factors"].size
    ci = 1.96 * float(np.sqrt(p * (1 - p) / n_f))
    band = f"10–90 % over {S} chains"
    comparisons = [
        Comparison(
            "max σ′(z)",
            m["sigmoid_prime_max"],
            SIGMOID_PRIME_MAX,
            m["sigmoid_prime_max"],
            m["sigmoid_prime_max"],
            "exact (grid over z)",
        ),
        Comparison(
            "|∂C/∂b₁| / |∂C/∂b₃|, median",
            float(med),
            BOOK_RATIO_B1_B3,
            float(q10),
            float(q90),
            band,
            note=_ratio_note(m, float(q90)),
        ),
        Comparison(
            "chains with |w₂|, |w₃| < 1 whose ratio ≤ 1/16",
            m["small_ratio_ok"],
            1.0,
            m["small_ratio_ok"],
            m["small_ratio_ok"],
            f"exact, {m['small_count']} chains",
            note="the book's bound holds for every chain it covers",
        ),
        Comparison(
            "P(|wⱼσ′(zⱼ)| < 1/4), N(0, 1) weights",
            p,
            None,
            p - ci,
            p + ci,
            f"95 % binomial, {n_f} factors",
            note=f"the book's sufficient condition |w| < 1 has P = {theory.P_ABS_W_BELOW_1:.4f}; "
            f"layer 1 exactly: {m['p_layer1_exact']:.4f}",
        ),
        Comparison(
            "max relative |product − BP|",
            m["rel_product_bp"],
            None,
            note="float64; the book's formula and BP1–BP4 agree to rounding",
        ),
        Comparison("max relative |autograd − BP|", m["rel_autograd_bp"], None, note="float64"),
    ]
    grads = m["grads"]
    rows = []
    for j in range(L):
        gm, g10, g90 = median_band(np.abs(grads["bp"][:, j]))
        rows.append([j + 1, float(gm), float(g10), float(g90), float(m["frac_below_per_layer"][j])])
    _write_csv(config, m, out_dir)
    figures = [
        plot_sigmoid(out_dir),
        plot_factors(m["factors"], m["ratio"], BOOK_RATIO_B1_B3, out_dir),
    ]
    return Chain.make_result(
        config,
        summary=_summary(config, m, float(med), float(q10), float(q90)),
        explanation=EXPLANATION,
        comparisons=comparisons,
        tables=[
            Table(
                title=f"|∂C/∂bⱼ| per layer over {S} chains (median, 10–90 %) and the share of "
                "factors |wⱼσ′(zⱼ)| below 1/4",
                columns=["layer j", "median |∂C/∂bⱼ|", "10 %", "90 %", "P(|wⱼσ′(zⱼ)| < 1/4)"],
                rows=rows,
            ),
            Table(
                title="Three ways to ∂C/∂bⱼ: largest disagreement with the engine's BP",
                columns=["method", "max abs difference", "max relative difference"],
                rows=[
                    ["product formula", m["abs_product_bp"], m["rel_product_bp"]],
                    ["torch.autograd", m["abs_autograd_bp"], m["rel_autograd_bp"]],
                ],
            ),
        ],
        figures=figures,
        data={
            "depth": L,
            "chains": S,
            "ratio_b1_b3": m["ratio"],
            "ratio_median": float(med),
            "ratio_q10": float(q10),
            "ratio_q90": float(q90),
            "ratio_below_book": m["ratio_below_book"],
            "fraction_factors_below_quarter": p,
            "fraction_factors_below_quarter_per_layer": m["frac_below_per_layer"],
            "fraction_abs_w_below_1": m["frac_abs_w_below_1"],
            "p_abs_w_below_1": theory.P_ABS_W_BELOW_1,
            "p_factor_below_quarter_layer1_exact": m["p_layer1_exact"],
            "max_abs_disagreement": {
                "product_vs_bp": m["abs_product_bp"],
                "autograd_vs_bp": m["abs_autograd_bp"],
            },
            "max_rel_disagreement": {
                "product_vs_bp": m["rel_product_bp"],
                "autograd_vs_bp": m["rel_autograd_bp"],
            },
            "median_abs_bias_gradient": [r[1] for r in rows],
        },
    )


def _ratio_note(m: dict[str, Any], q90: float) -> str:
    share = f"{100 * m['ratio_below_book']:.0f} % of chains are at or below 1/16"
    if q90 >= BOOK_RATIO_B1_B3:
        return share
    return (
        f"{share}. The book's 1/16 is a bound (“a factor of 16 (or more)”), not a typical value: "
        "most chains are far below it, so it lies above our 90th percentile."
    )


def _write_csv(config: ChainConfig, m: dict[str, Any], out_dir: Path) -> None:
    L = m["w"].shape[1]
    cols = ["seed"]
    for name in ("w", "b", "factor", "dC_db_product", "dC_db_bp", "dC_db_autograd"):
        cols += [f"{name}{j + 1}" for j in range(L)]
    g = m["grads"]
    blocks = [m["w"], m["b"], m["factors"], g["product"], g["bp"], g["autograd"]]
    table = np.concatenate(blocks, axis=1)
    rows = [[config.seed + s, *map(float, row)] for s, row in enumerate(table)]
    write_csv(out_dir / "chain.csv", cols, rows)


def _summary(config: ChainConfig, m: dict[str, Any], med: float, q10: float, q90: float) -> str:
    S = m["w"].shape[0]
    worst = max(m["rel_product_bp"], m["rel_autograd_bp"])
    return (
        f"For {S} random chains of depth {config.depth} (wⱼ, bⱼ ~ N(0, 1), x = {config.x:g}, "
        f"y = {config.y:g}, {config.cost} cost), the book's product formula, the engine's "
        f"backpropagation and autograd agree to a relative {worst:.1e} in float64. "
        f"{100 * m['frac_below']:.1f} % of the factors |wⱼσ′(zⱼ)| are below 1/4 — more than the "
        f"{100 * theory.P_ABS_W_BELOW_1:.1f} % with |wⱼ| < 1, because σ′(zⱼ) is usually well under "
        f"its maximum 1/4. The ratio |∂C/∂b₁| / |∂C/∂b₃| has median {med:.3g} "
        f"(10–90 %: {q10:.2g}–{q90:.2g}); {100 * m['ratio_below_book']:.0f} % of chains are at or "
        f"below the book's 1/16, and every chain with |w₂|, |w₃| < 1 is."
    )


# Hard-wrapped here for the source; `unwrap` makes each paragraph one line for the report.
EXPLANATION = unwrap(
    """\
In a chain of single neurons, zⱼ = wⱼaⱼ₋₁ + bⱼ and aⱼ = σ(zⱼ). A small change Δb₁ changes a₁ by
σ′(z₁)Δb₁; that changes z₂ by w₂ times as much and a₂ by w₂σ′(z₂) times as much, and so on to the
output. So ∂C/∂b₁ = σ′(z₁) · w₂σ′(z₂) · w₃σ′(z₃) ⋯ w_Lσ′(z_L) · ∂C/∂a_L: one factor wⱼσ′(zⱼ) per
layer between b₁ and the output. This is exactly what the backpropagation equations compute for a
chain, which is why the three methods agree to rounding error.

The sigmoid's slope is at most σ′(0) = 1/4 (figure), so whenever |wⱼ| < 1 — about 68 % of N(0, 1)
weights — the factor |wⱼσ′(zⱼ)| is below 1/4. It is below 1/4 even more often, since zⱼ is rarely
exactly 0. Comparing ∂C/∂b₁ with ∂C/∂b₃ removes the common tail of the product and leaves
σ′(z₁)·w₂σ′(z₂)·w₃, at most 1/16 when |w₂|, |w₃| < 1: the early layer learns much more slowly. That
is the vanishing gradient problem in its simplest form; in wide nets the same product becomes a
product of matrices (wʲ)ᵀ and diagonal σ′(zʲ).

The band is over random chains; the minority of chains with larger weights have ratios above 1/16 —
with large enough weights the product grows instead, which is the exploding-gradient experiment's
subject.
"""
)
