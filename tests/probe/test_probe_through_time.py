"""ThroughTime: per-timestep ‖∂L/∂x_t‖ of recurrent modules vs torch.autograd (float64), and the
through-time findings of ``diagnose`` on RNNs/LSTMs at initialisation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import gradprobe
from gradprobe.probe import diagnose
from gradprobe.probe.quantities import ThroughTime
from gradprobe.recurrent import set_forget_bias, set_spectral_radius
from probe.rnn_reference import reference_profiles

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class Net(nn.Module):
    """A recurrent module (2 stacked layers allowed) and a linear read-out of every step."""

    def __init__(self, rnn: nn.Module, width: int) -> None:
        super().__init__()
        self.rnn = rnn
        self.head = nn.Linear(width, 1)

    def forward(self, x: object) -> torch.Tensor:
        out = self.rnn(x)[0]
        if not isinstance(out, torch.Tensor):
            out = pad_packed_sequence(out, batch_first=True)[0]
        return self.head(out)


def _per_t(g: torch.Tensor, batch_first: bool) -> list[float]:
    return g.pow(2).sum((0, 2) if batch_first else (1, 2)).sqrt().tolist()


@pytest.mark.parametrize(
    ("cell", "batch_first", "bidirectional"),
    [("rnn", False, True), ("lstm", True, True), ("gru", False, False)],
)
def test_whole_module_profile_matches_autograd(
    cell: str, batch_first: bool, bidirectional: bool
) -> None:
    """``per_layer=False``: one profile at the module's input (all layers, both directions)."""
    torch.manual_seed(0)
    B, T, F, H = 3, 7, 4, 5
    rnn = CELLS[cell](F, H, num_layers=2, batch_first=batch_first, bidirectional=bidirectional)
    model = Net(rnn, H * (2 if bidirectional else 1)).double()
    x = torch.randn((B, T, F) if batch_first else (T, B, F), dtype=torch.float64)
    w = torch.randn(T, dtype=torch.float64)  # weight per step of the cost: all steps matter
    w = w.view(1, T, 1) if batch_first else w.view(T, 1, 1)

    xr = x.clone().requires_grad_(True)  # independent: plain autograd, no probe
    (model(xr) * w).sum().backward()
    assert xr.grad is not None
    expected = _per_t(xr.grad, batch_first)
    model.zero_grad()

    q = ThroughTime(per_layer=False)
    with gradprobe.watch(model, quantities=(q,), detail_every=1) as probe:
        (model(x) * w).sum().backward()
        got = q.profiles()["rnn"]
        probe.step()
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=0)  # float64 rounding only
    for p in model.parameters():  # the tap does not change the parameters' gradients
        assert p.grad is not None and torch.isfinite(p.grad).all()
    assert set(probe.history.query("quantity == 'time_ratio'").layer) == {"rnn"}


def _labels(rnn: nn.RNNBase) -> list[str]:
    D = 2 if rnn.bidirectional else 1
    return [f"l{k // D}" + ("_reverse" if k % D else "") for k in range(rnn.num_layers * D)]


# every cell; stacked (2 and 3 layers); one and two directions; both layouts; packed
SPLIT = [
    ("rnn", 2, False, False, False),
    ("rnn", 2, True, True, False),
    ("lstm", 2, True, False, False),
    ("lstm", 2, False, True, False),
    ("lstm", 2, True, True, True),
    ("gru", 3, False, False, False),
    ("gru", 2, True, True, False),
    ("gru", 2, False, False, True),
]


