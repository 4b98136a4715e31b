"""The HTML report of the reproduced experiments, drawn from their result files alone.

`write_report(results_dir)` reads every ``results_dir/<experiment>/result.json`` (schema
``gradprobe.result/2``), redraws each result's figures from its data with
`gradprobe.report.figures.draw_figures`, and writes one self-contained page,
``results_dir/report.html``. It never trains or recomputes anything, and it imports nothing from
``gradprobe.experiments``: the results say everything the report needs, their order included.
"""

from __future__ import annotations

from ._load import load_results
from .html import ReportInfo, generate_report, write_report

__all__ = ["ReportInfo", "generate_report", "load_results", "write_report"]
