"""Figures of ``slowdown``, drawn from its result's data alone (one panel per start).

* ``slowdown_output``: the neuron's output a = σ(wx + b) per epoch, with the book's printed
  values (its initial outputs and, where it prints one, the final output);
* ``slowdown_cost``: each run's own cost per epoch (log axis).
"""

from __future__ import annotations

from typing import Any

from ...book import SLOWDOWN_PRINTED_INITIAL_OUTPUT
from ...results import Result
from .. import style
from ..figures import Drawn

#: The start from which the book prints a final output (its reproduction row).
GOOD = (0.6, 0.9)


def run_style(r: dict[str, Any]) -> dict[str, Any]:
    """Colour by cost, dashes for the book's small cross-entropy η."""
    colour = style.PALETTE[0] if r["cost"] == "quadratic" else style.PALETTE[2]
    dashed = r["cost"] != "quadratic" and r["eta"] < 0.1
    return {
        "color": colour,
        "ls": "--" if dashed else "-",
        "label": f"{r['cost']}, η = {r['eta']:g}",
    }


def _starts(runs: list[dict[str, Any]]) -> list[tuple[float, float]]:
    seen: list[tuple[float, float]] = []
    for r in runs:
        s = (r["w0"], r["b0"])
        if s not in seen:
            seen.append(s)
    return seen


def _panels(runs: list[dict[str, Any]], key: str, ylabel: str) -> tuple[Any, Any]:
    starts = _starts(runs)
    fig, axes = style.subplots(1, len(starts), figsize=(5.2 * len(starts), 4.0), squeeze=False)
    for ax, start in zip(axes[0], starts):
        for r in runs:
            if (r["w0"], r["b0"]) == start:
                ax.plot(range(len(r[key])), r[key], **run_style(r))
        ax.set_title(f"start (w, b) = ({start[0]:g}, {start[1]:g})")
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
    return fig, axes[0]


def _legend(fig: Any, axes: Any) -> None:
    """One legend below all panels, each label once."""
    seen: dict[str, Any] = {}
    for ax in axes:
        for h, label in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(label, h)
    fig.legend(list(seen.values()), list(seen), loc="outside lower center", ncols=min(len(seen), 4))


def draw(result: Result) -> list[Drawn]:
    """``data``: ``runs`` (each ``w0``, ``b0``, ``cost``, ``eta``, ``output`` and
    ``cost_values`` [epochs + 1]); the book's final output comes from the reproduction row."""
    runs = result.data["runs"]
    book_final = next((c for c in result.comparisons if c.kind == "reproduction"), None)
    fig, axes = _panels(runs, "output", "output a (target 0)")
    printed = SLOWDOWN_PRINTED_INITIAL_OUTPUT  # ch. 3 prints σ(1.5) and σ(4) rounded
    for ax, start in zip(axes, _starts(runs)):
        xs: list[float] = []
        ys: list[float] = []
        if start in printed:
            xs.append(0)
            ys.append(printed[start])
        if book_final is not None and book_final.reference is not None and start == GOOD:
            xs.append(len(runs[0]["output"]) - 1)
            ys.append(book_final.reference)
        if xs:
            ax.plot(xs, ys, **style.BOOK_MARKER, label="printed in the book")
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
    _legend(fig, axes)
    out = Drawn(
        "slowdown_output",
        "Output of one sigmoid neuron (input 1, target 0) during gradient descent. Blue: "
        "quadratic cost; green: cross-entropy (dashed: the book's η = 0.005). Amber: the "
        "numbers the book prints (initial outputs, and the quadratic cost's final “about 0.09” "
        "from (0.6, 0.9)).",
        fig,
    )
    fig2, axes2 = _panels(runs, "cost_values", "cost C (its own definition)")
    for ax in axes2:
        ax.set_yscale("log")
    _legend(fig2, axes2)
    cost = Drawn(
        "slowdown_cost",
        "Cost against epoch (log axis): quadratic (a − y)²/2 in blue, cross-entropy in green "
        "(dashed: η = 0.005). The two costs have different scales; compare shapes.",
        fig2,
    )
    return [out, cost]