@pytest.mark.parametrize(("cell", "layers", "bidirectional", "batch_first", "packed"), SPLIT)
def test_per_layer_profiles_match_unrolled_reference(
    cell: str, layers: int, bidirectional: bool, batch_first: bool, packed: bool
) -> None:
    """‖∂L/∂xˡ_t‖ per stacked layer and direction (float64) equals an independent unrolled
    computation; the probe leaves the output and every parameter gradient as plain autograd
    has them (float64 rounding: the per-layer kernels sum in another order)."""
    torch.manual_seed(4)
    B, T, F, H = 3, 7, 4, 5
    rnn = CELLS[cell](F, H, num_layers=layers, bidirectional=bidirectional, batch_first=batch_first)
    model = Net(rnn, H * (2 if bidirectional else 1)).double()
    x = torch.randn((B, T, F) if batch_first else (T, B, F), dtype=torch.float64)
    w = torch.randn(T, dtype=torch.float64)
    lengths = torch.tensor([5, 7, 2]) if packed else torch.full((B,), T)

    def cost(inp: torch.Tensor) -> torch.Tensor:
        if packed:
            seq = pack_padded_sequence(inp, lengths, batch_first=batch_first, enforce_sorted=False)
            return model(seq).pow(2).sum()
        return (model(inp) * (w.view(1, T, 1) if batch_first else w.view(T, 1, 1))).sum()

    seqs = [(x[b] if batch_first else x[:, b])[: int(lengths[b])] for b in range(B)]

    def cost_b(b: int, out: torch.Tensor) -> torch.Tensor:
        y = model.head(out).squeeze(-1)
        return y.pow(2).sum() if packed else (y * w[: y.shape[0]]).sum()

    expected = reference_profiles(rnn, seqs, cost_b)
    model.zero_grad()
    plain_out = cost(x)
    plain_out.backward()
    plain = [p.grad.clone() for p in model.parameters()]  # type: ignore[union-attr]
    model.zero_grad()

    q = ThroughTime()
    with gradprobe.watch(model, quantities=(q,), detail_every=1) as probe:
        probed_out = cost(x)
        probed_out.backward()
        got = q.profiles()
        probe.step()
    assert sorted(got) == sorted(f"rnn.{k}" for k in _labels(rnn))
    for k in _labels(rnn):
        np.testing.assert_allclose(got[f"rnn.{k}"], expected[k], rtol=1e-9, atol=1e-15)
    assert probed_out.item() == pytest.approx(plain_out.item(), rel=1e-12)
    for p, g in zip(model.parameters(), plain, strict=True):
        assert p.grad is not None
        np.testing.assert_allclose(p.grad.numpy(), g.numpy(), rtol=1e-9, atol=1e-14)
    layers_seen = set(probe.history.query("quantity == 'time_ratio'").layer)
    assert layers_seen == {f"rnn.{k}" for k in _labels(rnn)}


def test_dropout_in_training_falls_back_to_the_whole_module() -> None:
    """Inter-layer dropout masks cannot be reproduced: one whole-module profile, no split."""
    torch.manual_seed(5)
    model = Net(nn.LSTM(3, 4, num_layers=2, dropout=0.5), 4).double()
    q = ThroughTime()
    with gradprobe.watch(model, quantities=(q,), detail_every=1) as probe:
        model(torch.randn(6, 2, 3, dtype=torch.float64)).sum().backward()
        probe.step()
    assert set(q.profiles()) == {"rnn"}
    assert set(probe.history.query("quantity == 'time_ratio'").layer) == {"rnn"}


def test_packed_sequence_matches_autograd() -> None:
    torch.manual_seed(1)
    B, T, F, H = 3, 6, 2, 4
    model = Net(nn.LSTM(F, H, batch_first=True), H).double()
    x = torch.randn(B, T, F, dtype=torch.float64)
    lengths = torch.tensor([4, 6, 2])

    def cost(inp: torch.Tensor) -> torch.Tensor:
        packed = pack_padded_sequence(inp, lengths, batch_first=True, enforce_sorted=False)
        return model(packed).pow(2).sum()

    xr = x.clone().requires_grad_(True)
    cost(xr).backward()
    assert xr.grad is not None
    expected = _per_t(xr.grad, True)
    model.zero_grad()
    q = ThroughTime()
    with gradprobe.watch(model, quantities=(q,), detail_every=1) as probe:
        cost(x).backward()
        got = q.profiles()["rnn.l0"]  # one layer, one direction: its layer
        probe.step()
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=0)


