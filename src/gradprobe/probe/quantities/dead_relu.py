"""Dead ReLU units: units whose output is 0 for every example of the batch."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from gradprobe.probe.quantities.base import ActivationQuantity, Chunk, Context, Series


def unit_dims(a: torch.Tensor) -> tuple[int, ...]:
    """The dimensions that index *units* of an activation tensor; the others are reduced.

    A unit is a feature (last dimension) for outputs of up to three dimensions — [B, F],
    [S, B, F] of the book's nets, [B, T, F] of a transformer — and a channel (dimension 1)
    for convolutional outputs [B, C, H, W] / [B, C, D, H, W].
    """
    if a.dim() <= 1:
        return (0,)
    if a.dim() <= 3:
        return (a.dim() - 1,)
    return (1,)


class DeadReLU(ActivationQuantity):
    """Rows ``dead_fraction``: the fraction of ReLU units whose output is 0 (hence whose
    σ′(zˡ) = 0, so δˡ = 0 and ∂C/∂bˡ = 0) for every example in the batch.
    """

    name = "dead_fraction"
    kind = "relu"
    module_types: ClassVar[tuple[type[nn.Module], ...]] = (nn.ReLU,)

    def measure(self, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, int]:
        """Statistic 0: the number of *alive* units (non-zero for some example of the batch);
        statistic 1 repeats it (unused). A ReLU output is ≥ 0, so the sum over the batch is
        > 0 exactly when the max is (NaN and Inf count as alive either way), and a sum is a
        cheaper reduction than a max (about half the time for convolutional outputs)."""
        a = a.detach()
        keep = unit_dims(a)
        reduce = tuple(d for d in range(a.dim()) if d not in keep)
        total = a.sum(dim=reduce) if reduce else a
        alive = torch.count_nonzero(total)
        return alive, alive, int(total.numel())

    def series(self, chunk: Chunk, ctx: Context) -> Iterator[Series]:
        for j, (name, kind) in enumerate(ctx.activations):
            if kind != self.kind:
                continue
            n = chunk.act_n[:, j].astype(np.float64)
            dead = (n - chunk.act[:, j, 0]) / np.maximum(n, 1.0)
            yield name, "dead_fraction", dead, n > 0
