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
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
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


def series_table(
    chunk: Chunk, ctx: Context, quantities: Iterable[Quantity]
) -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
    """Every quantity's series in the chunk side by side: ``(layers [k], names [k], values
    [n, k] float64, mask [n, k] bool)``, one column per series in the quantities' order, one
    row per step. Read in row-major order, ``values[mask]`` lists the rows by step and, within
    a step, in series order (layers in forward order) — the history's order, with no sort."""
    layers: list[str] = []
    names: list[str] = []
    values: list[np.ndarray] = []
    masks: list[np.ndarray] = []
    n = chunk.n
    for q in quantities:
        for layer, quantity, value, mask in q.series(chunk, ctx):
            layers.append(layer)
            names.append(quantity)
            values.append(value)
            masks.append(mask)
    k = len(layers)
    vals = np.empty((n, k), dtype=np.float64)
    keep = np.empty((n, k), dtype=bool)
    for j in range(k):
        vals[:, j] = values[j]
        keep[:, j] = masks[j]
    return layers, names, vals, keep


def chunk_records(
    chunk: Chunk, ctx: Context, quantities: Iterable[Quantity]
) -> dict[int, dict[str, dict[str, float]]]:
    """``{step: {layer: {quantity: value}}}`` for the chunk's recorded values."""
    layers, names, vals, keep = series_table(chunk, ctx, quantities)
    steps = chunk.steps.tolist()
    out: dict[int, dict[str, dict[str, float]]] = {}
    rows, cols = np.nonzero(keep)
    for i, j, v in zip(rows.tolist(), cols.tolist(), vals[keep].tolist(), strict=True):
        out.setdefault(int(steps[i]), {}).setdefault(layers[j], {})[names[j]] = v
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


@dataclass
class Rows:
    """History rows stored column-wise with codes instead of strings: ``steps`` int64,
    ``layer`` int32 and ``quantity`` int16 (indices into the store's name tables), ``value``
    float64 — 22 bytes a row, no Python object per row. Sorted by step."""

    steps: np.ndarray
    layer: np.ndarray
    quantity: np.ndarray
    value: np.ndarray

    def __len__(self) -> int:
        return int(self.steps.shape[0])

    @property
    def nbytes(self) -> int:
        return int(self.steps.nbytes + self.layer.nbytes + self.quantity.nbytes + self.value.nbytes)

    def take(self, sel: slice | np.ndarray) -> Rows:
        """A copy of the rows ``sel`` (a copy, so that the rest can be freed)."""
        return Rows(
            self.steps[sel].copy(),
            self.layer[sel].copy(),
            self.quantity[sel].copy(),
            self.value[sel].copy(),
        )

    @staticmethod
    def concat(parts: Sequence[Rows]) -> Rows:
        if len(parts) == 1:
            return parts[0]
        return Rows(
            np.concatenate([r.steps for r in parts]),
            np.concatenate([r.layer for r in parts]),
            np.concatenate([r.quantity for r in parts]),
            np.concatenate([r.value for r in parts]),
        )


