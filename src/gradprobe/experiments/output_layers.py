"""``output-layers``: the output error δᴸ = ∂C/∂zᴸ of the book's four cost/output pairs.

Chapter 3 shows that δᴸ = aᴸ − y for cross-entropy + sigmoid, log-likelihood + softmax and
quadratic + linear outputs, but δᴸ = (aᴸ − y) ⊙ σ′(zᴸ) for quadratic + sigmoid, whose σ′
makes a saturated, wrong output learn slowly. For many random zᴸ and one-hot targets y we take
δᴸ from `torch.autograd` (of the engine's cost and output functions, float64) and measure its
largest deviation from a − y and from (a − y)σ′(z); we also check the engine's hand-written
BP1 (`Cost.delta`) and, through a one-layer `Network`, its backpropagated ∂C/∂bᴸ.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .. import theory
from ..backprop import backprop
from ..costs import get_cost
from ..errors import ConfigError
from ..io import write_csv
from ..nets import Network
from ._legacy_base import Comparison, Experiment, ExperimentResult, Table, Timer, register, unwrap

#: (cost, output) in the order of the issue; the book's formula for each δᴸ.
PAIRS: tuple[tuple[str, str, str], ...] = (
    ("quadratic", "sigmoid", "(a − y)·σ′(z)"),
    ("cross-entropy", "sigmoid", "a − y"),
    ("log-likelihood", "softmax", "a − y"),
    ("quadratic", "linear", "a − y"),
)
#: Float64 agreement we call exact (δᴸ values are O(1)).
TOL = 1e-12


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
class OutputLayers(Experiment):
    name = "output-layers"
    title = "Output errors δᴸ of the four cost/output pairs"
    book_ref = "Chapter 3, “The cross-entropy cost function” and “Softmax”"
    Config = OutputLayersConfig

    def quick_config(self) -> OutputLayersConfig:
        return OutputLayersConfig(samples=300, quick=True)

    def run(
        self,
        config: OutputLayersConfig,
        *,
        data: str | None = None,
        out_dir: Path,
        progress: Callable[[str], None] | None = None,
    ) -> ExperimentResult:
        say = progress or (lambda _msg: None)
        if config.samples < 1 or config.n_out < 2:
            raise ConfigError("output-layers needs samples ≥ 1 and n_out ≥ 2")
        out_dir = Path(out_dir)
        with Timer() as timer:
            rows = []
            for cost, output, formula in PAIRS:
                say(f"output-layers: δᴸ of {cost} + {output}, {config.samples} samples")
                rows.append(
                    {
                        "cost": cost,
                        "output": output,
                        "book_formula": formula,
                        **check_pair(config, cost, output),
                    }
                )
            curve = saturation_curve()
            result = _result(config, rows, curve, out_dir)
        result.seconds = timer.seconds
        result.write(out_dir)
        return result


def autograd_delta(z: torch.Tensor, y: torch.Tensor, cost: str, output: str) -> torch.Tensor:
    """δᴸ = ∂Cₓ/∂zᴸ by autograd: z, y [N, n_out] → [N, n_out] (float64)."""
    z = z.detach().clone().requires_grad_(True)
    c = get_cost(cost, output)
    c.per_example(c.output_fn(z), y).sum().backward()
    assert z.grad is not None
    return z.grad


def check_pair(config: OutputLayersConfig, cost: str, output: str) -> dict[str, Any]:
    """Largest |δᴸ_autograd − formula| for the pair, over ``config.samples`` random draws."""
    g = torch.Generator().manual_seed(config.seed)
    N, n = config.samples, config.n_out
    z = torch.randn(N, n, generator=g, dtype=torch.float64) * config.z_std
    y = torch.nn.functional.one_hot(torch.randint(n, (N,), generator=g), n).double()
    c = get_cost(cost, output)
    a = c.output_fn(z)
    delta = autograd_delta(z, y, cost, output)
    prime = {"sigmoid": a * (1 - a), "linear": torch.ones_like(a)}.get(output)
    out: dict[str, Any] = {
        "vs_a_minus_y": float((delta - (a - y)).abs().max()),
        "vs_a_minus_y_sigma_prime": None
        if prime is None
        else float((delta - (a - y) * prime).abs().max()),
        "vs_engine_bp1": float((delta - c.delta(a, y)).abs().max()),
        "vs_theory": float((delta - theory.output_delta(z, y, cost, output)).abs().max()),
        "max_abs_delta": float(delta.abs().max()),
    }
    out["vs_network_bp"] = _network_check(config, cost, output)
    return out


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


def saturation_curve(
    lo: float = -4.0, hi: float = 12.0, points: int = 161
) -> dict[str, list[float]]:
    """|δᴸ| of one sigmoid output with target y = 0 along zᴸ ∈ [lo, hi], by autograd."""
    z = torch.linspace(lo, hi, points, dtype=torch.float64).unsqueeze(-1)
    y = torch.zeros_like(z)
    quad = autograd_delta(z, y, "quadratic", "sigmoid").squeeze(-1)
    ce = autograd_delta(z, y, "cross-entropy", "sigmoid").squeeze(-1)
    return {
        "z": z.squeeze(-1).tolist(),
        "quadratic": quad.abs().tolist(),
        "cross_entropy": ce.abs().tolist(),
    }


def _result(
    config: OutputLayersConfig,
    rows: list[dict[str, Any]],
    curve: dict[str, list[float]],
    out_dir: Path,
) -> ExperimentResult:
    from ..report.plots.output_layers import plot_saturation

    comparisons = []
    table_rows = []
    for r in rows:
        pair = f"{r['cost']} + {r['output']}"
        is_a_minus_y = r["book_formula"] == "a − y"
        dev = r["vs_a_minus_y"] if is_a_minus_y else r["vs_a_minus_y_sigma_prime"]
        comparisons.append(
            Comparison(
                f"{pair}: max |δᴸ − {_expr(r['book_formula'])}|",
                dev,
                0.0,
                0.0,
                TOL,
                f"float64 agreement, ≤ {TOL:g}",
                note=f"autograd over {config.samples}×{config.n_out} random zᴸ",
            )
        )
        if not is_a_minus_y:
            comparisons.append(
                Comparison(
                    f"{pair}: max |δᴸ − (a − y)|",
                    r["vs_a_minus_y"],
                    None,
                    note="not a − y: the σ′(zᴸ) factor remains",
                )
            )
        table_rows.append(
            [
                pair,
                r["book_formula"],
                r["vs_a_minus_y"],
                r["vs_a_minus_y_sigma_prime"],
                r["vs_engine_bp1"],
                r["vs_network_bp"],
            ]
        )
    write_csv(
        out_dir / "output_layers.csv",
        [
            "pair",
            "book_formula",
            "max_dev_a_minus_y",
            "max_dev_a_minus_y_sigma_prime",
            "max_dev_engine_bp1",
            "max_dev_network_backprop",
        ],
        table_rows,
    )
    write_csv(
        out_dir / "output_layers_saturation.csv",
        ["z", "abs_delta_quadratic_sigmoid", "abs_delta_cross_entropy_sigmoid"],
        zip(curve["z"], curve["quadratic"], curve["cross_entropy"]),
    )
    return OutputLayers.make_result(
        config,
        summary=_summary(config, rows),
        explanation=EXPLANATION,
        comparisons=comparisons,
        tables=[
            Table(
                title="Largest |δᴸ(autograd) − formula| over random zᴸ and one-hot y (float64)",
                columns=[
                    "cost + output",
                    "book's δᴸ",
                    "vs a − y",
                    "vs (a − y)σ′(z)",
                    "vs engine BP1",
                    "∂C/∂bᴸ: engine BP vs autograd",
                ],
                rows=table_rows,
            )
        ],
        figures=[plot_saturation(curve, out_dir)],
        data={"pairs": rows, "saturation": curve},
    )


def _expr(formula: str) -> str:
    """ "a − y" → "(a − y)" so that "δᴸ − (a − y)" reads right; products stay as they are."""
    return formula if "σ′" in formula else f"({formula})"


def _summary(config: OutputLayersConfig, rows: list[dict[str, Any]]) -> str:
    good = [r for r in rows if r["book_formula"] == "a − y"]
    worst_good = max(r["vs_a_minus_y"] for r in good)
    quad = next(r for r in rows if r["book_formula"] != "a − y")
    z = 4.0
    a = float(theory.sigmoid(z))
    return (
        f"Over {config.samples} random output layers of {config.n_out} units (zᴸ ~ N(0, "
        f"{config.z_std:g}²)), autograd's δᴸ equals a − y for cross-entropy + sigmoid, "
        f"log-likelihood + softmax and quadratic + linear to within {worst_good:.1e}, and "
        f"(a − y)σ′(zᴸ) for quadratic + sigmoid to within {quad['vs_a_minus_y_sigma_prime']:.1e} — "
        f"where it differs from a − y by up to {quad['vs_a_minus_y']:.3f}. "
        f"For a wrong, saturated sigmoid output (target 0, zᴸ = {z:g}, a = {a:.3f}) the quadratic "
        f"cost's δᴸ is {a * a * (1 - a):.4f} against cross-entropy's {a:.3f}: "
        f"{1 / (a * (1 - a)):.0f}× smaller, and the gap grows as e^z."
    )


# Hard-wrapped here for the source; `unwrap` makes each paragraph one line for the report.
EXPLANATION = unwrap(
    """\
