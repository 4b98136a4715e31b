"""What a sweep varies: ``--grid key=values`` (or a ``sweep.toml``), parsed by the type of the
experiment config's field, expanded into a grid or a random sample of configurations.

Grammar of one ``--grid`` item, ``KEY=VALUES``:

* ``VALUES`` is a comma-separated list (commas inside brackets or quotes do not split);
* an item ``a..b`` is an inclusive range: integers a, a+1, …, b for an ``int`` field;
  ``a..b:step`` steps by ``step`` (ints or floats, end included when it lies on the grid);
  with ``--random`` a float range without a step is sampled uniformly from [a, b];
* values are parsed by the field's type: ``int``, ``float`` (finite), ``bool``
  (true/false/yes/no/1/0), ``str``, ``None`` (``none``/``null``, where the field allows it),
  ``Literal`` choices and tuples written ``[784,30,10]`` or ``(784,30,10)``.

A ``sweep.toml`` says the same in TOML::

    experiment = "chain"        # optional; must match the command line's
    quick = true                # optional; start from the experiment's quick config
    [grid]
    depth = [2, 4, 6]           # a list: the values
    seed = "0..4"               # a string: the --grid syntax
    [random]                    # optional: sample instead of the full grid
    n = 20
    seed = 0

Every value is checked before anything runs: an unknown key or a bad value is a `ConfigError`
naming the key. Seeds are fields like any other (``seed``, ``seeds``): sweep them to get runs
over seeds.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import math
import random
import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union

from ..errors import ConfigError

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}
_NONE = {"none", "null"}


@dataclass(frozen=True)
class Range:
    """An inclusive range ``low..high`` (``step`` None: integers, or uniform under --random)."""

    low: float
    high: float
    step: float | None = None


@dataclass
class Axis:
    """One swept key: its values (already of the field's type) and, for ``--random`` only, a
    continuous ``uniform`` range."""

    key: str
    values: list[Any] = field(default_factory=list)
    uniform: tuple[float, float] | None = None

    @property
    def size(self) -> int:
        return len(self.values)


@dataclass
class SweepSpec:
    """A parsed sweep: its axes in order, and ``random`` (samples, seed) or None for a grid."""

    axes: list[Axis]
    random: tuple[int, int] | None = None
    quick: bool = False

    @property
    def keys(self) -> list[str]:
        return [a.key for a in self.axes]


# -- field types ---------------------------------------------------------------------------------
def field_types(config_cls: type) -> dict[str, Any]:
    """``{field name: resolved type}`` of a config dataclass."""
    try:
        hints = typing.get_type_hints(config_cls)
    except Exception:  # unresolvable annotations: fall back to the raw ones
        hints = {}
    return {f.name: hints.get(f.name, f.type) for f in dataclasses.fields(config_cls)}


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def coerce(value: Any, tp: Any, where: str) -> Any:
    """``value`` (text from the command line, or a TOML/JSON value) as type ``tp``;
    `ConfigError` naming ``where`` when it is not one."""
    if tp is Any or isinstance(tp, str):
        return value
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (Union, types.UnionType):
        if type(None) in args and (
            value is None or (isinstance(value, str) and value.strip().lower() in _NONE)
        ):
            return None
        problems = []
        for a in args:
            if a is type(None):
                continue
            try:
                return coerce(value, a, where)
            except ConfigError as e:
                problems.append(str(e))
        raise ConfigError(problems[0] if len(problems) == 1 else
                          f"{where}: {value!r} is not a {_type_name(tp)}")  # fmt: skip
    if origin is Literal:
        for choice in args:
            if value == choice or (isinstance(value, str) and value.strip() == str(choice)):
                return choice
        raise ConfigError(f"{where}: {value!r} is not one of {', '.join(map(repr, args))}")
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
        raise ConfigError(f"{where}: expected an integer, got {value!r}")
    if tp is float:
        f: float | None = None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            f = float(value)
        elif isinstance(value, str):
            try:
                f = float(value.strip())
            except ValueError:
                f = None
        if f is None or not math.isfinite(f):
            raise ConfigError(f"{where}: expected a finite number, got {value!r}")
        return f
    if tp is str:
        if isinstance(value, str):
            return value.strip()
        raise ConfigError(f"{where}: expected text, got {value!r}")
    if origin in (tuple, list) or tp in (tuple, list):
        seq = _literal(value, where) if isinstance(value, str) else value
        if not isinstance(seq, (list, tuple)):
            raise ConfigError(f"{where}: expected a sequence like [1,2,3], got {value!r}")
        if not args or (len(args) == 2 and args[1] is Ellipsis):
            inner = args[0] if args else Any
            items = [coerce(v, inner, f"{where}[{i}]") for i, v in enumerate(seq)]
        else:
            if len(seq) != len(args):
                raise ConfigError(f"{where}: expected {len(args)} items, got {len(seq)}")
            items = [coerce(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(seq, args))]
        return tuple(items) if (origin is tuple or tp is tuple) else items
    if isinstance(tp, type) and isinstance(value, tp):
        return value
    raise ConfigError(f"{where}: cannot set a field of type {_type_name(tp)} from {value!r}")


def _literal(text: str, where: str) -> Any:
    text = text.strip()
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        raise ConfigError(f"{where}: cannot read {text!r} (write a sequence as [1,2,3])") from None


# -- the --grid syntax ---------------------------------------------------------------------------
def split_top(text: str) -> list[str]:
    """Split at commas that are not inside brackets or quotes."""
    parts: list[str] = []
    cur: list[str] = []
    depth, quote = 0, ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    parts.append("".join(cur))
    return [p.strip() for p in parts]


def _range(item: str, where: str) -> Range | None:
    """``a..b`` or ``a..b:step`` → `Range`; None if ``item`` is not a range."""
    if ".." not in item or item[:1] in "([{\"'":
        return None
    body, _, step_text = item.partition(":")
    low_text, _, high_text = body.partition("..")
    try:
        low, high = float(low_text), float(high_text)
        step = float(step_text) if step_text else None
    except ValueError:
        raise ConfigError(
            f"{where}: cannot read the range {item!r} (write a..b or a..b:step)"
        ) from None
    if not all(math.isfinite(x) for x in (low, high, step or 0.0)):
        raise ConfigError(f"{where}: the range {item!r} is not finite")
    if high < low:
        raise ConfigError(f"{where}: the range {item!r} runs backwards")
    if step is not None and step <= 0:
        raise ConfigError(f"{where}: the step of {item!r} must be positive")
    return Range(low, high, step)


#: Largest number of values one range may expand to (a typo like 0..1e9 must not hang).
MAX_RANGE = 100_000


def _expand(r: Range, tp: Any, where: str) -> list[Any]:
    base = _base_number_type(tp)
    step = r.step if r.step is not None else (1.0 if base is int else None)
    if step is None:
        raise ConfigError(
            f"{where}: a float range needs a step in a grid (a..b:step), or use --random"
        )
    n = math.floor((r.high - r.low) / step + 1e-9) + 1
    if n > MAX_RANGE:
        raise ConfigError(f"{where}: the range expands to {n} values (at most {MAX_RANGE})")
    values = [r.low + i * step for i in range(n)]
    if base is int:
        if not all(float(v).is_integer() for v in values):
            raise ConfigError(f"{where}: an integer field needs an integer range")
        return [coerce(int(v), tp, where) for v in values]
    return [coerce(float(f"{v:.12g}"), tp, where) for v in values]


def _base_number_type(tp: Any) -> Any:
    if tp in (int, float):
        return tp
    if typing.get_origin(tp) in (Union, types.UnionType):
        for a in typing.get_args(tp):
            if a in (int, float):
                return a
    return None


def parse_axis(key: str, raw: Any, tp: Any, *, allow_uniform: bool) -> Axis:
    """One axis from ``raw`` (``--grid`` text, a TOML list, or a TOML scalar)."""
    where = key
    items: list[Any]
    if isinstance(raw, str):
        items = [s for s in split_top(raw)]
        if any(s == "" for s in items):
            raise ConfigError(f"{where}: an empty value in {raw!r}")
    elif isinstance(raw, list):
        items = list(raw)
    else:
        items = [raw]
    if not items:
        raise ConfigError(f"{where}: no values")
    axis = Axis(key)
    for item in items:
        r = _range(item, where) if isinstance(item, str) else None
        if r is None:
            axis.values.append(coerce(item, tp, where))
        elif r.step is None and _base_number_type(tp) is float and allow_uniform:
            if axis.uniform is not None or len(items) > 1:
                raise ConfigError(f"{where}: a uniform range a..b must be the key's only value")
            axis.uniform = (r.low, r.high)
        else:
            axis.values.extend(_expand(r, tp, where))
    # keep the first of repeated values, in order
    seen: list[Any] = []
    for v in axis.values:
        if v not in seen:
            seen.append(v)
    axis.values = seen
    return axis


def parse_grid_items(items: Iterable[str]) -> dict[str, str]:
    """``["depth=2,4", "init=default"]`` → ``{"depth": "2,4", "init": "default"}``."""
    out: dict[str, str] = {}
    for item in items:
        key, eq, values = item.partition("=")
        key = key.strip()
        if not eq or not key:
            raise ConfigError(f"--grid {item!r}: write KEY=VALUES, e.g. depth=2,4,6")
        if key in out:
            raise ConfigError(f"--grid: key {key!r} given twice")
        out[key] = values
    return out


def load_toml(path: str | Path) -> dict[str, Any]:
    """Read a ``sweep.toml``; `ConfigError` on a missing or malformed file."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib
        except ModuleNotFoundError:
            raise ConfigError(
                "reading sweep.toml needs Python ≥ 3.11 or `pip install tomli`"
            ) from None
    p = Path(path)
    try:
        text = p.read_text("utf-8")
    except OSError as e:
        raise ConfigError(f"cannot read {p}: {e.strerror or e}") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{p}: not valid TOML ({e})") from None
    unknown = sorted(set(doc) - {"experiment", "quick", "grid", "random"})
    if unknown:
        raise ConfigError(f"{p}: unknown top-level key(s) {', '.join(unknown)}")
    if not isinstance(doc.get("grid", {}), dict) or not isinstance(doc.get("random", {}), dict):
        raise ConfigError(f"{p}: [grid] and [random] must be tables")
    return doc


def build_spec(
    config_cls: type,
    grid: dict[str, Any],
    *,
    random_n: int | None = None,
    random_seed: int = 0,
    quick: bool = False,
) -> SweepSpec:
    """Parse every axis by its field's type (unknown keys and bad values → `ConfigError`)."""
    types_ = field_types(config_cls)
    unknown = [k for k in grid if k not in types_]
    if unknown:
        raise ConfigError(
            f"{config_cls.__qualname__} has no field {', '.join(map(repr, unknown))}; "
            f"fields: {', '.join(types_)}"
        )
    if random_n is not None and random_n < 1:
        raise ConfigError(f"--random must be a positive number of runs, got {random_n}")
    axes = [
        parse_axis(k, v, types_[k], allow_uniform=random_n is not None) for k, v in grid.items()
    ]
    return SweepSpec(axes, None if random_n is None else (random_n, random_seed), quick)


#: Largest number of runs one sweep may plan (a typo must not fill a disk).
MAX_RUNS = 100_000


def expand(spec: SweepSpec) -> list[dict[str, Any]]:
    """The configurations' swept values, in a fixed order: the grid's product (first key
    slowest), or ``n`` random draws from ``random.Random(seed)`` (duplicates dropped)."""
    if spec.random is None:
        total = math.prod(a.size for a in spec.axes) if spec.axes else 1
        if total > MAX_RUNS:
            raise ConfigError(f"the grid has {total} runs (at most {MAX_RUNS})")
        points: list[dict[str, Any]] = [{}]
        for a in spec.axes:
            points = [{**p, a.key: v} for p in points for v in a.values]
        return points
    n, seed = spec.random
    if n > MAX_RUNS:
        raise ConfigError(f"--random {n} is more than {MAX_RUNS} runs")
    rng = random.Random(seed)
    out, seen = [], set()
    for _ in range(n):
        p: dict[str, Any] = {}
        for a in spec.axes:
            if a.uniform is not None:
                p[a.key] = float(f"{rng.uniform(*a.uniform):.12g}")
            else:
                p[a.key] = a.values[rng.randrange(a.size)]
        key = json.dumps(p, sort_keys=True, default=str)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def describe(point: dict[str, Any], keys: Sequence[str] | None = None) -> str:
    """``depth=4 init=default`` for a log line."""
    keys = list(point) if keys is None else keys
    return " ".join(f"{k}={_short(point[k])}" for k in keys if k in point)


def _short(v: Any) -> str:
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(_short(x) for x in v) + "]"
    return str(v)
