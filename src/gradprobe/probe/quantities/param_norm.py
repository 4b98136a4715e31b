"""Parameter norms ‖wˡ‖ (all parameter tensors of a layer together)."""

from __future__ import annotations

from collections.abc import Iterator

from gradprobe.probe.quantities.base import Chunk, Context, Quantity, Series, combine


class ParamNorm(Quantity):
    """Column ``param_norm`` = √Σ‖θ‖² over the layer's parameters (frozen ones included),
    at detail steps."""

    name = "param_norm"
    reads = ("parameter",)
    columns = ("param_norm",)

    def series(self, chunk: Chunk, ctx: Context) -> Iterator[Series]:
        for layer in ctx.layers:
            value, present = combine(chunk.param[:, layer.param_index])
            yield layer.name, "param_norm", value, present