class Last(nn.Module):
    """Cost on the last step only: the gradient enters at t = T − 1 and travels back."""

    def __init__(self, rnn: nn.Module) -> None:
        super().__init__()
        self.rnn = rnn
        self.head = nn.Linear(rnn.hidden_size, 1)  # type: ignore[arg-type]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.rnn(x)[0][:, -1])


def _diagnose(rnn: nn.Module, T: int = 50) -> tuple[dict[str, float], list[str]]:
    """Three recorded steps at length T (cost on the last step). At every step the probe's
    profile of ``rnn.l0`` must equal ‖∂L/∂x_t‖ from plain autograd on the same batch (float64,
    no probe), and its ``time_ratio`` the ratio computed from that autograd profile. The
    through-time finding (if any) must be the one the autograd ratios support: its ratio the
    median of theirs, its kind and severity from that median (10⁻³ / 10³, critical beyond
    10⁻⁶ / 10⁶), and no remedy that does not fit the cell."""
    torch.manual_seed(2)
    model = Last(rnn).double()
    q = ThroughTime()
    ratios = []
    with gradprobe.watch(model, detail_every=1, quantities=(q,)) as probe:
        for _ in range(3):
            x = torch.randn(8, T, 3, dtype=torch.float64)
            xr = x.clone().requires_grad_(True)
            model(xr).pow(2).mean().backward()
            assert xr.grad is not None
            expected = _per_t(xr.grad, True)
            model.zero_grad()
            model(x).pow(2).mean().backward()
            got = q.profiles()["rnn.l0"]
            np.testing.assert_allclose(got, expected, rtol=1e-9, atol=0)
            ratios.append(expected[0] / expected[-1])  # the cost enters at t = T − 1
            probe.step()
            model.zero_grad()
    df = probe.history
    measured = df[df.quantity == "time_ratio"].sort_values("step").value.to_numpy()
    np.testing.assert_allclose(measured, ratios, rtol=1e-9)
    med = df[df.quantity == "time_ratio"].groupby("layer").value.median().to_dict()
    found = [f for f in diagnose(df) if f.kind.endswith("through-time")]
    r = float(np.median(ratios))  # from autograd alone
    if 1e-3 <= r <= 1e3:
        assert found == []
        return med, []
    assert len(found) == 1 and found[0].layers == ("rnn.l0",)
    f = found[0]
    assert f.evidence["time_ratio"] == pytest.approx(r, rel=1e-9)
    assert f.kind == ("vanishing-through-time" if r < 1e-3 else "exploding-through-time")
    assert f.severity == ("critical" if r < 1e-6 or r > 1e6 else "warning")
    assert f"is {r:.2g} of the one where it enters" in f.message
    gated = isinstance(rnn, nn.LSTM | nn.GRU)
    assert any("gated cell" in x for x in f.remedies) != gated
    if f.kind == "vanishing-through-time":
        assert any("forget-gate" in x for x in f.remedies) == isinstance(rnn, nn.LSTM)
    else:
        assert any("clip the gradient" in x for x in f.remedies)
    return med, [f.kind]


def test_tanh_rnn_vanishes_at_t50() -> None:
    torch.manual_seed(3)
    med, kinds = _diagnose(nn.RNN(3, 16, batch_first=True))
    assert med["rnn.l0"] < 1e-3, med
    assert kinds == ["vanishing-through-time"]


def test_large_radius_rnn_explodes() -> None:
    torch.manual_seed(3)
    rnn = nn.RNN(3, 16, batch_first=True, nonlinearity="relu")
    set_spectral_radius(rnn, 3.0, torch.Generator().manual_seed(0))
    med, kinds = _diagnose(rnn)
    assert med["rnn.l0"] > 1e3, med
    assert kinds == ["exploding-through-time"]


def test_lstm_vanishes_at_init_and_forget_bias_one_keeps_more() -> None:
    torch.manual_seed(3)
    default = nn.LSTM(3, 16, batch_first=True)
    biased = nn.LSTM(3, 16, batch_first=True)
    biased.load_state_dict(default.state_dict())
    set_forget_bias(biased, 1.0)
    med0, kinds0 = _diagnose(default)
    med1, kinds1 = _diagnose(biased)

    assert med0["rnn.l0"] < 1e-3 and kinds0 == ["vanishing-through-time"]
    assert med1["rnn.l0"] > 10 * med0["rnn.l0"]  # the forget gate σ(1) ≈ 0.73 vs σ(0) = 0.5
    assert kinds1 == ["vanishing-through-time"]  # still below 10⁻³ at T = 50 (measured)


