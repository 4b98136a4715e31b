"""Draw an experiment's figures from its `Result` alone.

Each experiment NAME has one figure module, ``gradprobe.report.plots.<NAME with _ for ->``, with

    def draw(result: Result) -> list[Drawn]:
        '''Figures of this experiment, drawn from ``result.data`` (and comparisons) only.'''

returning ``Drawn(stem, caption, fig)`` records: ``fig`` a matplotlib Figure made with
`gradprobe.report.style.subplots`, ``stem`` the file name without extension. `draw_figures`
writes ``out_dir/<stem>.png`` and ``.svg`` atomically, inside gradprobe's style context (never
changing matplotlib's global state), and returns what it wrote. Nothing here trains.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from ..results import Result


@dataclass
class Drawn:
    """One drawn figure: file stem, caption (plain text) and the matplotlib Figure."""

    stem: str
    caption: str
    fig: Any


@dataclass
class FigureFile:
    """A figure written beside result.json (paths relative to that folder)."""

    stem: str
    caption: str
    png: str
    svg: str


def plot_module(name: str) -> ModuleType | None:
    """The figure module of experiment ``name``, or None if it has none."""
    module = name.replace("-", "_")
    if not module.isidentifier():
        return None
    try:
        return importlib.import_module(f"{__package__}.plots.{module}")
    except ModuleNotFoundError as e:
        if e.name and e.name.endswith(f"plots.{module}"):
            return None
        raise


def draw_figures(result: Result, out_dir: str | Path) -> list[FigureFile]:
    """Draw every figure of ``result`` into ``out_dir``; [] if its experiment has no figure
    module."""
    from . import style

    mod = plot_module(result.name)
    if mod is None or not hasattr(mod, "draw"):
        return []
    written: list[FigureFile] = []
    with style.styled():
        for d in mod.draw(result):
            png, svg = style.save_figure(d.fig, Path(out_dir) / d.stem)
            written.append(FigureFile(d.stem, d.caption, png.name, svg.name))
    return written
