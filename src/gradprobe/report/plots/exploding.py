"""Exploding figure: |∂C/∂bⱼ| per layer of the book's w = 100 chain, against 25 per layer."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ...book import EXPLODING_FACTOR
from ...experiments._legacy_base import Figure
from .. import style
from . import save

STEM = "exploding_gradients"


def plot_bias_gradients(bias_gradients: Sequence[float], out_dir: str | Path) -> Figure:
    """Write ``out_dir/exploding_gradients.{png,svg}``.

    bias_gradients: [L] ∂C/∂bⱼ for j = 1 … L (the engine's backpropagation).
    """
    g = np.abs(np.asarray(bias_gradients, dtype=np.float64))
    L = g.size
    j = np.arange(1, L + 1)
    fig, ax = style.subplots(figsize=(6.4, 4.0))
    ax.bar(j, g, color=style.OURS, width=0.6, label="ours: |∂C/∂bⱼ| by backpropagation")
    book = g[-1] * EXPLODING_FACTOR ** (L - j)
    ax.plot(j, book, **style.BOOK_LINE, marker="D", label="book: 25× per layer towards the input")
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
    ax.set_title("Every zⱼ = 0, wⱼ = 100: the gradient grows 25× per layer")
    ax.legend(loc="upper right")
    return save(
        fig,
        out_dir,
        STEM,
        caption="|∂C/∂bⱼ| of the chain with wⱼ = 100 and bⱼ = −100·aⱼ₋₁ (log axis); the dashed "
        "line is the book's factor wⱼσ′(0) = 25 per layer.",
    )
