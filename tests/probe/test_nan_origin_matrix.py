"""The exact producer of a NaN/Inf, in the step it happens: a fault is injected at each layer
of an MLP, a CNN, a stacked LSTM and a Transformer block, in each place (forward, backward,
parameter, buffer, optimiser update), and the probe must name that layer and that place."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import gradprobe.probe as gp

BAD_STEP = 2


class LSTMs(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(6, 8, num_layers=2, batch_first=True)
        self.lstm2 = nn.LSTM(8, 8, batch_first=True)
        self.head = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.lstm2(self.lstm(x)[0])[0]
        return self.head(h[:, -1])


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.block = nn.TransformerEncoderLayer(
            8, 2, dim_feedforward=16, dropout=0.0, batch_first=True
        )
        self.head = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.block(x).mean(1))


def _mlp() -> nn.Module:
    return nn.Sequential(
        nn.Linear(10, 9),
        nn.Tanh(),
        nn.Linear(9, 8),
        nn.Tanh(),
        nn.Linear(8, 7),
        nn.Tanh(),
        nn.Linear(7, 3),
    )


def _cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 4, 3),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.Conv2d(4, 4, 3),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(4 * 4 * 4, 3),
    )


MODELS = {
    "mlp": (_mlp, (8, 10)),
    "cnn": (_cnn, (4, 1, 8, 8)),
    "lstm": (LSTMs, (4, 5, 6)),
    "transformer": (Block, (4, 5, 8)),
}


def _first(out):
    return out if isinstance(out, torch.Tensor) else out[0]


def _poisoned(out):
    bad = _first(out) * float("nan")
    return bad if isinstance(out, torch.Tensor) else (bad, *out[1:])


def _run(kind: str, layer: str, place: str):
    """Three steps; the fault is injected at step BAD_STEP. Returns the step's events."""
    torch.manual_seed(0)
    make, shape = MODELS[kind]
    model = make()
    if place == "buffer":
        model.eval()  # running statistics are used in eval mode
    lay = _layer_info(model, layer)
    module = model.get_submodule(lay.module) if lay.module != "(root)" else model
    params = [p for n, p in module.named_parameters(recurse=False) if n in lay.param_names]
    groups = [
        {"params": params},
        {"params": [p for p in model.parameters() if all(p is not q for q in params)]},
    ]
    opt = torch.optim.SGD(groups, lr=0.01)
    probe = gp.watch(model, optimizer=opt, flush_every=2)
    state = {"t": 0}
    handles = []
    if place == "forward":
        handles.append(
            module.register_forward_hook(
                lambda m, a, out: _poisoned(out) if state["t"] == BAD_STEP else None
            )
        )
    if place == "backward":
        handles.append(
            params[0].register_hook(lambda g: g * float("nan") if state["t"] == BAD_STEP else g)
        )
    g = torch.Generator().manual_seed(1)
    for t in range(BAD_STEP + 1):
        state["t"] = t
        if t == BAD_STEP and place == "parameter":
            with torch.no_grad():
                params[0].view(-1)[0] = float("nan")
        if t == BAD_STEP and place == "buffer":
            with torch.no_grad():
                module.running_var[0] = float("nan")
        x = torch.randn(*shape, generator=g)
        y = torch.randint(0, 3, (shape[0],), generator=g)
        F.cross_entropy(model(x), y).backward()
        probe.step()
        if t == BAD_STEP - 1 and place == "update":
            opt.param_groups[0]["lr"] = float("nan")
        opt.step()
        opt.param_groups[0]["lr"] = 0.01
        opt.zero_grad()
    for h in handles:
        h.remove()
    df = probe.history
    probe.close()
    origin = df[df.quantity == "nonfinite_origin"]
    return origin, probe


def _layers(kind: str) -> list[str]:
    make, shape = MODELS[kind]
    model = make()
    with gp.watch(model) as probe:
        model(torch.randn(*shape)).sum().backward()  # one forward: layers in forward order
        probe.step()
    return probe.layer_names


def _layer_info(model: nn.Module, layer: str):
    with gp.watch(model) as probe:
        return {x.name: x for x in probe.layers}[layer]


def _expected(kind: str, layer: str, place: str) -> str:
    if place == "forward" and kind == "lstm" and layer.startswith("lstm."):
        # the fault is injected into the two-layer nn.LSTM's *output* by a hook: recomputed
        # layer by layer, every stacked layer's output is finite, so the module is named
        return "lstm"
    return layer


PLACES = ("parameter", "update", "forward", "backward")
# every layer of every model in every place; the larger models' full sweeps are "slow"
CASES = [
    pytest.param(kind, place, marks=[pytest.mark.slow] if kind in ("lstm", "transformer") else [])
    for kind in MODELS
    for place in PLACES
] + [("cnn", "buffer")]
# and a fast sample of those: the first, a middle and the last layer
SAMPLE = [(kind, place) for kind in ("lstm", "transformer") for place in PLACES]


