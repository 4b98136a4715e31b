"""``exploding``: the book's exploding-gradient chain, and what gradient descent does to it.

Chapter 5 builds a chain of one sigmoid neuron per layer with every wⱼ = 100 and
bⱼ = −100·aⱼ₋₁, so every zⱼ = 0, σ′(zⱼ) = 1/4 and every factor wⱼσ′(zⱼ) = 25: the gradient
grows by exactly 25 per layer towards the input. We verify that ratio in float64 by the product
formula, the engine's backpropagation and autograd, then take plain gradient steps on the one
example (x, y) with and without clipping the gradient's norm, recording every step.

The construction is deterministic, so there are no seeds: every number is exact, not a sample.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .. import theory
from ..backprop import backprop
from ..book import EXPLODING_FACTOR
from ..errors import ConfigError
from ..io import write_csv
from ..nets import Network
from ._legacy_base import Comparison, Experiment, ExperimentResult, Table, Timer, register, unwrap
from .chain import three_ways

#: Float64 rounding allowed in the ratio 25: one rounding of 100·δ per layer.
RATIO_RTOL = 1e-13

#: (η, clip norm or None) of the gradient-descent runs. Only the step bound η·clip matters
#: once clipping is active; the sensitivity ∂a_L/∂z₁ = 25^{L−1}/4 ≈ 3900 (depth 4) means only
#: steps of about 1e-5 keep the net out of saturation.
RUNS: tuple[tuple[float, float | None], ...] = (
    (0.1, None),
    (1.0, None),
    (0.1, 1.0),
    (0.1, 1e-3),
    (0.1, 1e-4),
)


@dataclass(frozen=True)
class ExplodingConfig:
    """A chain of ``depth`` neurons, wⱼ = ``w``, input ``x``, target ``y``; ``steps`` gradient
    steps for each (η, clip norm) in ``runs``."""

    depth: int = 4
    w: float = 100.0
    x: float = 1.0
    y: float = 0.7
    cost: str = "quadratic"
    steps: int = 100
    runs: tuple[tuple[float, float | None], ...] = RUNS
    quick: bool = False


#: The experiment's configuration under its conventional name.
Config = ExplodingConfig


@register
class Exploding(Experiment):
    name = "exploding"
    title = "The exploding gradient: wⱼ = 100, zⱼ = 0"
    book_ref = "Chapter 5, “The exploding gradient problem”"
    Config = ExplodingConfig

    def quick_config(self) -> ExplodingConfig:
        return ExplodingConfig(steps=30, quick=True)

    def run(
        self,
        config: ExplodingConfig,
        *,
        data: str | None = None,
        out_dir: Path,
        progress: Callable[[str], None] | None = None,
    ) -> ExperimentResult:
        say = progress or (lambda _msg: None)
        if config.depth < 2:
            raise ConfigError(f"exploding depth must be at least 2, got {config.depth}")
        if config.steps < 1:
            raise ConfigError(f"steps must be a positive integer, got {config.steps}")
        out_dir = Path(out_dir)
        with Timer() as timer:
            say(f"exploding: ∂C/∂bⱼ of the w = {config.w:g} chain, depth {config.depth}")
            grads = exact_gradients(config)
            runs = []
            for eta, clip in config.runs:
                say(f"exploding: {config.steps} steps, η = {eta:g}, clip = {clip}")
                runs.append(descend(config, eta, clip))
            result = _result(config, grads, runs, out_dir)
        result.seconds = timer.seconds
        result.write(out_dir)
        return result


def exploding_net(config: ExplodingConfig) -> Network:
    """The book's construction as an engine `Network` [1, 1, …, 1] in float64 (one seed)."""
    net = Network([1] * (config.depth + 1), cost=config.cost, dtype=torch.float64)
    b = theory.exploding_biases(config.depth, config.w, config.x)
    with torch.no_grad():
        for j, (wj, bj) in enumerate(zip(net.weights, net.biases)):
            wj.fill_(config.w)
            bj.fill_(float(b[j]))
    return net


