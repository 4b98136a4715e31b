"""Results are data: the record every experiment returns, its JSON schema and its comparisons.

This module sits at the bottom of the package: it imports only the standard library and NumPy,
so the report, sweeps and any outside tool can read results without torch.

A result (`Result`) is what an experiment computed — its configuration, its raw ``data`` (any
JSON value: per-seed arrays, curves, tables of numbers), the `Comparison` rows that put one of
our numbers beside a reference number, computed ``conclusions`` and ``tables`` — plus where and
how it ran. It is written as ``result.json`` under the schema ``gradprobe.result/2``; files of
the old schema ``/1`` are refused with a message saying how to regenerate them.

Every comparison has a **kind** that decides how it counts:

* ``reproduction`` — a number the book prints (text, or its published figure data), cited by
  chapter and figure in ``source``; it *agrees* when it lies inside our band of single runs
  over seeds. Only these count towards "N of M numbers the book prints lie inside our band".
* ``identity`` — a value true by construction (σ′(0) = ¼, w·σ′(0) = 25 for w = 100, δᴸ = a − y):
  a check of our code, shown as such, never counted as agreement with the book.
* ``bound`` — a one-sided statement ("a factor of 16 or more"): checked against ``relation``.
* ``prediction`` — a theory's number (mean-field, closed form), compared with our band.

Bands are of one kind everywhere: the 10–90 % range of single runs over seeds (each book
number is one run). With fewer than `MIN_BAND_SEEDS` seeds there is no band and the row says so.
"""

from __future__ import annotations

import json
import math
import platform
import sys
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import numpy as np

SCHEMA = "gradprobe.result/2"
OLD_SCHEMAS = ("gradprobe.result/1",)

Kind = Literal["reproduction", "identity", "bound", "prediction"]
KINDS: tuple[str, ...] = ("reproduction", "identity", "bound", "prediction")
Relation = Literal["inside", "<=", ">=", "=="]
Verdict = Literal["agrees", "disagrees", "not judged"]

#: Below this many seeds a 10–90 % band means little: rows say "n seeds: no band".
MIN_BAND_SEEDS = 5
#: The band every row uses: quantiles of single runs over seeds.
BAND_QUANTILES = (0.10, 0.90)

#: Limits when reading a result file (hostile or broken files must not crash or hang a reader).
MAX_RESULT_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 64


class ResultError(ValueError):
    """A result file is missing, too large, not JSON, of another schema or of the wrong shape.

    (Subclasses ValueError; `gradprobe.errors.DataError` wraps it where the CLI needs one.)"""


# -- statistics over seeds -----------------------------------------------------------------------
@dataclass(frozen=True)
class Band:
    """Median and 10–90 % band of single runs over ``seeds`` seeds (``low``/``high`` None when
    there are fewer than `MIN_BAND_SEEDS`)."""

    median: float
    low: float | None
    high: float | None
    seeds: int

    @property
    def label(self) -> str:
        return band_label(self.seeds)


def band_label(seeds: int) -> str:
    """The text every row shows for its band, e.g. "10–90 % of single runs, 20 seeds"."""
    if seeds < MIN_BAND_SEEDS:
        return f"{seeds} seed{'s' if seeds != 1 else ''}: no band"
    lo, hi = (round(100 * q) for q in BAND_QUANTILES)
    return f"{lo}–{hi} % of single runs, {seeds} seeds"


