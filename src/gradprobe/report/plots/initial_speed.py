"""Figure of ``initial-speed``: ‖δˡ‖ per hidden layer at initialisation, log axis, over seeds."""

from __future__ import annotations

import numpy as np

from ...results import MIN_BAND_SEEDS, Result, band_label, seed_band
from .. import style
from ..figures import Drawn


def draw(result: Result) -> list[Drawn]:
    """One line per depth: median ‖δˡ‖ against hidden layer l with the 10–90 % band of single
    networks shaded (≥ 5 seeds), the book's printed values as amber diamonds, the mean-field
    prediction dotted. Reads ``data["depths"][h]``: ``sizes``, ``per_seed`` [S, H], ``book``
    ({printed: [H]} or None), ``predicted_speeds`` ([H], optional)."""
    depths = result.data["depths"]
    fig, ax = style.subplots(figsize=(6.4, 4.2))
    book_labelled = False
    seeds = 0
    for i, (hidden, d) in enumerate(sorted(depths.items(), key=lambda kv: int(kv[0]))):
        colour = style.PALETTE[i % len(style.PALETTE)]
        per_seed = np.asarray(d["per_seed"], dtype=np.float64)
        seeds = per_seed.shape[0]
        med, lo, hi = seed_band(per_seed)
        layers = np.arange(1, per_seed.shape[1] + 1)
        name = "-".join(map(str, d["sizes"]))
        if seeds >= MIN_BAND_SEEDS:
            ax.fill_between(layers, lo, hi, color=colour, alpha=style.BAND_ALPHA, lw=0)
        ax.plot(layers, med, color=colour, marker="o", label=f"{name} ({hidden} hidden)")
        predicted = d.get("predicted_speeds")
        if predicted:
            ax.plot(layers, predicted, color=colour, ls=":", lw=1.4,
                    label=None if i else "mean-field prediction")  # fmt: skip
        book = d.get("book")
        if book:
            ax.plot(
                layers,
                book["printed"],
                **{**style.BOOK_MARKER, "markeredgecolor": "white", "markeredgewidth": 0.8},
                label=None if book_labelled else "book (one network each)",
                zorder=5,
            )
            book_labelled = True
    ax.set_yscale("log")
    ax.set_xticks(range(1, max(len(d["sizes"]) - 2 for d in depths.values()) + 1))
    ax.set_xlabel("hidden layer l (1 = next to the input)")
    ax.set_ylabel("speed of learning ‖δˡ‖ = ‖∂C/∂bˡ‖")
    ax.set_title(f"‖δˡ‖ at initialisation, {seeds} networks per depth")
    handles, labels = ax.get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda i: labels[i].startswith("book"))
    ax.legend([handles[i] for i in order], [labels[i] for i in order], loc="lower right")
    samples = result.data.get("samples", 1000)
    return [
        Drawn(
            "initial_speed",
            f"‖δˡ‖ of each hidden layer at initialisation over the first {samples} training "
            f"images: median (line) and band (shaded; {band_label(seeds)} per depth); amber "
            "diamonds are the book's printed values, one network each; dotted lines the mean-field "
            "prediction for the same images. Log scale.",
            fig,
        )
    ]