class HistoryStore:
    """The rows of a probe's history, in memory, in constant memory when asked.

    ``max_steps``: keep only the newest ``max_steps`` recorded steps at full resolution
    (``None``: all). The steps that leave that window are appended to ``spill``
    (``.parquet`` or ``.csv``) when given, and with ``downsample=True`` also kept in memory
    *thinned*: of the older steps only every ``stride``-th recorded step stays, the stride
    doubling (1, 2, 4, …) whenever more than ``max_steps`` older steps would be held — an
    exponentially coarser record of the far past. Memory is bounded by ``max_steps``
    (``2 × max_steps`` with ``downsample``) × rows per step × 22 bytes (see :class:`Rows`),
    whatever the number of steps; ``every`` (the probe's) makes the stride count recorded
    steps.

    Rows are kept as blocks of codes (one per :meth:`add_chunk`); eviction drops whole blocks and
    copies at most one partial block, so a long run does not re-copy its history at every
    flush (which let resident memory creep up by the size of the copies) and creates no
    Python object per row. :meth:`frame` builds the DataFrame on demand (cached until the
    next :meth:`add`).
    """

    def __init__(
        self,
        max_steps: int | None = None,
        spill: str | Path | None = None,
        *,
        downsample: bool = False,
        every: int = 1,
    ) -> None:
        if max_steps is not None and (isinstance(max_steps, bool) or max_steps < 1):
            raise DataError(f"max_steps must be a positive integer, got {max_steps!r}")
        if spill is not None and max_steps is None:
            raise DataError("spill= needs max_steps= (the steps kept in memory)")
        if downsample and max_steps is None:
            raise DataError("downsample=True needs max_steps= (the steps kept at full resolution)")
        self.max_steps = max_steps
        self.downsample = bool(downsample)
        self.every = max(1, int(every))
        self.spill = Path(spill) if spill is not None else None
        if self.spill is not None and self.spill.suffix.lower() not in (".parquet", ".csv"):
            raise DataError(f"spill file must be .parquet or .csv, got {self.spill.name!r}")
        self._layers: list[str] = []
        self._layer_code: dict[str, int] = {}
        self._names: list[str] = []
        self._name_code: dict[str, int] = {}
        self._recent: deque[Rows] = deque()  # blocks in step order
        self._steps: deque[int] = deque()  # recorded steps in the full-resolution window
        self._old: list[Rows] = []  # thinned older steps (downsample)
        self._old_steps = 0
        self.stride = 1
        self._cache: pd.DataFrame | None = None
        self.last_chunk: Chunk | None = None
        self._writer: Any = None
        self._csv_started = False
        self.spilled_steps = 0

    # ------------------------------------------------------------------ sizes
    @property
    def rows(self) -> int:
        """Rows held in memory."""
        return sum(len(b) for b in self._recent) + sum(len(b) for b in self._old)

    @property
    def nbytes(self) -> int:
        """Bytes of the rows held in memory (not counting a cached :meth:`frame`)."""
        return sum(b.nbytes for b in self._recent) + sum(b.nbytes for b in self._old)

    @property
    def steps_held(self) -> int:
        """Recorded steps held in memory (full-resolution window plus thinned older ones)."""
        return len(self._steps) + self._old_steps

    # ------------------------------------------------------------------ adding
    def _decode(self, rows: Rows) -> pd.DataFrame:
        layers = np.asarray(self._layers, dtype=object)
        names = np.asarray(self._names, dtype=object)
        return pd.DataFrame(
            {
                "step": rows.steps,
                "layer": pd.Series(layers[rows.layer] if len(layers) else [], dtype=str),
                "quantity": pd.Series(names[rows.quantity] if len(names) else [], dtype=str),
                "value": rows.value,
            }
        )

    def _code(self, name: str, table: list[str], index: dict[str, int]) -> int:
        code = index.get(name)
        if code is None:
            code = index[name] = len(table)
            table.append(name)
        return code

    def add_chunk(self, chunk: Chunk, ctx: Context, quantities: Iterable[Quantity]) -> Rows | None:
        """Append a chunk's rows straight from the quantities' series, as codes (no DataFrame,
        no sort: see :func:`series_table`). Returns the rows added (None when none)."""
        layers, names, vals, keep = series_table(chunk, ctx, quantities)
        used = keep.any(axis=0)  # name tables hold only names that have rows
        lcode = np.zeros(len(layers), dtype=np.int32)
        qcode = np.zeros(len(names), dtype=np.int16)
        for j in np.flatnonzero(used).tolist():
            lcode[j] = self._code(layers[j], self._layers, self._layer_code)
            qcode[j] = self._code(names[j], self._names, self._name_code)
        rows = None
        if used.any():
            shape = keep.shape
            rows = Rows(
                np.broadcast_to(chunk.steps.astype(np.int64)[:, None], shape)[keep],
                np.broadcast_to(lcode, shape)[keep],
                np.broadcast_to(qcode, shape)[keep],
                vals[keep],
            )
        self._add_rows(chunk, rows)
        return rows

    def records(self, rows: Rows) -> dict[int, dict[str, dict[str, float]]]:
        """``{step: {layer: {quantity: value}}}`` for ``rows`` (`chunk_records` gives the same
        for a chunk not yet turned into rows)."""
        layers, names = self._layers, self._names
        out: dict[int, dict[str, dict[str, float]]] = {}
        for step, layer, quantity, value in zip(
            rows.steps.tolist(),
            rows.layer.tolist(),
            rows.quantity.tolist(),
            rows.value.tolist(),
            strict=True,
        ):
            out.setdefault(step, {}).setdefault(layers[layer], {})[names[quantity]] = value
        return out

    def _add_rows(self, chunk: Chunk, rows: Rows | None) -> None:
        self.last_chunk = chunk
        self._steps.extend(chunk.steps.tolist())
        if rows is not None and len(rows):
            self._recent.append(rows)
            self._cache = None
        if self.max_steps is None or len(self._steps) <= self.max_steps:
            return
        while len(self._steps) > self.max_steps:
            self._steps.popleft()
        cut = self._steps[0]  # the first step kept
        gone: list[Rows] = []
        while self._recent and int(self._recent[0].steps[-1]) < cut:
            gone.append(self._recent.popleft())
        if self._recent and int(self._recent[0].steps[0]) < cut:
            block = self._recent[0]
            k = int(np.searchsorted(block.steps, cut, side="left"))
            gone.append(block.take(slice(0, k)))
            self._recent[0] = block.take(slice(k, None))
        self._cache = None
        if not gone:
            return
        old = Rows.concat(gone)
        self.spilled_steps += int(np.unique(old.steps).size)
        if self.spill is not None:
            self._write_spill(self._decode(old))
        if self.downsample:
            self._thin(old)

    def _thin(self, old: Rows) -> None:
        """Keep the rows of every ``stride``-th recorded step; double the stride while more
        than ``max_steps`` older steps are held."""
        assert self.max_steps is not None
        period = self.every * self.stride
        keep = old.take(old.steps % period == 0)
        if len(keep):
            self._old.append(keep)
            self._old_steps += int(np.unique(keep.steps).size)
        while self._old_steps > self.max_steps:
            self.stride *= 2
            period = self.every * self.stride
            merged = Rows.concat(self._old)
            merged = merged.take(merged.steps % period == 0)
            self._old = [merged] if len(merged) else []
            self._old_steps = int(np.unique(merged.steps).size)

    def frame(self, copy: bool = True) -> pd.DataFrame:
        """All rows in memory as one DataFrame (thinned older steps first)."""
        if self._cache is None:
            blocks = [*self._old, *self._recent]  # every block is stored non-empty
            if not blocks:
                self._cache = empty_history()
            else:
                self._cache = self._decode(Rows.concat(blocks))
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
