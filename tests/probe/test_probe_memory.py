"""The history costs constant memory in the number of steps (counted rows and bytes, not RSS)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import gradprobe.probe as gp
from gradprobe.errors import DataError
from gradprobe.experiments.base import torch_threads
from probe.probe_models import data, mlp


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models: one thread is faster and steadier on a shared CPU."""
    with torch_threads(1):
        yield


def _run(probe, model, steps, start=0, checkpoints=()):
    x, y = data(seed=0)
    seen = {}
    for t in range(start, steps):
        F.cross_entropy(model(x * (1 + 0.01 * t)), y).backward()
        probe.step()
        model.zero_grad(set_to_none=True)
        if t + 1 in checkpoints:
            probe.flush()
            store = probe._store
            seen[t + 1] = (store.rows, probe.history_bytes, store.steps_held)
    return seen


def _twins(act=nn.Tanh):
    torch.manual_seed(0)
    a = mlp([10, 8, 8, 4], act)
    b = mlp([10, 8, 8, 4], act)
    b.load_state_dict(a.state_dict())
    return a, b


def _pair(**kw):
    a, b = _twins()
    return a, gp.watch(a, flush_every=8, **kw), b, gp.watch(b, flush_every=8)


def test_max_steps_holds_constant_rows_and_bytes_and_the_newest_steps_exactly():
    a, bounded, b, full = _pair(max_steps=20)
    seen = _run(bounded, a, 200, checkpoints=(96, 200))
    _run(full, b, 200)
    # a window of 20 consecutive steps holds 2 detail steps wherever it lies: same rows
    assert seen[96] == seen[200]
    rows, nbytes, held = seen[200]
    assert held == 20 and rows > 0
    assert nbytes == rows * 22  # int64 step + int32 layer + int16 quantity + float64 value
    kept = bounded.history
    want = full.history
    want = want[want.step >= 180].reset_index(drop=True)
    assert sorted(set(kept.step)) == list(range(180, 200))
    pd.testing.assert_frame_equal(kept.reset_index(drop=True), want, check_exact=True)
    # the unbounded history grows with the steps
    assert full.history_bytes > 9 * nbytes
    bounded.close()
    full.close()


def test_downsample_keeps_older_steps_thinned_in_bounded_memory():
    a, thin, b, full = _pair(max_steps=10, downsample=True)
    seen = _run(thin, a, 240, checkpoints=(120, 240))
    _run(full, b, 240)
    store = thin._store
    assert store.steps_held <= 2 * 10
    assert seen[240][1] <= 2 * seen[120][1]  # bytes do not grow with the steps
    df = thin.history
    steps = sorted(set(df.step))
    recent = [s for s in steps if s >= 230]
    older = [s for s in steps if s < 230]
    assert recent == list(range(230, 240))  # the newest window at full resolution
    assert store.stride >= 16 and store.stride & (store.stride - 1) == 0
    assert older and all(s % store.stride == 0 for s in older)
    assert older[0] == 0  # the far past is still visible
    ref = full.history
    ref = ref[ref.step.isin(steps)].reset_index(drop=True)
    pd.testing.assert_frame_equal(df.reset_index(drop=True), ref, check_exact=True)
    thin.close()
    full.close()


def test_downsample_with_spill_writes_every_evicted_step(tmp_path):
    a, thin, _b, full = _pair(max_steps=8, downsample=True, spill=tmp_path / "old.csv")
    _run(thin, a, 48)
    thin.close()
    spilled = gp.load_history(tmp_path / "old.csv")
    assert sorted(set(spilled.step)) == list(range(0, 48 - 8))
    full.close()


def test_downsample_needs_max_steps():
    model = mlp([4, 3], nn.Tanh)
    with pytest.raises(DataError):
        gp.watch(model, downsample=True)


def test_rows_without_sinks_equal_the_tidy_frame_path():
    """The store's direct path (no sink: no DataFrame per chunk) gives the same history as
    the DataFrame path taken when a sink needs records."""
    a, b = _twins(nn.ReLU)
    direct = gp.watch(a, flush_every=5, detail_every=3)
    framed = gp.watch(b, flush_every=5, detail_every=3, sinks=[lambda step, recs: None])
    _run(direct, a, 23)
    _run(framed, b, 23)
    got, want = direct.history, framed.history
    assert len(got) > 0
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert got.attrs == want.attrs


