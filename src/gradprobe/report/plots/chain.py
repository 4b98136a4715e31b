"""Chain figure: σ(z) and σ′(z), with σ′'s maximum σ′(0) = 1/4 marked (chapter 5)."""

from __future__ import annotations

from pathlib import Path

import torch

from ...book import SIGMOID_PRIME_MAX
from ...experiments._legacy_base import Figure
from ...theory import sigmoid, sigmoid_prime
from .. import style
from . import save

STEM = "chain_sigmoid"


def plot_sigmoid(out_dir: str | Path) -> Figure:
    """Write ``out_dir/chain_sigmoid.{png,svg}``: σ(z) and σ′(z) for z ∈ [−8, 8]."""
    z = torch.linspace(-8, 8, 801, dtype=torch.float64)
    fig, ax = style.subplots(figsize=(6.4, 3.8))
    ax.plot(z, sigmoid(z), color=style.PALETTE[0], label="σ(z)")
    ax.plot(z, sigmoid_prime(z), color=style.PALETTE[2], label="σ′(z) = σ(z)(1 − σ(z))")
    style.mark_book(ax, SIGMOID_PRIME_MAX, label="book: max σ′ = σ′(0) = 1/4")
    ax.plot([0], [SIGMOID_PRIME_MAX], **style.BOOK_MARKER)
    ax.annotate(
        "σ′(0) = 1/4",
        (0, SIGMOID_PRIME_MAX),
        xytext=(1.2, 0.36),
        arrowprops={"arrowstyle": "->", "color": style.BOOK},
        color=style.BOOK,
    )
    ax.set_xlabel("weighted input z")
    ax.set_ylabel("value")
    ax.set_ylim(-0.02, 1.05)
    ax.set_title("The sigmoid and its derivative: σ′ never exceeds 1/4")
    ax.legend(loc="upper left")
    return save(
        fig,
        out_dir,
        STEM,
        caption="σ(z) and σ′(z); σ′ peaks at z = 0 with value 1/4, so |w σ′(z)| < 1/4 "
        "whenever |w| < 1.",
    )
