"""Entry point: ``gradprobe COMMAND …``. Errors become one line on stderr and exit code 2."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence
from types import ModuleType

from ..errors import GradprobeError

EXIT_USAGE = 2

DESCRIPTION = """\
gradprobe: see, measure and fix vanishing and exploding gradients.

The laboratory trains the networks of Nielsen's "Neural Networks and Deep Learning"
(chapter 5) on MNIST, many seeds at once; the probe measures how fast each layer learns.
"""

EPILOG = """\
examples:
  gradprobe speed --sizes 784,30,30,30,30,10 --seeds 50
  gradprobe train --sizes 784,30,10 --epochs 30 --seeds 4 --data ../shared/data/mnist
  gradprobe COMMAND --help
"""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (plus exit code 2), never a usage dump."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _commands() -> list[ModuleType]:
    pkg = importlib.import_module(__package__ or "gradprobe.cli")
    names = sorted(
        m.name
        for m in pkgutil.iter_modules(pkg.__path__)
        if not m.name.startswith("_") and m.name != "main"
    )
    return [importlib.import_module(f"{pkg.__name__}.{name}") for name in names]


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="gradprobe",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"gradprobe {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for mod in _commands():
        p = sub.add_parser(
            mod.NAME,
            help=mod.HELP,
            description=getattr(mod, "DESCRIPTION", mod.HELP),
            epilog=getattr(mod, "EPILOG", None),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns its exit code (0 ok, 2 bad input or data, 130 interrupted)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args._run(args) or 0)
    except GradprobeError as e:
        print(f"gradprobe {args.command}: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"gradprobe {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
