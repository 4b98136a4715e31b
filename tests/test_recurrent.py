"""``gradprobe.recurrent`` against an independent computation in float64.

The reference steps nn.RNNCell / nn.LSTMCell / nn.GRUCell (PyTorch's own cell kernels) by hand
over each layer, direction and — for packed input — each sequence separately at its own length,
keeps every h_t with ``retain_grad`` and takes the norm of its ``.grad``: the total ∂L/∂h_t.
Tolerance: relative 1e-10 (float64; the two compute the same sums in different orders).
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from gradprobe import recurrent as rc
from gradprobe.errors import ConfigError

RTOL = 1e-10


def _cell(module: nn.Module, layer: int, rev: bool) -> nn.Module:
    sfx = f"_l{layer}" + ("_reverse" if rev else "")
    w_ih = getattr(module, "weight_ih" + sfx)
    inp, H = w_ih.shape[1], module.hidden_size
    if isinstance(module, nn.LSTM):
        cell: nn.Module = nn.LSTMCell(inp, H, dtype=torch.float64)
    elif isinstance(module, nn.GRU):
        cell = nn.GRUCell(inp, H, dtype=torch.float64)
    else:
        cell = nn.RNNCell(inp, H, nonlinearity=module.nonlinearity, dtype=torch.float64)
    with torch.no_grad():
        for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, k).copy_(getattr(module, k + sfx))
    return cell


def reference(
    module: nn.Module, x: torch.Tensor, lengths: list[int], loss_w: torch.Tensor, last_only: bool
) -> tuple[dict[str, list[float]], torch.Tensor]:
    """x [B, T, F] (batch first, padded); loss = Σ_b Σ_t loss_w[b, t]·out[b, t] over valid t
    (or only at each sequence's last step). Returns the profile and the outputs [B, T, H·D]."""
    B, T, _ = x.shape
    L, D = module.num_layers, 2 if module.bidirectional else 1
    sq = {n: [0.0] * T for n in rc.layer_names(module)}
    outs_all = torch.zeros(B, T, module.hidden_size * D, dtype=torch.float64)
    for b in range(B):
        n = lengths[b]
        inp = x[b : b + 1, :n]
        kept: dict[str, list[torch.Tensor]] = {}
        for layer in range(L):
            dir_outs = []
            for d in range(D):
                cell = _cell(module, layer, bool(d))
                h = torch.zeros(1, module.hidden_size, dtype=torch.float64)
                c = torch.zeros_like(h)
                order = range(n - 1, -1, -1) if d else range(n)
                hs: dict[int, torch.Tensor] = {}
                for t in order:
                    if isinstance(cell, nn.LSTMCell):
                        h, c = cell(inp[:, t], (h, c))
                    else:
                        h = cell(inp[:, t], h)
                    h.retain_grad()
                    hs[t] = h
                kept[rc.layer_names(module)[layer * D + d]] = [hs[t] for t in range(n)]
                dir_outs.append(torch.stack([hs[t] for t in range(n)], 1))
            inp = torch.cat(dir_outs, 2)
        outs_all[b, :n] = inp[0].detach()
        w = loss_w[b, :n]
        if last_only:
            w = torch.zeros_like(w)
            w[n - 1] = loss_w[b, n - 1]
        (inp[0] * w).sum().backward()
        for name, hs_ in kept.items():
            for t, h in enumerate(hs_):
                sq[name][t] += float((h.grad**2).sum())
    return {k: [math.sqrt(v) for v in vals] for k, vals in sq.items()}, outs_all


def _module(kind: str, **kw: object) -> nn.Module:
    cls = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[kind]
    return cls(3, 5, dtype=torch.float64, **kw)  # type: ignore[arg-type]


CASES = [
    (kind, layers, bidir, bf)
    for kind in ("rnn", "lstm", "gru")
    for layers, bidir, bf in ((1, False, True), (2, False, False), (2, True, True))
]


@pytest.mark.parametrize("kind,layers,bidir,batch_first", CASES)
@pytest.mark.parametrize("last_only", [False, True])
def test_profile_matches_cells_stepped_by_hand(
    kind: str, layers: int, bidir: bool, batch_first: bool, last_only: bool
) -> None:
    torch.manual_seed(0)
    m = _module(kind, num_layers=layers, bidirectional=bidir, batch_first=batch_first)
    B, T = 3, 7
    x = torch.randn(B, T, 3, dtype=torch.float64)
    D = 2 if bidir else 1
    loss_w = torch.randn(B, T, 5 * D, dtype=torch.float64)
    ref, ref_out = reference(m, x, [T] * B, loss_w, last_only)
    xin = x if batch_first else x.transpose(0, 1)
    with rc.TimestepGradients(m) as tg:
        out, _ = m(xin)
        out_bf = out if batch_first else out.transpose(0, 1)
        w = loss_w.clone()
        if last_only:
            w[:, :-1] = 0
        (out_bf * w).sum().backward()
    got = tg.profile()
    assert list(got) == rc.layer_names(m)
    fused, _ = m(xin)  # the module's own (fused) forward, restored after the with block
    assert torch.allclose(out, fused, rtol=1e-12, atol=1e-12)
    assert torch.allclose(out_bf.detach(), ref_out, rtol=1e-12, atol=1e-12)
    for name in ref:
        assert got[name] == pytest.approx(ref[name], rel=RTOL, abs=1e-300)
    if last_only and not bidir:  # the last layer's gradient enters at t = T − 1 only
        assert got[f"layer {layers - 1}"][-1] > 0


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_packed_sequences(kind: str, enforce_sorted: bool) -> None:
    torch.manual_seed(1)
    m = _module(kind, num_layers=2, bidirectional=True, batch_first=True)
    lengths = [6, 4, 2] if enforce_sorted else [3, 6, 5]
    B, T = 3, 6
    x = torch.randn(B, T, 3, dtype=torch.float64)
    for b, n in enumerate(lengths):
        x[b, n:] = 0
    loss_w = torch.randn(B, T, 10, dtype=torch.float64)
    ref, ref_out = reference(m, x, lengths, loss_w, last_only=False)
    packed = pack_padded_sequence(
        x, torch.tensor(lengths), batch_first=True, enforce_sorted=enforce_sorted
    )
    fused_out, fused_h = m(packed)
    with rc.TimestepGradients(m) as tg:
        out, h = m(packed)
        assert torch.equal(out.batch_sizes, fused_out.batch_sizes)
        assert torch.allclose(out.data, fused_out.data, rtol=1e-12, atol=1e-12)
        hh = h[0] if kind == "lstm" else h
        fh = fused_h[0] if kind == "lstm" else fused_h
        assert torch.allclose(hh, fh, rtol=1e-12, atol=1e-12)
        padded, _ = pad_packed_sequence(out, batch_first=True, total_length=T)
        (padded * loss_w).sum().backward()
    assert torch.allclose(padded.detach(), ref_out, rtol=1e-12, atol=1e-12)
    got = tg.profile()
    for name in ref:
        assert got[name] == pytest.approx(ref[name], rel=RTOL, abs=1e-300)


def test_sigmoid_rnn_against_a_handwritten_loop() -> None:
    torch.manual_seed(2)
    m = rc.SigmoidRNN(2, 4, batch_first=True).double()
    x = torch.randn(2, 9, 2, dtype=torch.float64)
    h = torch.zeros(2, 4, dtype=torch.float64)
    hs = []
    for t in range(9):
        h = torch.sigmoid(
            x[:, t] @ m.weight_ih_l0.T + m.bias_ih_l0 + h @ m.weight_hh_l0.T + m.bias_hh_l0
        )
        h.retain_grad()
        hs.append(h)
    h.sum().backward()
    ref = [float(v.grad.norm()) for v in hs]
    got = rc.timestep_grad_norms(m, lambda: m(x)[0][:, -1].sum())
    assert got["layer 0"] == pytest.approx(ref, rel=RTOL)


@pytest.mark.parametrize("nonlin,radius", [("tanh", 0.9), ("tanh", 0.5), ("sigmoid", 3.5)])
def test_pascanu_condition_bounds_every_step(nonlin: str, radius: float) -> None:
    """Loss at the last step only: ∂L/∂h_t = J_{t+1}ᵀ ∂L/∂h_{t+1}, ‖J‖ ≤ γ·σ_max(W_hh), so with
    W_hh = radius·Q (Q orthogonal) every ratio ‖∂L/∂h_t‖/‖∂L/∂h_{t+1}‖ ≤ γ·radius — below 1
    exactly when σ_max < 1/γ (Pascanu et al. 2013)."""
    g = torch.Generator().manual_seed(3)
    torch.manual_seed(3)
    m: nn.Module = (
        nn.RNN(2, 6, batch_first=True, dtype=torch.float64)
        if nonlin == "tanh"
        else rc.SigmoidRNN(2, 6, batch_first=True).double()
    )
    rc.set_spectral_radius(m, radius, g)
    s = torch.linalg.svdvals(m.weight_hh_l0.detach())
    assert float(s.max()) == pytest.approx(radius, rel=1e-12)
    assert float(s.min()) == pytest.approx(radius, rel=1e-12)
    x = torch.randn(1, 30, 2, dtype=torch.float64)
    p = rc.timestep_grad_norms(m, lambda: m(x)[0][:, -1].sum())["layer 0"]
    bound = rc.gamma(nonlin) * radius
    ratios = [p[t] / p[t + 1] for t in range(29)]
    assert max(ratios) <= bound * (1 + 1e-12)
    a = rc.analyze_profile(p)
    assert a.decay_per_step < 1 and a.kind == "vanishing-through-time"


def test_large_radius_tanh_rnn_is_not_vanishing_and_small_input_explodes() -> None:
    """Above the condition the gradient can grow: tiny inputs keep tanh near linear, so with
    W_hh = 1.5·Q each step multiplies by ≈ 1.5 until the state saturates."""
    torch.manual_seed(4)
    m = nn.RNN(2, 6, batch_first=True, dtype=torch.float64, bias=False)
    rc.set_spectral_radius(m, 1.5, torch.Generator().manual_seed(4))
    x = 1e-12 * torch.randn(1, 20, 2, dtype=torch.float64)
    p = rc.timestep_grad_norms(m, lambda: m(x)[0][:, -1].sum())["layer 0"]
    a = rc.analyze_profile(p)
    assert a.decay_per_step == pytest.approx(1.5, rel=1e-6)
    assert a.kind == "exploding-through-time" and a.ratio == pytest.approx(1.5**19, rel=1e-6)


def test_analysis_of_a_geometric_profile() -> None:
    p = [0.5 ** (15 - t) for t in range(16)]
    a = rc.analyze_profile(p)
    assert a.decay_per_step == pytest.approx(0.5, rel=1e-12)
    assert a.half_life == pytest.approx(1.0, rel=1e-12)
    assert a.ratio == pytest.approx(0.5**15, rel=1e-12)
    assert a.memory == 6  # 0.5⁶ = 0.0156 ≥ 0.01 > 0.5⁷
    assert a.kind == "vanishing-through-time" and a.severity == "moderate"
    assert "t = 0 is 3.1e-05 of the one at t = 15" in a.message
    rev = rc.analyze_profile(list(reversed(p)), "layer 0 reverse")
    assert rev.ratio == pytest.approx(a.ratio) and rev.memory == 6
    assert rc.analyze_profile([1.0] * 5).kind is None
    assert rc.findings({"layer 0": [1.0] * 5}) == []
    f = rc.findings({"layer 0": [1e-9, 1e-4, 1.0]})
    assert f[0]["severity"] == "severe" and any("LSTM" in r for r in f[0]["remedies"])
    lstm = rc.findings({"layer 0": [1e-9, 1.0]}, mode="LSTM")[0]["remedies"]
    assert not any("gated cell" in r for r in lstm) and any("forget-gate" in r for r in lstm)
    gru = rc.findings({"layer 0": [1e-9, 1.0]}, mode="GRU")[0]["remedies"]
    assert not any("forget-gate" in r or "gated cell" in r for r in gru)


def test_tasks_and_baselines() -> None:
    g = torch.Generator().manual_seed(0)
    x, y = rc.adding_problem(20000, 10, g, torch.float64)
    assert x.shape == (20000, 10, 2) and y.shape == (20000, 1)
    assert torch.all(x[:, :, 1].sum(1) == 2)
    assert torch.all(x[:, :5, 1].sum(1) == 1)
    _, y2 = rc.adding_problem(20000, 10, g, torch.float64)
    assert rc.constant_mse(y, y2) == pytest.approx(1 / 6, rel=0.03)  # Var = 2·(1/12)
    xm, ym = rc.memory_task(5000, 4, 8, g)
    assert torch.equal(xm[:, 0, :8].argmax(1), ym) and torch.all(xm[:, 1:, 8] == 1)
    _, ym2 = rc.memory_task(5000, 4, 8, g)
    assert rc.constant_cross_entropy(ym, ym2, 8) == pytest.approx(math.log(8), rel=0.01)


def test_forget_bias_and_errors() -> None:
    m = nn.LSTM(2, 4)
    rc.set_forget_bias(m, 1.0)
    assert torch.all(m.bias_ih_l0[4:8] == 1) and torch.all(m.bias_hh_l0[4:8] == 0)
    with pytest.raises(ConfigError):
        rc.TimestepGradients(nn.Linear(2, 2))
    with pytest.raises(ConfigError):
        rc.set_forget_bias(nn.GRU(2, 2))  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        rc.unrolled_forward(nn.LSTM(2, 4, proj_size=2), torch.zeros(3, 1, 2))
    with pytest.raises(ConfigError):
        rc.adding_problem(2, 1, torch.Generator())


def test_unbatched_input_and_hx() -> None:
    torch.manual_seed(5)
    m = nn.LSTM(3, 4, num_layers=2, dtype=torch.float64)
    x = torch.randn(5, 3, dtype=torch.float64)
    hx = (torch.randn(2, 4, dtype=torch.float64), torch.randn(2, 4, dtype=torch.float64))
    want = m(x, hx)
    got = rc.unrolled_forward(m, x, hx)
    assert torch.allclose(got[0], want[0], atol=1e-12)
    assert torch.allclose(got[1][1], want[1][1], atol=1e-12)
