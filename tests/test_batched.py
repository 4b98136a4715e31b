"""`gradprobe.batched`: the autograd-trained S-seed module for batch norm, residual
connections and orthogonal init.

Two independent checks:

* against the engine (hand-written BP1–BP4, `gradprobe.nets.Network` + `gradprobe.train`) where
  a remedy exists in both — plain sigmoid (network2's init) and ReLU + He: the same initial
  parameters, ∂C/∂bˡ of the mean cost (float32, rtol 1e-4 / atol 1e-6) and the parameters
  after a few SGD steps with L2 and clipping (float32, atol 1e-5);
* against a per-seed, unbatched float64 reference written with ``torch.mm`` and
  ``torch.nn.functional.batch_norm`` (no bmm, no seed dimension), differentiated by
  torch.autograd: every parameter's gradient (rtol 1e-10).
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from gradprobe.batched import (
    BatchedNet,
    BatchedTrainConfig,
    BatchedTrainer,
    gradients,
    orthogonal_like,
    speeds,
)
from gradprobe.errors import ConfigError
from gradprobe.nets import Network
from gradprobe.speed import learning_speed
from gradprobe.train import TrainConfig, Trainer

SIZES = (20, 7, 7, 7, 5)


def _data(n: int = 40, seed: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, SIZES[0], generator=g)
    y = torch.randint(0, SIZES[-1], (n,), generator=g)
    return x, y


@pytest.mark.parametrize(("act", "init"), [("sigmoid", "default"), ("relu", "he")])
def test_same_start_and_bias_gradients_as_the_engine(act: str, init: str) -> None:
    x, y = _data()
    eng = Network(SIZES, act, seeds=3, seed=5, init=init)
    bat = BatchedNet(SIZES, act, seeds=3, seed=5, init=init)
    for a, b in zip(eng.linears, bat.linears):
        assert torch.equal(a.weight, b.weight)
        assert b.bias is not None and torch.equal(a.bias, b.bias)
    ref = learning_speed(eng, x, y)
    sp = speeds(bat, x, y)
    torch.testing.assert_close(sp, ref.speed, rtol=1e-4, atol=1e-6)
    g = gradients(bat, x, y)
    names = [n for n, _ in bat.named_parameters()]
    for l, gb in enumerate(ref.bias_grad):
        torch.testing.assert_close(g[names.index(f"layers.{l}.bias")], gb, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(("act", "init"), [("sigmoid", "default"), ("relu", "he")])
def test_sgd_steps_agree_with_the_engine(act: str, init: str) -> None:
    x, y = _data(n=43)  # 5 mini-batches of 10 and one of 3 per epoch
    eng = Network(SIZES, act, seeds=2, seed=1, init=init)
    bat = BatchedNet(SIZES, act, seeds=2, seed=1, init=init)
    cfg = dict(epochs=2, batch_size=10, eta=0.5, lmbda=5.0, clip_norm=0.7)
    Trainer(eng, TrainConfig(**cfg)).fit((x, y))  # type: ignore[arg-type]
    BatchedTrainer(bat, BatchedTrainConfig(**cfg)).fit((x, y))  # type: ignore[arg-type]
    for a, b in zip(eng.linears, bat.linears):
        torch.testing.assert_close(b.weight, a.weight, rtol=0, atol=1e-5)
        torch.testing.assert_close(b.bias, a.bias, rtol=0, atol=1e-5)
    fresh = Network(SIZES, act, seeds=2, seed=1, init=init)
    moved = max(
        float((a.weight - f.weight).detach().abs().max())
        for a, f in zip(eng.linears, fresh.linears)
    )
    assert moved > 1e-3  # the comparison is not between two untrained nets


def _reference_cost(params: dict[str, torch.Tensor], net: BatchedNet, s: int,
                    x: torch.Tensor, y1h: torch.Tensor) -> torch.Tensor:  # fmt: skip
    """Seed s alone, written with plain 2-D products and F.batch_norm (float64)."""
    c = net.config
    act = {"sigmoid": torch.sigmoid, "relu": torch.relu, "tanh": torch.tanh}[c.activation]
    a = x
    H = len(c.sizes) - 2
    for l in range(H):
        z = a @ params[f"layers.{l}.weight"][s].T
        if c.batchnorm:
            z = F.batch_norm(z, None, None, params[f"norms.{l}.gamma"][s],
                             params[f"norms.{l}.beta"][s], training=True, eps=1e-5)  # fmt: skip
        else:
            z = z + params[f"layers.{l}.bias"][s]
        h = act(z)
        a = a + h if c.residual and l > 0 else h
    out = torch.sigmoid(a @ params[f"layers.{H}.weight"][s].T + params[f"layers.{H}.bias"][s])
    ce = -(y1h * out.log() + (1 - y1h) * (1 - out).log()).sum(-1)
    return ce.mean()


@pytest.mark.parametrize(
    ("init", "batchnorm", "residual"),
    [("default", True, False), ("default", False, True), ("orthogonal", False, False),
     ("he", True, True)],
)  # fmt: skip
def test_gradients_match_a_per_seed_float64_reference(
    init: str, batchnorm: bool, residual: bool
) -> None:
    x, y = _data(n=24)
    x = x.double()
    net = BatchedNet(SIZES, "sigmoid", seeds=3, seed=2, init=init, batchnorm=batchnorm,
                     residual=residual, dtype=torch.float64)  # fmt: skip
    got = dict(zip([n for n, _ in net.named_parameters()], gradients(net, x, y)))
    y1h = F.one_hot(y, SIZES[-1]).double()
    for s in range(3):
        params = {n: p.detach().clone().requires_grad_(True) for n, p in net.named_parameters()}
        cost = _reference_cost(params, net, s, x, y1h)
        cost.backward()
        for n, p in params.items():
            assert p.grad is not None
            torch.testing.assert_close(got[n][s], p.grad[s], rtol=1e-10, atol=1e-14)


def test_orthogonal_init_is_orthogonal_and_keeps_the_bias_draws() -> None:
    net = BatchedNet(SIZES, seeds=2, seed=4, init="orthogonal", dtype=torch.float64)
    base = Network(SIZES, seeds=2, seed=4, dtype=torch.float64)
    for a, b in zip(net.linears, base.linears):
        w = a.weight
        n_out, n_in = w.shape[1:]
        gram = w @ w.transpose(1, 2) if n_out <= n_in else w.transpose(1, 2) @ w
        eye = torch.eye(min(n_out, n_in), dtype=torch.float64).expand_as(gram)
        torch.testing.assert_close(gram, eye, rtol=0, atol=1e-12)
        assert a.bias is not None and torch.equal(a.bias, b.bias)
    q = orthogonal_like(torch.randn(9, 4, dtype=torch.float64))
    torch.testing.assert_close(q.T @ q, torch.eye(4, dtype=torch.float64))


def test_batchnorm_normalises_per_seed_and_has_no_hidden_bias() -> None:
    x, y = _data(n=32)
    net = BatchedNet(SIZES, seeds=2, batchnorm=True)
    assert all(layer.bias is None for layer in net.linears[:-1])
    sp = speeds(net, x, y)
    assert sp.shape == (2, 3) and bool((sp > 0).all())
    # running statistics were not touched by the measurement, but are by training
    assert torch.equal(net.norms[0].running_mean, torch.zeros(2, 7))
    with torch.no_grad():
        z = torch.matmul(x, net.linears[0].weight.transpose(1, 2))
        out = net.norms[0](z)
    torch.testing.assert_close(out.mean(1), torch.zeros(2, 7), rtol=0, atol=1e-5)
    torch.testing.assert_close(out.var(1, unbiased=False), torch.ones(2, 7), rtol=1e-3, atol=0)
    net.reset_parameters()
    res = BatchedTrainer(net, BatchedTrainConfig(epochs=1, batch_size=8, eta=0.1)).fit(
        (x, y), (x, y)
    )
    assert not torch.equal(net.norms[0].running_mean, torch.zeros(2, 7))
    assert res.accuracy.shape == (2, 1) and res.diverged == []


def test_diverged_seed_is_recorded_and_the_others_train_on() -> None:
    x, y = _data(n=20)
    net = BatchedNet(SIZES, "relu", seeds=2, init="he")
    with torch.no_grad():
        net.linears[0].weight[1].fill_(math.inf)
    res = BatchedTrainer(net, BatchedTrainConfig(epochs=1, batch_size=5, eta=0.1)).fit(
        (x, y), (x, y)
    )
    assert res.diverged == [1]
    assert math.isnan(float(res.accuracy[1, 0])) and math.isfinite(float(res.accuracy[0, 0]))


def test_same_seed_same_training() -> None:
    x, y = _data()
    out = []
    for _ in range(2):
        net = BatchedNet(SIZES, seeds=2, seed=7, batchnorm=True, residual=True)
        BatchedTrainer(net, BatchedTrainConfig(epochs=1, batch_size=10, eta=0.3)).fit((x, y))
        out.append([p.detach().clone() for p in net.parameters()])
    assert all(torch.equal(a, b) for a, b in zip(*out))


def test_bad_input_is_a_typed_error() -> None:
    with pytest.raises(ConfigError):
        BatchedNet(SIZES, init="uniform")
    with pytest.raises(ConfigError):
        BatchedNet((4, 3), batchnorm=True)
    with pytest.raises(ConfigError):
        BatchedTrainConfig(eta=0.0)
    net = BatchedNet(SIZES, batchnorm=True)
    x, y = _data(n=21)
    with pytest.raises(ConfigError):
        BatchedTrainer(net, BatchedTrainConfig(batch_size=10)).fit((x, y))
