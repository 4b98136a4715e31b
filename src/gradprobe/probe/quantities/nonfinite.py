"""Where a NaN or ±Inf was *produced*, and which layers only propagated it.

The exact origin is found by :mod:`gradprobe.probe.origin` in the step it happens (a
:class:`~gradprobe.probe.quantities.base.NonFiniteEvent`: forward, backward, parameter,
buffer, update or loss). When no event is available (``nan_check="deferred"`` on an
accelerator, where the probe does not synchronise per step) the origin falls back to the
gradient rule: backpropagation computes δˡ from δˡ⁺¹, so a value born in layer k's backward
spreads to the layers *before* k in forward order; the producer is the last non-finite layer
in forward order (place ``"gradients"``).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from gradprobe.probe.quantities.base import SENTINEL, Chunk, Context, Quantity, Series

#: ``nonfinite_origin`` values: the index of the place in this tuple.
PLACES = ("gradients", "forward", "backward", "parameter", "buffer", "update", "loss", "input")


def nonfinite_layers(chunk: Chunk, ctx: Context) -> np.ndarray:
    """Boolean [n, L]: layer l had a NaN/Inf in some parameter gradient at that step."""
    out = np.zeros((chunk.n, len(ctx.layers)), dtype=bool)
    for j, layer in enumerate(ctx.layers):
        g = chunk.grad[:, layer.param_index]
        out[:, j] = (~np.isfinite(g) & (g != SENTINEL)).any(axis=1)
    return out


def origin_index(bad: np.ndarray) -> np.ndarray:
    """For each step (row of ``bad`` [n, L], layers in forward order) the index of the last
    non-finite layer in forward order (the gradient rule), or −1 when the step is finite."""
    n, L = bad.shape
    if L == 0:
        return np.full(n, -1)
    last = L - 1 - np.argmax(bad[:, ::-1], axis=1)
    return np.where(bad.any(axis=1), last, -1)


class NonFinite(Quantity):
    """Columns ``nonfinite`` = 1 for every layer with a NaN/Inf gradient in a step (the
    producer and the propagators), and ``nonfinite_origin`` on the producer only, whose value
    is the index of its place in :data:`PLACES` (1 forward, 2 backward, 3 parameter, 4 buffer,
    5 update, 6 loss, 7 input; 0 = inferred from the gradients only). A parameter whose norm
    is non-finite at a detail step is named (``parameter``) even when the gradients stay
    finite (an Inf weight behind a saturating tanh, say). Steps without a non-finite value
    produce no rows."""

    name = "nonfinite"
    reads = ("gradient", "events")
    columns = ("nonfinite", "nonfinite_origin")

    def series(self, chunk: Chunk, ctx: Context) -> Iterator[Series]:
        bad = nonfinite_layers(chunk, ctx)
        pbad = np.zeros_like(bad)  # a parameter norm (detail steps) that is NaN/Inf
        for j, layer in enumerate(ctx.layers):
            w = chunk.param[:, layer.param_index]
            pbad[:, j] = (~np.isfinite(w)).any(axis=1)
        if not bad.any() and not pbad.any() and not chunk.events:
            return
        rule = origin_index(bad)
        ones = np.ones(chunk.n)
        for j, layer in enumerate(ctx.layers):
            if bad[:, j].any():
                yield layer.name, "nonfinite", ones, bad[:, j]
        origin: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for i in range(chunk.n):
            ev = chunk.events.get(int(chunk.steps[i]))
            if ev is not None:
                name, place = ev.layer, PLACES.index(ev.place)
            elif rule[i] >= 0:
                name, place = ctx.layers[int(rule[i])].name, 0
            elif pbad[i].any():  # finite gradients, but a parameter holds NaN/Inf
                name, place = ctx.layers[int(np.argmax(pbad[i]))].name, PLACES.index("parameter")
            else:
                continue
            vals, mask = origin.setdefault(name, (np.zeros(chunk.n), np.zeros(chunk.n, bool)))
            vals[i], mask[i] = place, True
        for name, (vals, mask) in origin.items():
            yield name, "nonfinite_origin", vals, mask
