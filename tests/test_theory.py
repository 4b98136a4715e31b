"""The analytic formulas of `gradprobe.theory` against autograd and the engine, in float64."""

from __future__ import annotations

import math

import pytest
import torch

from gradprobe import theory
from gradprobe.backprop import backprop
from gradprobe.costs import get_cost
from gradprobe.nets import Network

F64 = torch.float64


def chain_net(w: torch.Tensor, b: torch.Tensor, cost: str) -> Network:
    """A [1, …, 1] engine net whose S seeds are the chains w, b: [S, L]."""
    S, L = w.shape
    net = Network([1] * (L + 1), cost=cost, seeds=S, dtype=F64)
    with torch.no_grad():
        for j in range(L):
            net.weights[j].copy_(w[:, j].view(S, 1, 1))
            net.biases[j].copy_(b[:, j].view(S, 1))
    return net


def test_sigmoid_prime_peaks_at_a_quarter() -> None:
    z = torch.linspace(-10, 10, 2001, dtype=F64)
    assert float(theory.sigmoid_prime(0.0)) == 0.25
    assert float(theory.sigmoid_prime(z).max()) == 0.25
    zz = z.clone().requires_grad_(True)
    torch.sigmoid(zz).sum().backward()
    torch.testing.assert_close(theory.sigmoid_prime(z), zz.grad, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("cost", ["quadratic", "cross-entropy"])
@pytest.mark.parametrize("depth", [1, 4, 6])
def test_chain_gradient_matches_autograd_and_engine(cost: str, depth: int) -> None:
    g = torch.Generator().manual_seed(depth)
    S = 64
    w = torch.randn(S, depth, generator=g, dtype=F64) * 1.5
    b = torch.randn(S, depth, generator=g, dtype=F64)
    x, y = 0.7, 0.2
    product = theory.chain_gradient(w, b, x, y, cost)
    net = chain_net(w, b, cost)
    xt, yt = torch.tensor([[x]], dtype=F64), torch.tensor([[y]], dtype=F64)
    bp = torch.stack([t[:, 0] for t in backprop(net, xt, yt).bias], -1)
    net.cost_fn(net(xt), yt).backward()
    auto = torch.stack([p.grad[:, 0] for p in net.biases], -1)  # type: ignore[index]
    torch.testing.assert_close(product, bp, rtol=1e-10, atol=1e-16)
    torch.testing.assert_close(product, auto, rtol=1e-10, atol=1e-16)


def test_chain_factors_are_w_sigma_prime() -> None:
    w = torch.tensor([[0.5, -2.0, 3.0]], dtype=F64)
    b = torch.tensor([[0.1, 0.2, -0.3]], dtype=F64)
    z, a = theory.chain_forward(w, b, 1.0)
    assert float(z[0, 1]) == pytest.approx(-2.0 * float(a[0, 0]) + 0.2, abs=1e-15)
    torch.testing.assert_close(theory.chain_factors(w, b, 1.0), w * theory.sigmoid_prime(z))


def test_factor_probability_matches_monte_carlo() -> None:
    g = torch.Generator().manual_seed(1)
    n = 150_000
    w = torch.randn(n, generator=g, dtype=F64)
    b = torch.randn(n, generator=g, dtype=F64)
    for x in (1.0, 0.3):
        mc = float((w.abs() * theory.sigmoid_prime(w * x + b) < 0.25).double().mean())
        assert theory.factor_below_probability(x) == pytest.approx(mc, abs=6e-3)
    # |w| < 1 is sufficient, so the probability is at least P(|w| < 1) = 0.6827.
    assert pytest.approx(0.682689492, abs=1e-9) == theory.P_ABS_W_BELOW_1
    assert theory.factor_below_probability(1.0) > theory.P_ABS_W_BELOW_1
    assert theory.factor_below_probability(1.0, threshold=10.0) == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize("x", [1.0, 0.5])
def test_exploding_construction_is_exactly_25_per_layer(x: float) -> None:
    L = 6
    w = torch.full((L,), 100.0, dtype=F64)
    b = theory.exploding_biases(L, 100.0, x)
    z, _ = theory.chain_forward(w, b, x)
    assert torch.equal(z, torch.zeros(L, dtype=F64))
    assert torch.equal(theory.chain_factors(w, b, x), torch.full((L,), 25.0, dtype=F64))
    grad = theory.chain_gradient(w, b, x, 0.0)
    ratio = grad[:-1] / grad[1:]
    torch.testing.assert_close(ratio, torch.full((L - 1,), 25.0, dtype=F64), rtol=1e-14, atol=0)
    with pytest.raises(ValueError):
        theory.exploding_biases(0)


@pytest.mark.parametrize("cost", ["quadratic", "cross-entropy"])
def test_neuron_gradient_matches_engine(cost: str) -> None:
    net = Network([1, 1], cost=cost, output="sigmoid", dtype=F64)
    with torch.no_grad():
        net.weights[0].fill_(2.0)
        net.biases[0].fill_(2.0)
    x, y = torch.tensor([[1.0]], dtype=F64), torch.tensor([[0.0]], dtype=F64)
    g = backprop(net, x, y)
    dw, db = theory.neuron_gradient(2.0, 2.0, 1.0, 0.0, cost)
    assert float(dw) == pytest.approx(float(g.weight[0]), rel=1e-12)
    assert float(db) == pytest.approx(float(g.bias[0]), rel=1e-12)
    a = 1 / (1 + math.exp(-4))
    expected = a * a * (1 - a) if cost == "quadratic" else a
    assert float(db) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("cost", "output"),
    [
        ("quadratic", "sigmoid"),
        ("cross-entropy", "sigmoid"),
        ("log-likelihood", "softmax"),
        ("quadratic", "linear"),
    ],
)
def test_output_delta_matches_autograd(cost: str, output: str) -> None:
    g = torch.Generator().manual_seed(3)
    z = (torch.randn(50, 7, generator=g, dtype=F64) * 3).requires_grad_(True)
    y = torch.nn.functional.one_hot(torch.randint(7, (50,), generator=g), 7).to(F64)
    c = get_cost(cost, output)
    c.per_example(c.output_fn(z), y).sum().backward()
    assert z.grad is not None
    torch.testing.assert_close(
        theory.output_delta(z.detach(), y, cost, output), z.grad, rtol=1e-10, atol=1e-14
    )
