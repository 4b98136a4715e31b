"""The book's speed of learning of a layer: ‖∂C/∂bˡ‖ = ‖δˡ‖ (Nielsen, ch. 5), and each
layer's speed relative to the last layer's."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from gradprobe.probe.quantities.base import Chunk, Context, Quantity, Series, combine


class BiasSpeed(Quantity):
    """Rows ``speed`` = ‖∂C/∂bˡ‖ for every layer with a bias (several bias tensors, as in an
    LSTM, are combined as √Σ‖·‖²; the seeds of the book's nets likewise), and
    ``relative_speed`` = speed / speed of the last layer (in forward order) that has a bias.
    """

    name = "speed"

    def series(self, chunk: Chunk, ctx: Context) -> Iterator[Series]:
        speeds: list[tuple[str, np.ndarray, np.ndarray]] = []
        for layer in ctx.layers:
            idx = layer.bias_index
            if not idx:
                continue
            value, present = combine(chunk.grad[:, idx])
            speeds.append((layer.name, value, present))
        if not speeds:
            return
        _, last, last_present = speeds[-1]
        for name, value, present in speeds:
            yield name, "speed", value, present
        with np.errstate(divide="ignore", invalid="ignore"):
            for name, value, present in speeds:
                yield name, "relative_speed", value / last, present & last_present
