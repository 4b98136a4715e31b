"""The finite-depth prediction of the book's ‖δˡ‖ against our engine and closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gradprobe import Network, learning_speed, theory
from gradprobe.data import load_bundled
from gradprobe.errors import ConfigError

SIZES = [784, 30, 30, 30, 30, 10]


@pytest.fixture(scope="module")
def mnist():
    d = load_bundled().training
    return d.images, d.labels


@pytest.mark.slow
def test_network2_ratio_inside_engine_band(mnist) -> None:
    """Per-layer ratio of network2's sigmoid net: inside the 10–90 % band of 100 seeds of our
    engine on the bundled first 1000 images, for every pair of neighbouring hidden layers."""
    x, y = mnist
    pred = theory.predicted_speed_ratios(
        SIZES, "sigmoid", "default",
        inputs=theory.Inputs.from_data(x.double().numpy(), y.numpy()))  # fmt: skip
    speed = learning_speed(Network(SIZES, seeds=100), x, y).speed.double().numpy()
    ratios = speed[:, :-1] / speed[:, 1:]
    lo, hi = np.quantile(ratios, 0.1, axis=0), np.quantile(ratios, 0.9, axis=0)
    assert len(pred) == 3
    for l in range(3):
        assert lo[l] <= pred[l] <= hi[l], (l, pred[l], lo[l], hi[l])


def test_first_layer_uses_the_data() -> None:
    p = theory.predicted_speeds([784, 30, 30, 10], "sigmoid", "default", q0=0.1)
    assert p.q[0] == pytest.approx(1.0 * 0.1 + 1.0)  # q¹ = σ_w² q0 + σ_b²
    assert p.q[1] == pytest.approx(float(theory.length_map("sigmoid", 1, 1, 1.1)), rel=1e-8)


def test_identity_net_closed_form() -> None:
    """Linear hidden units, linear output, quadratic cost, identical inputs: every factor is
    exactly σ_w² = 1 per layer, so the ratios are 1."""
    p = theory.predicted_speeds([50, 20, 20, 20, 5], "identity", "default", q0=1.0,
                                cost="quadratic", output="linear", sigma_b2=0.0)  # fmt: skip
    np.testing.assert_allclose(p.ratios, [1.0, 1.0], rtol=1e-9)


def test_layer_variances() -> None:
    lv = theory.layer_variances([784, 30, 10], "xavier")
    assert lv[0] == pytest.approx((2 * 784 / 814, 0.0)) and lv[1] == pytest.approx((1.5, 0.0))
    assert theory.layer_variances([784, 30, 10], "large")[0] == (784.0, 1.0)
    with pytest.raises(ConfigError):
        theory.layer_variances([784, 30, 10], "zeros")
    with pytest.raises(ConfigError):
        theory.predicted_speeds([784, 10], q0=0.1)
    with pytest.raises(ConfigError):
        theory.predicted_speeds([784, 30, 30, 10])  # no data


def test_numpy_simulation_matches_engine_exactly() -> None:
    """`simulate_speeds` (NumPy) and the engine agree for the same weights (float64)."""
    import torch

    rng = np.random.default_rng(5)
    x = rng.random((40, 12))
    lab = rng.integers(0, 4, 40)
    sizes = [12, 7, 6, 4]
    params = theory.depth.draw_weights(sizes, "default", np.random.default_rng(3))
    net = Network(sizes, "tanh", seeds=1, dtype=torch.float64)
    with torch.no_grad():
        for layer, (w, b) in zip(net.linears, params):
            layer.weight[0].copy_(torch.from_numpy(w))
            layer.bias[0].copy_(torch.from_numpy(b))
    eng = learning_speed(net, torch.from_numpy(x), torch.from_numpy(lab)).speed.numpy()[0]
    sim = theory.simulate_speeds(sizes, "tanh", "default", x, lab, seeds=1, seed=3)[0]
    np.testing.assert_allclose(sim, eng, rtol=1e-10)
    assert math.isfinite(sim.sum())
