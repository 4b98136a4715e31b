"""BP1–BP4 as the engine computes them == torch.autograd == the book's per-example backprop."""

import numpy as np
import pytest
import torch

from book_backprop import mean_gradients
from gradprobe import Network, backprop
from gradprobe.activations import ACTIVATIONS
from gradprobe.costs import PAIRS

PAIR_IDS = [f"{o}+{c}" for o, c in PAIRS]


def _net_and_data(activation, output, cost, seeds=3, n=9):
    torch.manual_seed(1)
    net = Network(
        [6, 5, 4, 3],
        activation,
        cost,
        output=output,
        seeds=seeds,
        init="large",
        dtype=torch.float64,
    )
    x = torch.rand(n, 6, dtype=torch.float64)
    y = torch.nn.functional.one_hot(torch.randint(0, 3, (n,)), 3).double()
    return net, x, y


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
@pytest.mark.parametrize(("output", "cost"), PAIRS, ids=PAIR_IDS)
def test_backprop_equals_autograd(activation, output, cost):
    net, x, y = _net_and_data(activation, output, cost)
    g = backprop(net, x, y)
    net.zero_grad()
    net.cost_fn(net(x), y).backward()
    n = x.shape[0]
    for ours, p in zip(g.bias + g.weight, net.biases + net.weights):
        torch.testing.assert_close(ours / n, p.grad, rtol=0, atol=1e-10)


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
@pytest.mark.parametrize(("output", "cost"), PAIRS, ids=PAIR_IDS)
def test_backprop_equals_book_equations(activation, output, cost):
    net, x, y = _net_and_data(activation, output, cost)
    g = backprop(net, x, y)
    n = x.shape[0]
    for s in range(net.n_seeds):
        ws = [w[s].detach().numpy() for w in net.weights]
        bs = [b[s].detach().numpy()[:, None] for b in net.biases]
        nb, nw = mean_gradients(ws, bs, x.numpy(), y.numpy(), activation, cost, output)
        for ours, book in zip(g.bias, nb):
            assert abs(ours[s].numpy() / n - book).max() < 1e-10
        for ours, book in zip(g.weight, nw):
            assert abs(ours[s].numpy() / n - book).max() < 1e-10


def test_per_seed_inputs_match_shared_inputs():
    net, x, y = _net_and_data("sigmoid", "sigmoid", "cross-entropy")
    shared = backprop(net, x, y)
    per_seed = backprop(net, x.expand(3, *x.shape), y.expand(3, *y.shape))
    for a, b in zip(shared.bias + shared.weight, per_seed.bias + per_seed.weight):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)


def test_seeds_are_independent():
    """Seed s's gradient depends on seed s's parameters only."""
    net, x, y = _net_and_data("tanh", "softmax", "log-likelihood")
    before = backprop(net, x, y)
    with torch.no_grad():
        net.layers[0].weight[1].mul_(3)
    after = backprop(net, x, y)
    for a, b in zip(before.bias, after.bias):
        torch.testing.assert_close(a[0], b[0], rtol=0, atol=0)
        torch.testing.assert_close(a[2], b[2], rtol=0, atol=0)


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
@pytest.mark.parametrize(("output", "cost"), PAIRS, ids=PAIR_IDS)
def test_packed_numpy_step_equals_autograd(activation, output, cost):
    """The CPU engine's BP1–BP4 (`PackedStep`, [wˡ | bˡ] packed, column-vector activations):
    scale·Σₓ [∂Cₓ/∂wˡ | ∂Cₓ/∂bˡ] equals torch.autograd's, float64, to 1e-10."""
    from gradprobe.backprop import Packed, PackedStep

    net, x, y = _net_and_data(activation, output, cost)
    net.zero_grad()
    net.cost_fn(net(x), y).backward()
    S, n = net.n_seeds, x.shape[0]
    pk = Packed(net.sizes, S, np.float64)
    pk.load(net.weights, net.biases)
    step = PackedStep(net.act, net.cost, pk, n)
    xe = np.ones((S, n, x.shape[1] + 1))
    xe[:, :, :-1] = x.numpy()
    yt = np.ascontiguousarray(np.broadcast_to(y.numpy().T, (S, *y.T.shape)))
    step(xe, yt, 1.0 / n)
    for l, (w, b) in enumerate(zip(net.weights, net.biases)):
        np.testing.assert_allclose(pk.w(pk.G, l), w.grad.numpy(), rtol=0, atol=1e-10)
        np.testing.assert_allclose(pk.b(pk.G, l), b.grad.numpy(), rtol=0, atol=1e-10)
