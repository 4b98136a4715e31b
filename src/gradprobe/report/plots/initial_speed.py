"""Figure of ``initial-speed``: ‖δˡ‖ per hidden layer at initialisation, log axis, over seeds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from gradprobe.experiments._legacy_base import Figure
from gradprobe.experiments._mnist import net_name
from gradprobe.report import style
from gradprobe.report.plots import save

STEM = "initial_speed"


def plot(per_depth: dict[str, dict[str, Any]], out_dir: Path, *, seeds: int) -> Figure:
    """One line per depth: median ‖δˡ‖ against hidden layer l, 10–90 % band shaded, the book's
    values as amber diamonds. ``per_depth[h]`` has ``sizes``, ``median``, ``q10``, ``q90``
    (each [H]) and ``book`` ([H] or None)."""
    fig, ax = style.subplots(figsize=(6.4, 4.2))
    book_labelled = False
    for i, (hidden, d) in enumerate(sorted(per_depth.items(), key=lambda kv: int(kv[0]))):
        colour = style.PALETTE[i % len(style.PALETTE)]
        layers = np.arange(1, len(d["median"]) + 1)
        name = net_name(tuple(d["sizes"]))
        ax.fill_between(layers, d["q10"], d["q90"], color=colour, alpha=style.BAND_ALPHA, lw=0)
        ax.plot(layers, d["median"], color=colour, marker="o", label=f"{name} ({hidden} hidden)")
        if d["book"]:
            ax.plot(
                layers,
                d["book"],
                **{**style.BOOK_MARKER, "markeredgecolor": "white", "markeredgewidth": 0.8},
                label=None if book_labelled else "book (one network each)",
                zorder=5,
            )
            book_labelled = True
    ax.set_yscale("log")
    ax.set_xticks(range(1, max(len(d["median"]) for d in per_depth.values()) + 1))
    ax.set_xlabel("hidden layer l (1 = next to the input)")
    ax.set_ylabel("speed of learning ‖δˡ‖ = ‖∂C/∂bˡ‖")
    ax.set_title(f"‖δˡ‖ at initialisation: median and 10–90 % band, {seeds} seeds")
    handles, labels = ax.get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda i: labels[i].startswith("book"))
    ax.legend([handles[i] for i in order], [labels[i] for i in order], loc="lower right")
    return save(
        fig,
        out_dir,
        STEM,
        caption=(
            "‖δˡ‖ of each hidden layer at initialisation over the first 1000 training images: "
            f"median (line) and 10–90 % band (shaded) of {seeds} networks per depth; "
            "amber diamonds are the book's values. Log scale."
        ),
    )
