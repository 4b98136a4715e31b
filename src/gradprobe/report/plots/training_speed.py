"""Figure of ``training-speed``: ‖δˡ‖ of each hidden layer against the epoch, log scale."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from gradprobe.book import TRAINING_SPEED_RATIO_4
from gradprobe.experiments._legacy_base import Figure
from gradprobe.experiments._mnist import net_name
from gradprobe.report import style
from gradprobe.report.plots import save

STEM = "training_speed"


def plot(per_depth: dict[str, dict[str, Any]], out_dir: Path, *, seeds: int) -> Figure:
    """One panel per depth, like the book's three plots: for every hidden layer the median
    ‖δˡ‖ over seeds against the epoch with its 10–90 % band. ``per_depth[h]`` holds
    ``sizes``, ``median``/``q10``/``q90`` ([E + 1, H]) and ``final_ratio``."""
    depths = sorted(per_depth, key=int)
    fig, axes = style.subplots(
        1, len(depths), figsize=(4.0 * len(depths) + 0.6, 4.2), sharey=True, squeeze=False
    )
    for ax, hidden in zip(axes[0], depths):
        d = per_depth[hidden]
        med, lo, hi = (np.asarray(d[k]) for k in ("median", "q10", "q90"))
        epochs = np.arange(med.shape[0])
        for l in range(med.shape[1]):
            colour = style.PALETTE[l % len(style.PALETTE)]
            ax.fill_between(epochs, lo[:, l], hi[:, l], color=colour, alpha=style.BAND_ALPHA, lw=0)
            ax.plot(epochs, med[:, l], color=colour, label=f"hidden layer {l + 1}")
        ax.set_yscale("log")
        ax.set_xlim(0, epochs[-1])
        ax.set_title(net_name(tuple(d["sizes"])))
        r = d["final_ratio"]
        text = f"epoch\nat the end ‖δ{med.shape[1]}‖ / ‖δ1‖ = {r['median']:.0f}×"
        if hidden == "4":
            text += f" (book: about {TRAINING_SPEED_RATIO_4:.0f}×)"
        ax.set_xlabel(text)
        ax.legend(loc="upper right", fontsize=8.5)
    axes[0][0].set_ylabel("speed of learning ‖δˡ‖ (log scale)")
    fig.suptitle(
        f"Speed of learning during full-batch training: median and 10–90 % band, {seeds} seeds",
        fontsize=11.5,
        fontweight="bold",
    )
    return save(
        fig,
        out_dir,
        STEM,
        caption=(
            "‖δˡ‖ of every hidden layer over the 1000 training images, measured before each epoch "
            f"and after the last, for 2, 3 and 4 hidden layers: median (line) and 10–90 % band "
            f"(shaded) over {seeds} seeds. Log scale, like the book's plots."
        ),
    )
