"""Exploding figure: gradient steps on the w = 100 chain, with and without clipping."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ...experiments._legacy_base import Figure
from .. import style
from . import save

STEM = "exploding_steps"


def _label(run: dict[str, Any]) -> str:
    clip = run["clip_norm"]
    return f"η = {run['eta']:g}, " + ("no clip" if clip is None else f"clip {clip:g}")


def plot_steps(
    runs: Sequence[dict[str, Any]], target: float, out_dir: str | Path, *, shown: int = 24
) -> Figure:
    """Write ``out_dir/exploding_steps.{png,svg}``: output a_L and gradient norm per step.

    runs: each with ``eta``, ``clip_norm``, ``output`` [T + 1] and ``grad_norm`` [T]; only the
    first ``shown`` steps are drawn (the rest repeat), all of them are in the CSV.
    """
    fig, (ax1, ax2) = style.subplots(1, 2, figsize=(10.5, 4.2))
    n = len(runs)
    for i, r in enumerate(runs):
        colour = style.PALETTE[i % len(style.PALETTE)]
        # Runs that coincide (all saturating at once) stay visible as stacked widths.
        kw = {"color": colour, "lw": 1.4 + 0.8 * (n - 1 - i), "label": _label(r), "zorder": 2 + i}
        out = np.asarray(r["output"][: shown + 1], dtype=np.float64)
        ax1.plot(np.arange(out.size), out, **kw)
        gn = np.maximum(np.asarray(r["grad_norm"][:shown], dtype=np.float64), 1e-30)
        ax2.plot(np.arange(gn.size), gn, **kw)
    ax2.annotate(
        "exactly 0: σ′ = 0 in float64 (drawn at 10⁻³⁰)",
        (shown / 2, 1e-30),
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
    ax1.set_title("Output: saturation unless the steps are tiny")
    ax1.legend(loc="lower right", fontsize=8.5, ncols=2)
    ax2.set_yscale("log")
    ax2.set_xlabel("gradient step")
    ax2.set_ylabel("‖∂C/∂θ‖ before clipping")
    ax2.set_title("Gradient norm: explodes, then vanishes")
    return save(
        fig,
        out_dir,
        STEM,
        caption="Gradient descent on the exploding chain, with and without the "
        "gradient clipped to a maximum norm. Left: the output; right: the gradient norm. First "
        f"{shown} steps shown; every step is in exploding_steps.csv.",
    )
