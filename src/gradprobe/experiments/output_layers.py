"""``output-layers``: the output error δᴸ = ∂C/∂zᴸ of the book's four cost/output pairs.

Chapter 3 shows that δᴸ = aᴸ − y for cross-entropy + sigmoid, log-likelihood + softmax and
quadratic + linear outputs, but δᴸ = (aᴸ − y) ⊙ σ′(zᴸ) for quadratic + sigmoid, whose σ′
makes a saturated, wrong output learn slowly. For many random zᴸ and one-hot targets y we take
δᴸ from `torch.autograd` (of the engine's cost and output functions, float64) and measure its
largest deviation from the book's formula, written out here independently of the engine; we
also check the engine's hand-written BP1 (`Cost.delta`) and, through a one-layer `Network`, its
backpropagated ∂C/∂bᴸ. All of these are ``identity`` checks (true by calculus: checks of our
code, not agreement with a number the book measured). Along a line of zᴸ for a sigmoid output
with target 0 we measure how quadratic's δᴸ collapses against cross-entropy's: the ratio of the
two is 1/σ′(z), which grows like e^z — fitted on our autograd values, not assumed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..backprop import backprop
from ..costs import get_cost
from ..errors import ConfigError
from ..io import write_csv
from ..nets import Network
from ..results import Comparison, Table
from .base import Experiment, RunContext, register, unwrap

#: (cost, output, the book's δᴸ) in the book's order.
PAIRS: tuple[tuple[str, str, str], ...] = (
    ("quadratic", "sigmoid", "(a − y)·σ′(z)"),
    ("cross-entropy", "sigmoid", "a − y"),
    ("log-likelihood", "softmax", "a − y"),
    ("quadratic", "linear", "a − y"),
)
#: Float64 agreement we call exact (δᴸ values are O(1)).
TOL = 1e-12
#: Weighted inputs of the slowdown experiment's two starts, z = w + b: (0.6, 0.9) and (2, 2).
MARKS: tuple[float, ...] = (1.5, 4.0)
#: The saturation line: zᴸ from −4 to 12 in steps of 0.1; e^z is fitted for z ≥ FIT_FROM.
LINE = (-4.0, 12.0, 161)
FIT_FROM = 4.0


@dataclass(frozen=True)
class OutputLayersConfig:
    """``samples`` random (zᴸ, y) with zᴸ ~ N(0, z_std²) over ``n_out`` outputs."""

    samples: int = 2000
    n_out: int = 10
    z_std: float = 4.0
    seed: int = 0
    quick: bool = False


#: The experiment's configuration under its conventional name.
Config = OutputLayersConfig


@register
class OutputLayers(Experiment[OutputLayersConfig]):
    name = "output-layers"
    title = "Output errors δᴸ of the four cost/output pairs"
    book_ref = "Chapter 3, “The cross-entropy cost function” and “Softmax”"
    order = 120
    typical_seconds = (0.05, 0.1)  # scheduling hint (RESULTS.md)
    Config = OutputLayersConfig
    quick_note = """300 random output layers instead of 2000: the same checks on fewer draws.
    Takes well under a second."""

    def quick_config(self) -> OutputLayersConfig:
        return OutputLayersConfig(samples=300, quick=True)

    def validate(self, config: OutputLayersConfig) -> None:
        super().validate(config)
        for name in ("samples", "n_out"):
            v = getattr(config, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < (1 if name == "samples" else 2):
                raise ConfigError("output-layers needs integers samples ≥ 1 and n_out ≥ 2")
        if not (config.z_std > 0 and math.isfinite(config.z_std)):
            raise ConfigError(f"z_std must be a positive number, got {config.z_std!r}")

    def compute(self, config: OutputLayersConfig, ctx: RunContext) -> dict[str, Any]:
        pairs = []
        for i, (cost, output, formula) in enumerate(PAIRS):
            ctx.progress(f"δᴸ of {cost} + {output}, {config.samples} samples", i, len(PAIRS) + 1)
            pairs.append(
                {
                    "cost": cost,
                    "output": output,
                    "book_formula": formula,
                    **check_pair(config, cost, output),
                }
            )
        ctx.progress("saturation line", len(PAIRS), len(PAIRS) + 1)
        return {
            "pairs": pairs,
            "saturation": saturation_curve(),
            "samples": config.samples,
            "n_out": config.n_out,
            "z_std": config.z_std,
        }

    def compare(self, config: OutputLayersConfig, data: dict[str, Any]) -> list[Comparison]:
        rows = []
        n = f"{data['samples']}×{data['n_out']} random zᴸ"
        for p in data["pairs"]:
            pair = f"{p['cost']} + {p['output']}"
            formula = p["book_formula"]
            rows.append(
                Comparison.identity(
                    f"{pair}: max |δᴸ − {_expr(formula)}|",
                    p["vs_book_formula"],
                    0.0,
                    TOL,
                    f"ch. 3: δᴸ = {formula}; autograd over {n}, float64",
                )
            )
            rows.append(
                Comparison.identity(
                    f"{pair}: engine's BP1 and backpropagated ∂C/∂bᴸ vs autograd, max difference",
                    max(p["vs_engine_bp1"], p["vs_network_bp"]),
                    0.0,
                    TOL,
                    "float64",
                )
            )
        return rows

    def conclude(
        self, config: OutputLayersConfig, data: dict[str, Any], comparisons: list[Comparison]
    ) -> list[str]:
        return conclude(data)

    def tables(self, config: OutputLayersConfig, data: dict[str, Any]) -> list[Table]:
        return [
            Table(
                title="Largest |δᴸ(autograd) − formula| over random zᴸ and one-hot y (float64)",
                columns=[
                    "cost + output",
                    "book's δᴸ",
                    "vs the book's δᴸ",
                    "vs a − y",
                    "vs engine BP1",
                    "∂C/∂bᴸ: engine BP vs autograd",
                ],
                rows=_pair_rows(data),
            ),
            Table(
                title="One sigmoid output, target 0: |δᴸ| by autograd at the slowdown starts",
                columns=["zᴸ", "a = σ(zᴸ)", "quadratic |δᴸ|", "cross-entropy |δᴸ|", "ratio"],
                rows=[
                    [
                        m["z"],
                        m["a"],
                        m["quadratic"],
                        m["cross_entropy"],
                        m["cross_entropy"] / m["quadratic"],
                    ]
                    for m in data["saturation"]["marks"]
                ],
            ),
        ]

    def write_files(self, config: OutputLayersConfig, data: dict[str, Any], out_dir: Path) -> None:
        out = Path(out_dir)
        write_csv(
            out / "output_layers.csv",
            [
                "pair",
                "book_formula",
                "max_dev_book_formula",
                "max_dev_a_minus_y",
                "max_dev_engine_bp1",
                "max_dev_network_backprop",
            ],
            _pair_rows(data),
        )
        c = data["saturation"]
        write_csv(
            out / "output_layers_saturation.csv",
            ["z", "abs_delta_quadratic_sigmoid", "abs_delta_cross_entropy_sigmoid"],
            zip(c["z"], c["quadratic"], c["cross_entropy"]),
        )


def _pair_rows(data: dict[str, Any]) -> list[list[Any]]:
    return [
        [
            f"{p['cost']} + {p['output']}",
            p["book_formula"],
            p["vs_book_formula"],
            p["vs_a_minus_y"],
            p["vs_engine_bp1"],
            p["vs_network_bp"],
        ]
        for p in data["pairs"]
    ]


def _expr(formula: str) -> str:
    """ "a − y" → "(a − y)" so that "δᴸ − (a − y)" reads right; products stay as they are."""
    return formula if "σ′" in formula else f"({formula})"


# -- computing ----------------------------------------------------------------------------------
def autograd_delta(z: torch.Tensor, y: torch.Tensor, cost: str, output: str) -> torch.Tensor:
    """δᴸ = ∂Cₓ/∂zᴸ by autograd: z, y [N, n_out] → [N, n_out] (float64)."""
    z = z.detach().clone().requires_grad_(True)
    c = get_cost(cost, output)
    c.per_example(c.output_fn(z), y).sum().backward()
    assert z.grad is not None
    return z.grad


def book_delta(z: torch.Tensor, y: torch.Tensor, cost: str, output: str) -> torch.Tensor:
    """The book's δᴸ written out from its definitions, not from the engine: a = σ(z), softmax(z)
    or z; δᴸ = (a − y)·a(1 − a) for quadratic + sigmoid, a − y otherwise. z, y [N, n_out]."""
    if output == "sigmoid":
        a = 1 / (1 + torch.exp(-z))
    elif output == "softmax":
        e = torch.exp(z - z.max(-1, keepdim=True).values)
        a = e / e.sum(-1, keepdim=True)
    else:
        a = z
    d = a - y
    return d * a * (1 - a) if (cost, output) == ("quadratic", "sigmoid") else d


def check_pair(config: OutputLayersConfig, cost: str, output: str) -> dict[str, Any]:
    """Largest |δᴸ_autograd − formula| for the pair, over ``config.samples`` random draws."""
    g = torch.Generator().manual_seed(config.seed)
    N, n = config.samples, config.n_out
    z = torch.randn(N, n, generator=g, dtype=torch.float64) * config.z_std
    y = torch.nn.functional.one_hot(torch.randint(n, (N,), generator=g), n).double()
    c = get_cost(cost, output)
    a = c.output_fn(z)
    delta = autograd_delta(z, y, cost, output)
    return {
        "vs_book_formula": float((delta - book_delta(z, y, cost, output)).abs().max()),
        "vs_a_minus_y": float((delta - (a - y)).abs().max()),
        "vs_engine_bp1": float((delta - c.delta(a, y)).abs().max()),
        "vs_network_bp": _network_check(config, cost, output),
        "max_abs_delta": float(delta.abs().max()),
    }


def _network_check(config: OutputLayersConfig, cost: str, output: str) -> float:
    """max |∂C/∂bᴸ by the engine's backprop − by autograd| for a one-layer net, float64."""
    net = Network(
        [5, config.n_out], cost=cost, output=output, seeds=3, seed=config.seed, dtype=torch.float64
    )
    g = torch.Generator().manual_seed(config.seed + 1)
    x = torch.randn(16, 5, generator=g, dtype=torch.float64)
    y = torch.nn.functional.one_hot(torch.randint(config.n_out, (16,), generator=g), config.n_out)
    y = y.double()
    bp = backprop(net, x, y).bias[-1]
    net.zero_grad()
    net.cost.per_example(net(x), y).sum().backward()
    assert net.biases[-1].grad is not None
    return float((bp - net.biases[-1].grad).abs().max())


