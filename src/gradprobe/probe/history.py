"""The probe's history: a tidy DataFrame with columns ``step, layer, quantity, value``.

Saved as CSV, Parquet or JSON (chosen by the file suffix). The layer order and layer types
travel with it — ``df.attrs["gradprobe"]`` in memory, a leading ``# gradprobe-meta: {…}``
comment line in CSV, the schema metadata in Parquet, a ``"meta"`` key in JSON — so that
``diagnose`` on a saved file sees the same layers, in the same order, as on the live probe.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gradprobe.errors import DataError
from gradprobe.probe.quantities.base import Chunk, Context, Quantity

COLUMNS = ["step", "layer", "quantity", "value"]
META_KEY = "gradprobe"
_CSV_META = "# gradprobe-meta: "


def empty_history() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "step": pd.Series([], dtype="int64"),
            "layer": pd.Series([], dtype=str),
            "quantity": pd.Series([], dtype=str),
            "value": pd.Series([], dtype="float64"),
        }
    )


def chunk_frame(chunk: Chunk, ctx: Context, quantities: Iterable[Quantity]) -> pd.DataFrame:
    """Tidy rows for one chunk: every quantity's series, sorted by step (stable, so within a
    step the rows keep the quantities' order: layers in forward order)."""
    steps: list[np.ndarray] = []
    layers: list[np.ndarray] = []
    names: list[np.ndarray] = []
    values: list[np.ndarray] = []
    for q in quantities:
        for layer, quantity, value, mask in q.series(chunk, ctx):
            k = int(mask.sum())
            if k == 0:
                continue
            steps.append(chunk.steps[mask])
            layers.append(np.full(k, layer, dtype=object))
            names.append(np.full(k, quantity, dtype=object))
            values.append(np.asarray(value, dtype=np.float64)[mask])
    if not steps:
        return empty_history()
    df = pd.DataFrame(
        {
            "step": np.concatenate(steps).astype(np.int64),
            "layer": np.concatenate(layers),
            "quantity": np.concatenate(names),
            "value": np.concatenate(values),
        }
    )
    df["layer"] = df["layer"].astype(str)
    df["quantity"] = df["quantity"].astype(str)
    return df.sort_values("step", kind="stable").reset_index(drop=True)


def records(df: pd.DataFrame) -> dict[int, dict[str, dict[str, float]]]:
    """``{step: {layer: {quantity: value}}}`` for the rows of ``df``."""
    out: dict[int, dict[str, dict[str, float]]] = {}
    for step, layer, quantity, value in zip(
        df["step"].tolist(),
        df["layer"].tolist(),
        df["quantity"].tolist(),
        df["value"].tolist(),
        strict=True,
    ):
        out.setdefault(int(step), {}).setdefault(layer, {})[quantity] = float(value)
    return out


def meta_of(df: pd.DataFrame) -> dict[str, Any]:
    """The gradprobe metadata of a history (layer order and types), or {}."""
    meta = df.attrs.get(META_KEY, {})
    return dict(meta) if isinstance(meta, dict) else {}


def save_history(df: pd.DataFrame, path: str | Path) -> Path:
    """Write a history to ``.csv``, ``.parquet`` or ``.json`` (by suffix). Returns the path."""
    path = Path(path)
    fmt = path.suffix.lower()
    meta = meta_of(df)
    frame = df[COLUMNS]
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == ".csv":
        with path.open("w", encoding="utf-8", newline="") as fh:
            fh.write(_CSV_META + json.dumps(meta) + "\n")
            frame.to_csv(fh, index=False)
    elif fmt in (".parquet", ".pq"):
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(frame, preserve_index=False)
        md = dict(table.schema.metadata or {})
        md[META_KEY.encode()] = json.dumps(meta).encode()
        pq.write_table(table.replace_schema_metadata(md), path)
    elif fmt == ".json":
        payload = {"meta": meta, "columns": COLUMNS, "rows": frame.values.tolist()}
        path.write_text(json.dumps(payload, allow_nan=True), encoding="utf-8")
    else:
        raise DataError(f"unknown history format {path.suffix!r}: use .csv, .parquet or .json")
    return path


def load_history(path: str | Path) -> pd.DataFrame:
    """Read a history written by :func:`save_history` (or any CSV/Parquet/JSON with the
    columns step, layer, quantity, value)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"history file not found: {path}")
    fmt = path.suffix.lower()
    meta: dict[str, Any] = {}
    try:
        if fmt == ".csv":
            with path.open(encoding="utf-8") as fh:
                first = fh.readline()
            if first.startswith(_CSV_META):
                meta = json.loads(first[len(_CSV_META) :])
            df = pd.read_csv(path, skiprows=1 if meta or first.startswith("#") else 0)
        elif fmt in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            table = pq.read_table(path)
            raw = (table.schema.metadata or {}).get(META_KEY.encode())
            meta = json.loads(raw) if raw else {}
            df = table.to_pandas()
        elif fmt == ".json":
            payload = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(payload, list):
                df = pd.DataFrame(payload)
            else:
                meta = payload.get("meta", {}) or {}
                df = pd.DataFrame(payload["rows"], columns=payload.get("columns", COLUMNS))
        else:
            raise DataError(f"unknown history format {path.suffix!r}: use .csv, .parquet or .json")
    except DataError:
        raise
    except Exception as exc:  # malformed file of a known format
        raise DataError(f"cannot read history {path}: {exc}") from exc
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise DataError(f"{path} is not a gradprobe history: missing columns {missing}")
    df = df[COLUMNS].copy()
    try:
        df["step"] = df["step"].astype("int64")
        df["value"] = df["value"].astype("float64")
    except (TypeError, ValueError) as exc:
        raise DataError(f"{path}: bad step/value column: {exc}") from exc
    df["layer"] = df["layer"].astype(str)
    df["quantity"] = df["quantity"].astype(str)
    df.attrs[META_KEY] = meta
    return df
