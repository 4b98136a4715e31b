"""Figure of ``depth-accuracy``: accuracy per epoch for each depth, and the best and last
epoch's accuracy per depth against the book's one run."""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import MaxNLocator

from ...results import MIN_BAND_SEEDS, Result, band_label, seed_band
from .. import style
from ..figures import Drawn


def draw(result: Result) -> list[Drawn]:
    """Left: median accuracy against epoch per depth, 10–90 % band of single runs shaded.
    Right: per depth, the best-epoch and last-epoch accuracy of every seed (dots), their median
    and band, and the book's number (amber diamond, only where the settings are the book's).
    Reads ``data``: ``depths[h]`` (``sizes``, ``accuracy`` [S, E] %), ``evaluated_on``,
    ``book`` {h: %}, ``book_comparable``."""
    data = result.data
    depths = data["depths"]
    ev = data.get("evaluated_on", "test")
    keys = list(depths)
    book = data.get("book", {}) if data.get("book_comparable") else {}
    fig, (left, right) = style.subplots(
        1, 2, figsize=(10.5, 4.4), gridspec_kw={"width_ratios": [1.4, 1]}
    )
    seeds = 0
    for i, h in enumerate(keys):
        colour = style.PALETTE[i % len(style.PALETTE)]
        acc = np.asarray(depths[h]["accuracy"], dtype=np.float64)
        seeds = acc.shape[0]
        med, lo, hi = seed_band(acc)
        epochs = np.arange(1, acc.shape[1] + 1)
        if seeds >= MIN_BAND_SEEDS:
            left.fill_between(epochs, lo, hi, color=colour, alpha=style.BAND_ALPHA, lw=0)
        left.plot(
            epochs,
            med,
            color=colour,
            label="-".join(map(str, depths[h]["sizes"])),
            marker="." if len(epochs) < 5 else None,
        )
    left.set_xlabel("epoch")
    left.set_ylabel(f"{ev} accuracy (%)")
    left.set_title(f"Median of {seeds} seeds, 10–90 % band shaded")
    left.xaxis.set_major_locator(MaxNLocator(integer=True))
    left.legend(loc="lower right")

    values: list[float] = []
    for i, h in enumerate(keys):
        colour = style.PALETTE[i % len(style.PALETTE)]
        acc = np.asarray(depths[h]["accuracy"], dtype=np.float64)
        for dx, reading, v, marker in (
            (-0.2, "best", acc.max(axis=1), "o"),
            (0.2, "last", acc[:, -1], "s"),
        ):
            m_, l_, h_ = seed_band(v)
            bmed, blo, bhi = float(m_), float(l_), float(h_)
            xpos = i + dx
            if len(v) >= MIN_BAND_SEEDS:
                right.plot(
                    [xpos, xpos], [blo, bhi], color=colour, alpha=0.3, lw=9, solid_capstyle="butt"
                )
            jitter = np.linspace(-0.06, 0.06, len(v)) if len(v) > 1 else np.zeros(1)
            right.plot(
                xpos + jitter,
                v,
                marker,
                color=colour,
                ms=3.2,
                alpha=0.85,
                ls="none",
                label=f"{reading} epoch, each seed" if i == 0 else None,
            )
            right.plot(
                [xpos - 0.09, xpos + 0.09],
                [bmed, bmed],
                color="#111827",
                lw=1.8,
                label="median, 10–90 % band" if i == 0 and reading == "best" else None,
            )
            values += [float(np.min(v)), float(np.max(v))]
        ref = book.get(h)
        if ref is not None:
            right.plot(
                i,
                ref,
                **{**style.BOOK_MARKER, "markersize": 7},
                label="book (one run)" if i == 0 else None,
            )
            values.append(float(ref))
    right.set_xticks(np.arange(len(keys)), [f"{len(depths[h]['sizes']) - 2} hidden" for h in keys])
    right.set_xlim(-0.6, len(keys) - 0.4)
    right.set_ylabel(f"{ev} accuracy (%)")
    right.set_title("Best (left) and last (right) epoch")
    lo_all, hi_all = min(values), max(values)
    pad = max(0.15, 0.08 * (hi_all - lo_all))
    right.set_ylim(lo_all - 4.0 * pad, hi_all + pad)  # room for the legend below
    right.legend(loc="lower center", fontsize=7.5, ncol=2)
    caption = (
        f"Left: {ev} accuracy after each epoch, median of {seeds} seeds with the 10–90 % band of "
        f"single runs shaded ({band_label(seeds)}). Right: per depth, every seed's best-epoch "
        "(circles) and last-epoch (squares) accuracy with their median and band"
    )
    caption += (
        ": the book does not say which epoch it quotes; amber diamonds are its single runs."
        if book
        else "; the book's numbers are for other settings (50 000 "
        "training images), so they are not drawn."
    )
    return [Drawn("depth_accuracy", caption, fig)]
