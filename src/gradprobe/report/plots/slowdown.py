"""Slowdown figure: the neuron's output against epoch, one panel per start (chapter 3)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ...book import SLOWDOWN_INITIAL_OUTPUT
from ...experiments._legacy_base import Figure
from .. import style
from . import save

STEM = "slowdown_output"


def run_style(r: dict[str, Any], i: int) -> dict[str, Any]:
    """Colour by cost, dashes for the book's small cross-entropy η."""
    colour = style.PALETTE[0] if r["cost"] == "quadratic" else style.PALETTE[2]
    dashed = r["cost"] != "quadratic" and r["eta"] < 0.1
    return {
        "color": colour,
        "ls": "--" if dashed else "-",
        "label": f"{r['cost']}, η = {r['eta']:g}",
    }


def panels(
    runs: Sequence[dict[str, Any]], starts: Sequence[tuple[float, float]], key: str, ylabel: str
) -> tuple[Any, Any]:
    """One panel per start with every run's ``key`` series [epochs + 1]; returns (fig, axes)."""
    fig, axes = style.subplots(1, len(starts), figsize=(5.2 * len(starts), 4.0), squeeze=False)
    for ax, start in zip(axes[0], starts):
        mine = [r for r in runs if (r["w"], r["b"]) == tuple(start)]
        for i, r in enumerate(mine):
            ax.plot(range(len(r[key])), r[key], **run_style(r, i))
        ax.set_title(f"start (w, b) = ({start[0]:g}, {start[1]:g})")
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
    return fig, axes[0]


def shared_legend(fig: Any, ax: Any) -> None:
    """One legend for all panels, below them (labels as in the first panel)."""
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 5))


def plot_outputs(
    runs: Sequence[dict[str, Any]],
    starts: Sequence[tuple[float, float]],
    out_dir: str | Path,
    *,
    book_final: Mapping[tuple[float, float], float] | None = None,
) -> Figure:
    """Write ``out_dir/slowdown_output.{png,svg}``: output a = σ(w + b) per epoch.

    runs: each with ``w``, ``b`` (start), ``cost``, ``eta`` and ``output`` [epochs + 1];
    book_final: the book's quadratic-cost output after the last epoch, per start.
    """
    fig, axes = panels(runs, starts, "output", "output a (target 0)")
    epochs = max(len(r["output"]) for r in runs) - 1
    for ax, start in zip(axes, starts):
        book = SLOWDOWN_INITIAL_OUTPUT.get((start[0], start[1]))
        final = (book_final or {}).get((start[0], start[1]))
        xs = [0] if final is None else [0, epochs]
        ys = [book] if final is None else [book, final]
        if book is not None:
            ax.plot(xs, ys, **style.BOOK_MARKER, label="book's values")
            for x, y in zip(xs, ys):
                ax.annotate(
                    f"{y:.2f}",
                    (x, y),
                    xytext=(7, 5),
                    textcoords="offset points",
                    color=style.BOOK,
                    fontsize=9.5,
                )
        ax.set_ylim(-0.02, 1.04)
    shared_legend(fig, axes[0])
    return save(
        fig,
        out_dir,
        STEM,
        caption="Output of one sigmoid neuron (input 1, target 0) during gradient descent. "
        "Blue: quadratic cost; green: cross-entropy (dashed: the book's η = 0.005). From (2, 2) "
        "the quadratic cost first crawls along a plateau. Amber: the book's printed outputs.",
    )
