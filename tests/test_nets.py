"""The book's networks: shapes, initialisation, seeds, saving."""

import pytest
import torch

from gradprobe import ConfigError, DataError, Network, load_network, save_network
from gradprobe.nets import parse_sizes


def test_shapes_and_forward():
    net = Network([784, 30, 10], seeds=4)
    assert [tuple(w.shape) for w in net.weights] == [(4, 30, 784), (4, 10, 30)]
    assert [tuple(b.shape) for b in net.biases] == [(4, 30), (4, 10)]
    out = net(torch.rand(5, 784))
    assert out.shape == (4, 5, 10)
    assert out.min() > 0 and out.max() < 1


def test_softmax_output_sums_to_one():
    net = Network([8, 4, 3], cost="log-likelihood", seeds=2)
    torch.testing.assert_close(net(torch.rand(6, 8)).sum(-1), torch.ones(2, 6))


@pytest.mark.parametrize(
    ("init", "wstd", "bstd"),
    [
        ("default", 1 / 20, 1.0),
        ("large", 1.0, 1.0),
        ("xavier", (2 / 500) ** 0.5, 0.0),
        ("he", (2 / 400) ** 0.5, 0.0),
    ],
)
def test_initialisation_statistics(init, wstd, bstd):
    net = Network([400, 100, 100], init=init, seeds=8)
    w, b = net.weights[0], net.biases[0]
    assert w.std().item() == pytest.approx(wstd, rel=0.03)
    assert b.std().item() == pytest.approx(bstd, abs=0.08)


def test_seed_k_is_the_same_alone_or_among_others():
    many = Network([20, 7, 3], seeds=4, seed=10)
    alone = Network([20, 7, 3], seeds=1, seed=12)
    for a, b in zip(many.parameters(), alone.parameters()):
        torch.testing.assert_close(a[2], b[0], rtol=0, atol=0)
    assert not torch.equal(many.weights[0][0], many.weights[0][1])


def test_parse_sizes_errors():
    assert parse_sizes("784, 30,10") == (784, 30, 10)
    for bad in ["784,abc", "784", "784,0,10", "", "784,-3,10"]:
        with pytest.raises(ConfigError):
            parse_sizes(bad)


def test_bad_arguments():
    with pytest.raises(ConfigError, match="activation"):
        Network([3, 2, 1], "swish")
    with pytest.raises(ConfigError, match="init"):
        Network([3, 2, 1], init="orthogonal")
    with pytest.raises(ConfigError, match="seeds"):
        Network([3, 2, 1], seeds=0)


def test_accuracy_per_seed():
    net = Network([4, 3], seeds=2)
    x = torch.rand(10, 4)
    pred = net.predict(x)
    acc = net.accuracy(x, pred[0])
    assert acc[0].item() == 1.0 and acc.shape == (2,)


def test_save_and_load_roundtrip(tmp_path):
    net = Network([6, 5, 2], "tanh", "quadratic", output="linear", init="he", seeds=3, seed=7)
    path = save_network(net, tmp_path / "net.safetensors")
    back = load_network(path)
    assert back.config == net.config
    for a, b in zip(net.state_dict().values(), back.state_dict().values()):
        assert torch.equal(a, b)


def test_load_rejects_foreign_files(tmp_path):
    bad = tmp_path / "x.safetensors"
    bad.write_bytes(b"not a safetensors file")
    with pytest.raises(DataError):
        load_network(bad)
    with pytest.raises(DataError):
        load_network(tmp_path / "missing.safetensors")


def test_resolve_device():
    from gradprobe.nets import resolve_device

    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(None) == torch.device("cpu")
    auto = resolve_device("auto")
    assert auto.type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert Network([3, 2], device="auto").weights[0].device.type == auto.type
    for bad in ("tpu", "gpu", "", "cuda:99"):
        if bad.startswith("cuda") and not torch.cuda.is_available():
            continue
        with pytest.raises(ConfigError, match="device"):
            resolve_device(bad)
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="no GPU"):
            Network([3, 2], device="cuda")


def test_same_initial_weights_on_any_device():
    cpu = Network([5, 4, 2], seeds=2, seed=3)
    auto = Network([5, 4, 2], seeds=2, seed=3, device="auto")
    for a, b in zip(cpu.parameters(), auto.parameters()):
        assert torch.equal(a, b.cpu())
