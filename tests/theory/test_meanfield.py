"""Mean-field q*, χ₁ and the phase against width-1000 random networks and closed forms."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import numpy as np
import pytest

from gradprobe import theory
from gradprobe.errors import ConfigError
from gradprobe.theory.phi import BUILTIN

# (σ_w², σ_b²) with a finite, attracting fixed point for every built-in activation.
SETTINGS = {
    "sigmoid": (1.0, 1.0),
    "tanh": (1.5, 0.5),
    "relu": (1.0, 0.5),
    "leaky-relu": (1.2, 0.5),
    "gelu": (1.5, 0.5),
    "softplus": (1.0, 1.0),
    "identity": (0.5, 0.5),
}


def simulate(name: str, sw2: float, sb2: float, width: int = 1000, depth: int = 16,
             seeds: int = 6) -> tuple[float, float]:  # fmt: skip
    """(q, χ) measured in random nets (float32 weights, for speed): q = mean hᵢ² over the last
    8 layers; χ = mean over those layers of ‖δˡ‖²/‖δˡ⁺¹‖² for a random δ backpropagated by
    δˡ = φ′(hˡ) ⊙ (Wˡ⁺¹)ᵀ δˡ⁺¹ (the book's BP2 with the same weights as the forward pass)."""
    p = theory.get_phi(name)
    qs, chis = [], []
    for s in range(seeds):
        rng = np.random.default_rng(1000 + s)
        h = rng.standard_normal(width)
        hs, ws = [], []
        for _ in range(depth):
            w = rng.standard_normal((width, width), dtype=np.float32) * np.float32(
                math.sqrt(sw2 / width)
            )
            h = w @ p.f(h) + rng.standard_normal(width) * math.sqrt(sb2)
            hs.append(h)
            ws.append(w)
        delta = rng.standard_normal(width)
        for l in range(depth - 2, depth // 2 - 1, -1):
            new = p.df(hs[l]) * (ws[l + 1].T @ delta)
            chis.append(float(new @ new) / float(delta @ delta))
            delta = new
        qs.extend(float(np.mean(h * h)) for h in hs[depth // 2 :])
    return float(np.mean(qs)), float(np.mean(chis))


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_q_star_and_chi1_match_wide_random_nets(name: str) -> None:
    sw2, sb2 = SETTINGS[name]
    mf = theory.mean_field(name, sw2, sb2)
    q_sim, chi_sim = simulate(name, sw2, sb2)
    assert mf.q_star == pytest.approx(q_sim, rel=0.03)
    assert mf.chi1 == pytest.approx(chi_sim, rel=0.03)


def test_network2_sigmoid_numbers() -> None:
    """Independent check of the issue's q* ≈ 1.30, √χ₁ ≈ 0.205 by scipy.integrate.quad."""
    from scipy import integrate
    from scipy.special import expit

    def e(f, q):  # E[f(h)], h ~ N(0, q)
        g = lambda h: f(h) * math.exp(-h * h / (2 * q)) / math.sqrt(2 * math.pi * q)  # noqa: E731
        return integrate.quad(g, -40, 40, epsabs=1e-14, limit=200)[0]

    q = 1.0
    for _ in range(200):
        q = e(lambda h: expit(h) ** 2, q) + 1.0
    chi1 = e(lambda h: (expit(h) * (1 - expit(h))) ** 2, q)
    mf = theory.mean_field("sigmoid", 1.0, 1.0)
    assert mf.q_star == pytest.approx(q, abs=1e-9) and round(q, 2) == 1.30
    assert mf.chi1 == pytest.approx(chi1, abs=1e-10)
    assert mf.gradient_ratio == pytest.approx(0.2048, abs=1e-4)
    assert mf.phase == "ordered"


@pytest.mark.parametrize("sw2,sb2", [(1.0, 0.5), (1.5, 0.2), (0.5, 1.0), (2.0, 0.0)])
def test_relu_closed_forms(sw2: float, sb2: float) -> None:
    mf = theory.mean_field("relu", sw2, sb2)
    assert mf.chi1 == pytest.approx(sw2 / 2, abs=1e-12)  # E[relu′²] = 1/2 at any q
    if sw2 < 2:
        assert mf.q_star == pytest.approx(sb2 / (1 - sw2 / 2), rel=1e-10)
        assert mf.xi_q == pytest.approx(-1 / math.log(sw2 / 2), rel=1e-9)
    assert mf.phase == ("critical" if sw2 == 2 else "ordered")


@pytest.mark.parametrize("sw2,sb2", [(0.5, 0.5), (0.9, 0.1), (1.0, 0.0)])
def test_identity_closed_forms(sw2: float, sb2: float) -> None:
    mf = theory.mean_field("identity", sw2, sb2)
    assert mf.chi1 == pytest.approx(sw2, abs=1e-12)
    if sw2 < 1:
        assert mf.q_star == pytest.approx(sb2 / (1 - sw2), rel=1e-10)
    # the correlation map of a linear layer is exact: c' = (σ_w² c q + σ_b²)/q'
    q = 2.0
    c = np.array([-0.5, 0.0, 0.3, 0.9])
    q_out = sw2 * q + sb2
    expected = (sw2 * c * q + sb2) / q_out
    got = theory.correlation_map("identity", sw2, sb2, c, q)
    np.testing.assert_allclose(got, expected, atol=1e-12)


def test_phases_and_chaos() -> None:
    assert theory.mean_field("tanh", 0.5, 0.0).phase == "ordered"
    assert theory.mean_field("tanh", 0.5, 0.0).q_star == pytest.approx(0.0, abs=1e-12)
    chaotic = theory.mean_field("tanh", 4.0, 0.0)
    assert chaotic.phase == "chaotic" and chaotic.chi1 > 1
    assert chaotic.c_star == pytest.approx(0.0, abs=1e-6)  # odd φ, no bias: c* = 0
    assert chaotic.chi_c < 1  # c* is stable
    assert theory.mean_field("relu", 3.0, 0.1).diverges
    assert theory.phase_of(1.0) == "critical"


def test_bad_input() -> None:
    with pytest.raises(ConfigError):
        theory.mean_field("swish", 1.0, 1.0)
    with pytest.raises(ConfigError):
        theory.mean_field("sigmoid", -1.0, 1.0)
    with pytest.raises(ConfigError):
        theory.mean_field("sigmoid", 1.0, float("nan"))


def test_user_supplied_activation_matches_builtin() -> None:
    mine = theory.Phi("my-tanh", np.tanh, lambda x: 1 / np.cosh(x) ** 2)
    a, b = theory.mean_field(mine, 1.5, 0.3), theory.mean_field("tanh", 1.5, 0.3)
    assert a.q_star == pytest.approx(b.q_star, rel=1e-9) and a.chi1 == pytest.approx(
        b.chi1, rel=1e-9
    )


def test_no_torch_import_at_module_level() -> None:
    """Every theory module but the chapter-5 chain formulas imports no torch at the top."""
    pkg = Path(theory.__file__).parent
    for path in pkg.glob("*.py"):
        if path.name == "_chain.py":
            continue
        tree = ast.parse(path.read_text())
        for node in tree.body:
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not any(n.split(".")[0] == "torch" for n in names), path.name


def test_chain_names_still_importable() -> None:
    from gradprobe.theory import P_ABS_W_BELOW_1, chain_gradient, sigmoid_prime  # noqa: F401

    assert float(sigmoid_prime(0.0)) == 0.25
    assert math.isclose(P_ABS_W_BELOW_1, math.erf(1 / math.sqrt(2)))
    assert set(BUILTIN) <= set(theory.ACTIVATIONS)
