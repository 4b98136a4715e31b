"""The HTML report of the reproduced experiments, and the shared figure style (`report.style`).

`write_report(results_dir)` reads every `results_dir/<experiment>/result.json` and writes one
self-contained page, `results_dir/report.html`. It never trains or recomputes anything.
"""

from __future__ import annotations

from ._load import EXPERIMENTS, SCHEMA, load_results
from .html import ReportInfo, generate_report, write_report

__all__ = ["EXPERIMENTS", "SCHEMA", "ReportInfo", "generate_report", "load_results", "write_report"]
