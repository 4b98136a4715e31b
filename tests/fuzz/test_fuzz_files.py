"""Property: whatever a file contains, gradprobe's readers return a value or raise their typed
error (`DataError`, `ResultError`, …), quickly and without touching anything else: IDX headers
and bodies, gzip streams, ``result.json`` files, safetensors checkpoints, probe histories. And
the commands that read files (``report``, ``diagnose``) end with exit code 0, 1 or 2."""

from __future__ import annotations

import contextlib
import gzip
import json
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from fuzz._kit import CASE_LIMIT_S, STATS, check_case, fresh_sandbox, max_examples  # type: ignore[import-not-found]
from gradprobe.data.idx import IMAGES_MAGIC, LABELS_MAGIC, encode_idx, gunzip, load_idx
from gradprobe.errors import GradprobeError
from gradprobe.io import load_tensors, save_tensors
from gradprobe.results import ResultError, read_result

TYPED = (GradprobeError, ResultError)

LIMIT_S = min(CASE_LIMIT_S, 10.0)

VALID_LABELS = encode_idx(np.arange(20, dtype=np.uint8) % 10)
VALID_IMAGES = encode_idx(np.zeros((2, 28, 28), dtype=np.uint8))


@st.composite
def mutated(draw: st.DrawFn, valid: bytes) -> bytes:
    """``valid`` with a few bytes flipped, a cut, an insertion, or a replaced header."""
    data = bytearray(valid)
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["flip", "cut", "insert", "header"]))
        if kind == "flip" and data:
            i = draw(st.integers(0, len(data) - 1))
            data[i] = draw(st.integers(0, 255))
        elif kind == "cut":
            data = data[: draw(st.integers(0, len(data)))]
        elif kind == "insert":
            i = draw(st.integers(0, len(data)))
            data[i:i] = draw(st.binary(max_size=16))
        else:
            data[:16] = draw(st.binary(min_size=0, max_size=16))
    return bytes(data)


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    try:
        return fn(*args, **kwargs)
    finally:
        assert time.perf_counter() - t0 < LIMIT_S, f"{fn.__name__} took too long"


@settings(max_examples=max_examples(2))
@given(
    raw=st.one_of(mutated(VALID_LABELS), mutated(VALID_IMAGES), st.binary(max_size=64)),
    magic=st.sampled_from([LABELS_MAGIC, IMAGES_MAGIC]),
)
def test_idx_bytes(raw: bytes, magic: int) -> None:
    STATS["file cases"] += 1
    try:
        array = timed(load_idx, raw, "x.idx", magic=magic)
    except GradprobeError:
        return
    assert array.dtype == np.uint8 and array.ndim == magic & 0xFF


@settings(max_examples=max_examples(2))
@given(raw=st.one_of(mutated(gzip.compress(VALID_LABELS)), st.binary(max_size=64)))
def test_gzip_streams(raw: bytes) -> None:
    STATS["file cases"] += 1
    try:
        out = timed(gunzip, raw, "x.gz", max_size=10_000)
    except GradprobeError:
        return
    assert len(out) <= 10_000


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)

HOSTILE_JSON = [
    "", "{", "[" * 10_000 + "]" * 10_000, '{"a": ' + "1" * 500 + "}", '{"x": NaN}',
    '{"x": Infinity}', '{"x": 1e400}', "\ufeff{}", '"\\ud800"', "null", "[]",
    '{"schema": "gradprobe.result/2"}', '{"schema": "gradprobe.result/2", "name": 3}',
]  # fmt: skip


@settings(max_examples=max_examples(2))
@given(
    text=st.one_of(
        st.sampled_from(HOSTILE_JSON),
        json_values.map(json.dumps),
        st.fixed_dictionaries(
            {"schema": st.sampled_from(["gradprobe.result/2", "gradprobe.result/1", "x"])},
            optional={
                "name": json_values,
                "comparisons": json_values,
                "data": json_values,
                "config": json_values,
                "title": json_values,
            },
        ).map(json.dumps),
    )
)
def test_result_files(text: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    STATS["file cases"] += 1
    path = tmp_path_factory.mktemp("r") / "result.json"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    with contextlib.suppress(*TYPED):
        timed(read_result, path)


def _valid_tensors(folder: Path) -> bytes:
    p = save_tensors(folder / "t.safetensors", {"w": torch.arange(6.0).reshape(2, 3)}, {"k": "v"})
    return p.read_bytes()


@settings(max_examples=max_examples(2))
@given(data=st.data())
def test_safetensors_checkpoints(data: st.DataObject, tmp_path_factory) -> None:
    STATS["file cases"] += 1
    folder = tmp_path_factory.mktemp("t")
    raw = data.draw(st.one_of(mutated(_valid_tensors(folder)), st.binary(max_size=64)))
    path = folder / "c.safetensors"
    path.write_bytes(raw)
    try:
        tensors, meta = timed(load_tensors, path)
    except GradprobeError:
        return
    assert all(isinstance(t, torch.Tensor) for t in tensors.values())
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items())


CSV_HEAD = "step,layer,quantity,value\n"


@st.composite
def history_text(draw: st.DrawFn) -> tuple[str, str]:
    kind = draw(st.sampled_from(["csv", "json", "junk"]))
    cell = st.one_of(st.integers(-5, 5).map(str), st.sampled_from(["", "nan", "inf", "x", "1e400"]))
    rows = draw(st.lists(st.tuples(cell, cell, cell, cell), max_size=6))
    if kind == "csv":
        head = draw(st.sampled_from([CSV_HEAD, "", "step,value\n", "# meta\n" + CSV_HEAD]))
        return ".csv", head + "".join(",".join(r) + "\n" for r in rows)
    if kind == "json":
        return ".json", json.dumps(draw(st.one_of(
            st.just([dict(zip(["step", "layer", "quantity", "value"], r)) for r in rows]),
            st.fixed_dictionaries({"rows": st.just([list(r) for r in rows])},
                                  optional={"columns": json_values, "meta": json_values}),
            json_values,
        )))  # fmt: skip
    return draw(st.sampled_from([".csv", ".json", ".txt"])), draw(st.text(max_size=40))


@settings(max_examples=max_examples(2))
@given(case=history_text())
def test_history_files(case: tuple[str, str], tmp_path_factory) -> None:
    from gradprobe.probe.history import load_history

    STATS["file cases"] += 1
    suffix, text = case
    path = tmp_path_factory.mktemp("h") / f"history{suffix}"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        df = timed(load_history, path)
    except TYPED:
        return
    assert list(df.columns) == ["step", "layer", "quantity", "value"]


@settings(max_examples=max_examples(1))
@given(case=history_text())
def test_diagnose_on_any_history(case: tuple[str, str], tmp_path_factory) -> None:
    suffix, text = case
    with fresh_sandbox(tmp_path_factory.getbasetemp()) as sandbox:
        path = sandbox / f"h{suffix}"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        check_case(["diagnose", str(path)], sandbox)
        check_case(["diagnose", "--json", str(path)], sandbox)


@settings(max_examples=max_examples(1))
@given(text=st.one_of(st.sampled_from(HOSTILE_JSON), json_values.map(json.dumps)))
def test_report_on_any_result_file(text: str, tmp_path_factory) -> None:
    with fresh_sandbox(tmp_path_factory.getbasetemp()) as sandbox:
        (sandbox / "res" / "x").mkdir(parents=True)
        (sandbox / "res" / "x" / "result.json").write_text(text, errors="surrogatepass")
        check_case(["report", "res"], sandbox)
