"""Figures of ``exploding``, drawn from its result's data alone.

* ``exploding_gradients``: |∂C/∂bⱼ| per layer of the w = 100 chain, against w·σ′(0) per layer;
* ``exploding_steps``: output a_L and gradient norm during gradient descent, with and without
  clipping.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...results import Result
from .. import style
from ..figures import Drawn

#: Steps drawn in the steps figure (the rest repeat; every step is in exploding_steps.csv).
SHOWN = 24


def draw(result: Result) -> list[Drawn]:
    """``data``: ``bias_gradients`` [L], ``w``, ``sigma_prime_0``, ``y`` and ``runs`` (each with
    ``eta``, ``clip_norm``, ``output`` [T + 1], ``grad_norm`` [T])."""
    d = result.data
    return [_gradients(d), _steps(d["runs"], float(d["y"]))]


def _gradients(d: dict[str, Any]) -> Drawn:
    g = np.abs(np.asarray(d["bias_gradients"], dtype=np.float64))
    factor = float(d["w"]) * float(d["sigma_prime_0"])
    L = g.size
    j = np.arange(1, L + 1)
    fig, ax = style.subplots(figsize=(6.4, 4.0))
    ax.bar(j, g, color=style.OURS, width=0.6, label="ours: |∂C/∂bⱼ| by backpropagation")
    expected = g[-1] * factor ** (L - j)
    ax.plot(
        j,
        expected,
        color=style.GREY,
        ls="--",
        marker="D",
        label=f"w·σ′(0) = {factor:g}× per layer towards the input",
    )
    for jj, v in zip(j, g):
        ax.annotate(
            f"{v:.4g}",
            (jj, v),
            xytext=(0, -5),
            textcoords="offset points",
            ha="center",
            va="top",
            fontsize=9.5,
            color="white",
            weight="bold",
        )
    ax.set_yscale("log")
    ax.set_ylim(g.min() / 4, g.max() * 6)
    ax.set_xticks(j)
    ax.set_xlabel("layer j (1 = nearest the input)")
    ax.set_ylabel("|∂C/∂bⱼ|")
    ax.set_title(f"Every zⱼ = 0, wⱼ = {d['w']:g}: the gradient grows {factor:g}× per layer")
    ax.legend(loc="upper right")
    return Drawn(
        "exploding_gradients",
        f"|∂C/∂bⱼ| of the chain with wⱼ = {d['w']:g} and bⱼ = −{d['w']:g}·aⱼ₋₁ (log axis); the "
        f"dashed line is the factor wⱼσ′(0) = {factor:g} per layer, true by construction.",
        fig,
    )


def _label(run: dict[str, Any]) -> str:
    clip = run["clip_norm"]
    return f"η = {run['eta']:g}, " + ("no clip" if clip is None else f"clip {clip:g}")


def _steps(runs: list[dict[str, Any]], target: float) -> Drawn:
    fig, (ax1, ax2) = style.subplots(1, 2, figsize=(10.5, 4.2))
    n = len(runs)
    zero = False
    for i, r in enumerate(runs):
        colour = style.PALETTE[i % len(style.PALETTE)]
        # Runs that coincide (all saturating at once) stay visible as stacked widths.
        kw = {"color": colour, "lw": 1.4 + 0.8 * (n - 1 - i), "label": _label(r), "zorder": 2 + i}
        out = np.asarray(r["output"][: SHOWN + 1], dtype=np.float64)
        ax1.plot(np.arange(out.size), out, **kw)
        raw = np.asarray(r["grad_norm"][:SHOWN], dtype=np.float64)
        zero = zero or bool(np.any(raw == 0))
        ax2.plot(np.arange(raw.size), np.maximum(raw, 1e-30), **kw)
    if zero:
        ax2.annotate(
            "exactly 0: σ′ = 0 in float64 (drawn at 10⁻³⁰)",
            (SHOWN / 2, 1e-30),
            xytext=(0, 8),
            textcoords="offset points",
            ha="center",
            fontsize=9,
            color="#374151",
        )
    ax1.axhline(target, color=style.GREY, lw=1.2, ls="--", label=f"target y = {target:g}")
    ax1.set_xlabel("gradient step")
    ax1.set_ylabel("output a_L")
    ax1.set_ylim(-0.03, 1.03)
    ax1.set_title("Output a_L per step")
    ax1.legend(loc="lower right", fontsize=8.5, ncols=2)
    ax2.set_yscale("log")
    ax2.set_xlabel("gradient step")
    ax2.set_ylabel("‖∂C/∂θ‖ before clipping")
    ax2.set_title("Gradient norm per step")
    return Drawn(
        "exploding_steps",
        "Gradient descent on the exploding chain, with and without the gradient clipped to a "
        f"maximum norm. Left: the output; right: the gradient norm. First {SHOWN} steps shown; "
        "every step is in exploding_steps.csv.",
        fig,
    )
