"""The compiled norms (numba) of the probe's CPU path against float64 autograd references.

Tolerances: the kernels sum squares in float64 and the recorder stores float32, so a norm is
the float64 norm of the float32 values rounded once: relative error ≤ 2⁻²⁴ ≈ 6e-8 (asserted
with rel=2e-7). The torch path (``GRADPROBE_ENGINE=torch``) accumulates in float32 and agrees
with the compiled one to 1e-5 relative.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import gradprobe.probe as gp
from gradprobe.probe import fastnorm
from probe.probe_models import mlp
from probe.zoo import StackedLSTM

pytestmark = pytest.mark.skipif(fastnorm.kernels() is None, reason="numba not installed")

REL = 2e-7


@pytest.fixture(autouse=True)
def _compiled_from_the_first_step(monkeypatch):
    """These tests check the compiled path itself: from step 0 (by default it takes over at
    step `fastnorm.COMPILED_AFTER_STEPS`; see test_switch_at_a_fixed_step)."""
    monkeypatch.setenv("GRADPROBE_ENGINE", "numba")


def _cases() -> list[tuple[str, nn.Module, torch.Tensor]]:
    torch.manual_seed(0)
    cnn = nn.Sequential(
        nn.Conv2d(1, 4, 3),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.Conv2d(4, 4, 3, bias=False),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(64, 3),
    )
    tr = nn.Sequential(
        nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=True),
        nn.Flatten(),
        nn.Linear(40, 3),
    )
    return [
        ("mlp", mlp([10, 16, 16, 3], nn.Tanh), torch.randn(4, 10)),
        ("cnn", cnn, torch.randn(4, 1, 8, 8)),
        ("transformer", tr, torch.randn(4, 5, 8)),
        ("lstm", StackedLSTM(), torch.randn(4, 5, 8)),
    ]


def _run(model: nn.Module, x: torch.Tensor, steps: int = 4):
    """Train ``steps`` steps (Adam) with a probe at detail_every=1; returns the raw chunk and
    float64 references: gradients, parameters before/after each step's update."""
    y = torch.tensor([0, 1, 2, 1])  # classes < 3: every model has ≥ 3 outputs
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    probe = gp.watch(model, detail_every=1)
    rec = probe._recorder
    grads, params = [], []
    for _ in range(steps):
        F.cross_entropy(model(x), y).backward()
        grads.append([p.grad.double().clone() for p in rec.params])
        params.append([p.detach().double().clone() for p in rec.params])
        probe.step()
        opt.step()
        opt.zero_grad()
    chunk = rec.flush()
    probe.close()
    return chunk, grads, params, rec


@pytest.mark.parametrize("name", ["mlp", "cnn", "transformer", "lstm"])
def test_compiled_norms_match_float64_autograd(name):
    _, model, x = next(c for c in _cases() if c[0] == name)
    chunk, grads, params, rec = _run(model, x)
    assert rec._kern is not None  # the compiled path served this model
    for t in range(len(grads)):
        ref_g = np.array([float(g.norm()) for g in grads[t]])
        ref_w = np.array([float(w.norm()) for w in params[t]])
        np.testing.assert_allclose(chunk.grad[t], ref_g, rtol=REL)
        np.testing.assert_allclose(chunk.param[t], ref_w, rtol=REL)
        if t:  # ‖θ_t − θ_{t−1}‖: the float32 difference, its norm in float64
            ref_d = [
                float((w.float() - v.float()).double().norm())
                for w, v in zip(params[t], params[t - 1], strict=True)
            ]
            np.testing.assert_allclose(chunk.delta[t], ref_d, rtol=REL)


@pytest.mark.parametrize("case", [0, 1])
def test_torch_path_agrees_and_is_used_without_the_kernels(case, monkeypatch):
    """Norms and (case 0, tanh) the activation statistics: the compiled path's host sums
    reach the same rows as the torch path's device sums."""
    out = {}
    for engine in ("numba", "torch"):
        monkeypatch.setenv("GRADPROBE_ENGINE", engine)
        fastnorm.kernels.cache_clear()
        _, model, x = _cases()[case]
        chunk, *_, rec = _run(model, x)
        assert (rec._kern is None) == (engine == "torch")
        out[engine] = chunk
    fastnorm.kernels.cache_clear()
    for field in ("grad", "param", "delta"):
        a, b = getattr(out["numba"], field), getattr(out["torch"], field)
        np.testing.assert_allclose(a, b, rtol=1e-5)
    assert out["numba"].outputs.keys() == out["torch"].outputs.keys()
    for name, block in out["numba"].outputs.items():
        ref = out["torch"].outputs[name]
        np.testing.assert_array_equal(block.counts, ref.counts)
        np.testing.assert_allclose(block.values, ref.values, rtol=1e-5)
    if case == 0:
        assert out["numba"].outputs["tanh_saturation"].counts.sum() > 0  # measured at all


def test_same_seed_is_bit_identical():
    runs = [_run(_cases()[0][1], _cases()[0][2])[0] for _ in range(2)]
    for field in ("grad", "param", "delta"):
        assert np.array_equal(getattr(runs[0], field), getattr(runs[1], field))