def _check(kind: str, place: str, layers: list[str]) -> int:
    make, _ = MODELS[kind]
    model = make()
    tested = 0
    for layer in layers:
        lay = _layer_info(model, layer)
        if place == "forward" and lay.module.endswith("out_proj"):
            continue  # MultiheadAttention uses out_proj's weight without calling it
        if place == "forward" and layer == "lstm.l1":
            continue  # the same module as lstm.l0
        origin, probe = _run(kind, layer, place)
        got = origin[["step", "layer"]].values.tolist()
        assert got[:1] == [[BAD_STEP, _expected(kind, layer, place)]], (kind, layer, place, got)
        assert gp.quantities.PLACES[int(origin.value.iloc[0])] == place, (kind, layer, place)
        (f,) = [f for f in probe.diagnose() if f.kind == "nonfinite"]
        assert f.evidence["place"] == place and f.evidence["first_step"] == BAD_STEP
        tested += 1
    return tested


@pytest.mark.parametrize(("kind", "place"), CASES)
def test_fault_at_every_layer_is_named_exactly(kind, place):
    layers = ["1"] if place == "buffer" else _layers(kind)  # "1": the BatchNorm
    assert _check(kind, place, layers) >= 1


@pytest.mark.parametrize(("kind", "place"), SAMPLE)
def test_fault_in_sampled_layers_of_lstm_and_transformer(kind, place):
    layers = _layers(kind)
    assert _check(kind, place, [layers[0], layers[len(layers) // 2], layers[-1]]) >= 1


def test_deferred_mode_falls_back_to_the_gradient_rule():
    model = _mlp()
    probe = gp.watch(model, nan_check="deferred")
    model[4].weight.register_hook(lambda g: g * float("nan"))
    x, y = torch.randn(8, 10), torch.randint(0, 3, (8,))
    F.cross_entropy(model(x), y).backward()
    probe.step()
    origin = probe.history.query("quantity == 'nonfinite_origin'")
    assert origin.layer.tolist() == ["4"] and origin.value.tolist() == [0.0]  # "gradients"


class StackedRNN(nn.Module):
    def __init__(self, bidirectional: bool) -> None:
        super().__init__()
        self.rnn = nn.RNN(3, 4, num_layers=2, nonlinearity="relu", bidirectional=bidirectional)
        self.head = nn.Linear(8 if bidirectional else 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.rnn(x)[0][-1])


@pytest.mark.parametrize(("bidirectional", "target"), [(False, "l1"), (True, "l0_reverse")])
def test_forward_overflow_inside_a_stacked_rnn_names_the_stacked_layer(bidirectional, target):
    """Finite weights and inputs; one stacked layer's state grows ×100 per step and
    overflows float32 inside the fused call: the probe names that layer and direction."""
    torch.manual_seed(0)
    model = StackedRNN(bidirectional)
    with torch.no_grad():
        getattr(model.rnn, f"weight_ih_{target}").zero_()
        getattr(model.rnn, f"bias_ih_{target}").fill_(1.0)
        getattr(model.rnn, f"weight_hh_{target}").copy_(100 * torch.eye(4))
    probe = gp.watch(model)
    x = torch.randn(30, 2, 3)
    F.cross_entropy(model(x), torch.tensor([0, 1])).backward()
    probe.step()
    (event,) = probe._recorder._events.values()  # before the flush turns it into rows
    assert (event.layer, event.module, event.place) == (f"rnn.{target}", "rnn", "forward")
    assert f"rnn.{target} is the first stacked layer" in event.detail
    origin = probe.history.query("quantity == 'nonfinite_origin'")
    assert origin.layer.tolist() == [f"rnn.{target}"]
    assert gp.quantities.PLACES[int(origin.value.iloc[0])] == "forward"
    probe.close()


def test_parameter_fault_in_a_stacked_lstm_names_the_layer_and_the_parameter():
    torch.manual_seed(0)
    model = LSTMs()
    probe = gp.watch(model)
    with torch.no_grad():
        model.lstm.weight_hh_l1[0, 0] = float("inf")
    F.cross_entropy(model(torch.randn(4, 5, 6)), torch.tensor([0, 1, 2, 0])).backward()
    probe.step()
    (event,) = probe._recorder._events.values()
    assert (event.layer, event.place) == ("lstm.l1", "parameter")
    assert event.detail.endswith("lstm.weight_hh_l1")
    probe.close()


def test_hooked_output_of_a_stacked_lstm_is_named_by_module_with_the_reason():
    torch.manual_seed(0)
    model = LSTMs()
    probe = gp.watch(model)
    h = model.lstm.register_forward_hook(lambda m, a, out: _poisoned(out))
    F.cross_entropy(model(torch.randn(4, 5, 6)), torch.tensor([0, 1, 2, 0])).backward()
    probe.step()
    h.remove()
    (event,) = probe._recorder._events.values()
    assert (event.layer, event.place) == ("lstm", "forward")
    assert "every layer's output is finite" in event.detail
    probe.close()
