"""`gradprobe report DIR`: redraw every figure from the results in DIR and write one HTML page."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

from ..results import Scoreboard
from . import _common as c

NAME = "report"
HELP = "write a self-contained HTML report from the results of `gradprobe reproduce`"
DESCRIPTION = """\
Read every DIR/<experiment>/result.json (schema gradprobe.result/2), redraw each experiment's
figures from its data into its folder, and write one self-contained page (default
DIR/report.html). The page shows exactly the results in DIR, in their own order: the headline
counts only numbers the book prints; checks (identities, bounds) and theory are listed apart.
Nothing is trained or recomputed. An invalid result file is named in the report and on stderr,
and the other results are still reported."""
EPILOG = """\
examples:
  gradprobe reproduce all --quick --out quick-results
  gradprobe report quick-results                    # writes quick-results/report.html
  gradprobe report quick-results --out chapter5.html --title "Chapter 5, reproduced"
  gradprobe report quick-results --json             # path, experiments, scoreboard, warnings
  gradprobe report sweeps/chain                     # a sweep folder: same as sweep-report

The report only ever replaces a regular file: a device, FIFO, folder or symbolic link as --out
is refused."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare `report`'s arguments on the sub-command parser `main` gives us."""
    parser.add_argument(
        "dir",
        metavar="DIR",
        type=c.existing_dir,
        help="the --out folder of `gradprobe reproduce` (or of `gradprobe sweep`)",
    )
    parser.add_argument(
        "--out",
        metavar="FILE",
        type=c.output_file_or_dir,
        default=None,
        help="where to write the page (default: DIR/report.html; a folder gets report.html)",
    )
    parser.add_argument("--title", metavar="T", default=None, help="the page's headline")
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object (report, experiments, scoreboard, warnings) instead of text",
    )


def board_dict(board: Scoreboard) -> dict[str, Any]:
    """The scoreboard as plain JSON (its counts and its headline)."""
    return {**dataclasses.asdict(board), "headline": board.headline}


def run(args: argparse.Namespace) -> int:
    """Write the report; print its path and headline (warnings on stderr). Bad input →
    `GradprobeError` (one line, exit 2)."""
    from ..report.html import board_line, generate_report

    # DIR (c.existing_dir) and --out (c.output_file_or_dir) were checked when parsed
    if (Path(args.dir) / "sweep.json").is_file():  # a sweep folder: its own page
        from . import sweep_report

        return sweep_report.run(
            argparse.Namespace(
                dir=args.dir,
                out=args.out,
                title=args.title,
                json=args.json,
                metric=None,
                x=None,
                y=None,
            )
        )
    info = generate_report(args.dir, args.out, title=args.title)
    for warning in info.warnings:
        print(f"gradprobe report: warning: {warning}", file=sys.stderr)
    if args.json:
        c.emit_json(
            {
                "report": str(info.path),
                "experiments": info.experiments,
                "scoreboard": board_dict(info.board),
                "warnings": info.warnings,
            }
        )
        return 0
    print(board_line(info.board))
    print(info.path)
    return 0
