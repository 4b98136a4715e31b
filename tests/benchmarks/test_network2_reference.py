"""The benchmark's per-example reference computes what our trainer computes.

``benchmarks/network2_reference.py`` is the baseline ``benchmarks/bench_train.py`` times us
against; these checks make sure the comparison is like with like: its per-example gradients
equal `gradprobe.backprop.backprop` and torch autograd, and one of its epochs equals one epoch
of `gradprobe.train.Trainer` from the same initial weights in the same shuffle order.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from gradprobe.backprop import backprop
from gradprobe.data import load_data
from gradprobe.nets import Network
from gradprobe.train import TrainConfig, Trainer

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "network2_reference.py"


def _load_reference():
    spec = importlib.util.spec_from_file_location("network2_reference", _PATH)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("network2_reference", mod)
    spec.loader.exec_module(mod)
    return mod


ref = _load_reference()


@pytest.mark.parametrize("sizes", [[6, 5, 3], [7, 5, 4, 4, 3]])
def test_per_example_gradients_equal_backprop_and_autograd(sizes):
    torch.manual_seed(0)
    net = Network(sizes, seeds=1, seed=3, dtype=torch.float64)
    B = 9
    x = torch.rand(B, sizes[0], dtype=torch.float64)
    labels = torch.randint(0, sizes[-1], (B,))
    y = torch.nn.functional.one_hot(labels, sizes[-1]).double()

    r = ref.ReferenceNetwork.from_gradprobe(net)
    sum_b = [np.zeros_like(b) for b in r.biases]
    sum_w = [np.zeros_like(w) for w in r.weights]
    for xi, yi in ref.vectorise(x.numpy(), labels.numpy(), sizes[-1]):
        nb, nw = r.backprop(xi, yi)
        sum_b = [s + g for s, g in zip(sum_b, nb)]
        sum_w = [s + g for s, g in zip(sum_w, nw)]

    ours = backprop(net, x, y)
    net.zero_grad()
    (net.cost_fn(net(x), y) * B).backward()  # cost_fn averages over the batch
    for l in range(len(sizes) - 1):
        for expected in (ours.weight[l][0], net.weights[l].grad[0]):
            np.testing.assert_allclose(sum_w[l], expected.numpy(), rtol=1e-10, atol=1e-12)
        for expected in (ours.bias[l][0], net.biases[l].grad[0]):
            np.testing.assert_allclose(sum_b[l][:, 0], expected.numpy(), rtol=1e-10, atol=1e-12)


def _trainer_order(trainer: Trainer, n: int) -> np.ndarray:
    """The permutation seed 0 of ``trainer`` will use in its next epoch (same draw, copied RNG)."""
    g = torch.Generator().manual_seed(0)
    g.set_state(trainer.generators[0].get_state())
    return torch.randperm(n, generator=g).numpy()


_NUMBA = ["numba"] if importlib.util.find_spec("numba") is not None else []


@pytest.mark.parametrize(
    ("sizes", "seeds", "n", "dtype", "tol", "engine"),
    [
        ([784, 30, 10], 1, 200, torch.float64, 1e-10, None),
        ([784, 30, 10], 3, 200, torch.float64, 1e-10, None),
        ([784, 30, 30, 30, 30, 10], 1, 200, torch.float64, 1e-10, None),
        ([784, 30, 30, 30, 30, 10], 3, 195, torch.float64, 1e-10, None),  # short last batch
        ([784, 30, 30, 30, 30, 10], 16, 200, torch.float32, 2e-5, None),
        # The compiled engine (float32, where numba is installed), named explicitly.
        *[([784, 30, 10], 1, 200, torch.float32, 2e-5, e) for e in _NUMBA],
        *[([784, 30, 30, 30, 30, 10], 16, 195, torch.float32, 2e-5, e) for e in _NUMBA],
    ],
)
def test_one_epoch_equals_our_trainer(sizes, seeds, n, dtype, tol, engine):
    """n MNIST images, batch 10, L2, S seeds (seed 0 compared): the same weights after."""
    data = load_data("bundled").training
    x, labels = data.images[:n], data.labels[:n]
    cfg = TrainConfig(epochs=1, batch_size=10, eta=0.5, lmbda=5.0)
    net = Network(sizes, seeds=seeds, seed=11, dtype=dtype)
    r = ref.ReferenceNetwork.from_gradprobe(net, seed_index=0)
    trainer = Trainer(net, cfg)
    if engine is not None:
        trainer.engine = engine
    order = _trainer_order(trainer, n)

    trainer.fit((x, labels))
    r.sgd_epoch(ref.vectorise(x.numpy(), labels.numpy()), cfg.batch_size, cfg.eta, cfg.lmbda, order)

    for l in range(len(sizes) - 1):
        w, b = (
            net.weights[l].detach()[0].double().numpy(),
            net.biases[l].detach()[0].double().numpy(),
        )
        np.testing.assert_allclose(w, r.weights[l], rtol=0, atol=tol)
        np.testing.assert_allclose(b, r.biases[l][:, 0], rtol=0, atol=tol)
    # and the epoch did move the weights (the check is not vacuous)
    start = Network(sizes, seeds=1, seed=11, dtype=torch.float64)
    assert not np.allclose(start.weights[0].detach()[0].numpy(), r.weights[0], atol=1e-3)
