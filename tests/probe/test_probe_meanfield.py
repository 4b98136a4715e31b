"""probe.diagnose() beside mean-field theory: the predicted per-hidden-layer ratio of ‖δˡ‖ for a
plain MLP's initialisation, compared with the measured median ratio of ‖∂C/∂bˡ‖."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import gradprobe.probe as gp
from gradprobe.data import load_bundled
from gradprobe.probe.history import load_history
from gradprobe.probe.meanfield import AGREE_FACTOR, capture, predicted_ratios
from gradprobe.theory import predicted_speeds

WIDTH, DEPTH, BATCH, STEPS = 64, 6, 128, 5


def _sigmoid_net(seed: int = 0) -> nn.Sequential:
    """784-64×6-10 sigmoid MLP with network2's init: W ~ N(0, 1/n_in), b ~ N(0, 1)."""
    torch.manual_seed(seed)
    mods: list[nn.Module] = []
    n = 784
    for _ in range(DEPTH):
        mods += [nn.Linear(n, WIDTH), nn.Sigmoid()]
        n = WIDTH
    mods.append(nn.Linear(n, 10))
    net = nn.Sequential(*mods)
    for m in net:
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, m.in_features**-0.5)
            nn.init.normal_(m.bias, 0.0, 1.0)
    return net


def _run(net: nn.Module, flatten: bool = True, tamper: list[int] | None = None) -> gp.Probe:
    """Watch ``net``, optionally scale some Linear weights ×4 *after* watching (so the recorded
    initialisation no longer describes the net), then STEPS batches of 128 bundled images,
    cross-entropy, η = 0 (the weights stay at their initial values)."""
    d = load_bundled()
    x, y = d.training.images, d.training.labels
    probe = gp.watch(net)
    if tamper:
        with torch.no_grad():
            for i in tamper:
                net[i].weight.mul_(4.0)  # type: ignore[index]
    for s in range(STEPS):
        xb = x[s * BATCH : (s + 1) * BATCH]
        xb = xb if flatten else xb.reshape(-1, 1, 28, 28)
        loss = F.cross_entropy(net(xb), y[s * BATCH : (s + 1) * BATCH])
        net.zero_grad()
        loss.backward()
        probe.step()
    return probe


def _vanishing(probe: gp.Probe) -> gp.Finding:
    fs = [f for f in probe.diagnose() if f.kind == "vanishing"]
    assert len(fs) == 1, probe.diagnose()
    return fs[0]


def test_sigmoid_mlp_decays_as_initialisation_predicts(tmp_path):
    with _run(_sigmoid_net()) as probe:
        f = _vanishing(probe)
        mf = f.evidence["meanfield"]
        assert "as initialisation predicts" in f.message and mf["explained"] is True
        assert len(mf["pairs"]) == DEPTH - 1  # hidden pairs only; the output is not compared
        # q₀ = mean ‖x‖²/784 of the first batch, computed independently
        x0 = load_bundled().training.images[:BATCH].double()
        assert mf["q0"] == pytest.approx(float((x0 * x0).sum(1).mean() / 784), rel=1e-9)
        # every hidden pair within the stated factor 1.5; the geometric means within 15 %
        # (seed 0: predicted ×0.207, measured ×0.213 per layer)
        for pair in mf["pairs"].values():
            assert 1 / AGREE_FACTOR <= pair["measured"] / pair["predicted"] <= AGREE_FACTOR
        assert mf["measured_per_layer"] == pytest.approx(mf["predicted_per_layer"], rel=0.15)
        # the book's/issue's value: √χ₁ ≈ 0.205 for sigmoid, σ_w² = σ_b² = 1
        assert mf["predicted_per_layer"] == pytest.approx(0.205, abs=0.015)
        # the metadata travels with the saved history: the same finding from the file
        path = probe.save(tmp_path / "h.json")
    again = next(f for f in gp.diagnose(load_history(path)) if f.kind == "vanishing")
    assert again.evidence["meanfield"]["pairs"] == mf["pairs"]
    assert again.message == f.message


def test_weights_changed_after_watch_not_explained():
    with _run(_sigmoid_net(), tamper=[4, 6]) as probe:
        f = _vanishing(probe)
        mf = f.evidence["meanfield"]
        assert mf["explained"] is False and "not explained" in f.message
        off = [k for k, p in mf["pairs"].items() if not 1 / 1.5 <= p["factor"] <= 1.5]
        assert off  # the tampered layers' neighbours