def saturation_curve() -> dict[str, Any]:
    """|δᴸ| of one sigmoid output with target y = 0 along the line `LINE` and at `MARKS`, by
    autograd; the fitted slope k of ln(|δ_ce| / |δ_quad|) ≈ k·z + c for z ≥ `FIT_FROM`."""
    z = torch.linspace(*LINE[:2], int(LINE[2]), dtype=torch.float64)
    z = torch.cat([z, torch.tensor(MARKS, dtype=torch.float64)]).unsqueeze(-1)
    y = torch.zeros_like(z)
    quad = autograd_delta(z, y, "quadratic", "sigmoid").squeeze(-1).abs()
    ce = autograd_delta(z, y, "cross-entropy", "sigmoid").squeeze(-1).abs()
    P = int(LINE[2])
    zz, q, c = z.squeeze(-1)[:P].numpy(), quad[:P].numpy(), ce[:P].numpy()
    fit = zz >= FIT_FROM
    slope = float(np.polyfit(zz[fit], np.log(c[fit] / q[fit]), 1)[0])
    marks = [
        {
            "z": float(z[P + i, 0]),
            "a": float(torch.sigmoid(z[P + i, 0])),
            "quadratic": float(quad[P + i]),
            "cross_entropy": float(ce[P + i]),
        }
        for i in range(len(MARKS))
    ]
    return {
        "z": zz,
        "quadratic": q,
        "cross_entropy": c,
        "marks": marks,
        "log_ratio_slope": slope,
        "fit_from": FIT_FROM,
    }


