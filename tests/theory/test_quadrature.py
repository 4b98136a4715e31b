"""The quadrature's stated accuracy, against scipy.integrate.quad and closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from gradprobe.theory import quadrature as gq
from gradprobe.theory.phi import BUILTIN


def reference(f, q: float) -> float:
    s = math.sqrt(q)

    def g(h: float) -> float:
        return float(f(np.array(h))) * math.exp(-h * h / (2 * q)) / math.sqrt(2 * math.pi * q)

    pts = [p for p in (-5, -2, -1, 0, 1, 2, 5) if abs(p) < 12 * s]
    return integrate.quad(g, -12 * s, 12 * s, points=pts, limit=1000, epsabs=1e-15,
                          epsrel=1e-13)[0]  # fmt: skip


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_stated_one_dimensional_accuracy(name: str) -> None:
    p = BUILTIN[name]
    for q in (1e-4, 0.3, 10.0, 1e4):
        for f in (lambda h: p.f(h) ** 2, lambda h: p.df(h) ** 2, lambda h: h * p.f(h) * p.df(h)):
            err = abs(float(gq.expect(f, q)) - reference(f, q))
            assert err <= gq.STATED_ABS_ERROR * max(1.0, q), (name, q, err)


def test_plain_gauss_hermite_would_not_do() -> None:
    """Why panels: 100 Hermite nodes miss E[tanh′(h)²] at q = 100 by far more than our rule."""
    z, w = np.polynomial.hermite_e.hermegauss(100)
    gh = float((1 - np.tanh(10 * z) ** 2) ** 2 @ w) / math.sqrt(2 * math.pi)
    ref = reference(lambda h: (1 - np.tanh(h) ** 2) ** 2, 100.0)
    assert abs(gh - ref) > 1e-3
    assert abs(float(gq.expect(lambda h: (1 - np.tanh(h) ** 2) ** 2, 100.0)) - ref) < 1e-9


def test_error_estimate_is_small_and_honest() -> None:
    f = lambda h: (1 / (1 + np.exp(-h))) ** 2  # noqa: E731
    for q in (0.5, 50.0):
        v, e = gq.expect_error(f, q)
        assert abs(float(v) - reference(f, q)) <= max(float(e), 1e-12) * 10 + 1e-12


def test_relu_arc_cosine_kernels() -> None:
    q1, q2 = np.array([0.5, 2.0, 30.0]), np.array([1.0, 2.0, 80.0])
    relu = lambda u: np.maximum(u, 0.0)  # noqa: E731
    step = lambda u: (u > 0).astype(float)  # noqa: E731
    for c, tol in ((-0.9, 1e-5), (0.0, 1e-10), (0.5, 1e-10), (0.99, 1e-5), (1.0, 1e-10)):
        th = math.acos(c)
        k1 = np.sqrt(q1 * q2) / (2 * math.pi) * (math.sin(th) + (math.pi - th) * c)
        k0 = (math.pi - th) / (2 * math.pi)
        np.testing.assert_allclose(gq.expect2(relu, relu, q1, q2, c), k1, atol=tol * 10)
        np.testing.assert_allclose(gq.expect2(step, step, q1, q2, c), k0, atol=tol)


def test_two_dimensional_limits() -> None:
    """c = 0 factorises; c = 1 is the one-dimensional E[f g]."""
    s = lambda u: 1 / (1 + np.exp(-u))  # noqa: E731
    for q in (0.2, 3.0, 40.0):
        np.testing.assert_allclose(
            gq.expect2(s, np.tanh, q, q, 0.0), gq.expect(s, q) * gq.expect(np.tanh, q), atol=1e-10
        )
        np.testing.assert_allclose(
            gq.expect2(s, np.tanh, q, q, 1.0), gq.expect(lambda h: s(h) * np.tanh(h), q), atol=1e-10
        )