def exact_gradients(config: ExplodingConfig) -> dict[str, Any]:
    """∂C/∂bⱼ three ways, the ratios ∂C/∂bⱼ / ∂C/∂bⱼ₊₁ and the factors wⱼσ′(zⱼ)."""
    net = exploding_net(config)
    g = three_ways(net, config.x, config.y)
    bp = g["bp"][0]
    ratios = (bp[:-1] / bp[1:]).tolist()
    z, _ = theory.chain_forward(g["w"], g["b"], config.x)
    return {
        "bias_gradients": bp.tolist(),
        "product": g["product"][0].tolist(),
        "autograd": g["autograd"][0].tolist(),
        "ratios": ratios,
        "z": z[0].tolist(),
        "factors": theory.chain_factors(g["w"], g["b"], config.x)[0].tolist(),
        "max_rel_disagreement": max(
            float(((g[k] - g["bp"]).abs() / g["bp"].abs()).max()) for k in ("product", "autograd")
        ),
    }


def descend(config: ExplodingConfig, eta: float, clip: float | None) -> dict[str, Any]:
    """``config.steps`` steps θ ← θ − η·g on the one example, g clipped to norm ``clip``.

    Returns per-step lists (index 0 = before the first step, so steps + 1 entries) of the
    cost, output a_L, max |zⱼ|, ‖θ‖ and |∂C/∂b₁|; and per-step lists (``steps`` entries) of the
    gradient norm before clipping and the length of the step taken.
    """
    net = exploding_net(config)
    params = [*net.weights, *net.biases]
    x = torch.tensor([[config.x]], dtype=torch.float64)
    y = torch.tensor([[config.y]], dtype=torch.float64)
    rec: dict[str, Any] = {"eta": eta, "clip_norm": clip}
    keys = ("cost", "output", "max_abs_z", "param_norm", "abs_dC_db1", "grad_norm", "step_norm")
    for k in keys:
        rec[k] = []
    for step in range(config.steps + 1):
        with torch.no_grad():
            out = net(x)
            g = backprop(net, x, y)  # the engine's BP1–BP4; one example, so Σₓ = the gradient
        grads = [*g.weight, *g.bias]
        gnorm = math.sqrt(sum(float(t.pow(2).sum()) for t in grads))
        w = torch.stack([p.detach()[0, 0, 0] for p in net.weights])
        b = torch.stack([p.detach()[0, 0] for p in net.biases])
        z, _ = theory.chain_forward(w, b, config.x)
        rec["cost"].append(float(net.cost_per_seed(out, y)[0]))
        rec["output"].append(float(out[0, 0, 0]))
        rec["max_abs_z"].append(float(z.abs().max()))
        rec["param_norm"].append(float(torch.cat([w, b]).norm()))
        rec["abs_dC_db1"].append(abs(float(g.bias[0][0, 0])))
        if step == config.steps:
            break
        scale = 1.0 if clip is None or gnorm <= clip else clip / gnorm
        with torch.no_grad():
            for p, t in zip(params, grads):
                p.sub_(t, alpha=eta * scale)
        rec["grad_norm"].append(gnorm)
        rec["step_norm"].append(eta * scale * gnorm)
    return rec


def run_label(run: dict[str, Any]) -> str:
    clip = run["clip_norm"]
    return f"η = {run['eta']:g}, " + ("no clipping" if clip is None else f"clip ‖g‖ ≤ {clip:g}")


def _verdict(run: dict[str, Any], config: ExplodingConfig) -> str:
    """One phrase for the table: what gradient descent did to the net."""
    saturated = max(run["max_abs_z"][1:]) > 20
    final_err = abs(run["output"][-1] - config.y)
    if saturated and min(run["grad_norm"][1:] or [math.inf]) < 1e-3:
        return "saturated, gradient vanished"
    if saturated:
        return "thrown into saturation, bounces"
    if final_err < 0.05:
        return "bounded, near the target"
    return "bounded, not converged"


