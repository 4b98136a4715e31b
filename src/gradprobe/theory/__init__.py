"""The theory beside the measurements: analytic predictions to check the engine against.

* Chapter 5's one-neuron chain and chapter 3's output errors (``sigmoid``, ``sigmoid_prime``,
  ``chain_forward``, ``chain_factors``, ``chain_gradient``, ``cost_derivative``,
  ``factor_below_probability``, ``exploding_biases``, ``neuron_gradient``, ``output_delta``,
  ``P_ABS_W_BELOW_1``, ``F64``): torch float64 formulas in `gradprobe.theory._chain`, loaded on
  first use so that importing this package does not import torch.
* Mean-field signal propagation for wide random nets (`meanfield`): the length map and q*, χ₁,
  the correlation map, the depth scales ξ_q, ξ_c, the phase (ordered / critical / chaotic).
* Finite-depth predictions of the book's speed ‖δˡ‖ for nets such as 784-30-30-30-30-10
  (`depth`): `predicted_speeds`, `predicted_speed_ratios`, and `simulate_speeds` (an
  independent NumPy network for the spread at finite width).
* Dynamical isometry (`isometry`): the singular values of the input–output Jacobian at
  initialisation, by simulation and by free probability.

Gaussian expectations are Gauss–Hermite quadrature (`quadrature`, with its stated accuracy).
Everything except the chain formulas is NumPy/SciPy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .depth import (
    INITS,
    Inputs,
    SpeedPrediction,
    layer_variances,
    predicted_speed_ratios,
    predicted_speeds,
    simulate_speeds,
)
from .isometry import (
    JacobianMoments,
    critical_sigma_w2,
    fuss_catalan_density,
    fuss_catalan_moment,
    jacobian_moments,
    jacobian_singular_values,
)
from .meanfield import (
    CRITICAL_TOL,
    MeanField,
    chi,
    chi_c,
    correlation_fixed_point,
    correlation_map,
    fixed_point,
    length_map,
    length_slope,
    mean_field,
    phase_grid,
    phase_of,
)
from .phi import NAMES as ACTIVATIONS
from .phi import Phi, get_phi
from .quadrature import STATED_ABS_ERROR, expect, expect2, expect_error

if TYPE_CHECKING:  # for type checkers; at run time they load lazily (torch) via __getattr__
    from ._chain import (
        F64 as F64,
    )
    from ._chain import (
        P_ABS_W_BELOW_1 as P_ABS_W_BELOW_1,
    )
    from ._chain import (
        chain_factors as chain_factors,
    )
    from ._chain import (
        chain_forward as chain_forward,
    )
    from ._chain import (
        chain_gradient as chain_gradient,
    )
    from ._chain import (
        cost_derivative as cost_derivative,
    )
    from ._chain import (
        exploding_biases as exploding_biases,
    )
    from ._chain import (
        factor_below_probability as factor_below_probability,
    )
    from ._chain import (
        neuron_gradient as neuron_gradient,
    )
    from ._chain import (
        output_delta as output_delta,
    )
    from ._chain import (
        sigmoid as sigmoid,
    )
    from ._chain import (
        sigmoid_prime as sigmoid_prime,
    )

_CHAIN = (
    "F64",
    "P_ABS_W_BELOW_1",
    "chain_factors",
    "chain_forward",
    "chain_gradient",
    "cost_derivative",
    "exploding_biases",
    "factor_below_probability",
    "neuron_gradient",
    "output_delta",
    "sigmoid",
    "sigmoid_prime",
)


def __getattr__(name: str) -> Any:
    if name in _CHAIN:
        value = getattr(importlib.import_module(f"{__name__}._chain"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_CHAIN))


__all__ = [
    "ACTIVATIONS",
    "CRITICAL_TOL",
    "INITS",
    "STATED_ABS_ERROR",
    "Inputs",
    "JacobianMoments",
    "MeanField",
    "Phi",
    "SpeedPrediction",
    "chi",
    "chi_c",
    "correlation_fixed_point",
    "correlation_map",
    "expect",
    "expect2",
    "expect_error",
    "fixed_point",
    "critical_sigma_w2",
    "fuss_catalan_density",
    "fuss_catalan_moment",
    "get_phi",
    "jacobian_moments",
    "jacobian_singular_values",
    "layer_variances",
    "length_map",
    "length_slope",
    "mean_field",
    "phase_grid",
    "phase_of",
    "predicted_speed_ratios",
    "predicted_speeds",
    "simulate_speeds",
    *_CHAIN,
]
