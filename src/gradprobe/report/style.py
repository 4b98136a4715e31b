"""The one look every gradprobe figure shares, and the one way to save it.

Use it from a plot module like this::

    from gradprobe.report import style

    fig, ax = style.subplots(figsize=(6.4, 4))
    ax.plot(epochs, ours, color=style.OURS, label="ours")
    ax.fill_between(epochs, low, high, color=style.OURS, alpha=style.BAND_ALPHA, lw=0)
    ax.axhline(book, **style.BOOK_LINE, label="book")
    png, svg = style.save_figure(fig, out_dir / "initial-speed")

Figures from `subplots` sit on matplotlib's Agg canvas directly, never on pyplot: nothing needs
a display, nothing touches the global backend, and nothing stays open after `save_figure`.

The style is applied in a context, never globally: `subplots` and `save_figure` each use
`styled()` for their own work, and `gradprobe.report.figures.draw_figures` runs a plot module's
whole ``draw`` inside `styled()`, so lines and labels drawn later are styled too. Matplotlib's
global ``rcParams`` are the same after drawing as before.
The colours match the HTML report's: blue for our numbers, amber for the book's.
"""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import matplotlib as mpl
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..io import atomic_write_bytes

OURS = "#2563eb"
BOOK = "#d97706"
BAND_ALPHA = 0.2
GOOD = "#15803d"
BAD = "#b42318"
GREY = "#8a939e"
# For several series of ours (layers 1..n, depths, costs): ordered dark to light, no amber, so
# the book's colour stays unambiguous.
PALETTE: tuple[str, ...] = (
    "#1d4ed8", "#0891b2", "#059669", "#7c3aed", "#db2777", "#4b5563", "#65a30d", "#0f766e",
)  # fmt: skip
BOOK_LINE: dict[str, Any] = {"color": BOOK, "linestyle": "--", "linewidth": 1.6}
BOOK_MARKER: dict[str, Any] = {"color": BOOK, "marker": "D", "markersize": 6, "linestyle": "none"}

PNG_DPI = 130
RC: dict[Any, Any] = {
    "figure.figsize": (6.4, 4.0),
    "figure.dpi": 100,
    "figure.facecolor": "white",
    "figure.constrained_layout.use": True,
    "savefig.facecolor": "white",
    "font.size": 10.5,
    "font.family": "DejaVu Sans",
    "axes.titlesize": 11.5,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 10.5,
    "axes.labelcolor": "#374151",
    "axes.edgecolor": "#9ca3af",
    "axes.linewidth": 0.8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "axes.prop_cycle": cycler(color=list(PALETTE)),
    "grid.color": "#e5e7eb",
    "grid.linewidth": 0.7,
    "xtick.color": "#4b5563",
    "ytick.color": "#4b5563",
    "legend.frameon": False,
    "legend.fontsize": 9.5,
    "lines.linewidth": 1.8,
    "lines.markersize": 5,
    "svg.fonttype": "path",  # text as outlines: the SVG looks the same on every machine
    "svg.hashsalt": "gradprobe",  # stable ids, so re-running gives identical SVG
}


@contextlib.contextmanager
def styled() -> Iterator[None]:
    """gradprobe's rcParams for the duration of a `with` block only."""
    with mpl.rc_context(RC):
        yield


def subplots(
    nrows: int = 1, ncols: int = 1, *, figsize: Sequence[float] | None = None, **kwargs: Any
) -> tuple[Figure, Any]:
    """Like `plt.subplots`, but Agg-backed, styled and never registered with pyplot.

    The figure and its axes are made inside `styled()` (spines, grid, colour cycle, layout);
    artists added afterwards take the style from the caller's context (`draw_figures`)."""
    size = None if figsize is None else (float(figsize[0]), float(figsize[1]))
    with styled():
        fig = Figure(figsize=size)
        FigureCanvasAgg(fig)
        axes = fig.subplots(nrows, ncols, **kwargs)
    return fig, axes


def mark_book(ax: Axes, value: float, *, label: str = "book", horizontal: bool = True) -> None:
    """A dashed book-coloured reference line at `value` (horizontal by default)."""
    if horizontal:
        ax.axhline(value, label=label, **BOOK_LINE)
    else:
        ax.axvline(value, label=label, **BOOK_LINE)


def _save_atomic(fig: Figure, path: Path, fmt: str, **kwargs: Any) -> None:
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, **kwargs)
    atomic_write_bytes(path, buf.getvalue())


def save_figure(fig: Figure, path_stem: str | Path) -> tuple[Path, Path]:
    """Write `path_stem.png` (130 dpi) and `path_stem.svg` atomically, close `fig`, return both.

    A `.png`/`.svg` suffix on `path_stem` is ignored; missing folders are created. Metadata that
    changes between runs (dates) is left out, so the files depend only on the figure.
    """
    stem = Path(path_stem)
    if stem.suffix.lower() in {".png", ".svg"}:
        stem = stem.with_suffix("")
    stem.parent.mkdir(parents=True, exist_ok=True)
    png, svg = stem.with_name(stem.name + ".png"), stem.with_name(stem.name + ".svg")
    try:
        if not isinstance(fig.canvas, FigureCanvasAgg):
            FigureCanvasAgg(fig)  # a pyplot figure from a GUI backend still saves headless
        with styled():  # svg.hashsalt and svg.fonttype are read when saving
            _save_atomic(fig, png, "png", dpi=PNG_DPI, metadata={"Software": None})
            # The layout (constrained) was just computed for the PNG; the SVG has the same size
            # in inches, so it keeps those positions: no layout engine, so savefig neither
            # lays out again nor makes its extra layout pass (about half the SVG's cost).
            with mpl.rc_context({"figure.autolayout": False,
                                 "figure.constrained_layout.use": False}):  # fmt: skip
                fig.set_layout_engine(None)  # with these rcParams: no engine at all
            _save_atomic(fig, svg, "svg", metadata={"Date": None, "Creator": None})
    finally:
        close(fig)
    return png, svg


def close(fig: Figure) -> None:
    """Release a figure, whether it came from `subplots` or from pyplot."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close(fig)
    fig.clear()
