"""``exploding``: the book's exploding-gradient chain, and what gradient descent does to it.

Chapter 5 builds a chain of one sigmoid neuron per layer with every wⱼ = 100 and
bⱼ = −100·aⱼ₋₁, so every zⱼ = 0, σ′(zⱼ) = 1/4 and every factor wⱼσ′(zⱼ) = 25: the gradient
grows by exactly 25 per layer towards the input. We verify that in float64 by the product
formula, the engine's backpropagation and autograd (all ``identity`` checks: true by
construction, not agreement with a measurement of the book's), then take plain gradient steps
on the one example (x, y) with and without clipping the gradient's norm, recording every step.
The book does not train this chain; what the steps do is our measurement, described by
sentences computed from it.

The construction is deterministic, so there are no seeds: every number is exact, not a sample.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .. import theory
from ..backprop import backprop
from ..book import EXPLODING_WEIGHT
from ..errors import ConfigError
from ..io import write_csv
from ..nets import Network
from ..results import Comparison, Table
from .base import Experiment, RunContext, register, unwrap
from .chain import max_rel, three_ways

#: Float64 rounding allowed per layer in the ratio 25 (one rounding of w·δ per layer).
RATIO_RTOL = 1e-13
#: The three ways to ∂C/∂bⱼ must agree to this relative difference.
REL_TOL = 1e-12
#: A run "saturates" once some |zⱼ| exceeds this: σ′(10) ≈ 4.5e-5, 5500 times below σ′(0).
SATURATED_Z = 10.0
#: A run "ends near the target" when its final |a_L − y| is below this.
NEAR_TARGET = 0.05
#: A gradient has "vanished" when its norm has fallen below this fraction of the initial one.
VANISHED = 1e-6

#: (η, clip norm or None) of the gradient-descent runs. Once clipping is active a step is at
#: most η·clip long.
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
    w: float = EXPLODING_WEIGHT
    x: float = 1.0
    y: float = 0.7
    cost: str = "quadratic"
    steps: int = 100
    runs: tuple[tuple[float, float | None], ...] = RUNS
    quick: bool = False


#: The experiment's configuration under its conventional name.
Config = ExplodingConfig


@register
class Exploding(Experiment[ExplodingConfig]):
    name = "exploding"
    title = "The exploding gradient: wⱼ = 100, zⱼ = 0"
    book_ref = "Chapter 5, “The exploding gradient problem”"
    order = 60
    typical_seconds = (0.4, 6)  # scheduling hint (RESULTS.md)
    Config = ExplodingConfig
    quick_note = """30 gradient steps instead of 100; the exact gradients and their checks are
    the same as in a full run. Takes seconds."""

    def quick_config(self) -> ExplodingConfig:
        return ExplodingConfig(steps=30, quick=True)

    def validate(self, config: ExplodingConfig) -> None:
        super().validate(config)
        if isinstance(config.depth, bool) or not isinstance(config.depth, int) or config.depth < 2:
            raise ConfigError(f"exploding depth must be an integer ≥ 2, got {config.depth!r}")
        if isinstance(config.steps, bool) or not isinstance(config.steps, int) or config.steps < 1:
            raise ConfigError(f"steps must be a positive integer, got {config.steps!r}")
        if config.cost not in ("quadratic", "cross-entropy"):
            raise ConfigError(f"cost must be quadratic or cross-entropy, got {config.cost!r}")
        for eta, clip in config.runs:
            if not (eta > 0 and math.isfinite(eta)) or (clip is not None and not clip > 0):
                raise ConfigError(f"each run needs η > 0 and a clip norm > 0 or None: {eta, clip}")

    def compute(self, config: ExplodingConfig, ctx: RunContext) -> dict[str, Any]:
        n = len(config.runs)
        ctx.progress(f"∂C/∂bⱼ of the w = {config.w:g} chain, depth {config.depth}", 0, n + 1)
        data: dict[str, Any] = {"depth": config.depth, "w": config.w, "y": config.y}
        data.update(exact_gradients(config))
        runs = []
        for i, (eta, clip) in enumerate(config.runs):
            ctx.progress(f"{config.steps} steps, η = {eta:g}, clip = {clip}", i + 1, n + 1)
            runs.append(descend(config, eta, clip))
        data["runs"] = runs
        return data

    def compare(self, config: ExplodingConfig, data: dict[str, Any]) -> list[Comparison]:
        L = data["depth"]
        factor = data["w"] * data["sigma_prime_0"]  # w·σ′(0), computed
        f_dev = max(data["factors"], key=lambda v: abs(v - factor))
        r_dev = max(data["ratios"], key=lambda v: abs(v - factor))
        g = data["bias_gradients"]
        src = "by construction: zⱼ = 0, so wⱼσ′(zⱼ) = w·σ′(0) (the book: “100 × 1/4 = 25”)"
        return [
            Comparison.identity(
                "wⱼσ′(zⱼ), the layer farthest from w·σ′(0)",
                f_dev,
                factor,
                abs(factor) * RATIO_RTOL,
                src,
            ),
            Comparison.identity(
                "∂C/∂bⱼ / ∂C/∂bⱼ₊₁, the j farthest from w·σ′(0)",
                r_dev,
                factor,
                abs(factor) * RATIO_RTOL,
                src,
            ),
            Comparison.identity(
                "∂C/∂b₁ / ∂C/∂b_L",
                g[0] / g[-1],
                factor ** (L - 1),
                abs(factor) ** (L - 1) * L * RATIO_RTOL,
                f"(w·σ′(0))^(L−1) = {factor:g}^{L - 1}, by construction",
            ),
            Comparison.identity(
                "∂C/∂bⱼ: product formula and autograd vs BP1–BP4, max relative difference",
                data["max_rel_disagreement"],
                0.0,
                REL_TOL,
                "float64",
            ),
        ]

    def conclude(
        self, config: ExplodingConfig, data: dict[str, Any], comparisons: list[Comparison]
    ) -> list[str]:
        return conclude(data)

    def tables(self, config: ExplodingConfig, data: dict[str, Any]) -> list[Table]:
        return [
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
                rows=_gradient_rows(data),
            ),
            Table(
                title=f"{config.steps} gradient steps on (x, y) = ({config.x:g}, {config.y:g}); "
                f"saturated: some |zⱼ| > {SATURATED_Z:g}",
                columns=[
                    "run",
                    "‖g‖ at start",
                    "largest step ‖Δθ‖",
                    "max |zⱼ| after start",
                    "final a_L",
                    "final cost",
                    "final ‖g‖",
                    "outcome",
                ],
                rows=[
                    [
                        run_label(r),
                        r["grad_norm"][0],
                        max(r["step_norm"]),
                        max(r["max_abs_z"][1:]),
                        r["output"][-1],
                        r["cost"][-1],
                        r["grad_norm"][-1],
                        outcome(r, data["y"]),
                    ]
                    for r in data["runs"]
                ],
            ),
        ]

    def write_files(self, config: ExplodingConfig, data: dict[str, Any], out_dir: Path) -> None:
        out = Path(out_dir)
        write_csv(
            out / "exploding_gradients.csv",
            [
                "layer",
                "z",
                "w_sigma_prime",
                "dC_db_bp",
                "dC_db_product",
                "dC_db_autograd",
                "ratio_to_next",
            ],
            _gradient_rows(data),
        )
        steps = config.steps
        write_csv(
            out / "exploding_steps.csv",
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
                    r["grad_norm"][t] if t < steps else None,
                    r["step_norm"][t] if t < steps else None,
                ]
                for r in data["runs"]
                for t in range(steps + 1)
            ],
        )


def _gradient_rows(data: dict[str, Any]) -> list[list[Any]]:
    L = data["depth"]
    return [
        [
            j + 1,
            data["z"][j],
            data["factors"][j],
            data["bias_gradients"][j],
            data["bias_gradients_product"][j],
            data["bias_gradients_autograd"][j],
            data["ratios"][j] if j < L - 1 else None,
        ]
        for j in range(L)
    ]


# -- computing ----------------------------------------------------------------------------------
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
    """∂C/∂bⱼ three ways [L], the ratios ∂C/∂bⱼ / ∂C/∂bⱼ₊₁ [L − 1], zⱼ and wⱼσ′(zⱼ) [L], and
    σ′(0) computed in float64."""
    net = exploding_net(config)
    g = three_ways(net, config.x, config.y)
    bp = g["bp"][0]
    z, _ = theory.chain_forward(g["w"], g["b"], config.x)
    half = torch.sigmoid(torch.zeros((), dtype=torch.float64))
    return {
        "bias_gradients": bp.tolist(),
        "bias_gradients_product": g["product"][0].tolist(),
        "bias_gradients_autograd": g["autograd"][0].tolist(),
        "ratios": (bp[:-1] / bp[1:]).tolist(),
        "z": z[0].tolist(),
        "factors": theory.chain_factors(g["w"], g["b"], config.x)[0].tolist(),
        "sigma_prime_0": float(half * (1 - half)),
        "max_rel_disagreement": max(max_rel(g[k], g["bp"]) for k in ("product", "autograd")),
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


# -- describing ---------------------------------------------------------------------------------
def run_label(run: dict[str, Any]) -> str:
    clip = run["clip_norm"]
    return f"η = {run['eta']:g}, " + ("no clipping" if clip is None else f"clip ‖g‖ ≤ {clip:g}")


def saturated(run: dict[str, Any]) -> bool:
    """Whether some |zⱼ| exceeded `SATURATED_Z` after the start."""
    return max(run["max_abs_z"][1:]) > SATURATED_Z


def vanished(run: dict[str, Any]) -> bool:
    """Whether the gradient norm fell below `VANISHED` times its initial value."""
    g = run["grad_norm"]
    return min(g[1:] or [math.inf]) < VANISHED * g[0]


def outcome(run: dict[str, Any], y: float) -> str:
    """One phrase for the table: what gradient descent did to the net."""
    if saturated(run):
        return "saturated, gradient vanished" if vanished(run) else "saturated"
    if abs(run["output"][-1] - y) < NEAR_TARGET:
        return "unsaturated, near the target"
    return "unsaturated, not near the target"


def _set(values: list[float]) -> str:
    return "{" + ", ".join(f"{v:.0e}" for v in sorted(set(values))) + "}"


def conclude(data: dict[str, Any]) -> list[str]:
    """Sentences chosen and filled from ``data``."""
    out: list[str] = []
    g, ratios = data["bias_gradients"], data["ratios"]
    factor = data["w"] * data["sigma_prime_0"]
    dev = max(abs(r / factor - 1) for r in ratios)
    grows = all(abs(g[j]) > abs(g[j + 1]) for j in range(len(g) - 1))
    if dev <= RATIO_RTOL:
        out.append(
            f"With every wⱼ = {data['w']:g} and every zⱼ = 0, every factor wⱼσ′(zⱼ) = "
            f"{factor:g}; |∂C/∂bⱼ| grows from {abs(g[-1]):.4g} at the output to {abs(g[0]):.4g} "
            f"at the first layer, each ratio ∂C/∂bⱼ / ∂C/∂bⱼ₊₁ equal to {factor:g} within a "
            f"relative {dev:.1e} (float64)."
        )
    else:
        out.append(
            f"The ratios ∂C/∂bⱼ / ∂C/∂bⱼ₊₁ deviate from w·σ′(0) = {factor:g} by a relative "
            f"{dev:.1e}, more than float64 rounding: the construction or the engine is wrong."
            + ("" if grows else " The gradient does not even grow towards the input.")
        )
    y = data["y"]
    for r in (r for r in data["runs"] if r["clip_norm"] is None):
        if saturated(r):
            end = (
                f"after which the gradient norm is {r['grad_norm'][-1]:.2g}: the explosion has "
                "turned into a vanishing gradient"
                if vanished(r)
                else f"and the gradient norm ends at {r['grad_norm'][-1]:.2g}"
            )
            first = next(t for t, z in enumerate(r["max_abs_z"]) if z > SATURATED_Z)
            out.append(
                f"Unclipped, η = {r['eta']:g}: the first step has length {r['step_norm'][0]:.3g}; "
                f"by step {first} the net is saturated (max |zⱼ| = {max(r['max_abs_z']):.3g}, "
                f"output {r['output'][-1]:.3f}), {end}."
            )
        else:
            out.append(
                f"Unclipped, η = {r['eta']:g}: the net stays unsaturated (max |zⱼ| = "
                f"{max(r['max_abs_z']):.2g}) and ends at output {r['output'][-1]:.3f} "
                f"(target {y:g})."
            )
    clipped = [r for r in data["runs"] if r["clip_norm"] is not None]
    if clipped:
        ok = [r for r in clipped if not saturated(r)]
        bad = [r for r in clipped if saturated(r)]
        text = "Clipping bounds each step by η·clip. "
        if ok:
            zmax = max(max(r["max_abs_z"]) for r in ok)
            lo = min(min(r["output"][1:]) for r in ok)
            hi = max(max(r["output"][1:]) for r in ok)
            near = [r for r in ok if abs(r["output"][-1] - y) < NEAR_TARGET]
            text += (
                f"With η·clip ∈ {_set([r['eta'] * r['clip_norm'] for r in ok])} the net stays "
                f"unsaturated (max |zⱼ| ≤ {zmax:.2g}, outputs {lo:.3f}–{hi:.3f}; target {y:g}"
                f"; {len(near)} of {len(ok)} end within {NEAR_TARGET:g} of it)"
            )
            text += (
                f"; with η·clip ∈ {_set([r['eta'] * r['clip_norm'] for r in bad])} it saturates."
                if bad
                else "."
            )
        else:
            text += "Every clipped run saturates all the same."
        out.append(text)
    return out


# Hard-wrapped here for the source; `unwrap` makes each paragraph one line for the report.
Exploding.explanation = unwrap(
    """\
The exploding construction makes every factor of the chain's product as large as the sigmoid allows
for a given weight: zⱼ = 0 puts each neuron at σ′'s peak of 1/4, and wⱼ = 100 multiplies it to 25.
Backpropagation multiplies by one such factor per layer, so ∂C/∂bⱼ is 25 times ∂C/∂bⱼ₊₁ and the
first layer's gradient is 25^(L−1) times the last one's. Earlier layers now learn far faster than
later ones: the gradient is unstable in the other direction. These numbers hold by construction;
the rows below check our code, not a measurement of the book's.

The book stops there; we also try to train this chain. A step θ ← θ − η·g moves the first layer's
parameters by η times a gradient in the thousands, which can push the zⱼ far from 0, where the
sigmoids saturate, σ′ becomes tiny and the gradient vanishes. Clipping the gradient's norm to a
maximum bounds each step by η times the clip; the runs show which step bounds keep the net out of
saturation. The deeper lesson, as the book says, is that the gradient in deep sigmoid nets is
unstable: it is a product of many factors, so it either vanishes or explodes unless the factors
are balanced near 1.
"""
)
