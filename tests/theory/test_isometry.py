"""Jacobian spectra: free-probability moments and Fuss–Catalan against simulation."""

from __future__ import annotations

import numpy as np
import pytest

from gradprobe import theory


def test_fuss_catalan_density_moments() -> None:
    for L in (1, 3):
        lam, rho = theory.fuss_catalan_density(L, 20000)
        for k in (0, 1, 2):
            m = np.trapezoid(rho * lam**k, lam)
            assert m == pytest.approx(theory.fuss_catalan_moment(L, k), rel=2e-3)


@pytest.mark.slow
def test_linear_net_spectra() -> None:
    sv = theory.jacobian_singular_values("identity", 1.0, 0.0, 3, width=150, seeds=4)
    lam = sv**2
    assert lam.mean() == pytest.approx(1.0, rel=0.1)
    assert (lam**2).mean() == pytest.approx(theory.fuss_catalan_moment(3, 2), rel=0.15)
    orth = theory.jacobian_singular_values("identity", 1.0, 0.0, 3, width=50,
                                           weights="orthogonal", seeds=1)  # fmt: skip
    np.testing.assert_allclose(orth, 1.0, atol=1e-10)  # exact isometry


@pytest.mark.slow
@pytest.mark.parametrize("weights", ["gaussian", "orthogonal"])
def test_tanh_moments_match_simulation(weights: str) -> None:
    sw2 = theory.critical_sigma_w2("tanh", 0.05)
    m = theory.jacobian_moments("tanh", sw2, 0.05, 4, weights)
    assert m.mean == pytest.approx(1.0, rel=1e-6)  # critical: χ₁ = 1
    lam = theory.jacobian_singular_values("tanh", sw2, 0.05, 4, width=200, weights=weights,
                                          seeds=4) ** 2  # fmt: skip
    assert lam.mean() == pytest.approx(m.mean, rel=0.1)
    assert lam.var() / lam.mean() ** 2 == pytest.approx(m.spread, rel=0.25, abs=0.1)


def test_relu_cannot_reach_isometry() -> None:
    m = theory.jacobian_moments("relu", 2.0, 0.0, 10, "orthogonal")
    assert m.per_layer_spread == pytest.approx(1.0, abs=1e-12)  # μ₂/μ₁² − 1 = 2 − 1
    assert m.spread == pytest.approx(10.0, abs=1e-9)
