"""Figures of ``weight-init``, drawn from its result's data alone.

* ``weight_init``: validation accuracy per epoch, one panel per network (784-30-10,
  784-100-10), N(0, 1) against N(0, 1/n_in) weights: our median and 10–90 % band over seeds,
  the book's published curve for 784-30-10 in amber (the book's chapter-3 figure);
* ``weight_init_cross_entropy``: test accuracy per epoch of chapter 3's first cross-entropy
  runs (N(0, 1) weights, η = 0.5, λ = 0), with the book's printed final accuracies.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.ticker import MaxNLocator

from ...results import Result, band_label, seed_band
from .. import style
from ..figures import Drawn

COLOUR = {"large": style.PALETTE[4], "default": style.PALETTE[0]}
LABEL = {"large": "N(0, 1) weights", "default": "N(0, 1/n_in) weights"}
BOOK_LS = {"large": "--", "default": ":"}
#: Chapter 3's printed test accuracies of the cross-entropy runs (%), by hidden width.
CE_BOOK = {30: 95.49, 100: 96.82}


def _band(ax: Any, acc: list[list[float]], colour: str, label: str) -> None:
    a = np.asarray(acc, dtype=np.float64)
    epochs = np.arange(1, a.shape[1] + 1)
    med, lo, hi = seed_band(a)
    if a.shape[0] >= 5:
        ax.fill_between(epochs, lo, hi, color=colour, alpha=style.BAND_ALPHA, lw=0)
    ax.plot(epochs, med, color=colour, label=label)


def _figure_panels(result: Result) -> Drawn | None:
    runs = [r for r in result.data["runs"] if r["role"] == "figure"]
    if not runs:
        return None
    hidden = sorted({r["hidden"] for r in runs})
    fig, axes = style.subplots(1, len(hidden), figsize=(5.4 * len(hidden), 4.2), squeeze=False)
    # The book's curves are 30 epochs on 50 000 images: beside a quick run they mislead.
    curves = None if result.quick else result.data.get("book_curves")
    for ax, h in zip(axes[0], hidden):
        for r in runs:
            if r["hidden"] == h:
                _band(ax, r["accuracy"], COLOUR[r["init"]], f"ours, {LABEL[r['init']]}")
        if curves is not None and h == 30:
            for init, book in curves.items():
                e = np.arange(1, len(book) + 1)
                ax.plot(e, book, color=style.BOOK, ls=BOOK_LS[init], lw=1.5,
                        label=f"book, {LABEL[init]}")  # fmt: skip
        ax.set_title(f"784-{h}-10")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel(f"{runs[0]['evaluated_on']} accuracy (%)")
    seen: dict[str, Any] = {}
    for ax in axes[0]:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(label, handle)
    fig.legend(
        list(seen.values()),
        list(seen),
        loc="outside lower center",
        ncols=2 if len(hidden) == 1 else 4,
    )
    c = result.config
    book = (
        "the book's single runs for 784-30-10 from its figure data in amber (dashed N(0, 1), "
        "dotted N(0, 1/n_in))"
        if curves is not None
        else "the book's curves are not drawn beside this quick run"
    )
    return Drawn(
        "weight_init",
        f"Accuracy per epoch with N(0, 1) weights (pink) and N(0, 1/n_in) weights (blue): "
        f"median and {band_label(result.data['seeds'])}; {book}. {result.data['epochs']} "
        f"epochs on {result.data['training_images']} images, m = {c.get('batch_size', 10)}, "
        f"η = {c.get('eta', 0.1):g}, λ = {c.get('lmbda', 5.0):g}, cross-entropy.",
        fig,
    )


def _cross_entropy(result: Result) -> Drawn | None:
    runs = [r for r in result.data["runs"] if r["role"] == "cross-entropy"]
    if not runs:
        return None
    fig, ax = style.subplots(1, 1, figsize=(6.4, 4.2))
    for i, r in enumerate(runs):
        colour = style.PALETTE[(2 * i) % len(style.PALETTE)]
        _band(ax, r["accuracy"], colour, f"ours, {r['net']}")
        book = None if result.quick else CE_BOOK.get(r["hidden"])
        if book is not None:
            n = len(r["accuracy"][0])
            ax.plot([n], [book], **style.BOOK_MARKER)
            ax.annotate(f"book {r['net']}: {book:.2f}", (n, book), xytext=(-110, 6),
                        textcoords="offset points", color=style.BOOK, fontsize=9)  # fmt: skip
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(f"{runs[0]['evaluated_on']} accuracy (%)")
    ax.set_title("Cross-entropy, N(0, 1) weights, η = 0.5, λ = 0")
    ax.legend(loc="lower right")
    return Drawn(
        "weight_init_cross_entropy",
        f"Chapter 3's first cross-entropy runs: accuracy per epoch, median and "
        f"{band_label(result.data['seeds'])}; "
        + (
            "the book's 30-epoch numbers are not drawn beside this quick run."
            if result.quick
            else "amber diamonds: the test accuracies the book prints after 30 epochs "
            "(95.49 % with 30 hidden neurons, 96.82 % with 100)."
        ),
        fig,
    )


def draw(result: Result) -> list[Drawn]:
    """``data``: ``runs`` (each ``hidden``, ``init``, ``role`` "figure" or "cross-entropy",
    ``evaluated_on`` and ``accuracy`` [S, E] percent), ``seeds``, ``book_curves`` (None or
    per init the book's 784-30-10 validation accuracy per epoch, percent)."""
    return [d for d in (_figure_panels(result), _cross_entropy(result)) if d is not None]
