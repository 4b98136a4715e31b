"""The probe's learning speed on the book's networks equals the engine's."""

from __future__ import annotations

import pytest
import torch

import gradprobe.probe as gp
from gradprobe import Network, learning_speed


@pytest.mark.parametrize(
    ("activation", "cost", "init"),
    [
        ("sigmoid", "cross-entropy", "default"),
        ("sigmoid", "quadratic", "large"),
        ("relu", "cross-entropy", "he"),
        ("tanh", "quadratic", "default"),
    ],
)
def test_probe_speed_equals_engine_speed(activation, cost, init):
    net = Network([12, 9, 8, 7, 5], activation, cost, init=init, seeds=1, dtype=torch.float64)
    g = torch.Generator().manual_seed(1)
    x = torch.rand(40, 12, generator=g, dtype=torch.float64)
    y = torch.nn.functional.one_hot(torch.randint(0, 5, (40,), generator=g), 5).double()
    engine = learning_speed(net, x, y).speed[0]  # [n_hidden]
    with gp.watch(net) as probe:
        net.cost_fn(net(x), y).backward()
        probe.step()
    df = probe.history
    speed = df[df.quantity == "speed"].set_index("layer").value
    hidden = [f"layers.{j}" for j in range(len(net.layers) - 1)]
    assert list(speed.index) == [*hidden, f"layers.{len(net.layers) - 1}"]
    assert speed[hidden].to_numpy() == pytest.approx(engine.numpy(), rel=1e-9)
    kind = {"sigmoid": "saturation", "tanh": "saturation", "relu": "dead_fraction"}[activation]
    # activation statistics belong to the layer that feeds the activation
    assert set(df[df.quantity == kind].layer) == {f"layers.{j}" for j in range(3)}


def test_many_seeds_combine_as_root_sum_of_squares():
    net = Network([6, 5, 5, 3], seeds=3, dtype=torch.float64)
    x = torch.rand(20, 6, dtype=torch.float64)
    y = torch.nn.functional.one_hot(torch.randint(0, 3, (20,)), 3).double()
    engine = learning_speed(net, x, y).speed  # [S, H]
    with gp.watch(net) as probe:
        net.cost_fn(net(x), y).backward()
        probe.step()
    df = probe.history
    speed = df[df.quantity == "speed"].set_index("layer").value
    expected = engine.pow(2).sum(0).sqrt()
    assert speed[["layers.0", "layers.1"]].to_numpy() == pytest.approx(expected.numpy(), rel=1e-9)