def test_store_rows_equal_a_per_series_build_sorted_by_step():
    """The store lays the quantities' series side by side and reads them step by step (no
    sort); an independent build — each series' rows, concatenated, stable-sorted by step —
    gives the same rows in the same order."""
    from gradprobe.probe.history import HistoryStore

    torch.manual_seed(0)
    model = mlp([10, 8, 8, 4], nn.Tanh)
    probe = gp.watch(model, flush_every=100, detail_every=3)
    x, y = data(seed=0)
    for t in range(11):
        F.cross_entropy(model(x * (1 + 0.1 * t)), y).backward()
        if t == 7:
            model[2].bias.grad[0] = float("nan")  # a non-finite step: nonfinite rows too
        probe.step()
        model.zero_grad(set_to_none=True)
    rec = probe._recorder
    chunk, ctx = rec.flush(), rec.context()
    parts = []
    for q in probe.quantities:
        for layer, quantity, value, mask in q.series(chunk, ctx):
            mask = np.asarray(mask, dtype=bool)
            parts.append(
                pd.DataFrame(
                    {
                        "step": chunk.steps[mask].astype(np.int64),
                        "layer": layer,
                        "quantity": quantity,
                        "value": np.asarray(value, dtype=np.float64)[mask],
                    }
                )
            )
    want = pd.concat(parts, ignore_index=True).sort_values("step", kind="stable")
    store = HistoryStore()
    store.add_chunk(chunk, ctx, probe.quantities)
    got = store.frame()
    assert len(got) > 11 * len(probe.layer_names)
    assert set(got.quantity) >= {"saturation", "nonfinite_origin", "update_ratio", "speed"}
    pd.testing.assert_frame_equal(
        got.reset_index(drop=True), want.reset_index(drop=True), check_exact=True
    )
    recs = store.records(store._recent[0])
    for row in got.itertuples():
        assert recs[row.step][row.layer][row.quantity] == row.value or np.isnan(row.value)
    probe.close()


def test_staged_chunks_stay_bounded_and_settle_on_read(monkeypatch):
    """Without sinks the flushed chunks wait raw until STAGE_STEPS steps (or STAGE_BYTES) have
    gathered; then, or on any read, they become rows — the same rows as flushing each time."""
    import importlib

    watch_mod = importlib.import_module("gradprobe.probe.watch")
    monkeypatch.setattr(watch_mod, "STAGE_STEPS", 12)
    a, b = _twins()
    staged = gp.watch(a, flush_every=8, max_steps=30)
    # a sink: rows at every flush
    direct = gp.watch(b, flush_every=8, max_steps=30, sinks=[lambda step, recs: None])
    for t in range(50):
        _run(staged, a, t + 1, start=t)
        _run(direct, b, t + 1, start=t)
        assert staged._staged_steps < 12 + 8  # at most one flush beyond the bound
    assert staged._store.steps_held > 0  # rows were derived without a read
    pd.testing.assert_frame_equal(staged.history, direct.history, check_exact=True)
    assert staged._staged == []
    staged.close()
    direct.close()


def test_a_step_quantity_that_starts_late_keeps_every_value_through_staging():
    """A ``measure_step`` quantity whose first value comes after some flushes (its raw buffer
    is created then) settles the staged chunks before its own; nothing is lost."""
    from gradprobe.probe.quantities import DEFAULT_QUANTITIES, Quantity

    class Late(Quantity):
        name = "late"
        reads = ("gradient",)
        columns = ("late",)

        def __init__(self):
            self.calls = 0

        def measure_step(self, grads, params):
            self.calls += 1
            if self.calls <= 10:
                return None
            return torch.stack([g.abs().max() for g in grads if g is not None])

        def series(self, chunk, ctx):
            raw = chunk.extra.get(self.name)
            if raw is None:
                return
            yield "(model)", "late", raw.max(axis=1), raw.max(axis=1) >= 0

    a, _ = _twins()
    probe = gp.watch(a, flush_every=4, quantities=(*DEFAULT_QUANTITIES, Late()))
    seen = []
    x, y = data(seed=0)
    for t in range(20):
        F.cross_entropy(a(x * (1 + 0.01 * t)), y).backward()
        seen.append(max(float(p.grad.abs().max()) for p in a.parameters()))
        probe.step()
        a.zero_grad(set_to_none=True)
    df = probe.history
    late = df[df.quantity == "late"].set_index("step")["value"]
    assert list(late.index) == list(range(10, 20))
    assert late.to_numpy() == pytest.approx(seen[10:], rel=1e-6)
    assert sorted(set(df.step)) == list(range(20))
    probe.close()
