"""Figure of ``output-layers``, drawn from its result's data alone: ``output_layers_saturation``,
|δᴸ| of a sigmoid output with target 0 as zᴸ grows (quadratic vs cross-entropy)."""

from __future__ import annotations

import numpy as np

from ...results import Result
from .. import style
from ..figures import Drawn


def draw(result: Result) -> list[Drawn]:
    """``data["saturation"]``: ``z`` [P], |δᴸ| [P] for ``quadratic`` (+ sigmoid) and
    ``cross_entropy`` (+ sigmoid), all for target y = 0; ``marks`` (the slowdown starts)."""
    s = result.data["saturation"]
    z = np.asarray(s["z"], dtype=np.float64)
    quad = np.asarray(s["quadratic"], dtype=np.float64)
    ce = np.asarray(s["cross_entropy"], dtype=np.float64)
    fig, ax = style.subplots(figsize=(6.6, 4.2))
    ax.plot(z, ce, color=style.PALETTE[2], label="cross-entropy + sigmoid: |δᴸ| = a")
    ax.plot(z, quad, color=style.PALETTE[0], label="quadratic + sigmoid: |δᴸ| = a·σ′(z)")
    for i, m in enumerate(s.get("marks", [])):
        label = "slowdown starts, z = w + b" if i == 0 else None
        ax.axvline(m["z"], color=style.GREY, lw=1.2, ls=":", label=label)
        ratio = m["cross_entropy"] / m["quadratic"]
        ax.annotate(
            f"z = {m['z']:g}: {ratio:.0f}× apart",
            (m["z"], 2.2),
            ha="center",
            va="bottom",
            fontsize=9,
            color="#4b5563",
            bbox={"fc": "white", "ec": "none", "pad": 1},
        )
    ax.set_yscale("log")
    ax.set_ylim(max(float(np.nanmin(quad)) / 3, 1e-12), 6)
    ax.set_xlabel("weighted input zᴸ of the output (target y = 0)")
    ax.set_ylabel("|δᴸ| = |∂C/∂zᴸ| (autograd)")
    ax.set_title("A wrong, saturated output: δᴸ collapses only with σ′")
    ax.legend(loc="lower left", frameon=True, facecolor="white", edgecolor="none", framealpha=0.95)
    return [
        Drawn(
            "output_layers_saturation",
            "Output error of one sigmoid output with target 0 as its output a = σ(zᴸ) saturates "
            "towards 1: with the quadratic cost δᴸ carries σ′(zᴸ) and collapses; with "
            "cross-entropy δᴸ = a − y stays near 1. Labels: cross-entropy's |δᴸ| over "
            "quadratic's at the slowdown starts.",
            fig,
        )
    ]