δᴸ = ∂C/∂zᴸ is, by the chain rule, ∂C/∂aᴸ times ∂aᴸ/∂zᴸ. For the quadratic cost ∂C/∂a = a − y, and
with a sigmoid output ∂a/∂z = σ′(z), so δᴸ = (a − y)σ′(zᴸ). When the output saturates — z large, a
near 1 while the target is 0 — σ′(z) = a(1 − a) is tiny, so δᴸ and with it every gradient in the
network (BP2–BP4 all start from δᴸ) collapses although the output is badly wrong: the learning
slowdown.

The cross-entropy cost was chosen to remove that factor. Its derivative ∂C/∂a = (a − y)/(a(1 − a))
has exactly σ′(z) = a(1 − a) in the denominator, so the product is δᴸ = a − y: the error drives
learning directly, largest when the neuron is most wrong. The log-likelihood cost with a softmax
output gives the same δᴸ = a − y (for one-hot y the softmax's Jacobian cancels ∂C/∂a = −y/a in the
same way), and a linear output with the quadratic cost has ∂a/∂z = 1, so δᴸ = a − y there too. The
figure shows the collapse: along zᴸ with target 0, |δᴸ| of quadratic + sigmoid peaks and then falls
like e^(−z), while cross-entropy's |δᴸ| = a approaches 1.
"""
)
