"""`gradprobe report DIR`: turn the results of `gradprobe reproduce` into one HTML page."""

from __future__ import annotations

import argparse
import sys

NAME = "report"
HELP = "write a self-contained HTML report from the results of `gradprobe reproduce`"
EPILOG = """examples:
  gradprobe report results/                    # writes results/report.html
  gradprobe report results/ --out ~/ch5.html --title "Chapter 5, reproduced"
  gradprobe report results/ --json             # machine-readable: path, experiments, warnings

The report reads DIR/<experiment>/result.json (never trains anything), embeds every figure and
opens without a network. Broken result files are listed as warnings inside the report."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare `report`'s arguments on the sub-command parser `main` gives us."""
    parser.add_argument("dir", metavar="DIR", help="the --out folder of `gradprobe reproduce`")
    parser.add_argument(
        "--out",
        metavar="FILE",
        default=None,
        help="where to write the page (default: DIR/report.html; a folder gets report.html)",
    )
    parser.add_argument("--title", metavar="T", default=None, help="the page's headline")
    parser.add_argument(
        "--json",
        action="store_true",
        help='print {"report": path, "experiments": [...], "warnings": [...]} instead of text',
    )


def run(args: argparse.Namespace) -> int:
    """Write the report; print its path (and warnings, on stderr). Bad input → GradprobeError."""
    from ..report.html import generate_report
    from ._common import emit_json

    info = generate_report(args.dir, args.out, title=args.title)
    if args.json:
        emit_json(
            {"report": str(info.path), "experiments": info.experiments, "warnings": info.warnings}
        )
        return 0
    for warning in info.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(info.path)
    return 0
