"""The probe's history: a tidy DataFrame with columns ``step, layer, quantity, value``.

:class:`HistoryStore` keeps it in memory — all of it, or only the newest ``max_steps``
recorded steps, the older ones appended to a spill file — so memory stays constant in the
number of steps when asked. :func:`save_history` writes Parquet, CSV or JSON (by suffix)
atomically; the layer order and types travel with the file (Parquet schema metadata, a
leading ``# gradprobe-meta: {…}`` CSV line, a ``"meta"`` key in JSON) so that ``diagnose``
on a saved file sees the same layers, in the same order, as on the live probe.
"""

from __future__ import annotations

import json
import os
import tempfile
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
FORMATS = (".parquet", ".pq", ".csv", ".json")
MAX_JSON_BYTES = 512 * 2**20


def empty_history() -> pd.DataFrame:
    """A history with no rows (the right columns and dtypes)."""
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
            "layer": pd.Categorical(np.concatenate(layers)).astype(str),
            "quantity": np.concatenate(names).astype(str),
            "value": np.concatenate(values),
        }
    )
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


def have_pyarrow() -> bool:
    """Whether Parquet can be written (pyarrow importable)."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


class HistoryStore:
    """The rows of a probe's history, in memory.

    ``max_steps``: keep only the newest ``max_steps`` recorded steps (``None``: all). The
    steps that leave memory are appended to ``spill`` (``.parquet`` or ``.csv``) when given,
    otherwise dropped. Memory is then bounded by ``max_steps`` × rows per step.
    """

    def __init__(self, max_steps: int | None = None, spill: str | Path | None = None) -> None:
        if max_steps is not None and (isinstance(max_steps, bool) or max_steps < 1):
            raise DataError(f"max_steps must be a positive integer, got {max_steps!r}")
        if spill is not None and max_steps is None:
            raise DataError("spill= needs max_steps= (the steps kept in memory)")
        self.max_steps = max_steps
        self.spill = Path(spill) if spill is not None else None
        if self.spill is not None and self.spill.suffix.lower() not in (".parquet", ".csv"):
            raise DataError(f"spill file must be .parquet or .csv, got {self.spill.name!r}")
        self._frames: list[pd.DataFrame] = []
        self._cache: pd.DataFrame | None = None
        self._steps: list[int] = []  # distinct steps in memory, ascending
        self.last_chunk: Chunk | None = None
        self._writer: Any = None
        self._csv_started = False
        self.spilled_steps = 0

    def add(self, chunk: Chunk, df: pd.DataFrame) -> None:
        """Append a chunk's rows; evict (and spill) the oldest steps beyond ``max_steps``."""
        self.last_chunk = chunk
        self._steps.extend(int(s) for s in chunk.steps)
        if len(df):
            self._frames.append(df)
            self._cache = None
        if self.max_steps is not None and len(self._steps) > self.max_steps:
            cut = self._steps[len(self._steps) - self.max_steps]  # first step kept
            self._steps = self._steps[len(self._steps) - self.max_steps :]
            full = self.frame(copy=False)
            old = full[full["step"] < cut]
            self._frames = [full[full["step"] >= cut].reset_index(drop=True)]
            self._cache = None
            if self.spill is not None and len(old):
                self._write_spill(old)
            self.spilled_steps += int(old["step"].nunique()) if len(old) else 0

    def frame(self, copy: bool = True) -> pd.DataFrame:
        """All rows in memory as one DataFrame."""
        if self._cache is None:
            frames = [f for f in self._frames if len(f)]
            self._cache = pd.concat(frames, ignore_index=True) if frames else empty_history()
            self._frames = [self._cache] if len(self._cache) else []
        return self._cache.copy() if copy else self._cache

    def _write_spill(self, df: pd.DataFrame) -> None:
        assert self.spill is not None
        frame = df[COLUMNS]
        if self.spill.suffix.lower() == ".parquet" and have_pyarrow():
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(frame, preserve_index=False)
            if self._writer is None:
                self.spill.parent.mkdir(parents=True, exist_ok=True)
                self._writer = pq.ParquetWriter(self.spill, table.schema)
            self._writer.write_table(table.cast(self._writer.schema))
        else:
            mode = "a" if self._csv_started else "w"
            with open(self.spill.with_suffix(".csv"), mode, encoding="utf-8", newline="") as fh:
                frame.to_csv(fh, index=False, header=not self._csv_started)
            self._csv_started = True

    def close(self) -> None:
        """Close the spill file."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def save_history(df: pd.DataFrame, path: str | Path) -> Path:
    """Write a history to ``.parquet`` (pyarrow), ``.csv`` or ``.json`` (by suffix),
    atomically (a temporary file beside the target, then ``os.replace``). Returns the path.
    Raises :class:`~gradprobe.errors.DataError` for another suffix, or for ``.parquet``
    when pyarrow is missing (the message names the ``.csv`` alternative)."""
    path = Path(path)
    fmt = path.suffix.lower()
    if fmt not in FORMATS:
        raise DataError(f"unknown history format {path.suffix!r}: use .parquet, .csv or .json")
    if fmt in (".parquet", ".pq") and not have_pyarrow():
        raise DataError(
            f"cannot write {path.name}: Parquet needs pyarrow (pip install pyarrow); "
            "save as .csv or .json instead"
        )
    if path.exists() and not path.is_file():
        raise DataError(f"{path} exists and is not a regular file")
    meta = meta_of(df)
    frame = df[COLUMNS]
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as raw:
            if fmt == ".csv":
                raw.write((_CSV_META + json.dumps(meta) + "\n").encode())
                raw.write(frame.to_csv(index=False).encode())
            elif fmt == ".json":
                payload = {"meta": meta, "columns": COLUMNS, "rows": frame.values.tolist()}
                raw.write(json.dumps(payload, allow_nan=True).encode())
            else:
                import pyarrow as pa
                import pyarrow.parquet as pq

                table = pa.Table.from_pandas(frame, preserve_index=False)
                md = dict(table.schema.metadata or {})
                md[META_KEY.encode()] = json.dumps(meta).encode()
                pq.write_table(table.replace_schema_metadata(md), raw)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def load_history(path: str | Path) -> pd.DataFrame:
    """Read a history written by :func:`save_history` (or any CSV/Parquet/JSON with the
    columns step, layer, quantity, value). Raises :class:`~gradprobe.errors.DataError`
    naming what is wrong: missing file, unknown format, unreadable content, missing
    columns, non-numeric steps or values."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"history file not found: {path}")
    if not path.is_file():
        raise DataError(f"{path} is not a regular file")
    fmt = path.suffix.lower()
    if fmt not in FORMATS:
        raise DataError(f"unknown history format {path.suffix!r}: use .parquet, .csv or .json")
    if path.stat().st_size == 0:
        raise DataError(f"{path} is empty (0 bytes): not a history")
    meta: dict[str, Any] = {}
    try:
        if fmt == ".csv":
            with path.open(encoding="utf-8") as fh:
                first = fh.readline()
            if first.startswith(_CSV_META):
                meta = json.loads(first[len(_CSV_META) :])
            df = pd.read_csv(path, skiprows=1 if first.startswith("#") else 0)
        elif fmt in (".parquet", ".pq"):
            if not have_pyarrow():
                raise DataError(f"cannot read {path.name}: Parquet needs pyarrow")
            import pyarrow.parquet as pq

            table = pq.read_table(path)
            raw = (table.schema.metadata or {}).get(META_KEY.encode())
            meta = json.loads(raw) if raw else {}
            df = table.to_pandas()
        else:
            if path.stat().st_size > MAX_JSON_BYTES:
                raise DataError(f"{path} is larger than {MAX_JSON_BYTES // 2**20} MiB")
            payload = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(payload, list):
                df = pd.DataFrame(payload)
            elif isinstance(payload, dict) and isinstance(payload.get("rows"), list):
                meta = payload.get("meta") or {}
                df = pd.DataFrame(payload["rows"], columns=payload.get("columns", COLUMNS))
            else:
                raise DataError(f"{path} is JSON but not a history (no 'rows' list)")
    except DataError:
        raise
    except Exception as exc:  # malformed file of a known format
        raise DataError(f"cannot read history {path}: {type(exc).__name__}: {exc}") from exc
    if not isinstance(meta, dict):
        meta = {}
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise DataError(
            f"{path} is not a gradprobe history: missing columns {missing} "
            f"(has {[str(c) for c in df.columns][:8]})"
        )
    df = df[COLUMNS].copy()
    step = pd.to_numeric(df["step"], errors="coerce")
    value = pd.to_numeric(df["value"], errors="coerce")
    finite = np.isfinite(step.to_numpy(dtype="float64", na_value=np.nan))
    bad_step = step.isna() | ~finite | (step != step.round()) | (step.abs() >= 2**62)
    if bad_step.any():
        i = int(np.argmax(bad_step.to_numpy()))
        raise DataError(
            f"{path}: column 'step' must hold integers; row {i} has {df['step'].iloc[i]!r}"
        )
    bad_value = (
        value.isna()
        & df["value"].notna()
        & ~df["value"]
        .astype(str)
        .str.lower()
        .isin(["nan", "inf", "-inf", "+inf", "infinity", "-infinity"])
    )
    if bad_value.any():
        i = int(np.argmax(bad_value.to_numpy()))
        raise DataError(
            f"{path}: column 'value' must hold numbers; row {i} has {df['value'].iloc[i]!r}"
        )
    df["step"] = step.astype("int64")
    df["value"] = pd.to_numeric(
        df["value"].replace({"inf": np.inf, "-inf": -np.inf}), errors="coerce"
    ).astype("float64")
    df["layer"] = df["layer"].astype(str)
    df["quantity"] = df["quantity"].astype(str)
    df.attrs[META_KEY] = meta
    return df
