"""Figure modules, one per experiment: ``<experiment name with _ for ->.py`` defines

    def draw(result: gradprobe.results.Result) -> list[gradprobe.report.figures.Drawn]

drawing from ``result.data`` (and its comparisons) only, with `gradprobe.report.style`.
`gradprobe.report.figures.draw_figures` finds the module by the result's name, runs ``draw``
inside the style's context and saves each figure; nothing here trains or imports
``gradprobe.experiments``.
"""

from __future__ import annotations