def _result(
    config: ExplodingConfig, grads: dict[str, Any], runs: list[dict[str, Any]], out_dir: Path
) -> ExperimentResult:
    from ..report.plots.exploding import plot_bias_gradients
    from ..report.plots.exploding_steps import plot_steps

    L = config.depth
    ratios = grads["ratios"]
    lo, hi = min(ratios), max(ratios)
    factor = grads["factors"][0]
    comparisons = [
        Comparison(
            "wⱼσ′(zⱼ), every layer",
            factor,
            EXPLODING_FACTOR,
            min(grads["factors"]),
            max(grads["factors"]),
            "min–max over layers, exact",
        ),
        Comparison(
            "∂C/∂bⱼ / ∂C/∂bⱼ₊₁, every j",
            sum(ratios) / len(ratios),
            EXPLODING_FACTOR,
            lo * (1 - RATIO_RTOL),
            hi * (1 + RATIO_RTOL),
            f"min–max over j, ± {RATIO_RTOL:g} relative (float64 rounding)",
        ),
        Comparison(
            "∂C/∂b₁ / ∂C/∂b_L",
            grads["bias_gradients"][0] / grads["bias_gradients"][-1],
            EXPLODING_FACTOR ** (L - 1),
            grads["bias_gradients"][0] / grads["bias_gradients"][-1] * (1 - L * RATIO_RTOL),
            grads["bias_gradients"][0] / grads["bias_gradients"][-1] * (1 + L * RATIO_RTOL),
            f"25^{L - 1}, float64 rounding",
        ),
    ]
    grad_rows = [
        [
            j + 1,
            grads["z"][j],
            grads["factors"][j],
            grads["bias_gradients"][j],
            grads["product"][j],
            grads["autograd"][j],
            ratios[j] if j < L - 1 else None,
        ]
        for j in range(L)
    ]
    run_rows = [
        [
            run_label(r),
            r["grad_norm"][0],
            max(r["step_norm"]),
            r["param_norm"][-1],
            r["output"][-1],
            r["cost"][-1],
            r["grad_norm"][-1],
            _verdict(r, config),
        ]
        for r in runs
    ]
    write_csv(
        out_dir / "exploding_gradients.csv",
        [
            "layer",
            "z",
            "w_sigma_prime",
            "dC_db_bp",
            "dC_db_product",
            "dC_db_autograd",
            "ratio_to_next",
        ],
        grad_rows,
    )
    write_csv(
        out_dir / "exploding_steps.csv",
        [
            "eta",
            "clip_norm",
            "step",
            "cost",
            "output",
            "max_abs_z",
            "param_norm",
            "abs_dC_db1",
            "grad_norm",
            "step_norm",
        ],
        [
            [
                r["eta"],
                r["clip_norm"],
                t,
                r["cost"][t],
                r["output"][t],
                r["max_abs_z"][t],
                r["param_norm"][t],
                r["abs_dC_db1"][t],
                r["grad_norm"][t] if t < config.steps else None,
                r["step_norm"][t] if t < config.steps else None,
            ]
            for r in runs
            for t in range(config.steps + 1)
        ],
    )
    figures = [
        plot_bias_gradients(grads["bias_gradients"], out_dir),
        plot_steps(runs, config.y, out_dir),
    ]
    return Exploding.make_result(
        config,
        summary=_summary(config, grads, runs),
        explanation=EXPLANATION,
        comparisons=comparisons,
        tables=[
            Table(
                title="∂C/∂bⱼ of the construction, three ways (float64)",
                columns=[
                    "layer j",
                    "zⱼ",
                    "wⱼσ′(zⱼ)",
                    "∂C/∂bⱼ (BP)",
                    "product formula",
                    "autograd",
                    "∂C/∂bⱼ / ∂C/∂bⱼ₊₁",
                ],
                rows=grad_rows,
            ),
            Table(
                title=f"{config.steps} gradient steps on (x, y) = ({config.x:g}, {config.y:g})",
                columns=[
                    "run",
                    "‖g‖ at start",
                    "largest step ‖Δθ‖",
                    "final ‖θ‖",
                    "final a_L",
                    "final cost",
                    "final ‖g‖",
                    "outcome",
                ],
                rows=run_rows,
            ),
        ],
        figures=figures,
        data={
            "bias_gradients": grads["bias_gradients"],
            "bias_gradients_product": grads["product"],
            "bias_gradients_autograd": grads["autograd"],
            "ratios": ratios,
            "z": grads["z"],
            "factors": grads["factors"],
            "max_rel_disagreement": grads["max_rel_disagreement"],
            "runs": runs,
        },
    )


