"""Entry point: ``gradprobe COMMAND …``. Errors become one line on stderr and exit code 2.

Exit codes: 0 done; 1 the command's own "failed" verdict (e.g. ``diagnose --fail-on``);
2 bad input, bad data or an output that cannot be written (one line on stderr, never a
traceback); 70 an internal error (a bug: one line, the traceback with ``GRADPROBE_DEBUG=1``);
130 interrupted (Ctrl-C); 143 terminated (SIGTERM). SIGTERM is turned into
`gradprobe.errors.Terminated` (a KeyboardInterrupt), so partial files are removed as on Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import pkgutil
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from ..errors import GradprobeError, Terminated

EXIT_USAGE = 2
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143
MAX_MESSAGE = 1000  # characters of an error message on stderr

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


def one_line(message: object) -> str:
    """A message as one line of at most MAX_MESSAGE characters."""
    text = " ".join(str(message).split())
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (plus exit code 2), never a usage dump."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {one_line(message)} (see {self.prog} --help)\n")


def _commands() -> list[ModuleType]:
    pkg = importlib.import_module(__package__ or "gradprobe.cli")
    names = sorted(
        m.name
        for m in pkgutil.iter_modules(pkg.__path__)
        if not m.name.startswith("_") and m.name != "main"
    )
    return [importlib.import_module(f"{pkg.__name__}.{name}") for name in names]


def _guarded(kind: Callable[[str], Any] | None) -> Callable[[str], Any]:
    """Wrap an option's argparse type so that no text can escape as a traceback: an empty
    string is refused, ``Path`` (or ``pathlib`` subclasses) expands ``~user`` with a clear error,
    and any other exception of the type becomes a usage error."""
    from . import _common as c

    if kind is None or kind is str:
        base: Callable[[str], Any] = c.nonempty
    elif isinstance(kind, type) and issubclass(kind, Path):
        base = c.path
    else:
        base = kind

    def parse(text: str) -> Any:
        if isinstance(text, str):
            c.nonempty(text)
        try:
            return base(text)
        except (argparse.ArgumentTypeError, ValueError, TypeError):
            raise  # argparse words these itself
        except GradprobeError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
        except Exception as e:  # a type that fails some other way: still one line
            raise argparse.ArgumentTypeError(f"{type(e).__name__}: {e}") from None

    parse.__name__ = getattr(base, "__name__", "value")
    return parse


def _guard_types(parser: argparse.ArgumentParser) -> None:
    for action in parser._actions:
        if action.nargs == 0 or not isinstance(
            action, (argparse._StoreAction, argparse._AppendAction)
        ):
            continue
        if action.choices is not None and action.type is None:
            continue  # argparse's "invalid choice" says it better
        action.type = _guarded(action.type)  # type: ignore[arg-type]


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
        _guard_types(p)
        p.set_defaults(_run=mod.run)
    return parser


@contextlib.contextmanager
def _sigterm_as_exception() -> Iterator[None]:
    """While a command runs, SIGTERM raises `Terminated` (only possible in the main thread)."""

    def handler(signum: int, frame: Any) -> None:
        raise Terminated(f"signal {signum}")

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _describe_os_error(e: OSError) -> str:
    name = e.filename if e.filename is not None else None
    why = e.strerror or str(e) or type(e).__name__
    return f"{name}: {why}" if name is not None else why


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns its exit code (0 ok, 2 bad input or data, 130 interrupted)."""
    from ..results import ResultError

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return EXIT_USAGE
    prog = f"gradprobe {args.command}"

    def fail(message: object, code: int = EXIT_USAGE) -> int:
        print(f"{prog}: error: {one_line(message)}", file=sys.stderr)
        return code

    try:
        with _sigterm_as_exception():
            return int(args._run(args) or 0)
    except (GradprobeError, ResultError) as e:
        return fail(e)
    except Terminated:
        print(f"{prog}: terminated", file=sys.stderr)
        return EXIT_TERMINATED
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115  # so the exit flush is quiet
        return EXIT_USAGE
    except OSError as e:
        return fail(_describe_os_error(e))
    except MemoryError:
        return fail("not enough memory for this setting (fewer seeds, smaller layers?)")
    except RecursionError:
        return fail("input nested too deeply")
    except RuntimeError as e:
        if not _out_of_memory(e):
            return _internal(e, fail)
        return fail("not enough memory for this setting (fewer seeds, smaller layers?)")
    except Exception as e:
        return _internal(e, fail)


def _out_of_memory(e: RuntimeError) -> bool:
    """torch's CPU allocator reports an impossible allocation as a RuntimeError."""
    text = str(e)
    return "can't allocate memory" in text or "not enough memory" in text.lower()


def _internal(e: Exception, fail: Callable[..., int]) -> int:
    """A bug: one line and exit code 70, or the traceback with GRADPROBE_DEBUG=1."""
    if os.environ.get("GRADPROBE_DEBUG"):
        raise e
    return fail(
        f"internal error: {type(e).__name__}: {e} (a bug in gradprobe; rerun with "
        "GRADPROBE_DEBUG=1 for the traceback and please report it)",
        EXIT_INTERNAL,
    )


if __name__ == "__main__":
    sys.exit(main())
