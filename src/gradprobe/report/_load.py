"""Find and read the experiments' ``result.json`` files (schema ``gradprobe.result/2``).

The report never trusts these files. Each is read by `gradprobe.results.read_result`, which
limits size and nesting, refuses NaN/Infinity and integers beyond float range, refuses schema
``/1`` with a message saying how to regenerate it, and checks every field's type. A file that
fails is *named as invalid* (a warning shown in the report and on stderr) and the other results
are still reported.

The order of the sections comes from the results themselves (``Result.order``, set by the
experiment that wrote it; ties and results without one by name) — not from a list kept here,
so the report knows nothing about which experiments exist.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import GradprobeError
from ..results import Result, ResultError, read_result
from .figures import FigureFile

#: At most this many characters of a (possibly hostile) name or message in a warning line.
_WARN_CHARS = 400


@dataclass
class Loaded:
    """One valid result with where it came from: ``folder`` (its figures are drawn there) and
    ``source`` (its result.json, relative to the results folder)."""

    result: Result
    folder: Path
    source: str
    figures: list[FigureFile] = field(default_factory=list)


def one_line(text: str, limit: int = _WARN_CHARS) -> str:
    """``text`` on one line (control characters shown as escapes), at most ``limit`` chars."""
    out = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text[: limit + 1])
    return out if len(out) <= limit else out[: limit - 1] + "…"


def order_key(result: Result) -> tuple[bool, float, str]:
    """Smaller ``order`` first; results without an order after the others; then by name."""
    return (result.order is None, result.order or 0.0, result.name)


def scan(results_dir: str | Path) -> tuple[list[Loaded], list[str]]:
    """Read every ``results_dir/*/result.json``: (valid results in report order, warnings).

    Raises `GradprobeError` when the folder is missing or holds no valid result (its message
    then names every invalid file and why)."""
    root = Path(results_dir)
    if not root.exists():
        raise GradprobeError(f"results folder {one_line(str(root))} does not exist")
    if not root.is_dir():
        raise GradprobeError(
            f"{one_line(str(root))} is not a folder (expected the --out folder of `reproduce`)"
        )
    files = sorted(p for p in root.glob("*/result.json") if p.is_file() and not p.is_symlink())
    if not files:
        hint = ""
        if (root / "result.json").is_file():
            hint = "; it looks like one experiment's folder, pass its parent instead"
        raise GradprobeError(
            f"no results in {one_line(str(root))}: expected <DIR>/<experiment>/result.json "
            f"(run `gradprobe reproduce NAME --out DIR` first){hint}"
        )
    loaded: list[Loaded] = []
    warnings: list[str] = []
    seen: dict[str, str] = {}
    for path in files:
        rel = path.relative_to(root).as_posix()
        try:
            result = read_result(path)
        except (ResultError, ValueError, TypeError, OverflowError, RecursionError) as e:
            message = str(e).replace(str(path), rel)
            for prefix in (f"{rel}: ", f"{rel} "):  # the line names the file once
                message = message.removeprefix(prefix)
            warnings.append(one_line(f"{rel} is invalid and not reported: {message}"))
            continue
        if result.name in seen:
            warnings.append(
                one_line(
                    f"{rel}: experiment {result.name!r} was already read from "
                    f"{seen[result.name]}; this copy is not reported"
                )
            )
            continue
        seen[result.name] = rel
        loaded.append(Loaded(result=result, folder=path.parent, source=rel))
    if not loaded:
        raise GradprobeError(
            f"no valid results in {one_line(str(root))} ({len(files)} result.json found): "
            + "; ".join(warnings)
        )
    loaded.sort(key=lambda item: order_key(item.result))
    return loaded, warnings


def load_results(results_dir: str | Path) -> list[Result]:
    """The valid results under ``results_dir``, in report order (invalid files are skipped)."""
    return [item.result for item in scan(results_dir)[0]]
