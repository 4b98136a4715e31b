"""Gradient norms: ‖∂C/∂θ‖ of each parameter tensor, of each layer, of the whole model."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from gradprobe.probe.layers import MODEL_NAME
from gradprobe.probe.quantities.base import SENTINEL, Chunk, Context, Quantity, Series, combine


class GradNorm(Quantity):
    """Columns ``grad_norm`` (layer: √Σ over its parameters of ‖∂C/∂θ‖²), ``grad_norm.<param>``
    (each parameter tensor, when the layer has more than one), ``grad_rms`` (the layer's
    gradient norm divided by √(number of its entries), comparable across layer shapes) and the
    model-wide ``grad_norm`` under layer ``"(model)"``. These are the gradients as
    ``probe.step()`` sees them — after any clipping; see ``Clipping`` for the norm before.
    """

    name = "grad_norm"
    reads = ("gradient",)
    columns = ("grad_norm", "grad_norm.<param>", "grad_rms")

    def series(self, chunk: Chunk, ctx: Context) -> Iterator[Series]:
        for layer in ctx.layers:
            g = chunk.grad[:, layer.param_index]
            value, present = combine(g)
            yield layer.name, "grad_norm", value, present
            if len(layer.param_index) > 1:
                for j, pname in enumerate(layer.param_names):
                    yield layer.name, f"grad_norm.{pname}", g[:, j], g[:, j] != SENTINEL
            numel = np.array(layer.numel, dtype=np.float64)
            counted = np.where(g == SENTINEL, 0.0, numel[None, :]).sum(axis=1)
            rms = value / np.sqrt(np.maximum(counted, 1.0))
            yield layer.name, "grad_rms", rms, present
        idx = sorted(i for layer in ctx.layers for i in layer.param_index)
        total, present = combine(chunk.grad[:, idx])
        yield MODEL_NAME, "grad_norm", total, present
