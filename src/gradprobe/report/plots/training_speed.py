"""Figure of ``training-speed``: ‖δˡ‖ of each hidden layer against the epoch, log scale, with
the book's own curves (its published figure data) dashed."""

from __future__ import annotations

import numpy as np

from ...results import MIN_BAND_SEEDS, Result, band_label, seed_band
from .. import style
from ..figures import Drawn


def draw(result: Result) -> list[Drawn]:
    """One panel per depth, like the book's three plots: for every hidden layer the median
    ‖δˡ‖ over seeds against the epoch with its 10–90 % band, and the book's run dashed in amber.
    Reads ``data["depths"][h]``: ``sizes``, ``per_seed`` [S, E + 1, H], ``book`` [B, H] or None."""
    depths = result.data["depths"]
    keys = sorted(depths, key=int)
    fig, axes = style.subplots(
        1, len(keys), figsize=(4.0 * len(keys) + 0.6, 4.4), sharey=True, squeeze=False
    )
    seeds = 0
    has_book = False
    for ax, hidden in zip(axes[0], keys):
        d = depths[hidden]
        per_seed = np.asarray(d["per_seed"], dtype=np.float64)
        seeds = per_seed.shape[0]
        med, lo, hi = seed_band(per_seed)  # [E + 1, H]
        epochs = np.arange(med.shape[0])
        for l in range(med.shape[1]):
            colour = style.PALETTE[l % len(style.PALETTE)]
            if seeds >= MIN_BAND_SEEDS:
                ax.fill_between(
                    epochs, lo[:, l], hi[:, l], color=colour, alpha=style.BAND_ALPHA, lw=0
                )
            ax.plot(epochs, med[:, l], color=colour, label=f"hidden layer {l + 1}")
        if d.get("book"):
            book = np.asarray(d["book"], dtype=np.float64)
            has_book = True
            for l in range(book.shape[1]):
                ax.plot(
                    np.arange(book.shape[0]),
                    book[:, l],
                    color=style.BOOK,
                    ls="--",
                    lw=1.2,
                    label="book (one run)" if l == 0 else None,
                )
        ax.set_yscale("log")
        ax.set_xlim(0, epochs[-1])
        ax.set_title("-".join(map(str, d["sizes"])))
        end = per_seed[:, -1, -1] / per_seed[:, -1, 0] if med.shape[1] > 1 else None
        text = "epoch"
        if end is not None:
            text += f"\nafter {epochs[-1]} epochs ‖δ{med.shape[1]}‖ / ‖δ1‖ = {np.median(end):.3g}×"
        ax.set_xlabel(text)
        ax.legend(loc="upper right", fontsize=8)
    axes[0][0].set_ylabel("speed of learning ‖δˡ‖ (log scale)")
    fig.suptitle(
        f"Speed of learning during full-batch training: median, {band_label(seeds)}",
        fontsize=11.5,
        fontweight="bold",
    )
    caption = (
        "‖δˡ‖ of every hidden layer over the training images, measured before each epoch and "
        f"after the last, for each depth: median (line) and 10–90 % band of single runs "
        f"(shaded; {seeds} seeds)."
    )
    if has_book:
        caption += " Dashed amber: the book's own run (its published figure data)."
    return [Drawn("training_speed", caption + " Log scale, like the book's plots.", fig)]
