"""Update-to-parameter ratio ‖Δwˡ‖ / ‖wˡ‖ of each layer."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from gradprobe.probe.quantities.base import Chunk, Context, Quantity, Series, combine


class UpdateRatio(Quantity):
    """Column ``update_ratio`` at step t = ‖w_t − w_{t−1}‖ / ‖w_t‖, where w_t is the layer's
    parameters at ``probe.step()`` number t: the optimiser update applied between the probe's
    steps t−1 and t (detail steps only; absent at the first step: no previous snapshot).
    """

    name = "update_ratio"
    reads = ("parameter", "update")
    columns = ("update_ratio",)

    def series(self, chunk: Chunk, ctx: Context) -> Iterator[Series]:
        for layer in ctx.layers:
            d, present = combine(chunk.delta[:, layer.param_index])
            w, _ = combine(chunk.param[:, layer.param_index])
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = d / w
            yield layer.name, "update_ratio", ratio, present
