"""Figure of ``neuron-bars``: the book's network picture with one bar per neuron (∂C/∂bˡⱼ)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.patches import Circle, Rectangle

from gradprobe.experiments._legacy_base import Figure
from gradprobe.report import style
from gradprobe.report.plots import save

STEM = "neuron_bars"


def plot(
    grads: np.ndarray, layer_speed: np.ndarray, out_dir: Path, *, seed: int, samples: int
) -> Figure:
    """``grads`` [H, k]: ∂C/∂bˡⱼ of the top k neurons of each of the H hidden layers of one
    network; ``layer_speed`` [H]: its whole-layer ‖δˡ‖. Draws input → hidden layers → output
    as columns of neurons; each hidden neuron gets a bar of length |∂C/∂bˡⱼ| (common scale)."""
    H, k = grads.shape
    lengths = np.abs(grads)
    scale = 1.15 / max(float(lengths.max()), 1e-12)  # longest bar: half a column gap
    fig, ax = style.subplots(figsize=(7.2, 4.6))
    ax.set_axis_off()
    ax.set_aspect("equal")
    xs = [2.2 * c for c in range(H + 2)]  # input, hidden layers …, output
    ys = [-(j * 0.6) for j in range(k)]
    r = 0.16
    # Edges between consecutive columns, faint like the book's.
    for c in range(H + 1):
        for y0 in ys:
            for y1 in ys:
                ax.plot([xs[c] + r, xs[c + 1] - r], [y0, y1], color="#d1d5db", lw=0.5, zorder=1)
    for c, x in enumerate(xs):
        hidden = 0 < c <= H
        for j, y in enumerate(ys):
            ax.add_patch(Circle((x, y), r, fc="white", ec="#4b5563", lw=1.1, zorder=3))
            if hidden:
                w = lengths[c - 1, j] * scale
                ax.add_patch(Rectangle((x + r + 0.04, y - 0.07), w, 0.14,
                                       fc=style.OURS, ec="none", zorder=4))  # fmt: skip
                ax.text(x + r + 0.06 + w, y, f"{lengths[c - 1, j]:.2g}", va="center",
                        fontsize=7.5, color="#374151", zorder=5)  # fmt: skip
        label = "input" if c == 0 else ("output" if c == H + 1 else f"hidden layer {c}")
        ax.text(x, ys[0] + 0.35, label, ha="center", fontsize=9.5, color="#374151")
        if hidden:
            ax.text(x, ys[-1] - 0.62, f"all 30: ‖δ{c}‖ = {layer_speed[c - 1]:.3f}", ha="center",
                    fontsize=9, color=style.OURS)  # fmt: skip
        ax.text(x, ys[-1] - 0.2, "⋮", ha="center", va="top", fontsize=11, color="#6b7280")
    ax.set_xlim(xs[0] - 0.4, xs[-1] + 0.4)
    ax.set_ylim(ys[-1] - 0.75, ys[0] + 0.55)
    ax.set_title(f"|∂C/∂bˡⱼ| per neuron at initialisation (seed {seed})")
    return save(
        fig,
        out_dir,
        STEM,
        caption=(
            f"The book's picture for one network (seed {seed}): beside each of the top {k} "
            f"neurons of each hidden layer a bar of length |∂C/∂bˡⱼ| over the first {samples} "
            "training images, on one scale. The second hidden layer's bars are mostly longer."
        ),
    )
