"""`gradprobe sweep-report DIR`: gather a sweep's runs and draw its page (heatmaps, table)."""

from __future__ import annotations

import argparse
import sys

NAME = "sweep-report"
HELP = "gather a sweep into Parquet and write its HTML page (heatmaps and a sortable table)"
EPILOG = """examples:
  gradprobe sweep-report sweeps/chain                  # writes sweeps/chain/sweep.html
  gradprobe sweep-report sweeps/chain --x depth --y init --metric "‖δ¹‖/‖δ⁴‖"
  gradprobe sweep-report sweeps/chain --out ~/chain.html --json

Reads DIR/runs/*/result.json (never runs anything), rewrites DIR/results.parquet and
DIR/runs.parquet, and writes one self-contained page: one heatmap per metric (the two keys
--x/--y, default the first two swept keys; other keys pooled) with each cell's seed spread,
and a table of every run that sorts by any column without JavaScript."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare `sweep-report`'s arguments on the sub-command parser `main` gives us."""
    parser.add_argument("dir", metavar="DIR", help="the --out folder of `gradprobe sweep`")
    parser.add_argument("--out", metavar="FILE", default=None,
                        help="where to write the page (default DIR/sweep.html)")  # fmt: skip
    parser.add_argument("--x", metavar="KEY", default=None, help="config key across")
    parser.add_argument("--y", metavar="KEY", default=None, help="config key down")
    parser.add_argument(
        "--metric",
        metavar="NAME",
        action="append",
        default=None,
        help="a metric to map (repeatable; default every metric but identity checks)",
    )
    parser.add_argument("--title", metavar="T", default=None, help="the page's headline")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def run(args: argparse.Namespace) -> int:
    """Gather, then write the page; print its path."""
    from ..report.sweep import write_sweep_report
    from ..sweep import gather
    from ._common import emit_json

    table = gather(args.dir)
    info = write_sweep_report(
        args.dir, args.out, metrics=args.metric, x=args.x, y=args.y, title=args.title
    )
    warnings = table.warnings + info.warnings
    if args.json:
        emit_json(
            {
                "report": str(info.path),
                "results": str(table.results),
                "runs": info.runs,
                "heatmaps": [{"metric": m, "x": x, "y": y} for m, x, y in info.heatmaps],
                "warnings": warnings,
            }
        )
        return 0
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    print(info.path)
    return 0
