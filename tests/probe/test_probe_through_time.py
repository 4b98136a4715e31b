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


@pytest.mark.parametrize("cell", sorted(CELLS))
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_profile_matches_autograd(cell: str, batch_first: bool, bidirectional: bool) -> None:
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

    q = ThroughTime()
    with gradprobe.watch(model, quantities=(q,), detail_every=1) as probe:
        (model(x) * w).sum().backward()
        got = q.profiles()["rnn"]
        probe.step()
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=0)  # float64 rounding only
    for p in model.parameters():  # the tap does not change the parameters' gradients
        assert p.grad is not None and torch.isfinite(p.grad).all()


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
        got = q.profiles()["rnn"]
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
    torch.manual_seed(2)
    model = Last(rnn).double()
    with gradprobe.watch(model, detail_every=1, quantities=(ThroughTime(),)) as probe:
        for _ in range(3):
            x = torch.randn(8, T, 3, dtype=torch.float64)
            model(x).pow(2).mean().backward()
            probe.step()
            model.zero_grad()
    df = probe.history
    med = df[df.quantity == "time_ratio"].groupby("layer").value.median().to_dict()
    kinds = [f.kind for f in diagnose(df) if f.kind.endswith("through-time")]
    return med, kinds


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