# -- concluding ---------------------------------------------------------------------------------
def conclude(data: dict[str, Any]) -> list[str]:
    """Sentences chosen and filled from ``data``."""
    out: list[str] = []
    pairs = data["pairs"]
    good = [p for p in pairs if p["book_formula"] == "a − y"]
    bad = [p for p in pairs if p["book_formula"] != "a − y"]
    head = (
        f"Over {data['samples']} random output layers of {data['n_out']} units (zᴸ ~ N(0, "
        f"{data['z_std']:g}²))"
    )
    wrong = [p for p in pairs if p["vs_book_formula"] > TOL]
    if not wrong:
        worst = max(p["vs_book_formula"] for p in pairs)
        out.append(
            f"{head}, autograd's δᴸ equals the book's formula for all {len(pairs)} pairs to "
            f"within {worst:.1e}: a − y for "
            + ", ".join(f"{p['cost']} + {p['output']}" for p in good)
            + (f"; (a − y)σ′(zᴸ) for {bad[0]['cost']} + {bad[0]['output']}" if bad else "")
            + "."
        )
    else:
        out.append(
            f"{head}, autograd's δᴸ differs from the book's formula for "
            + ", ".join(
                f"{p['cost']} + {p['output']} (by {p['vs_book_formula']:.2g})" for p in wrong
            )
            + ": the engine's cost or output function is not the book's."
        )
    for p in bad:
        if p["vs_a_minus_y"] > TOL:
            out.append(
                f"For {p['cost']} + {p['output']} δᴸ is not a − y: they differ by up to "
                f"{p['vs_a_minus_y']:.3f}, the σ′(zᴸ) factor."
            )
        else:
            out.append(
                f"For {p['cost']} + {p['output']} δᴸ equals a − y to {p['vs_a_minus_y']:.1e}: "
                "the σ′(zᴸ) factor the book describes is missing."
            )
    engine = max(max(p["vs_engine_bp1"], p["vs_network_bp"]) for p in pairs)
    out.append(
        f"The engine's BP1 and its backpropagated ∂C/∂bᴸ agree with autograd to {engine:.1e}."
        if engine <= TOL
        else f"The engine's BP1 or backpropagation DISAGREES with autograd by {engine:.2g}: a bug."
    )
    s = data["saturation"]
    for m in s["marks"]:
        ratio = m["cross_entropy"] / m["quadratic"]
        smaller = "smaller" if ratio > 1 else "LARGER"
        out.append(
            f"A sigmoid output with target 0 at zᴸ = {m['z']:g} (a = {m['a']:.4f}): the quadratic "
            f"cost's |δᴸ| is {m['quadratic']:.4f} against cross-entropy's {m['cross_entropy']:.4f},"
            f" {ratio:.1f}× {smaller}."
        )
    k = s["log_ratio_slope"]
    if abs(k - 1) < 0.05:
        out.append(
            f"Beyond zᴸ = {s['fit_from']:g} the gap grows like e^(kz) with fitted k = {k:.3f}: "
            "quadratic's δᴸ collapses exponentially while cross-entropy's tends to 1."
        )
    else:
        out.append(
            f"Beyond zᴸ = {s['fit_from']:g} the gap grows like e^(kz) with fitted k = {k:.3f}, "
            "not the e^z that 1/σ′(z) implies."
        )
    return out


