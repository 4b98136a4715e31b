"""Gather a sweep into two tidy Parquet tables (pandas, Polars, DuckDB read them as they are).

``DIR/results.parquet`` — one row per run × metric × seed:

===============  =================================================================================
run              the run's hash (its folder ``DIR/runs/<run>``)
experiment       the experiment's name
<config fields>  one column per field of the experiment's config, under the field's name
                 (``config_<name>`` if the name is one of these columns); tuples and lists as
                 compact JSON text ("[784,30,10]") so that they group and compare as one value
metric           the quantity: a comparison's ``quantity``, or a per-seed metric's name
source           ``comparison`` — one row per comparison of the run's Result (``value`` = our
                 median, ``low``/``high`` our 10–90 % band over the run's seeds, ``reference``,
                 ``kind``, ``verdict``); ``per-seed`` — one row per seed from the experiment's
                 ``metrics(config, data)`` hook (``value_seed`` the seed; band columns null)
value_seed       the seed behind a per-seed value (null for comparison rows)
value, low, high, reference   floats (null where absent or not finite)
kind, verdict    the comparison's kind and verdict (null for per-seed rows)
===============  =================================================================================

``DIR/runs.parquet`` — one row per run: ``run``, ``experiment``, the config columns,
``status`` (done | failed | pending), ``seconds``, ``error``.

Rows follow the manifest's run order, then the Result's comparison order, then the hook's
order, so the same sweep gives the same tables whichever backend ran it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError, DataError, GradprobeError
from ..results import ResultError, finite_or_none, load_json_limited, read_result
from .store import Store
from .worker import ERROR, RESULT, config_from_plain, load_experiment

RESULTS_FILE = "results.parquet"
RUNS_FILE = "runs.parquet"

METRIC_COLUMNS = (
    "metric", "source", "value_seed", "value", "low", "high", "reference", "kind", "verdict",
)  # fmt: skip
RUN_COLUMNS = ("status", "seconds", "error")
RESERVED = {"run", "experiment", *METRIC_COLUMNS, *RUN_COLUMNS}


@dataclass
class GatherInfo:
    """What `gather` wrote."""

    results: Path
    runs: Path
    n_runs: int
    n_rows: int
    done: int
    failed: int
    pending: int
    keys: list[str]
    config_columns: dict[str, str]
    warnings: list[str] = field(default_factory=list)


def config_column(name: str) -> str:
    """The table column of config field ``name``."""
    return f"config_{name}" if name in RESERVED else name


def cell(value: Any) -> Any:
    """A config value as a table cell: sequences and mappings as compact JSON text."""
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    return value


def _pyarrow() -> tuple[Any, Any]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise GradprobeError("writing Parquet needs pyarrow: pip install pyarrow") from None
    return pa, pq


def gather(root: str | Path) -> GatherInfo:
    """Read every run of the sweep in ``root``; write ``results.parquet`` and ``runs.parquet``
    atomically. `DataError` when ``root`` holds no sweep."""
    pa, pq = _pyarrow()
    store = Store(root)
    manifest = store.read_manifest()
    if manifest is None:
        raise DataError(f"{store.root} holds no sweep (no {store.manifest_path.name})")
    warnings: list[str] = []
    spec, name = str(manifest.get("experiment", "")), str(manifest.get("name", ""))
    try:
        exp: Any = load_experiment(spec)
    except ConfigError as e:
        exp = None
        warnings.append(f"per-seed metrics left out: {e}")
    hashes = [h for h in manifest.get("runs", []) if isinstance(h, str)]
    configs: dict[str, dict[str, Any]] = {}
    for h in hashes:
        try:
            configs[h] = store.read_config(h)
        except DataError as e:
            warnings.append(f"run {h} left out: {e}")
    fields: list[str] = []
    for c in configs.values():
        fields += [k for k in c if k not in fields]
    columns = {f: config_column(f) for f in fields}

    runs_rows: list[dict[str, Any]] = []
    metric_rows: list[dict[str, Any]] = []
    counts = {"done": 0, "failed": 0, "pending": 0}
    for h, config in configs.items():
        base = {"run": h, "experiment": name}
        base.update({columns[f]: cell(config.get(f)) for f in fields})
        run_dir = store.run_dir(h)
        status, seconds, error = "pending", None, None
        if (run_dir / RESULT).is_file():
            try:
                result = read_result(run_dir / RESULT)
            except ResultError as e:
                warnings.append(f"run {h}: unreadable result ({e})")
                result = None
            if result is not None:
                status, seconds = "done", result.seconds
                metric_rows += _comparison_rows(base, result)
                if exp is not None:
                    metric_rows += _seed_rows(base, exp, config, result.data, warnings, h)
        if status == "pending" and (run_dir / ERROR).is_file():
            status, error = "failed", store.read_error(h) or "failed"
            try:
                doc = load_json_limited(run_dir / ERROR)
                seconds = finite_or_none(doc.get("seconds")) if isinstance(doc, dict) else None
            except ResultError:
                pass
        counts[status] += 1
        runs_rows.append({**base, "status": status, "seconds": seconds, "error": error})

    cfg_cols = [columns[f] for f in fields]
    metric_types = {
        "metric": pa.string(), "source": pa.string(), "value_seed": pa.int64(),
        "value": pa.float64(), "low": pa.float64(), "high": pa.float64(),
        "reference": pa.float64(), "kind": pa.string(), "verdict": pa.string(),
    }  # fmt: skip
    run_types = {"status": pa.string(), "seconds": pa.float64(), "error": pa.string()}
    results_table = _table(pa, metric_rows, ["run", "experiment", *cfg_cols], metric_types)
    runs_table = _table(pa, runs_rows, ["run", "experiment", *cfg_cols], run_types)
    results_path = _write(pa, pq, results_table, store.root / RESULTS_FILE)
    runs_path = _write(pa, pq, runs_table, store.root / RUNS_FILE)
    keys = [k for k in manifest.get("keys", []) if isinstance(k, str)]
    return GatherInfo(
        results_path, runs_path, len(runs_rows), len(metric_rows), counts["done"],
        counts["failed"], counts["pending"], keys, columns, warnings,
    )  # fmt: skip


def _comparison_rows(base: dict[str, Any], result: Any) -> list[dict[str, Any]]:
    return [
        {
            **base,
            "metric": c.quantity,
            "source": "comparison",
            "value_seed": None,
            "value": finite_or_none(c.ours),
            "low": finite_or_none(c.low),
            "high": finite_or_none(c.high),
            "reference": finite_or_none(c.reference),
            "kind": c.kind,
            "verdict": c.verdict,
        }
        for c in result.comparisons
    ]


def _seed_rows(
    base: dict[str, Any],
    exp: Any,
    config: dict[str, Any],
    data: dict[str, Any],
    warnings: list[str],
    h: str,
) -> list[dict[str, Any]]:
    try:
        rows = exp.metrics(config_from_plain(exp, config), data)
    except Exception as e:
        warnings.append(f"run {h}: metrics() failed ({type(e).__name__}: {e})")
        return []
    out = []
    for m in rows:
        if not isinstance(m, dict) or not isinstance(m.get("metric"), str):
            warnings.append(f"run {h}: metrics() gave a row without a 'metric' name")
            continue
        seed = m.get("seed")
        out.append(
            {
                **base,
                "metric": m["metric"],
                "source": "per-seed",
                "value_seed": int(seed) if isinstance(seed, int) else None,
                "value": finite_or_none(m.get("value")),
                "low": None,
                "high": None,
                "reference": None,
                "kind": None,
                "verdict": None,
            }
        )
    return out


def _table(pa: Any, rows: list[dict[str, Any]], first: list[str], typed: dict[str, Any]) -> Any:
    arrays, names = [], []
    for col in first:
        values = [r.get(col) for r in rows]
        try:
            arrays.append(pa.array(values))
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed types: store as text
            arrays.append(pa.array([None if v is None else str(v) for v in values]))
        names.append(col)
    for col, tp in typed.items():
        arrays.append(pa.array([r.get(col) for r in rows], type=tp))
        names.append(col)
    return pa.Table.from_arrays(arrays, names=names)


def _write(pa: Any, pq: Any, table: Any, path: Path) -> Path:
    from ..io import atomic_write_bytes

    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return atomic_write_bytes(path, sink.getvalue().to_pybytes())