def test_predicted_ratios_match_theory_for_uniform_init():
    """With every layer at σ_w² = σ_b² = 1 the per-layer iteration must equal theory's own
    per-example ratios for the same net (an independent code path: `predicted_speeds`)."""
    n = DEPTH + 1
    meta = {
        "layers": [str(i) for i in range(n)],
        "activations": ["sigmoid"] * DEPTH + [None],
        "sigma_w2": [1.0] * n,
        "sigma_b2": [1.0] * n,
        "q0": 0.1,
    }
    ours = list(predicted_ratios(meta).values())
    ref = predicted_speeds(
        [784] + [WIDTH] * DEPTH + [10], "sigmoid", sigma_w2=1.0, sigma_b2=1.0, q0=0.1
    ).per_example_ratios
    assert len(ours) == DEPTH - 1
    # different Gauss–Hermite node counts on the two paths: agreement to 1e-6 relative
    assert ours == pytest.approx(ref[: DEPTH - 1], rel=1e-6)
    assert not predicted_ratios({**meta, "q0": None})  # q₀ never seen: no prediction


def test_cnn_and_other_models_get_no_theory():
    torch.manual_seed(0)
    cnn = nn.Sequential(
        nn.Conv2d(1, 4, 5), nn.Sigmoid(), nn.Conv2d(4, 4, 5), nn.Sigmoid(),
        nn.Flatten(), nn.Linear(4 * 20 * 20, 30), nn.Sigmoid(), nn.Linear(30, 10),
    )  # fmt: skip
    with _run(cnn, flatten=False) as probe:
        assert "meanfield" not in probe.meta()
        assert all("mean-field" not in f.message for f in probe.diagnose())
        assert all("meanfield" not in f.evidence for f in probe.diagnose())
    assert capture(nn.Sequential(nn.Linear(4, 4), nn.Dropout(), nn.Linear(4, 4))) is None
    lrelu = nn.Sequential(*[m for _ in range(3) for m in (nn.Linear(4, 4), nn.LeakyReLU(0.2))])
    assert capture(lrelu) is None  # the theory's leaky ReLU has slope 0.01
    mixed = nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
    assert capture(mixed) is None
    ok = nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 2))
    c = capture(ok)
    assert c is not None and c.activations == ["tanh", "tanh", None]
    w = ok[2].weight.detach().double()
    assert c.sigma_w2[1] == pytest.approx(4 * float(w.var(unbiased=False)), rel=1e-12)
    assert c.q0 is None  # no forward pass yet
    c.remove()


class _Reordered(nn.Module):
    """Registered as a chain, but forward() runs the two hidden Linear layers swapped."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.s1 = nn.Linear(784, 64), nn.Sigmoid()
        self.b, self.s2 = nn.Linear(64, 64), nn.Sigmoid()
        self.c, self.s3 = nn.Linear(64, 64), nn.Sigmoid()
        self.d = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.s1(self.a(x))
        return self.d(self.s2(self.b(self.s3(self.c(x)))))


def test_forward_order_differs_from_registration_no_theory():
    torch.manual_seed(0)
    net = _Reordered()
    for m in net.modules():
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, m.in_features**-0.5)
            nn.init.normal_(m.bias, 0.0, 1.0)
    d = load_bundled()
    with gp.watch(net) as probe:
        for s in range(STEPS):
            xb, yb = (
                d.training.images[s * BATCH : (s + 1) * BATCH],
                d.training.labels[s * BATCH : (s + 1) * BATCH],
            )
            net.zero_grad()
            F.cross_entropy(net(xb), yb).backward()
            probe.step()
        assert "meanfield" in probe.meta()  # captured from the registration order ...
        fs = probe.diagnose()
        assert any(f.kind == "vanishing" for f in fs)
        assert all("meanfield" not in f.evidence for f in fs)  # ... but not used


def test_relu_mlp_matches_closed_form_and_measurement():
    """ReLU, σ_w² = 1, σ_b² = 0 (half of He): χ = σ_w²/2 at every depth (closed form), so the
    prediction is √½ ≈ 0.707 per layer up to the sampled weights' variance; 8 hidden layers of
    width 128 vanish by ≈ 0.707⁷ ≈ 0.09 and the measurement follows (seed 0: ×0.707)."""
    torch.manual_seed(0)
    mods: list[nn.Module] = []
    n = 784
    for _ in range(8):
        mods += [nn.Linear(n, 128), nn.ReLU()]
        n = 128
    net = nn.Sequential(*mods, nn.Linear(n, 10))
    for m in net:
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, m.in_features**-0.5)
            nn.init.zeros_(m.bias)
    with _run(net) as probe:
        f = _vanishing(probe)
        mf = f.evidence["meanfield"]
        assert mf["predicted_per_layer"] == pytest.approx(0.5**0.5, rel=0.03)
        for pair, sw2 in zip(mf["pairs"].values(), probe.meta()["meanfield"]["sigma_w2"][1:]):
            assert pair["predicted"] == pytest.approx((sw2 / 2) ** 0.5, rel=1e-6)
        assert mf["explained"] and "as initialisation predicts" in f.message