def test_nan_and_inf_propagate_and_non_contiguous_falls_back():
    torch.manual_seed(0)
    params = [torch.randn(5, 4), torch.randn(7), torch.randn(3, 3)]
    norms = fastnorm.CpuNorms.create(params)
    assert norms is not None
    out = np.zeros(3, dtype=np.float32)
    params[0][1, 2] = float("inf")
    params[1][3] = float("nan")
    assert norms.norms(params, out) is False  # written, not all finite
    assert out[0] == np.inf and np.isnan(out[1])
    assert out[2] == pytest.approx(float(params[2].double().norm()), rel=REL)
    out[:] = -1
    assert norms.norms([params[0], params[1], params[2].t()], out) is None  # not contiguous
    assert norms.norms([params[0], None, params[2]], out) is None  # a missing gradient
    assert (out == -1).all()  # nothing written: the recorder takes its torch path
    # beyond float32's range for the square, exact in float64 (torch's float32 sum overflows)
    big = [torch.full((5, 4), 1e30), torch.ones(7), torch.ones(3, 3)]
    assert norms.norms(big, out) is True and out[0] == pytest.approx(np.sqrt(20) * 1e30, rel=REL)
    assert norms.norms([torch.ones(4), torch.ones(7), torch.ones(3, 3)], out) is None  # resized
    assert norms.norms([torch.ones(5, 4).double(), torch.ones(7), torch.ones(3, 3)], out) is None


def test_mixed_dtypes_and_half_take_the_torch_path():
    assert fastnorm.CpuNorms.create([torch.zeros(3), torch.zeros(2, dtype=torch.float64)]) is None
    assert fastnorm.CpuNorms.create([torch.zeros(3, dtype=torch.bfloat16)]) is None
    model = mlp([10, 8, 3], nn.Tanh).double()
    chunk, grads, *_ = _run(model, torch.randn(4, 10, dtype=torch.float64), steps=2)
    ref = np.array([float(g.norm()) for g in grads[1]])
    np.testing.assert_allclose(chunk.grad[1], ref, rtol=1e-12)  # float64 kernel


@pytest.mark.parametrize("tanh", [False, True])
def test_compiled_saturation_matches_float64_and_the_torch_path(tanh, monkeypatch):
    from gradprobe.probe.quantities import Saturation, TanhSaturation

    q = TanhSaturation() if tanh else Saturation()
    assert fastnorm.kernels() is not None and fastnorm.loaded() is not None
    g = torch.Generator().manual_seed(3)
    z = torch.randn(64, 33, generator=g) * 4
    a = torch.tanh(z) if tanh else torch.sigmoid(z)
    a[0, :4] = torch.tensor([1.0, 0.0, -1.0, 0.5])  # σ′ = 0 and the maximum
    v, n = q.measure(a)
    # the compiled pass hands back host values (numpy float64) for the recorder to add up
    assert isinstance(v, np.ndarray) and v.dtype == np.float64 and v.shape == (3,)
    assert n == a.numel()
    a64 = a.double()
    ds = 1 - a64 * a64 if tanh else a64 - a64 * a64
    ds32 = (1 - a * a) if tanh else (a - a * a)  # the float32 σ′ decides "saturated"
    limit = torch.tensor(0.01 * q.maximum, dtype=torch.float32)
    assert v[0] == int((ds32 < limit).sum())
    assert float(v[1]) == pytest.approx(float(ds.sum()), rel=1e-6)  # float32 σ′, float64 sum
    assert float(v[2]) == pytest.approx(float(a64.abs().sum()), rel=1e-12)
    ref = _torch_measure(q, a, monkeypatch)
    assert v[0] == ref[0]
    np.testing.assert_allclose(v[1:], ref[1:].numpy(), rtol=1e-5)
    for bad in (float("nan"), float("-inf"), float("inf")):  # non-finite: as the torch path
        a[5, 5] = bad
        v, _ = q.measure(a)
        np.testing.assert_array_equal(v, _torch_measure(q, a, monkeypatch).numpy())
    assert bool(np.isnan(v[0])) != tanh  # a = ∞: σ′ = ∞ − ∞ (sigmoid), 1 − ∞ (tanh)


def _torch_measure(q, a, monkeypatch):
    monkeypatch.setenv("GRADPROBE_ENGINE", "torch")
    fastnorm.kernels.cache_clear()
    try:
        return q.measure(a)[0].double()
    finally:
        monkeypatch.setenv("GRADPROBE_ENGINE", "numba")
        fastnorm.kernels.cache_clear()
        fastnorm.kernels()  # loaded again: the next measure takes the compiled pass


def test_switch_at_a_fixed_step(monkeypatch):
    """Unforced, a probe records with torch until step COMPILED_AFTER_STEPS and with the
    kernels after it (loading them costs ≈ 0.7 s, repaid only by long runs); the values on
    both sides agree with float64 autograd, and a rerun is bit-identical."""
    monkeypatch.delenv("GRADPROBE_ENGINE")
    monkeypatch.setattr(fastnorm, "COMPILED_AFTER_STEPS", 3)
    fastnorm.kernels.cache_clear()
    seen = []

    def run():
        torch.manual_seed(0)
        model, x = mlp([10, 16, 16, 3], nn.Tanh), torch.randn(4, 10)
        y = torch.tensor([0, 1, 2, 1])
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        probe = gp.watch(model, detail_every=1)
        rec, grads = probe._recorder, []
        for _ in range(6):
            F.cross_entropy(model(x), y).backward()
            grads.append([float(p.grad.double().norm()) for p in rec.params])
            seen.append(rec._kern is not None)
            probe.step()
            opt.step()
            opt.zero_grad()
        chunk = rec.flush()
        probe.close()
        return chunk, grads

    (a, grads), (b, _) = run(), run()
    assert seen == [False] * 3 + [True] * 3 + [False] * 3 + [True] * 3
    np.testing.assert_allclose(a.grad[:6], np.array(grads), rtol=1e-5)  # float32 torch path
    np.testing.assert_allclose(a.grad[3:6], np.array(grads[3:]), rtol=REL)  # the kernels
    for field in ("grad", "param", "delta"):
        assert np.array_equal(getattr(a, field), getattr(b, field), equal_nan=True)
