"""Figures of ``neuron-bars``: the book's network picture with one bar per neuron (∂C/∂bˡⱼ),
ours beside the book's, and the bar lengths over seeds against the book's."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.patches import Circle, Rectangle

from ...results import MIN_BAND_SEEDS, Result, band_label, seed_band
from .. import style
from ..figures import Drawn


def _network(
    ax: Any, bars: np.ndarray, scale: float, colour: str, title: str, speeds: np.ndarray | None
) -> None:
    """Draw input → hidden layers → output as columns of neurons; beside each hidden neuron a
    bar of length |``bars``[l, j]| × ``scale``."""
    H, k = bars.shape
    lengths = np.abs(bars)
    ax.set_axis_off()
    ax.set_aspect("equal")
    xs = [2.2 * c for c in range(H + 2)]  # input, hidden layers …, output
    ys = [-(j * 0.6) for j in range(k)]
    r = 0.16
    edges = [[(xs[c] + r, y0), (xs[c + 1] - r, y1)] for c in range(H + 1) for y0 in ys for y1 in ys]
    ax.add_collection(LineCollection(edges, colors="#d1d5db", linewidths=0.5, zorder=1))
    for c, x in enumerate(xs):
        hidden = 0 < c <= H
        for j, y in enumerate(ys):
            ax.add_patch(Circle((x, y), r, fc="white", ec="#4b5563", lw=1.1, zorder=3))
            if hidden:
                w = lengths[c - 1, j] * scale
                ax.add_patch(
                    Rectangle((x + r + 0.04, y - 0.07), w, 0.14, fc=colour, ec="none", zorder=4)
                )
                ax.text(
                    x + r + 0.06 + w,
                    y,
                    f"{lengths[c - 1, j]:.2g}",
                    va="center",
                    fontsize=7,
                    color="#374151",
                    zorder=5,
                )
        label = "input" if c == 0 else ("output" if c == H + 1 else f"hidden {c}")
        ax.text(x, ys[0] + 0.35, label, ha="center", fontsize=9, color="#374151")
        if hidden:
            text = f"‖bars‖ = {np.linalg.norm(bars[c - 1]):.3f}"
            if speeds is not None:
                text += f"\nall 30: ‖δ{'¹²³⁴'[c - 1] if c <= 4 else c}‖ = {speeds[c - 1]:.3f}"
            ax.text(x, ys[-1] - 0.3, text, ha="center", va="top", fontsize=8, color=colour)
    ax.set_xlim(xs[0] - 0.4, xs[-1] + 0.5)
    ax.set_ylim(ys[-1] - 1.0, ys[0] + 0.55)
    ax.set_title(title, fontsize=10.5)


def draw(result: Result) -> list[Drawn]:
    """Reads ``data``: ``per_seed`` [S, 2, k] signed ∂C/∂bˡⱼ, ``layer_speed`` [S, 2],
    ``book_bars`` [2][6] or None, ``seed``, ``samples``."""
    data = result.data
    grads = np.asarray(data["per_seed"], dtype=np.float64)
    speeds = np.asarray(data["layer_speed"], dtype=np.float64)
    book = np.asarray(data["book_bars"], dtype=np.float64) if data.get("book_bars") else None
    seed, samples, k = data.get("seed", 0), data.get("samples", 1000), grads.shape[2]
    longest = max(
        float(np.abs(grads[0]).max()), float(np.abs(book).max()) if book is not None else 0.0, 1e-12
    )
    scale = 1.15 / longest  # longest bar: half a column gap; one scale for both pictures
    panels = 2 if book is not None else 1
    fig, axes = style.subplots(1, panels, figsize=(6.0 * panels, 4.4), squeeze=False)
    _network(axes[0][0], grads[0], scale, style.OURS, f"ours (seed {seed})", speeds[0])
    if book is not None:
        bs = data.get("book_layer_speed")
        _network(
            axes[0][1],
            book,
            scale,
            style.BOOK,
            "the book's network (its figure data)",
            np.asarray(bs, dtype=np.float64) if bs else None,
        )
    fig.suptitle(
        f"|∂C/∂bˡⱼ| of the top {k} neurons at initialisation", fontsize=11.5, fontweight="bold"
    )
    out = [
        Drawn(
            "neuron_bars",
            f"The book's picture: beside each of the top {k} neurons of each hidden layer a bar "
            f"of length |∂C/∂bˡⱼ| over the first {samples} training images, one scale for both "
            f"networks. Left: our first network (seed {seed}); "
            + (
                "right: the book's network, from its published figure data."
                if book is not None
                else "the book's bars are for other settings."
            ),
            fig,
        )
    ]

    norms = np.linalg.norm(grads, axis=2)
    rows = [
        ("‖bars‖, hidden layer 1", norms[:, 0]),
        ("‖bars‖, hidden layer 2", norms[:, 1]),
        ("ratio layer 2 / layer 1", norms[:, 1] / norms[:, 0]),
    ]
    book_rows: list[float | None] = [None, None, None]
    if book is not None:
        bn = np.linalg.norm(book, axis=1)
        book_rows = [float(bn[0]), float(bn[1]), float(bn[1] / bn[0])]
    fig2, axes2 = style.subplots(1, 3, figsize=(10.0, 3.6), squeeze=False)
    S = grads.shape[0]
    rng = np.random.default_rng(0)  # fixed jitter: the same figure on every redraw
    for ax, (label, values), ref in zip(axes2[0], rows, book_rows):
        med, lo, hi = (float(v) for v in seed_band(values))
        ax.plot(
            rng.uniform(-0.15, 0.15, S),
            values,
            "o",
            color=style.OURS,
            ms=3,
            alpha=0.5,
            label="each network",
        )
        if S >= MIN_BAND_SEEDS:
            ax.fill_between(
                [-0.3, 0.3], lo, hi, color=style.OURS, alpha=style.BAND_ALPHA, lw=0, label="10–90 %"
            )
        ax.plot([-0.3, 0.3], [med, med], color=style.OURS, lw=2, label="median")
        if ref is not None:
            ax.plot([0.45], [ref], **{**style.BOOK_MARKER, "markersize": 8}, label="book")
        ax.set_xlim(-0.6, 0.8)
        ax.set_xticks([])
        ax.set_title(label, fontsize=10)
    handles, labels = axes2[0][0].get_legend_handles_labels()
    fig2.legend(handles, labels, loc="outside lower center", ncol=len(labels), fontsize=8.5)
    fig2.suptitle(
        f"Top-{k} bar lengths: each of our networks, median and {band_label(S)}",
        fontsize=11,
        fontweight="bold",
    )
    out.append(
        Drawn(
            "neuron_bars_stats",
            f"The length of the top {k} bars of each hidden layer and their ratio, for each of our "
            f"{S} networks (dots), with median and 10–90 % band; amber: the book's network.",
            fig2,
        )
    )
    return out
