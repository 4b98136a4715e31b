"""Find, read and validate the experiments' `result.json` files (schema "gradprobe.result/1").

The report never trusts these files: a file that is not valid JSON or breaks the schema becomes
a warning (shown in the report) instead of a crash, and every optional field gets a safe default
so the renderer can rely on the shapes documented below.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ..errors import GradprobeError
from ..experiments._legacy_base import ORDER, SCHEMA

# The result contract and the book's order are the experiments' (the report follows the order
# and lists the experiments a run lacks); base.py holds no training code.
EXPERIMENTS: tuple[str, ...] = ORDER

_REQUIRED_TEXT = ("name", "title")
_OPTIONAL_TEXT = ("book_ref", "summary", "explanation", "created", "gradprobe_version")
_NUMBER_FIELDS = ("ours", "low", "high", "book")


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _check_comparison(i: int, row: Any) -> dict[str, Any]:
    """One comparison row with every key present; raises ValueError on a wrong shape."""
    if not isinstance(row, dict):
        raise ValueError(f"comparisons[{i}] is not an object")
    out: dict[str, Any] = {"quantity": str(row.get("quantity", f"#{i + 1}"))}
    for key in _NUMBER_FIELDS:
        value = row.get(key)
        if value is not None and not _is_number(value):
            raise ValueError(f"comparisons[{i}].{key} must be a number or null, got {value!r}")
        if value is not None and not math.isfinite(value):
            value = None if key != "ours" else value  # a non-finite *ours* is news: keep it
        out[key] = value
    inside = row.get("inside")
    if inside is not None and not isinstance(inside, bool):
        raise ValueError(f"comparisons[{i}].inside must be true, false or null")
    out["inside"] = inside
    out["band"] = "" if row.get("band") is None else str(row.get("band"))
    out["note"] = "" if row.get("note") is None else str(row.get("note"))
    return out


def _check_table(i: int, table: Any) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise ValueError(f"tables[{i}] is not an object")
    columns = table.get("columns", [])
    rows = table.get("rows", [])
    if not isinstance(columns, list) or not isinstance(rows, list):
        raise ValueError(f"tables[{i}]: columns and rows must be lists")
    if not all(isinstance(r, list) for r in rows):
        raise ValueError(f"tables[{i}]: every row must be a list")
    return {"title": str(table.get("title") or ""), "columns": columns, "rows": rows}


def _check_figure(i: int, fig: Any) -> dict[str, Any]:
    if not isinstance(fig, dict):
        raise ValueError(f"figures[{i}] is not an object")
    out: dict[str, Any] = {}
    for key in ("svg", "png"):
        value = fig.get(key)
        if value is not None and not isinstance(value, str):
            raise ValueError(f"figures[{i}].{key} must be a relative path or null")
        out[key] = value or None
    if out["svg"] is None and out["png"] is None:
        raise ValueError(f"figures[{i}] names neither an svg nor a png")
    out["caption"] = "" if fig.get("caption") is None else str(fig.get("caption"))
    return out


def _list_of(doc: dict[str, Any], key: str) -> list[Any]:
    value = doc.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"{key} must be a list")
    return value


def validate(doc: Any) -> dict[str, Any]:
    """Return a normalised copy of one result document, or raise ValueError saying what's wrong."""
    if not isinstance(doc, dict):
        raise ValueError("top level is not a JSON object")
    schema = doc.get("schema")
    if schema != SCHEMA:
        raise ValueError(f"unknown schema {schema!r} (this report reads {SCHEMA!r})")
    out = dict(doc)
    for key in _REQUIRED_TEXT:
        if not isinstance(doc.get(key), str) or not doc[key].strip():
            raise ValueError(f"{key} must be a non-empty string")
    for key in _OPTIONAL_TEXT:
        value = doc.get(key)
        out[key] = "" if value is None else str(value)
    config = doc.get("config")
    out["config"] = config if isinstance(config, dict) else {}
    out["quick"] = bool(doc.get("quick", False))
    seconds = doc.get("seconds")
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool):
        seconds = None
    out["seconds"] = seconds if seconds is not None and math.isfinite(seconds) else None
    out["comparisons"] = [
        _check_comparison(i, r) for i, r in enumerate(_list_of(doc, "comparisons"))
    ]
    out["tables"] = [_check_table(i, t) for i, t in enumerate(_list_of(doc, "tables"))]
    out["figures"] = [_check_figure(i, f) for i, f in enumerate(_list_of(doc, "figures"))]
    return out


def _order_key(result: dict[str, Any]) -> tuple[int, str]:
    name = result["name"]
    return (EXPERIMENTS.index(name) if name in EXPERIMENTS else len(EXPERIMENTS), name)


def scan(results_dir: str | Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Read every `results_dir/*/result.json`: (valid results in report order, warnings).

    Each result gains `_dir` (the folder it came from, for resolving figure paths) and
    `_source` (its result.json). Raises GradprobeError when there is nothing to report.
    """
    root = Path(results_dir)
    if not root.exists():
        raise GradprobeError(f"results folder {root} does not exist")
    if not root.is_dir():
        raise GradprobeError(f"{root} is not a folder (expected the --out folder of `reproduce`)")
    files = sorted(p for p in root.glob("*/result.json") if p.is_file())
    if not files:
        hint = ""
        if (root / "result.json").is_file():
            hint = f"; {root} looks like one experiment's folder, pass its parent instead"
        raise GradprobeError(
            f"no results in {root}: expected {root}/<experiment>/result.json "
            f"(run `gradprobe reproduce NAME --out {root}` first){hint}"
        )

    results: list[dict[str, Any]] = []
    warnings: list[str] = []
    seen: dict[str, Path] = {}
    for path in files:
        rel = path.relative_to(root)
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            warnings.append(f"{rel}: not readable JSON ({exc}); skipped")
            continue
        try:
            result = validate(doc)
        except ValueError as exc:
            warnings.append(f"{rel}: {exc}; skipped")
            continue
        name = result["name"]
        if name in seen:
            warnings.append(
                f"{rel}: experiment {name!r} already read from {seen[name]}; skipped this copy"
            )
            continue
        seen[name] = rel
        if name not in EXPERIMENTS:
            warnings.append(f"{rel}: {name!r} is not one of gradprobe's experiments; shown last")
        result["_dir"] = path.parent
        result["_source"] = rel
        results.append(result)

    if not results:
        raise GradprobeError(
            f"no valid results in {root} ({len(files)} result.json found): " + "; ".join(warnings)
        )
    results.sort(key=_order_key)
    return results, warnings


def load_results(results_dir: str | Path) -> list[dict[str, Any]]:
    """The valid results under `results_dir`, in the book's order (broken files are skipped)."""
    return scan(results_dir)[0]
