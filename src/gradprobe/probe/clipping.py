"""Gradient-clipping telemetry: the total gradient norm before and after clipping."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from gradprobe.probe.layers import MODEL_NAME
from gradprobe.probe.quantities.base import SENTINEL, Chunk, Context, Quantity, Series, combine


class Clipping(Quantity):
    """Rows under layer ``"(model)"`` for the steps where clipping was reported
    (:meth:`Probe.clip_grad_norm_` or :meth:`Probe.record_clip`):

    - ``clip_before``: ‖∂C/∂θ‖ over all parameters before clipping,
    - ``clip_after``: the same norm as the probe measured it at ``probe.step()`` (after),
    - ``clipped``: 1 when clipping changed the gradients (before > max_norm when the threshold
      is known, otherwise after < before by more than 0.1 %), else 0.

    The fraction of steps clipped is the mean of ``clipped`` (see ``diagnose``).
    """

    name = "clipping"

    def series(self, chunk: Chunk, ctx: Context) -> Iterator[Series]:
        present = chunk.clip_before != SENTINEL
        if not present.any():
            return
        after, _ = combine(chunk.grad)
        before = chunk.clip_before
        with np.errstate(invalid="ignore"):
            clipped = np.where(
                np.isnan(chunk.clip_max), after < before * (1 - 1e-3), before > chunk.clip_max
            ).astype(np.float64)
        yield MODEL_NAME, "clip_before", before, present
        yield MODEL_NAME, "clip_after", after, present
        yield MODEL_NAME, "clipped", clipped, present
