"""Output-layers figure: |δᴸ| of a sigmoid output with target 0 as zᴸ grows (saturation)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ...experiments._legacy_base import Figure
from .. import style
from . import save

STEM = "output_layers_saturation"

#: The slowdown experiment's two starts: z = 0.6 + 0.9 and z = 2 + 2.
MARKS = ((1.5, "(0.6, 0.9)"), (4.0, "(2, 2)"))


def plot_saturation(curve: Mapping[str, Sequence[float]], out_dir: str | Path) -> Figure:
    """Write ``out_dir/output_layers_saturation.{png,svg}``.

    curve: ``z`` [P], and |δᴸ| [P] for ``quadratic`` (+ sigmoid) and ``cross_entropy``
    (+ sigmoid), all for target y = 0.
    """
    z = np.asarray(curve["z"], dtype=np.float64)
    quad = np.asarray(curve["quadratic"], dtype=np.float64)
    ce = np.asarray(curve["cross_entropy"], dtype=np.float64)
    fig, ax = style.subplots(figsize=(6.6, 4.2))
    ax.plot(z, ce, color=style.PALETTE[2], label="cross-entropy + sigmoid: |δᴸ| = a")
    ax.plot(z, quad, color=style.PALETTE[0], label="quadratic + sigmoid: |δᴸ| = a·σ′(z)")
    for i, (zm, name) in enumerate(MARKS):
        label = "slowdown starts (w, b), z = w + b" if i == 0 else None
        ax.axvline(zm, color=style.GREY, lw=1.2, ls=":", label=label)
        ax.annotate(
            name,
            (zm, 2.2),
            ha="center",
            va="bottom",
            fontsize=9,
            color="#4b5563",
            bbox={"fc": "white", "ec": "none", "pad": 1},
        )
    ax.set_yscale("log")
    ax.set_ylim(1e-5, 6)
    ax.set_xlabel("weighted input zᴸ of the output (target y = 0)")
    ax.set_ylabel("|δᴸ| = |∂C/∂zᴸ| (autograd)")
    ax.set_title("A wrong, saturated output: δᴸ collapses only with σ′")
    ax.legend(loc="lower left", frameon=True, facecolor="white", edgecolor="none", framealpha=0.95)
    return save(
        fig,
        out_dir,
        STEM,
        caption="Output error of one sigmoid output with target 0 as its output a = σ(zᴸ) "
        "saturates towards 1: with the quadratic cost δᴸ carries σ′(zᴸ) and falls like e^(−z); "
        "with cross-entropy δᴸ = a − y stays near 1.",
    )