# Hard-wrapped here for the source; `unwrap` makes each paragraph one line for the report.
OutputLayers.explanation = unwrap(
    """\
δᴸ = ∂C/∂zᴸ is, by the chain rule, ∂C/∂aᴸ times ∂aᴸ/∂zᴸ. For the quadratic cost ∂C/∂a = a − y, and
with a sigmoid output ∂a/∂z = σ′(z), so δᴸ = (a − y)σ′(zᴸ). When the output saturates — z large, a
near 1 while the target is 0 — σ′(z) = a(1 − a) is tiny, so δᴸ and with it every gradient in the
network (BP2–BP4 all start from δᴸ) collapses although the output is badly wrong: the learning
slowdown.

The cross-entropy cost was chosen to remove that factor. Its derivative ∂C/∂a = (a − y)/(a(1 − a))
has exactly σ′(z) = a(1 − a) in the denominator, so the product is δᴸ = a − y: the error drives
learning directly. The log-likelihood cost with a softmax output gives the same δᴸ = a − y (for
one-hot y the softmax's Jacobian cancels ∂C/∂a = −y/a in the same way), and a linear output with
the quadratic cost has ∂a/∂z = 1, so δᴸ = a − y there too.

What is checked how: these formulas hold by calculus, so every row is a check of our code (the
engine's costs, BP1 and backpropagation against autograd), not agreement with a number the book
measured. The figure and the last sentences measure the collapse along zᴸ.
"""
)
