"""Gradient clipping, told truthfully: the total gradient norm before and after clipping."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from gradprobe.probe.layers import MODEL_NAME
from gradprobe.probe.quantities.base import SENTINEL, Chunk, Context, Quantity, Series, combine


class Clipping(Quantity):
    """Columns under layer ``"(model)"``, at every step where the norm before clipping is
    known — read by the probe's post-accumulate-grad hooks before any clipping
    (``watch(..., preclip=True)``), or reported by :meth:`Probe.clip_grad_norm_` /
    :meth:`Probe.record_clip`:

    - ``grad_norm_preclip``: ‖∂C/∂θ‖ over all parameters before clipping;
    - ``grad_norm_postclip``: the same norm as ``probe.step()`` sees it (after clipping);
    - ``clipped``: 1 when clipping changed the gradients (pre-clip > max_norm when the
      threshold is known, otherwise post-clip < pre-clip by more than 0.1 %), else 0.

    The fraction of steps clipped is the mean of ``clipped`` (see ``diagnose``); the growth
    rule of ``diagnose`` reads ``grad_norm_preclip`` when present.
    """

    name = "clipping"
    reads = ("gradient", "clip")
    columns = ("grad_norm_preclip", "grad_norm_postclip", "clipped")

    def series(self, chunk: Chunk, ctx: Context) -> Iterator[Series]:
        present = chunk.clip_before != SENTINEL
        if not present.any():
            return
        idx = sorted(i for layer in ctx.layers for i in layer.param_index)
        after, _ = combine(chunk.grad[:, idx])
        before = chunk.clip_before
        with np.errstate(invalid="ignore"):
            clipped = np.where(
                np.isnan(chunk.clip_max), after < before * (1 - 1e-3), before > chunk.clip_max
            ).astype(np.float64)
        yield MODEL_NAME, "grad_norm_preclip", before, present
        yield MODEL_NAME, "grad_norm_postclip", after, present
        yield MODEL_NAME, "clipped", clipped, present
