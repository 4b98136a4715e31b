"""The book's speed of learning ‖∂C/∂bˡ‖ against autograd and the book's equations."""

import numpy as np
import pytest
import torch

from book_backprop import mean_gradients
from gradprobe import Network, learning_speed
from gradprobe.activations import ACTIVATIONS
from gradprobe.costs import PAIRS


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
@pytest.mark.parametrize(("output", "cost"), PAIRS)
def test_speed_equals_autograd_and_book(activation, output, cost):
    torch.manual_seed(0)
    net = Network([8, 6, 5, 4], activation, cost, output=output, seeds=2, dtype=torch.float64)
    x = torch.rand(23, 8, dtype=torch.float64)
    labels = torch.randint(0, 4, (23,))
    y = torch.nn.functional.one_hot(labels, 4).double()
    ls = learning_speed(net, x, labels, chunk=7)  # chunks must not change the result
    assert ls.speed.shape == (2, 2)
    net.zero_grad()
    net.cost_fn(net(x), y).backward()
    for l in range(2):
        torch.testing.assert_close(ls.bias_grad[l], net.biases[l].grad, rtol=0, atol=1e-10)
        torch.testing.assert_close(
            ls.speed[:, l], net.biases[l].grad.norm(dim=-1), rtol=0, atol=1e-10
        )
        torch.testing.assert_close(
            ls.weight_grad_norm[:, l],
            net.weights[l].grad.flatten(1).norm(dim=-1),
            rtol=0,
            atol=1e-10,
        )
    for s in range(2):
        ws = [w[s].detach().numpy() for w in net.weights]
        bs = [b[s].detach().numpy()[:, None] for b in net.biases]
        nb, _ = mean_gradients(ws, bs, x.numpy(), y.numpy(), activation, cost, output)
        for l in range(2):
            assert abs(np.linalg.norm(nb[l]) - ls.speed[s, l].item()) < 1e-10


@pytest.mark.parametrize("seeds", [2, 4, 11])
def test_quantiles_and_median_are_numpys(seeds):
    net = Network([10, 5, 5, 3], seeds=seeds)
    ls = learning_speed(net, torch.rand(30, 10), torch.randint(0, 3, (30,)))
    assert ls.median.shape == (2,)
    per_seed = ls.speed.double().numpy()
    np.testing.assert_allclose(ls.median.numpy(), np.median(per_seed, axis=0), rtol=1e-12)
    np.testing.assert_allclose(
        ls.quantile(0.1).numpy(), np.quantile(per_seed, 0.1, axis=0), rtol=1e-12
    )
    assert (ls.quantile(0.1) <= ls.median.double()).all()
    assert (ls.median.double() <= ls.quantile(0.9)).all()


def test_bundled_images_show_the_vanishing_gradient():
    """On the book's data, earlier layers learn slower (chapter 5): a seed-robust ordering."""
    from gradprobe.data import load_bundled

    data = load_bundled().training
    net = Network([784, 30, 30, 30, 10], seeds=20)
    med = learning_speed(net, data.images, data.labels).median
    assert med[0] < med[1] < med[2]
    assert 0.02 < (med[0] / med[2]).item() < 0.1  # 0.012 / 0.283 in the book


# Medians over seeds from an independent computation (the reference values).
REFERENCE = {
    (784, 30, 30, 10): (0.058, 0.284),
    (784, 30, 30, 30, 30, 10): (0.0024, 0.012, 0.058, 0.286),
}


@pytest.mark.parametrize("sizes", list(REFERENCE), ids=lambda s: "-".join(map(str, s)))
def test_real_data_matches_reference_and_book(sizes):
    """First 1000 training images (bundled = the full set's first 1000), network2 defaults,
    50 seeds: medians within 15 % of the reference, the book's run inside our 5–95 % band."""
    from gradprobe.book import INITIAL_SPEED
    from gradprobe.data import load_bundled

    data = load_bundled().training
    ls = learning_speed(Network(sizes, seeds=50), data.images, data.labels)
    med, lo, hi = ls.median.double(), ls.quantile(0.05), ls.quantile(0.95)
    for l, (ref, book) in enumerate(zip(REFERENCE[sizes], INITIAL_SPEED[sizes])):
        assert abs(med[l].item() / ref - 1) < 0.15, (l, med[l].item(), ref)
        assert lo[l].item() <= book <= hi[l].item(), (l, book, lo[l].item(), hi[l].item())


def test_bad_labels_and_shapes_are_typed_errors():
    from gradprobe import ConfigError, DataError

    net = Network([6, 4, 4, 5], seeds=2)
    x = torch.rand(8, 6)
    with pytest.raises(DataError, match="labels"):
        learning_speed(net, x, torch.full((8,), 7))
    with pytest.raises(ConfigError, match="input layer"):
        learning_speed(net, torch.rand(8, 7), torch.zeros(8, dtype=torch.long))
    with pytest.raises(DataError, match="no examples"):
        learning_speed(net, torch.rand(0, 6), torch.zeros(0, dtype=torch.long))
