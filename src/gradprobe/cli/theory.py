"""``gradprobe theory``: the mean-field prediction of each layer's speed, the phase, ξ's."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from . import _common as c

NAME = "theory"
HELP = "mean-field prediction at initialisation: q*, χ₁, depth scales, phase, per-layer ratios"
DESCRIPTION = """\
Mean-field theory of wide random networks (Poole et al. 2016, Schoenholz et al. 2017) for an
elementwise activation φ with weights N(0, σ_w²/n_in) and biases N(0, σ_b²): the fixed point q*
of the pre-activation variance, χ₁ = σ_w² E[φ′(h)²] (the factor by which E‖δ‖² changes per
layer), the depth scales ξ_q, ξ_c, the phase (ordered / critical / chaotic), and for a net of
--depth hidden layers of the book's shape (784-30-…-30-10) the predicted ratio ‖δˡ‖/‖δˡ⁺¹‖ of
the book's speed of learning between neighbouring hidden layers. The first layer's variance
comes from the data: q¹ = σ_w²·mean‖x‖²/784 + σ_b² over the bundled first 1000 MNIST images
(or --q0)."""
EPILOG = """\
examples:
  gradprobe theory --activation sigmoid --sigma-w2 1 --sigma-b2 1 --depth 4
  gradprobe theory --activation relu --sigma-w2 2 --sigma-b2 0 --depth 4 --json
  gradprobe theory --activation tanh --sigma-w2 1.5 --sigma-b2 0.05 --plot phase.png
"""

ACTIVATION_CHOICES = ("sigmoid", "tanh", "relu", "leaky-relu", "gelu", "softplus", "identity",
                      "linear")  # fmt: skip


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--activation", choices=ACTIVATION_CHOICES, default="sigmoid",
                   help="hidden activation φ (default sigmoid)")  # fmt: skip
    p.add_argument("--sigma-w2", type=c.positive_float, default=1.0,
                   help="σ_w² = n_in·Var(w) (default 1: network2's N(0, 1/n_in))")  # fmt: skip
    p.add_argument("--sigma-b2", type=c.nonneg_float, default=1.0,
                   help="σ_b² = Var(b) (default 1: network2's N(0, 1))")  # fmt: skip
    p.add_argument("--depth", type=c.positive_int, default=4,
                   help="hidden layers of 784-30-…-30-10 to predict (default 4)")  # fmt: skip
    p.add_argument("--width", type=c.positive_int, default=30, help="hidden width (default 30)")
    p.add_argument("--q0", type=c.nonneg_float, default=None,
                   help="mean ‖x‖²/n_in of the data instead of the bundled images' "
                        "(then all inputs are treated as one: per-example ratios)")  # fmt: skip
    p.add_argument(
        "--plot",
        metavar="FILE",
        default=None,
        help="write the phase diagram with this point marked (.png or .svg)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _fmt(x: float) -> str:
    if math.isinf(x):
        return "∞"
    if math.isnan(x):
        return "–"
    return f"{x:.4g}"


def run(args: argparse.Namespace) -> int:
    from .. import theory

    if args.plot is not None and Path(args.plot).suffix.lower() not in (".png", ".svg"):
        raise ConfigError(f"--plot must end in .png or .svg, got {args.plot!r}")
    if args.depth > 200:
        raise ConfigError(f"--depth {args.depth} is more than 200 hidden layers")
    mf = theory.mean_field(args.activation, args.sigma_w2, args.sigma_b2)
    sizes = [784, *([args.width] * args.depth), 10]
    kw: dict[str, Any]
    if args.q0 is not None:
        kw = {"q0": args.q0}
        source = f"q0 = {args.q0:g} given"
    else:
        inputs = _bundled_inputs()
        kw = {"inputs": inputs}
        source = f"bundled first 1000 MNIST images, mean ‖x‖²/784 = {inputs.q0:.4f}"
    pred = None
    if args.depth >= 2:
        pred = theory.predicted_speeds(sizes, args.activation, "default",
                                       sigma_w2=args.sigma_w2, sigma_b2=args.sigma_b2,
                                       **kw)  # fmt: skip
    if args.plot:
        _plot(mf, Path(args.plot))
    if args.json:
        c.emit_json({
            "mean_field": mf.to_dict(),
            "sizes": sizes,
            "data": source,
            "prediction": None if pred is None else pred.to_dict(),
            "plot": args.plot,
        })  # fmt: skip
        return 0
    print(f"{mf.activation}, σ_w² = {args.sigma_w2:g}, σ_b² = {args.sigma_b2:g}  "
          f"(mean-field, wide layers)")  # fmt: skip
    print(f"  q*  = {_fmt(mf.q_star)}   fixed point of the pre-activation variance")
    print(f"  χ₁  = {_fmt(mf.chi1)}   √χ₁ = {_fmt(mf.gradient_ratio)} = ‖δˡ‖/‖δˡ⁺¹‖ per example")
    print(f"  ξ_q = {_fmt(mf.xi_q)}   ξ_c = {_fmt(mf.xi_c)}   ξ_∇ = {_fmt(mf.xi_grad)} layers")
    print(f"  phase: {mf.phase}" + (" (q grows without bound)" if mf.diverges else ""))
    if pred is None:
        print("  (--depth 1: one hidden layer, no ratio between hidden layers)")
    else:
        print(f"net {'-'.join(map(str, sizes))}, data: {source}")
        print("  hidden layer   q (pre-act.)   predicted ‖δˡ‖   ‖δˡ‖/‖δˡ⁺¹‖")
        for l in range(args.depth):
            ratio = _fmt(pred.ratios[l]) if l < len(pred.ratios) else "–"
            print(f"  {l + 1:>12}   {pred.q[l]:>12.4f}   {pred.speeds[l]:>14.4g}   {ratio:>11}")
    if args.plot:
        print(f"wrote {args.plot}")
    return 0


def _bundled_inputs() -> Any:
    from ..data import load_bundled
    from ..theory import Inputs

    d = load_bundled()
    return Inputs.from_data(d.training.images.double().numpy(), d.training.labels.numpy())


def _plot(mf: Any, path: Path) -> None:
    import numpy as np

    from .. import theory
    from ..report import style
    from ..report.plots.mean_field import phase_axes

    hi = 300.0 if mf.activation == "sigmoid" else 6.0
    sw = np.geomspace(min(hi / 100, mf.sigma_w2 / 2), max(hi, 2 * mf.sigma_w2), 24)
    sb = np.linspace(0.0, max(2.0, 1.5 * mf.sigma_b2), 16)
    grid = theory.phase_grid(mf.activation, sw, sb)
    with style.styled():
        fig, ax = style.subplots(figsize=(5.6, 4.4))
        phase_axes(ax, grid, f"{mf.activation}: χ₁ = σ_w² E[φ′(h)²]",
                   mark=(mf.sigma_w2, mf.sigma_b2),
                   mark_label=f"σ_w² = {mf.sigma_w2:g}, σ_b² = {mf.sigma_b2:g}")  # fmt: skip
        png, svg = style.save_figure(fig, path.with_suffix(""))
    (svg if path.suffix.lower() == ".png" else png).unlink(missing_ok=True)