class WithState(nn.Module):
    """An LSTM with projections called with an initial state, positionally or as ``hx=``."""

    def __init__(self, keyword: bool) -> None:
        super().__init__()
        self.rnn = nn.LSTM(3, 5, num_layers=2, proj_size=2)
        self.keyword = keyword

    def forward(self, x: torch.Tensor, h0: torch.Tensor, c0: torch.Tensor) -> torch.Tensor:
        if self.keyword:
            out, (h, c) = self.rnn(x, hx=(h0, c0))
        else:
            out, (h, c) = self.rnn(x, (h0, c0))
        return out.pow(2).sum() + h.sum() + c.pow(2).sum()


@pytest.mark.parametrize("keyword", [False, True])
@pytest.mark.parametrize("unbatched", [False, True])
def test_split_module_keeps_output_and_gradients_with_initial_state(
    keyword: bool, unbatched: bool
) -> None:
    """The recomputed module sees the initial state however it is passed (and projections,
    unbatched input): cost and every gradient equal plain autograd's (float64 rounding)."""
    torch.manual_seed(6)
    model = WithState(keyword).double()
    shape = (6, 3) if unbatched else (6, 2, 3)
    state = (2, 2) if unbatched else (2, 2, 2)
    x = torch.randn(*shape, dtype=torch.float64)
    h0 = torch.randn(*state, dtype=torch.float64)
    c0 = torch.randn(*state[:-1], 5, dtype=torch.float64)
    plain = model(x, h0, c0)
    plain.backward()
    expected = [p.grad.clone() for p in model.parameters()]  # type: ignore[union-attr]
    model.zero_grad()
    q = ThroughTime()
    with gradprobe.watch(model, quantities=(q,), detail_every=1) as probe:
        cost = model(x, h0, c0)
        cost.backward()
        probe.step()
    assert sorted(q.profiles()) == ["rnn.l0", "rnn.l1"]
    assert cost.item() == pytest.approx(plain.item(), rel=1e-12)
    for p, g in zip(model.parameters(), expected, strict=True):
        assert p.grad is not None
        np.testing.assert_allclose(p.grad.numpy(), g.numpy(), rtol=1e-9, atol=1e-14)


@pytest.mark.parametrize(
    "selected",
    [["rnn.l0", "rnn.l1", "head"], ["rnn.l1_reverse", "head"], ["head"], ["rnn.*"]],
)
def test_bidirectional_rows_are_labelled_from_the_module_not_the_selection(
    selected: list[str],
) -> None:
    """A 2-layer bidirectional LSTM with only some of its layers selected: every profile row
    is still named after the stacked layer and direction it was measured at (the module's own
    num_layers × directions), with the ratio of that layer's autograd-checked profile."""
    torch.manual_seed(8)
    T, F, H = 6, 3, 4
    rnn = nn.LSTM(F, H, num_layers=2, bidirectional=True, batch_first=True)
    model = Net(rnn, 2 * H).double()
    x = torch.randn(2, T, F, dtype=torch.float64)
    w = torch.randn(1, T, 1, dtype=torch.float64)
    q = ThroughTime()
    with gradprobe.watch(model, layers=selected, quantities=(q,), detail_every=1) as probe:
        (model(x) * w).sum().backward()
        prof = q.profiles()
        probe.step()
    names = ["rnn.l0", "rnn.l0_reverse", "rnn.l1", "rnn.l1_reverse"]
    assert sorted(prof) == sorted(names)
    rows = probe.history.query("quantity == 'time_ratio'")
    assert sorted(rows.layer) == sorted(names)
    for name in names:
        p = prof[name][::-1] if name.endswith("_reverse") else prof[name]
        assert rows[rows.layer == name].value.item() == pytest.approx(p[0] / p[-1], rel=1e-12)