def _summary(config: ExplodingConfig, grads: dict[str, Any], runs: list[dict[str, Any]]) -> str:
    g = grads["bias_gradients"]
    ratios = grads["ratios"]
    dev = max(abs(r / EXPLODING_FACTOR - 1) for r in ratios)
    plain = [r for r in runs if r["clip_norm"] is None]
    clipped = [r for r in runs if r["clip_norm"] is not None]
    text = (
        f"With every wⱼ = {config.w:g} and bⱼ = −{config.w:g}·aⱼ₋₁, every zⱼ = 0 and every factor "
        f"wⱼσ′(zⱼ) = {grads['factors'][0]:g}; |∂C/∂bⱼ| grows from {abs(g[-1]):.4g} at the output "
        f"to {abs(g[0]):.4g} at the first layer, each ratio ∂C/∂bⱼ/∂C/∂bⱼ₊₁ equal to 25 within "
        f"{dev:.1e} (float64). "
    )
    if plain:
        r = plain[0]
        text += (
            f"One unclipped step (η = {r['eta']:g}) of length {r['step_norm'][0]:.3g} throws the "
            f"net into saturation (max |zⱼ| = {r['max_abs_z'][1]:.3g}, "
            f"output {r['output'][1]:.3f}), "
            f"after which the gradient is {r['grad_norm'][-1]:.2g}: the explosion turns into a "
            "vanishing gradient. "
        )
    bounded = [r for r in clipped if max(r["max_abs_z"]) < 20]
    if bounded:
        r = bounded[-1]
        text += (
            "Clipping bounds each step by η·clip; only at η·clip = "
            f"{r['eta'] * r['clip_norm']:.0e} does the net stay unsaturated "
            f"(output {min(r['output'][1:]):.3f}–{max(r['output'][1:]):.3f} "
            f"around the target {config.y:g})."
        )
    return text


# Hard-wrapped here for the source; `unwrap` makes each paragraph one line for the report.
EXPLANATION = unwrap(
    """\
The exploding construction makes every factor of the chain's product as large as the sigmoid allows
for a given weight: zⱼ = 0 puts each neuron at σ′'s peak of 1/4, and wⱼ = 100 multiplies it to 25.
Backpropagation multiplies by one such factor per layer, so ∂C/∂bⱼ is exactly 25 times ∂C/∂bⱼ₊₁ and
the first layer's gradient is 25^(L−1) times the last one's. Earlier layers now learn far faster
than later ones: the gradient is unstable in the other direction.

Gradient descent cannot use such a gradient. A step of ordinary size moves the first layer's
parameters by hundreds, which pushes every zⱼ far from 0; the sigmoids saturate, σ′ becomes tiny
and the gradient vanishes — the net is stuck. Clipping the gradient's norm bounds each step by η
times the clip, but the output is so sensitive to the first layer (∂a_L/∂z₁ = 25^(L−1)/4) that only
tiny steps keep the net unsaturated; even then it bounces around the target rather than converging,
because the curvature is huge in that direction. The deeper lesson, as the book says, is that the
gradient in deep sigmoid nets is unstable: it is a product of many factors, so it either vanishes
or explodes unless the factors are balanced near 1.
"""
)
