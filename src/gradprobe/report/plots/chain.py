"""Figures of ``chain``, drawn from its result's data alone.

* ``chain_sigmoid``: σ(z) and σ′(z), with σ′'s maximum σ′(0) = 1/4 marked (chapter 5);
* ``chain_factors``: the factors |wⱼσ′(zⱼ)| of random chains and the ratio |∂C/∂b₁| / |∂C/∂b₃|
  against the book's bound 1/16.
"""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import NullLocator

from ...results import Result
from .. import style
from ..figures import Drawn


def _log_bins(x: np.ndarray, n: int = 50) -> np.ndarray:
    pos = x[np.isfinite(x) & (x > 0)]
    if pos.size == 0:
        return np.logspace(-3, 0, n)
    lo, hi = np.log10(pos.min()), np.log10(pos.max())
    return np.logspace(np.floor(lo), max(np.ceil(hi), np.floor(lo) + 1), n)


def draw(result: Result) -> list[Drawn]:
    """``data``: ``curve`` {z, sigmoid, sigmoid_prime} [P]; ``factors`` [S, L];
    ``ratio_b1_b3`` [S]; ``bound`` (1/16)."""
    d = result.data
    return [_sigmoid(d["curve"]), _factors(d)]


def _sigmoid(curve: dict[str, list[float]]) -> Drawn:
    z = np.asarray(curve["z"], dtype=np.float64)
    prime = np.asarray(curve["sigmoid_prime"], dtype=np.float64)
    peak = int(np.argmax(prime))
    fig, ax = style.subplots(figsize=(6.4, 3.8))
    ax.plot(z, curve["sigmoid"], color=style.PALETTE[0], label="σ(z)")
    ax.plot(z, prime, color=style.PALETTE[2], label="σ′(z) = σ(z)(1 − σ(z))")
    ax.axhline(0.25, color=style.GREY, lw=1.2, ls="--", label="1/4")
    ax.plot([z[peak]], [prime[peak]], color=style.PALETTE[2], marker="o", ls="none")
    ax.annotate(
        f"max σ′ = σ′({z[peak]:.3g}) = {prime[peak]:.4g}",
        (z[peak], prime[peak]),
        xytext=(1.2, 0.36),
        arrowprops={"arrowstyle": "->", "color": "#374151"},
        color="#374151",
    )
    ax.set_xlabel("weighted input z")
    ax.set_ylabel("value")
    ax.set_ylim(-0.02, 1.05)
    ax.set_title("The sigmoid and its derivative: σ′ never exceeds 1/4")
    ax.legend(loc="upper left")
    return Drawn(
        "chain_sigmoid",
        "σ(z) and σ′(z); σ′ peaks at z = 0 with value 1/4, so |w σ′(z)| < 1/4 whenever |w| < 1.",
        fig,
    )


def _factors(d: dict[str, object]) -> Drawn:
    f = np.abs(np.asarray(d["factors"], dtype=np.float64)).ravel()
    r = np.asarray(d["ratio_b1_b3"], dtype=np.float64)
    bound = float(d["bound"])  # type: ignore[arg-type]
    fig, (ax1, ax2) = style.subplots(1, 2, figsize=(10, 3.9))

    ax1.hist(f, bins=_log_bins(f), color=style.OURS, alpha=0.8)
    ax1.axvline(0.25, color=style.GREY, lw=1.4, ls="--", label="1/4")
    below = float(np.mean(f < 0.25))
    ax1.set_xscale("log")
    ax1.xaxis.set_minor_locator(NullLocator())  # many decades: minor ticks only cost time
    ax1.set_xlabel("|wⱼ σ′(zⱼ)|")
    ax1.set_ylabel("count")
    ax1.set_title(f"Factors: {100 * below:.1f} % below 1/4")
    ax1.legend(loc="upper left")

    ax2.hist(r, bins=_log_bins(r), color=style.OURS, alpha=0.8)
    ax2.axvline(bound, **style.BOOK_LINE, label="book's bound: 1/16")
    med = float(np.median(r))
    ax2.axvline(med, color=style.PALETTE[3], lw=1.6, label=f"our median {med:.3g}")
    ax2.set_xscale("log")
    ax2.xaxis.set_minor_locator(NullLocator())
    ax2.set_xlabel("|∂C/∂b₁| / |∂C/∂b₃|")
    ax2.set_ylabel("chains")
    share = float(np.mean(r <= bound))
    ax2.set_title(f"Layer 1 vs layer 3: {100 * share:.0f} % of {r.size} chains ≤ 1/16")
    ax2.legend(loc="upper left")
    return Drawn(
        "chain_factors",
        "Left: every factor |wⱼσ′(zⱼ)| of chains with N(0, 1) weights and biases (dashed: 1/4). "
        "Right: how much slower the first bias learns than the third (dashed amber: the book's "
        "bound “a factor of 16 (or more)”).",
        fig,
    )
