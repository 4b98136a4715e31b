"""One figure per file. Each module takes an experiment's data (never trains) and returns the
written `Figure` records, using `gradprobe.report.style` for a consistent look."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...experiments._legacy_base import Figure
from .. import style


def save(fig: Any, out_dir: str | Path, stem: str, *, caption: str = "") -> Figure:
    """Write ``out_dir/<stem>.{png,svg}`` (`style.save_figure`, which closes ``fig``) and
    return its `Figure` record, with paths relative to ``out_dir``."""
    png, svg = style.save_figure(fig, Path(out_dir) / stem)
    return Figure(svg=svg.name, png=png.name, caption=caption)
