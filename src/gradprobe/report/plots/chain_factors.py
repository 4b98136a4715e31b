"""Chain figure: the factors |wⱼσ′(zⱼ)| of random chains and the ratio |∂C/∂b₁| / |∂C/∂b₃|."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.ticker import NullLocator

from ...experiments._legacy_base import Figure
from .. import style
from . import save

STEM = "chain_factors"


def _log_bins(x: np.ndarray, n: int = 50) -> np.ndarray:
    pos = x[x > 0]
    lo, hi = np.log10(pos.min()), np.log10(pos.max())
    return np.logspace(np.floor(lo), np.ceil(hi), n)


def plot_factors(
    factors: np.ndarray, ratio: np.ndarray, book_ratio: float, out_dir: str | Path
) -> Figure:
    """Write ``out_dir/chain_factors.{png,svg}``.

    factors: [S, L] the |wⱼσ′(zⱼ)| of S chains; ratio: [S] |∂C/∂b₁| / |∂C/∂b₃|;
    book_ratio: the book's 1/16.
    """
    f = np.abs(np.asarray(factors, dtype=np.float64)).ravel()
    r = np.asarray(ratio, dtype=np.float64)
    fig, (ax1, ax2) = style.subplots(1, 2, figsize=(10, 3.9))

    ax1.hist(f, bins=_log_bins(f), color=style.OURS, alpha=0.8)
    ax1.axvline(0.25, **style.BOOK_LINE, label="1/4")
    below = float(np.mean(f < 0.25))
    ax1.set_xscale("log")
    ax1.xaxis.set_minor_locator(NullLocator())  # many decades: minor ticks only cost time
    ax1.set_xlabel("|wⱼ σ′(zⱼ)|")
    ax1.set_ylabel("count")
    ax1.set_title(f"Factors: {100 * below:.1f} % below 1/4")
    ax1.legend(loc="upper left")

    ax2.hist(r, bins=_log_bins(r), color=style.OURS, alpha=0.8)
    ax2.axvline(book_ratio, **style.BOOK_LINE, label="book: 1/16")
    med = float(np.median(r))
    ax2.axvline(med, color=style.PALETTE[3], lw=1.6, label=f"median {med:.3g}")
    ax2.set_xscale("log")
    ax2.xaxis.set_minor_locator(NullLocator())
    ax2.set_xlabel("|∂C/∂b₁| / |∂C/∂b₃|")
    ax2.set_ylabel("chains")
    ax2.set_title(f"Layer 1 vs layer 3 over {r.size} chains")
    ax2.legend(loc="upper left")

    return save(
        fig,
        out_dir,
        STEM,
        caption="Left: every factor |wⱼσ′(zⱼ)| of chains with N(0, 1) weights and biases "
        "(dashed: 1/4). Right: how much slower the first bias learns than the third "
        "(dashed: the book's 1/16).",
    )