def seed_band(values: Any, axis: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(median, 10 % quantile, 90 % quantile) of ``values`` along ``axis`` (the seeds), by
    NumPy's one definition (linear interpolation). Non-finite values are kept: a NaN seed makes
    the statistic NaN rather than silently disappearing."""
    x = np.asarray(values, dtype=np.float64)
    return (
        np.median(x, axis=axis),
        np.quantile(x, BAND_QUANTILES[0], axis=axis),
        np.quantile(x, BAND_QUANTILES[1], axis=axis),
    )


def band_of(values: Any) -> Band:
    """The `Band` of a 1-D sequence of per-seed values."""
    x = np.asarray(values, dtype=np.float64).ravel()
    if x.size == 0:
        raise ValueError("band_of: no values")
    med, lo, hi = seed_band(x)
    if x.size < MIN_BAND_SEEDS:
        return Band(float(med), None, None, int(x.size))
    return Band(float(med), float(lo), float(hi), int(x.size))


# -- comparisons ---------------------------------------------------------------------------------
@dataclass
class Comparison:
    """One of our numbers beside a reference number.

    ``ours`` is our median (or the single value of a deterministic computation); ``low``/``high``
    our band (None where there is none); ``reference`` the book's number, the value true by
    construction, the bound, or the theory's prediction, according to ``kind``; ``source`` where
    the reference comes from ("ch. 5, text of ‘The vanishing gradient problem’", "book figure
    data: norms_during_training_4_layers.json", "mean-field theory"); ``relation`` how it is
    judged: ``inside`` (reference ∈ [low, high]), ``==`` (|ours − reference| ≤ ``tolerance``),
    ``<=``/``>=`` (ours ≤ / ≥ reference, for bounds).
    """

    quantity: str
    kind: Kind
    ours: float | None
    reference: float | None
    source: str = ""
    low: float | None = None
    high: float | None = None
    band: str = ""
    relation: Relation = "inside"
    tolerance: float = 0.0
    note: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"comparison kind must be one of {KINDS}, got {self.kind!r}")
        if self.relation not in ("inside", "<=", ">=", "=="):
            raise ValueError(f"unknown relation {self.relation!r}")

    @property
    def verdict(self) -> Verdict:
        """``agrees`` / ``disagrees`` by ``relation``; ``not judged`` when a number is missing
        (no band, no reference, a non-finite value)."""
        ours, ref = finite_or_none(self.ours), finite_or_none(self.reference)
        if ref is None:
            return "not judged"
        if self.relation == "inside":
            lo, hi = finite_or_none(self.low), finite_or_none(self.high)
            if lo is None or hi is None:
                return "not judged"
            return "agrees" if lo <= ref <= hi else "disagrees"
        if ours is None:
            return "not judged"
        if self.relation == "==":
            return "agrees" if abs(ours - ref) <= self.tolerance else "disagrees"
        if self.relation == "<=":
            return "agrees" if ours <= ref else "disagrees"
        return "agrees" if ours >= ref else "disagrees"

    @classmethod
    def reproduction(
        cls, quantity: str, values: Any, book: float | None, source: str, note: str = ""
    ) -> Comparison:
        """A number the book prints against our per-seed ``values`` (their median and band)."""
        b = band_of(values)
        return cls(quantity, "reproduction", b.median, book, source, b.low, b.high, b.label,
                   note=note)  # fmt: skip

    @classmethod
    def prediction(
        cls, quantity: str, values: Any, predicted: float, source: str, note: str = ""
    ) -> Comparison:
        """A theory's ``predicted`` value against our per-seed ``values``."""
        b = band_of(values)
        return cls(quantity, "prediction", b.median, predicted, source, b.low, b.high, b.label,
                   note=note)  # fmt: skip

    @classmethod
    def identity(
        cls, quantity: str, ours: float, exact: float, tolerance: float, source: str = ""
    ) -> Comparison:
        """A value true by construction: a check of our code, not agreement with the book."""
        return cls(quantity, "identity", ours, exact, source or "by construction",
                   relation="==", tolerance=tolerance, band="exact")  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["verdict"] = self.verdict
        return d


def finite_or_none(x: Any) -> float | None:
    """``x`` as a float if it is a finite number (not a bool), else None."""
    if x is None or isinstance(x, bool):
        return None
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


@dataclass
class Table:
    """A table the report shows as is: ``rows`` of plain values under ``columns``."""

    title: str
    columns: list[str]
    rows: list[list[Any]]


@dataclass
class Scoreboard:
    """How a set of comparisons came out, by kind. Only reproductions count as agreement with
    the book; identities and bounds are checks; predictions are theory. ``checks`` and
    ``predictions`` count the judged rows only (``unjudged`` the rest)."""

    reproductions: int = 0
    reproductions_inside: int = 0
    reproductions_judged: int = 0
    checks: int = 0
    checks_passed: int = 0
    predictions: int = 0
    predictions_inside: int = 0
    #: checks and predictions that could not be judged (no reference or band in this setting)
    unjudged: int = 0

    def add(self, c: Comparison) -> None:
        v = c.verdict
        if c.kind == "reproduction":
            self.reproductions += 1
            self.reproductions_judged += v != "not judged"
            self.reproductions_inside += v == "agrees"
        elif v == "not judged":  # a check or prediction with nothing to judge is not counted
            self.unjudged += 1
        elif c.kind in ("identity", "bound"):
            self.checks += 1
            self.checks_passed += v == "agrees"
        else:
            self.predictions += 1
            self.predictions_inside += v == "agrees"

    @property
    def headline(self) -> str:
        """E.g. "12 of 15 numbers the book prints lie inside our seed band"."""
        text = (
            f"{self.reproductions_inside} of {self.reproductions_judged} numbers the book prints "
            "lie inside our seed band"
        )
        unjudged = self.reproductions - self.reproductions_judged
        if unjudged:
            text += f" ({unjudged} more not judged: too few seeds or no measurement)"
        return text


def scoreboard(comparisons: Any) -> Scoreboard:
    """Count ``comparisons`` (an iterable of `Comparison`) by kind and verdict."""
    s = Scoreboard()
    for c in comparisons:
        s.add(c)
    return s


# -- the result record ---------------------------------------------------------------------------
def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def versions() -> dict[str, str]:
    """Versions that matter for reproducing a number (torch only if already imported)."""
    from importlib import metadata

    out = {"python": platform.python_version(), "numpy": np.__version__}
    try:
        out["gradprobe"] = metadata.version("gradprobe")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        out["gradprobe"] = "unknown"
    torch = sys.modules.get("torch")
    if torch is not None:
        out["torch"] = str(getattr(torch, "__version__", "unknown"))
    out["machine"] = f"{platform.system()} {platform.machine()}"
    return out


@dataclass
class Result:
    """What one experiment run produced. ``data`` is plain JSON (lists, dicts, numbers,
    strings): everything a figure or a later analysis needs, so that figures are drawn from it
    alone. ``seeds`` is the number of independent runs behind the bands (0 if none).
    ``order`` is the experiment's place in the report (smaller first; None: after the others),
    so a report orders the results it finds from the files themselves."""

    name: str
    title: str
    book_ref: str
    config: dict[str, Any]
    quick: bool = False
    data: dict[str, Any] = field(default_factory=dict)
    comparisons: list[Comparison] = field(default_factory=list)
    conclusions: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    explanation: str = ""
    quick_note: str = ""
    seeds: int = 0
    seconds: float = 0.0
    created: str = field(default_factory=_now)
    versions: dict[str, str] = field(default_factory=versions)
    order: float | None = None

    @property
    def scoreboard(self) -> Scoreboard:
        return scoreboard(self.comparisons)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "name": self.name,
            "title": self.title,
            "book_ref": self.book_ref,
            "config": plain(self.config),
            "quick": self.quick,
            "order": self.order,
            "quick_note": self.quick_note,
            "seeds": self.seeds,
            "seconds": self.seconds,
            "created": self.created,
            "versions": dict(self.versions),
            "explanation": self.explanation,
            "conclusions": list(self.conclusions),
            "comparisons": [plain(c.to_dict()) for c in self.comparisons],
            "tables": [plain(asdict(t)) for t in self.tables],
            "data": plain(self.data),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, ensure_ascii=False, allow_nan=False)

    @classmethod
    def from_dict(cls, doc: Any) -> Result:
        """Validate ``doc`` (parsed JSON) and build the result; `ResultError` says what is
        wrong, naming the field."""
        if not isinstance(doc, dict):
            raise ResultError("a result must be a JSON object")
        schema = doc.get("schema")
        if schema in OLD_SCHEMAS:
            raise ResultError(
                f"written by an older gradprobe (schema {schema}); rerun the experiment "
                "(`gradprobe reproduce NAME --out DIR`) to write schema " + SCHEMA
            )
        if schema != SCHEMA:
            raise ResultError(f"schema is {schema!r}, expected {SCHEMA!r}")
        name = _text(doc, "name", required=True)
        comparisons = [_comparison(i, c) for i, c in enumerate(_list(doc, "comparisons"))]
        tables = [_table(i, t) for i, t in enumerate(_list(doc, "tables"))]
        config = doc.get("config", {})
        data = doc.get("data", {})
        if not isinstance(config, dict) or not isinstance(data, dict):
            raise ResultError("config and data must be JSON objects")
        conclusions = _list(doc, "conclusions")
        if not all(isinstance(s, str) for s in conclusions):
            raise ResultError("conclusions must be a list of strings")
        vers = doc.get("versions", {})
        return cls(
            name=name,
            title=_text(doc, "title") or name,
            book_ref=_text(doc, "book_ref"),
            config=config,
            quick=doc.get("quick") is True,
            data=data,
            comparisons=comparisons,
            conclusions=list(conclusions),
            tables=tables,
            explanation=_text(doc, "explanation"),
            quick_note=_text(doc, "quick_note"),
            seeds=_int(doc.get("seeds", 0), "seeds"),
            seconds=_number(doc.get("seconds", 0.0), "seconds") or 0.0,
            created=_text(doc, "created"),
            versions={str(k): str(v) for k, v in vers.items()} if isinstance(vers, dict) else {},
            order=_number(doc.get("order"), "order"),
        )

    def write(self, out_dir: str | Path) -> Path:
        """Write ``out_dir/result.json`` atomically (temporary file beside it, then rename)."""
        return atomic_write_text(Path(out_dir) / "result.json", self.to_json() + "\n")


def read_result(path: str | Path) -> Result:
    """Read and validate one ``result.json``; `ResultError` on anything wrong with it."""
    return Result.from_dict(load_json_limited(path))


# -- reading JSON that may be hostile ------------------------------------------------------------
def load_json_limited(
    path: str | Path, *, max_bytes: int = MAX_RESULT_BYTES, max_depth: int = MAX_DEPTH
) -> Any:
    """Parse a JSON file with limits: at most ``max_bytes``, nesting at most ``max_depth``,
    no NaN/Infinity literals, no integers beyond float range. Raises `ResultError`."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            raw = f.read(max_bytes + 1)
    except OSError as e:
        raise ResultError(f"cannot read {path}: {e.strerror or e}") from None
    if len(raw) > max_bytes:
        raise ResultError(f"{path} is larger than {max_bytes // 2**20} MiB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ResultError(f"{path} is not UTF-8 text") from None
    _check_depth(text, max_depth, path)

    def bad_constant(token: str) -> Any:
        raise ResultError(f"{path}: {token} is not valid JSON")

    def parse_int(token: str) -> Any:
        if len(token.lstrip("-")) > 300:
            raise ResultError(f"{path}: an integer with {len(token)} digits")
        return int(token)

    def parse_float(token: str) -> float:
        value = float(token)
        if not math.isfinite(value):
            raise ResultError(f"{path}: number {token[:40]} is out of range")
        return value

    try:
        return json.loads(
            text, parse_constant=bad_constant, parse_int=parse_int, parse_float=parse_float
        )
    except json.JSONDecodeError as e:
        raise ResultError(f"{path} is not valid JSON ({e.msg}, line {e.lineno})") from None
    except RecursionError:  # pragma: no cover - _check_depth rules it out
        raise ResultError(f"{path} is nested too deeply") from None


def _check_depth(text: str, max_depth: int, path: Path) -> None:
    """Linear scan: bracket nesting outside strings must stay ≤ ``max_depth``."""
    depth = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > max_depth:
                raise ResultError(f"{path} is nested more than {max_depth} levels deep")
        elif ch in "]}":
            depth -= 1


def _text(doc: dict[str, Any], key: str, *, required: bool = False) -> str:
    value = doc.get(key)
    if value is None:
        if required:
            raise ResultError(f"missing field {key!r}")
        return ""
    if not isinstance(value, str):
        raise ResultError(f"field {key!r} must be a string")
    return value


def _list(doc: dict[str, Any], key: str) -> list[Any]:
    value = doc.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list):
        raise ResultError(f"field {key!r} must be a list")
    return value


def _number(x: Any, where: str) -> float | None:
    if x is None:
        return None
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise ResultError(f"{where} must be a number or null, got {type(x).__name__}")
    try:
        f = float(x)
    except OverflowError:
        raise ResultError(f"{where} is out of range") from None
    return f if math.isfinite(f) else None


def _int(x: Any, where: str) -> int:
    if isinstance(x, bool) or not isinstance(x, int) or not 0 <= x < 2**53:
        raise ResultError(f"{where} must be a non-negative integer")
    return x


def _comparison(i: int, row: Any) -> Comparison:
    where = f"comparisons[{i}]"
    if not isinstance(row, dict):
        raise ResultError(f"{where} is not an object")
    kind = row.get("kind")
    if kind not in KINDS:
        raise ResultError(f"{where}.kind must be one of {', '.join(KINDS)}")
    relation = row.get("relation", "inside")
    if relation not in ("inside", "<=", ">=", "=="):
        raise ResultError(f"{where}.relation is not one of inside, <=, >=, ==")
    text = {k: row.get(k) or "" for k in ("quantity", "source", "band", "note")}
    for k, v in text.items():
        if not isinstance(v, str):
            raise ResultError(f"{where}.{k} must be a string")
    return Comparison(
        quantity=text["quantity"] or f"#{i + 1}",
        kind=kind,
        ours=_number(row.get("ours"), f"{where}.ours"),
        reference=_number(row.get("reference"), f"{where}.reference"),
        source=text["source"],
        low=_number(row.get("low"), f"{where}.low"),
        high=_number(row.get("high"), f"{where}.high"),
        band=text["band"],
        relation=relation,
        tolerance=_number(row.get("tolerance", 0.0), f"{where}.tolerance") or 0.0,
        note=text["note"],
    )


def _table(i: int, t: Any) -> Table:
    where = f"tables[{i}]"
    if not isinstance(t, dict):
        raise ResultError(f"{where} is not an object")
    columns, rows = t.get("columns", []), t.get("rows", [])
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise ResultError(f"{where}.columns must be a list of strings")
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise ResultError(f"{where}.rows must be a list of lists")
    for r in rows:
        for v in r:
            if not (v is None or isinstance(v, (str, int, float, bool))):
                raise ResultError(f"{where}: a cell must be a string, number, true/false or null")
    title = t.get("title") or ""
    if not isinstance(title, str):
        raise ResultError(f"{where}.title must be a string")
    return Table(title=title, columns=list(columns), rows=[list(r) for r in rows])


# -- plain JSON values and atomic text writes (no torch here) ------------------------------------
def plain(obj: Any) -> Any:
    """A JSON-able copy: NumPy arrays/scalars and anything with ``tolist`` → lists/numbers,
    tuples → lists, paths → str, dataclasses → dicts, non-finite floats → None."""
    if hasattr(obj, "__dataclass_fields__") and not isinstance(obj, type):
        obj = {f.name: getattr(obj, f.name) for f in fields(obj)}
    if hasattr(obj, "tolist") and not isinstance(obj, (str, bytes)):
        obj = obj.tolist()
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, int):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot store a {type(obj).__name__} in a result")


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; refuses to replace anything but a regular
    file. (`gradprobe.io` builds its writers on the same rule.)"""
    import os
    import tempfile

    path = Path(path)
    if (path.exists() and not path.is_file()) or path.is_symlink():
        raise ResultError(f"{path} exists and is not a regular file; not replacing it")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(text.encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
