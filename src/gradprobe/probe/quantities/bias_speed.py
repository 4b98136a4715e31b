"""The book's speed of learning of a layer, ‖∂C/∂bˡ‖ = ‖δˡ‖ (Nielsen, ch. 5), for every layer,
and each layer's speed relative to the last layer's."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from gradprobe.probe.layers import LayerInfo
from gradprobe.probe.quantities.base import Chunk, Context, Quantity, Series, combine

#: How a layer's speed is measured (saved as ``meta["speed_from"]``).
FROM_BIAS = "bias"
FROM_WEIGHT = "weight/sqrt(fan_in)"
FROM_PARAMS = "params"


def speed_source(layer: LayerInfo) -> str:
    """Which measure :func:`layer_speed` uses for ``layer``."""
    if layer.bias_index:
        return FROM_BIAS
    return FROM_WEIGHT if layer.fan_in > 0 else FROM_PARAMS


def layer_speed(layer: LayerInfo, grad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A layer's speed from per-parameter gradient norms ``grad`` [n, P] (all parameters).

    - With a bias: ‖∂C/∂bˡ‖ (several bias tensors, as in an LSTM, combined as √Σ‖·‖²).
    - Without a bias: ‖∂C/∂Wˡ‖ / √(fan-in). For one example ∂C/∂Wˡ = δˡ (aˡ⁻¹)ᵀ, so
      ‖∂C/∂Wˡ‖ = ‖δˡ‖·‖aˡ⁻¹‖ and the measure equals ‖δˡ‖ times the RMS of the layer's input;
      it is the bias speed when the inputs have unit RMS (a BatchNorm/LayerNorm output).
    - Neither (an embedding, a norm layer without bias): ‖∂C/∂θ‖ over its parameters.

    Returns (speed [n], present [n]).
    """
    src = speed_source(layer)
    if src == FROM_BIAS:
        return combine(grad[:, layer.bias_index])
    value, present = combine(grad[:, layer.weight_index or layer.param_index])
    if src == FROM_WEIGHT:
        value = value / np.sqrt(layer.fan_in)
    return value, present


class BiasSpeed(Quantity):
    """Columns ``speed`` (see :func:`layer_speed`; every layer has one, bias or not) and
    ``relative_speed`` = speed / speed of the last layer in forward order."""

    name = "speed"
    reads = ("gradient",)
    columns = ("speed", "relative_speed")

    def series(self, chunk: Chunk, ctx: Context) -> Iterator[Series]:
        speeds = [(layer.name, *layer_speed(layer, chunk.grad)) for layer in ctx.layers]
        if not speeds:
            return
        _, last, last_present = speeds[-1]
        for name, value, present in speeds:
            yield name, "speed", value, present
        with np.errstate(divide="ignore", invalid="ignore"):
            for name, value, present in speeds:
                yield name, "relative_speed", value / last, present & last_present
