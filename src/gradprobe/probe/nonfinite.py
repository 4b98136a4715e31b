"""Where a NaN or ±Inf gradient was *born* in backward.

Backpropagation computes δˡ from δˡ⁺¹ (δˡ = ((wˡ⁺¹)ᵀ δˡ⁺¹) ⊙ σ′(zˡ)), so a non-finite value
born in layer k spreads to every layer that backward visits after k — the layers *before* k
in forward order — but not to the layers after it. The origin is therefore the non-finite
layer that backward visits first: the last one in forward order (the probe records the
forward order of the layers in the first forward pass; backward runs it in reverse). This
costs nothing in the hot path: the per-parameter gradient norms the probe computes anyway are
non-finite exactly when a gradient entry is, and the rule runs on the host when the numbers
are fetched, naming the step they belong to.

For a non-sequential graph (parallel branches) the rule names the last non-finite layer in
forward order, which is the origin whenever the branch it sits on is the one that produced
the value.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from gradprobe.probe.quantities.base import SENTINEL, Chunk, Context, Quantity, Series


def nonfinite_layers(chunk: Chunk, ctx: Context) -> np.ndarray:
    """Boolean [n, L]: layer l had a NaN/Inf in some parameter gradient at that step."""
    out = np.zeros((chunk.n, len(ctx.layers)), dtype=bool)
    for j, layer in enumerate(ctx.layers):
        g = chunk.grad[:, layer.param_index]
        out[:, j] = (~np.isfinite(g) & (g != SENTINEL)).any(axis=1)
    return out


def origin_index(bad: np.ndarray) -> np.ndarray:
    """For each step (row of ``bad`` [n, L], layers in forward order) the index of the origin
    layer (the last non-finite one in forward order), or −1 when the step is finite."""
    n, L = bad.shape
    if L == 0:
        return np.full(n, -1)
    last = L - 1 - np.argmax(bad[:, ::-1], axis=1)
    return np.where(bad.any(axis=1), last, -1)


class NonFinite(Quantity):
    """Rows ``nonfinite`` = 1 for every layer with a NaN/Inf gradient in a step, and
    ``nonfinite_origin`` = 1 for the layer where it was born (see the module docstring).
    Steps without a non-finite gradient produce no rows."""

    name = "nonfinite"

    def series(self, chunk: Chunk, ctx: Context) -> Iterator[Series]:
        bad = nonfinite_layers(chunk, ctx)
        if not bad.any():
            return
        origin = origin_index(bad)
        ones = np.ones(chunk.n)
        for j, layer in enumerate(ctx.layers):
            if bad[:, j].any():
                yield layer.name, "nonfinite", ones, bad[:, j]
                yield layer.name, "nonfinite_origin", ones, origin == j
