"""Slowdown figure: the cost against epoch, one panel per start (chapter 3)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ...experiments._legacy_base import Figure
from . import save
from .slowdown import panels, shared_legend

STEM = "slowdown_cost"


def plot_costs(
    runs: Sequence[dict[str, Any]], starts: Sequence[tuple[float, float]], out_dir: str | Path
) -> Figure:
    """Write ``out_dir/slowdown_cost.{png,svg}``: each run's own cost per epoch (log axis).

    runs: each with ``w``, ``b`` (start), ``cost``, ``eta`` and ``cost_values`` [epochs + 1].
    """
    fig, axes = panels(runs, starts, "cost_values", "cost C (its own definition)")
    for ax in axes:
        ax.set_yscale("log")
    shared_legend(fig, axes[0])
    return save(
        fig,
        out_dir,
        STEM,
        caption="Cost against epoch (log axis): quadratic (a − y)²/2 in blue, cross-entropy in "
        "green (dashed: η = 0.005). The two costs have different scales; compare shapes.",
    )
