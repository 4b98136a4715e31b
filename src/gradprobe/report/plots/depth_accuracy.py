"""Figure of ``depth-accuracy``: accuracy per epoch for each depth, and best accuracy vs book."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.ticker import MaxNLocator

from gradprobe.book import DEPTH_ACCURACY
from gradprobe.experiments._legacy_base import Figure
from gradprobe.experiments._mnist import net_name
from gradprobe.report import style
from gradprobe.report.plots import save

STEM = "depth_accuracy"


def plot(
    runs: dict[str, dict[str, Any]],
    stats: dict[str, dict[str, Any]],
    out_dir: Path,
    *,
    seeds: int,
    evaluated_on: str,
) -> Figure:
    """Left: mean accuracy against epoch per depth, min–max over seeds shaded. Right: best
    accuracy per depth — every seed (dots), mean with its 95 % interval (bar), the 95 % range
    of one run (light bar) and the book's single run (amber diamond). ``runs[h]["accuracy"]``
    is [S, E] in percent; ``stats[h]["best"]`` as made by the experiment."""
    fig, (left, right) = style.subplots(
        1, 2, figsize=(10.5, 4.3), gridspec_kw={"width_ratios": [1.5, 1]}
    )
    keys = list(runs)
    names = [net_name(tuple(runs[h]["sizes"])) for h in keys]
    for i, h in enumerate(keys):
        colour = style.PALETTE[i % len(style.PALETTE)]
        acc = np.asarray(runs[h]["accuracy"], dtype=np.float64)
        epochs = np.arange(1, acc.shape[1] + 1)
        left.fill_between(
            epochs, acc.min(0), acc.max(0), color=colour, alpha=style.BAND_ALPHA, lw=0
        )
        left.plot(
            epochs,
            acc.mean(0),
            color=colour,
            label=f"{names[i]}",
            marker="." if len(epochs) < 5 else None,
        )
    left.set_xlabel("epoch")
    left.set_ylabel(f"{evaluated_on} accuracy (%)")
    left.set_title(f"Mean of {seeds} seeds, min–max shaded")
    finals = np.concatenate([np.asarray(runs[h]["accuracy"])[:, -1] for h in keys])
    top = float(max(np.max([np.max(runs[h]["accuracy"]) for h in keys]), *DEPTH_ACCURACY.values()))
    left.set_ylim(max(float(finals.min()) - 3.0, 0.0), min(top + 0.4, 100.0))
    left.xaxis.set_major_locator(MaxNLocator(integer=True))
    left.legend(loc="best")

    x = np.arange(len(keys))
    for i, h in enumerate(keys):
        colour = style.PALETTE[i % len(style.PALETTE)]
        b = stats[h]["best"]
        lo, hi = _single_run(b)
        if np.isfinite(lo) and np.isfinite(hi):
            right.plot([i, i], [lo, hi], color=colour, alpha=0.25, lw=10, solid_capstyle="butt",
                       label="95 % range of one run" if i == 0 else None)  # fmt: skip
        jitter = np.linspace(-0.12, 0.12, len(b["per_seed"])) if len(b["per_seed"]) > 1 else [0.0]
        right.plot(i + np.asarray(jitter) + 0.22, b["per_seed"], "o", color=colour, ms=3.5,
                   alpha=0.8, label="each seed" if i == 0 else None)  # fmt: skip
        ci_lo, ci_hi = b["ci95"]
        if np.isfinite(ci_lo) and np.isfinite(ci_hi):
            right.errorbar(i, b["mean"], yerr=[[b["mean"] - ci_lo], [ci_hi - b["mean"]]],
                           fmt="none", ecolor="#111827", capsize=4, lw=1.4)  # fmt: skip
        right.plot(i, b["mean"], "_", color="#111827", ms=16, mew=2,
                   label="mean, 95 % CI" if i == 0 else None)  # fmt: skip
        book = DEPTH_ACCURACY.get(tuple(runs[h]["sizes"]))
        if book is not None:
            right.plot(i - 0.22, book, **{**style.BOOK_MARKER, "markersize": 7},
                       label="book (one run)" if i == 0 else None)  # fmt: skip
    right.set_xticks(x, [f"{len(runs[h]['sizes']) - 2} hidden" for h in keys])
    right.set_xlim(-0.6, len(keys) - 0.4)
    right.set_ylabel(f"best {evaluated_on} accuracy (%)")
    right.set_title("Best epoch: ours against the book")
    right.legend(loc="lower center", fontsize=8, ncol=2)
    lows = [np.nanmin([stats[h]["best"]["min"], _single_run(stats[h]["best"])[0]]) for h in keys]
    highs = [np.nanmax([stats[h]["best"]["max"], _single_run(stats[h]["best"])[1]]) for h in keys]
    books = [v for h in keys if (v := DEPTH_ACCURACY.get(tuple(runs[h]["sizes"]))) is not None]
    lo_all = np.nanmin([*lows, *books])
    hi_all = np.nanmax([*highs, *books])
    pad = max(0.15, 0.1 * (hi_all - lo_all))
    right.set_ylim(lo_all - 3.2 * pad, hi_all + pad)  # room for the legend below
    return save(
        fig,
        out_dir,
        STEM,
        caption=(
            f"Left: {evaluated_on} accuracy after each epoch, mean of {seeds} seeds with the "
            "min–max over seeds shaded. Right: best accuracy per depth, each seed a dot, the mean "
            "with its 95 % interval, the 95 % range of a single run (light bar) and the book's "
            "single run (amber diamond)."
        ),
    )


def _single_run(best: dict[str, Any]) -> tuple[float, float]:
    """The 95 % range of one run, or NaNs with fewer than 3 seeds (too wide to mean much)."""
    lo, hi = best["single_run95"]
    if len(best["per_seed"]) < 3 or lo is None or hi is None:
        return float("nan"), float("nan")
    return float(lo), float(hi)
