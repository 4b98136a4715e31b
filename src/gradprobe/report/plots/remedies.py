"""Figures of ``remedies``, drawn from its result's data alone.

* ``remedies_table``: remedies × depth heatmaps of the median test accuracy (with its 10–90 %
  band where there is one) and of the first/last ratio ‖δ¹‖/‖δᴴ‖ at initialisation (log₁₀);
* ``remedies_speeds``: the median per-layer speed ‖∂C/∂bˡ‖ of every remedy at the deepest
  depth, at initialisation and after training, one curve per remedy, on log axes;
* ``remedies_advice`` (when the advice was validated): what_if's predicted improvement against
  the measured accuracy gain of the remedied nets, wrong advice marked.
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
    out = [_table(d), _speeds(d)]
    if d.get("advice") and d["advice"].get("rows"):
        out.append(_advice(d))
    return out


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
        "Each remedy alone against the book's baseline at "
        + ", ".join(map(str, depths[:-1]))
        + (" and " if D > 1 else "")
        + f"{depths[-1]} hidden layers ({d['budget']}). Left: median test accuracy "
        "(10–90 % band of single runs where there are ≥ 5 seeds; 'div.' = seeds whose "
        "parameters became non-finite). Right: how much "
        "slower the first hidden layer learns than the last at initialisation, ‖δ¹‖/‖δᴴ‖ "
        "(white = equally fast, red = first layer slower).",
        fig,
    )


def _median_curve(rows: list[Any]) -> np.ndarray | None:
    """Median over seeds of per-layer speeds [S][H] (None entries: diverged seeds)."""
    ok = [[math.nan if v is None else v for v in r] for r in rows if r is not None]
    if not ok:
        return None
    with np.errstate(all="ignore"):
        return np.asarray(np.nanmedian(np.asarray(ok, dtype=np.float64), axis=0))


def _speeds(d: dict[str, Any]) -> Drawn:
    deep = max(d["depths"])
    fig, axes = style.subplots(1, 2, figsize=(13.5, 4.8), sharey=True)
    colours = [*list(style.PALETTE), "#b42318", "#9ca3af", "#000000", "#7c3aed", "#0e7490"]
    floor = math.inf
    for panel, (ax, field, when) in enumerate(
        zip(axes, ("speed_init", "speed_final"), ("at initialisation", "after training"))
    ):
        drawn: list[np.ndarray] = []
        for k, r in enumerate(d["remedies"]):
            c = _cell(d, r["key"], deep)
            if c is None:
                continue
            med = _median_curve(c[field])
            if med is None:
                continue
            if panel == 0 and any(m.shape == med.shape and np.array_equal(m, med) for m in drawn):
                continue  # identical at initialisation (clipping, L2): the baseline's curve
            drawn.append(med)
            layers = np.arange(1, med.size + 1)
            ok = np.isfinite(med) & (med > 0)
            if ok.any():
                floor = min(floor, float(med[ok].min()))
            ax.plot(layers[ok], med[ok], marker="o", ms=3, lw=1.4,
                    color=colours[k % len(colours)],
                    ls="-" if k < len(style.PALETTE) else "--",
                    label=f"{r['label']} ({c['hidden']} hidden)")  # fmt: skip
        ax.set_yscale("log")
        ax.set_xlabel("hidden layer l (1 = nearest the input)")
        ax.set_title(f"{when}, {deep} hidden layers", fontsize=10)
    if math.isfinite(floor):
        axes[0].set_ylim(bottom=max(floor / 3, 1e-30))
    axes[0].set_ylabel("‖∂C/∂bˡ‖ (‖∂C/∂βˡ‖ with batch norm), median over seeds")
    handles: dict[str, Any] = {}
    for ax in axes:  # a remedy may be drawn in one panel only (diverged, or same as baseline)
        for h, lab in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(lab, h)
    axes[1].legend(list(handles.values()), list(handles), fontsize=7, loc="upper left",
                   bbox_to_anchor=(1.01, 1.0), frameon=False)  # fmt: skip
    return Drawn(
        "remedies_speeds",
        f"Median speed of learning ‖∂C/∂bˡ‖ of every hidden layer for each remedy at {deep} "
        "hidden layers (fewer layers: its own depth), at initialisation (left; remedies that "
        "change only training — clipping, L2 — share the baseline's curve and are drawn once) "
        "and after training (right; diverged seeds left out). A flat curve means every layer "
        "learns equally fast; a steep rise towards the output is the vanishing gradient.",
        fig,
    )


def _advice(d: dict[str, Any]) -> Drawn:
    adv = d["advice"]
    rows = [r for r in adv["rows"] if r["predicted"] is not None]
    fig, ax = style.subplots(figsize=(8.5, 5.0))
    for r in rows:
        colour = "#b42318" if r["wrong"] else "#15803d"
        ax.scatter(r["predicted"], 100 * r["gain"], color=colour, s=28, zorder=3)
        ax.annotate(f"{r['change']} on {r['sick']}", (r["predicted"], 100 * r["gain"]),
                    fontsize=6.5, xytext=(3, 3), textcoords="offset points")  # fmt: skip
    ax.axhline(100 * adv["helps_threshold"], color="#9ca3af", lw=0.8, ls="--")
    ax.axvline(0, color="#9ca3af", lw=0.8)
    rho = adv["spearman"]
    ax.set_xlabel("what_if: predicted improvement (decades the first/last ratio moves to 1)")
    ax.set_ylabel("measured gain in median test accuracy (points)")
    ax.set_title(
        "Probe advice against outcome: Spearman ρ = "
        + ("undefined" if rho is None else f"{rho:.2f}")
        + f" over {adv['n']} pairs",
        fontsize=10,
    )
    return Drawn(
        "remedies_advice",
        "Each point: a sick configuration (diagnose() found vanishing, exploding, saturation or "
        "dead units on its first mini-batches) and one what_if change, at the change's "
        "predicted improvement (x) and the accuracy the grid's remedied net then gained over "
        "the sick one (y). Red: the advice was wrong (predicted to help, gain ≤ the dashed "
        "threshold; or not predicted, and it helped).",
        fig,
    )
