"""Dead ReLU units: units whose output is 0 for every example of the batch."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from gradprobe.probe.quantities.base import Chunk, Context, OutputQuantity, Series


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


class DeadReLU(OutputQuantity):
    """Column ``dead_fraction`` (on the layer feeding the ReLU): the fraction of units whose
    output is 0 — hence σ′(zˡ) = 0, δˡ = 0 and ∂C/∂bˡ = 0 for them — for every example of the
    batch. Each call site of a shared ``nn.ReLU`` module is counted for its own layer."""

    name = "dead_fraction"
    kind = "relu"
    columns = ("dead_fraction",)
    width = 1
    module_types: ClassVar[tuple[type[nn.Module], ...]] = (nn.ReLU,)

    def measure(self, out: torch.Tensor) -> tuple[torch.Tensor, int]:
        """Statistic: the number of *alive* units (non-zero for some example). A ReLU output
        is ≥ 0, so the sum over the batch is > 0 exactly when the max is (NaN and Inf count
        as alive), and a sum is the cheaper reduction."""
        a = out.detach()
        keep = unit_dims(a)
        reduce = tuple(d for d in range(a.dim()) if d not in keep)
        total = a.sum(dim=reduce) if reduce else a
        return torch.count_nonzero(total).reshape(1), int(total.numel())

    def series(self, chunk: Chunk, ctx: Context) -> Iterator[Series]:
        for layer, sums, counts in self.per_layer(chunk, ctx):
            n = counts.astype(np.float64)
            yield layer, "dead_fraction", (n - sums[:, 0]) / np.maximum(n, 1.0), n > 0
