"""``gradprobe diagnose HISTORY_FILE``: findings and remedies for a saved probe history."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

from gradprobe.errors import DataError

NAME = "diagnose"
HELP = "diagnose vanishing/exploding gradients, NaNs, saturation… from a saved probe history"
EPILOG = """\
examples:
  gradprobe diagnose runs/history.parquet
  gradprobe diagnose runs/history.csv --json
  gradprobe diagnose runs/history.json --fail-on warning   # exit 1 on any warning (CI)

The history file is what probe.save(path) writes (CSV, Parquet or JSON, by suffix): a tidy
table with columns step, layer, quantity, value. A file that cannot support a diagnosis
(missing, empty, wrong columns or types) is refused with one line and exit status 2; a
history too short or entirely NaN/Inf gets an "insufficient-data" finding, never "no problem".
"""

_LEVELS = ("info", "warning", "critical")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("history", metavar="HISTORY_FILE", help=".csv, .parquet or .json")
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")
    parser.add_argument(
        "--fail-on",
        choices=_LEVELS,
        default=None,
        help="exit with status 1 when a finding of this severity or worse is present",
    )


def _clean(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None if math.isnan(x) else ("inf" if x > 0 else "-inf")
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    return x


def run(args: argparse.Namespace) -> int:
    from gradprobe.probe.diagnose import diagnose
    from gradprobe.probe.history import load_history

    if not str(args.history).strip():
        raise DataError("HISTORY_FILE is an empty string")
    df = load_history(args.history)
    findings = diagnose(df)
    if args.json:
        payload = {
            "file": str(args.history),
            "steps": int(df["step"].nunique()),
            "layers": int(df["layer"].nunique()),
            "findings": [_clean(f.to_dict()) for f in findings],
        }
        sys.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    else:
        out = sys.stdout
        out.write(
            f"{args.history}: {df['step'].nunique()} recorded steps, "
            f"{df['layer'].nunique()} layers\n"
        )
        if not findings:
            out.write(
                f"no problem found in {df['step'].nunique()} steps: every layer learns at a "
                "comparable speed\n"
            )
        for f in findings:
            out.write(f"\n[{f.severity}] {f.kind} — {', '.join(f.layers)}\n  {f.message}\n")
            for r in f.remedies:
                out.write(f"  • {r}\n")
    worst = max((_LEVELS.index(f.severity) for f in findings), default=-1)
    if args.fail_on is not None and worst >= _LEVELS.index(args.fail_on):
        return 1
    return 0
