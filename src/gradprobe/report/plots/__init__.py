"""Figure modules, one per experiment: ``<experiment name with _ for ->.py`` defines

    def draw(result: gradprobe.results.Result) -> list[gradprobe.report.figures.Drawn]

drawing from ``result.data`` (and its comparisons) only, with `gradprobe.report.style`.
`gradprobe.report.figures.draw_figures` finds the module by the result's name, runs ``draw``
inside the style's context and saves each figure; nothing here trains or imports
``gradprobe.experiments``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import style
from ..figures import FigureFile


def save(fig: Any, out_dir: str | Path, stem: str, *, caption: str = "") -> Any:
    """Transitional, for figure modules still called by experiments on the legacy base: write
    ``out_dir/<stem>.{png,svg}`` (`style.save_figure`, which closes ``fig``) and return a record
    with ``svg``, ``png`` (relative to ``out_dir``) and ``caption``. Remove with the legacy
    base; modules with ``draw(result)`` never need it."""
    png, svg = style.save_figure(fig, Path(out_dir) / stem)
    return FigureFile(stem=stem, caption=caption, png=png.name, svg=svg.name)
