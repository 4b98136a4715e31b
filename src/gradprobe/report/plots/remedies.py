"""Figures of ``remedies``, drawn from its result's data alone.

* ``remedies_table``: remedies × depth heatmaps of the median test accuracy (with its 10–90 %
  band where there is one) and of the first/last ratio ‖δ¹‖/‖δᴴ‖ at initialisation (log₁₀);
* ``remedies_speeds``: the median per-layer speed ‖∂C/∂bˡ‖ at initialisation of every remedy at
  the deepest depth, one curve per remedy, on a log axis.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...results import Result, band_of
from .. import style
from ..figures import Drawn


def draw(result: Result) -> list[Drawn]:
    """``data``: ``depths`` [D], ``remedies`` [{key, label}], ``cells`` {"remedy@hidden":
    {hidden, accuracy [S] (None = diverged), ratio_init [S], speed_init [S][H], diverged}},
    ``budget`` (text)."""
    d = result.data
    return [_table(d), _speeds(d)]


def _cell(d: dict[str, Any], remedy: str, depth: int) -> dict[str, Any] | None:
    cells = d["cells"]
    c = cells.get(f"{remedy}@{depth}")
    if c is None:  # remedies with their own depth (fewer layers)
        c = next((v for v in cells.values() if v["remedy"] == remedy), None)
    return c


def _median(values: list[Any]) -> tuple[float, float | None, float | None]:
    v = [x for x in values if x is not None]
    if not v:
        return math.nan, None, None
    b = band_of(v)
    return b.median, b.low, b.high


def _table(d: dict[str, Any]) -> Drawn:
    remedies, depths = d["remedies"], d["depths"]
    R, D = len(remedies), len(depths)
    acc = np.full((R, D), np.nan)
    ratio = np.full((R, D), np.nan)
    text_acc: list[list[str]] = [[""] * D for _ in range(R)]
    text_ratio: list[list[str]] = [[""] * D for _ in range(R)]
    for i, r in enumerate(remedies):
        for j, depth in enumerate(depths):
            c = _cell(d, r["key"], depth)
            if c is None:
                continue
            m, lo, hi = _median(c["accuracy"])
            rm = _median(c["ratio_init"])[0]
            acc[i, j], ratio[i, j] = m, rm
            n, div = len(c["accuracy"]), int(c["diverged"])
            if math.isnan(m):
                text_acc[i][j] = f"diverged\n{div}/{n}"
            else:
                band = (
                    f"\n{100 * lo:.0f}–{100 * hi:.0f}" if lo is not None and hi is not None else ""
                )
                mark = f"\n{div}/{n} div." if div else ""
                text_acc[i][j] = f"{100 * m:.1f}{band}{mark}"
            text_ratio[i][j] = "—" if math.isnan(rm) else f"{rm:.2g}"
            if c["hidden"] != depth:
                text_acc[i][j] += f"\n({c['hidden']} hidden)"
    fig, axes = style.subplots(1, 2, figsize=(11.5, 0.55 * R + 2.2))
    ax1, ax2 = axes
    im1 = ax1.imshow(100 * acc, cmap="viridis", vmin=0, vmax=100, aspect="auto")
    log_ratio = np.log10(np.where(ratio > 0, ratio, np.nan))
    im2 = ax2.imshow(log_ratio, cmap="RdBu", vmin=-6, vmax=6, aspect="auto")
    for ax, text, title in (
        (ax1, text_acc, "test accuracy, % (median; 10–90 % band)"),
        (ax2, text_ratio, "‖δ¹‖/‖δᴴ‖ at initialisation (median)"),
    ):
        ax.set_xticks(range(D), [str(x) for x in depths])
        ax.set_xlabel("hidden layers (30 units each)")
        ax.set_title(title, fontsize=10)
        ax.grid(False)
        for i in range(R):
            for j in range(D):
                ax.text(j, i, text[i][j], ha="center", va="center", fontsize=7.5, color="white",
                        weight="bold", bbox={"fc": "black", "alpha": 0.25, "ec": "none",
                                             "pad": 0.5})  # fmt: skip
    ax1.set_yticks(range(R), [r["label"] for r in remedies], fontsize=8.5)
    ax2.set_yticks(range(R), ["" for _ in remedies])
    fig.colorbar(im1, ax=ax1, shrink=0.8, label="accuracy, %")
    fig.colorbar(im2, ax=ax2, shrink=0.8, label="log₁₀ ratio (0 = first layer as fast as last)")
    return Drawn(
        "remedies_table",
        "Each remedy alone against the book's baseline at 4, 10 and 20 hidden layers "
        f"({d['budget']}). Left: median test accuracy (10–90 % band of single runs where there "
        "are ≥ 5 seeds; 'div.' = seeds whose parameters became non-finite). Right: how much "
        "slower the first hidden layer learns than the last at initialisation, ‖δ¹‖/‖δᴴ‖ "
        "(white = equally fast, red = first layer slower).",
        fig,
    )


def _speeds(d: dict[str, Any]) -> Drawn:
    deep = max(d["depths"])
    fig, ax = style.subplots(figsize=(10.5, 4.8))
    colours = [*list(style.PALETTE), "#b42318", "#9ca3af", "#000000"]
    floor = math.inf
    drawn: list[tuple[np.ndarray, str]] = []
    for k, r in enumerate(d["remedies"]):
        c = _cell(d, r["key"], deep)
        if c is None:
            continue
        sp = np.asarray(c["speed_init"], dtype=np.float64)  # [S, H]
        med = np.median(sp, axis=0)
        same = next((lab for m, lab in drawn if m.shape == med.shape and np.array_equal(m, med)),
                    None)  # fmt: skip
        if same is not None:  # identical at initialisation (clipping, L2): one curve, one label
            continue
        drawn.append((med, r["label"]))
        twins = [
            o["label"] for o in d["remedies"][k + 1 :]
            if (oc := _cell(d, o["key"], deep)) is not None
            and np.array_equal(np.median(np.asarray(oc["speed_init"], dtype=np.float64), 0), med)
        ]  # fmt: skip
        if twins:
            r = {**r, "label": r["label"] + " = " + " = ".join(twins)}
        layers = np.arange(1, med.size + 1)
        ok = med > 0
        if ok.any():
            floor = min(floor, float(med[ok].min()))
        ax.plot(layers[ok], med[ok], marker="o", ms=3, lw=1.4, color=colours[k % len(colours)],
                ls="-" if k < len(style.PALETTE) else "--",
                label=f"{r['label']} ({c['hidden']} hidden)")  # fmt: skip
    ax.set_yscale("log")
    if math.isfinite(floor):
        ax.set_ylim(bottom=max(floor / 3, 1e-30))
    ax.set_xlabel("hidden layer l (1 = nearest the input)")
    ax.set_ylabel("‖∂C/∂bˡ‖ at initialisation (median over seeds)")
    ax.set_title(f"Speed of learning per layer at initialisation, {deep} hidden layers")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return Drawn(
        "remedies_speeds",
        f"Median speed of learning ‖∂C/∂bˡ‖ of every hidden layer at initialisation, for each "
        f"remedy at {deep} hidden layers (fewer layers: its own depth). A flat curve means "
        "every layer starts learning equally fast; a steep rise towards the output is the "
        "vanishing gradient. Remedies that change only training (clipping, L2) share the "
        "baseline's curve at initialisation.",
        fig,
    )
