"""Saturation of sigmoid and tanh units: how many have σ′(zˡ) ≈ 0 (Nielsen, ch. 5)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from gradprobe.probe.quantities.base import ActivationQuantity, Chunk, Context, Series

#: A unit is saturated when σ′(z) is below this fraction of σ′'s maximum.
SATURATION_THRESHOLD = 0.01


class Saturation(ActivationQuantity):
    """Rows ``saturation`` (fraction of the outputs aˡ = σ(zˡ) in the batch whose σ′(zˡ) is
    below 1 % of its maximum: σ′ = a(1−a) ≤ ¼ for the sigmoid, 1 − a² ≤ 1 for tanh) and
    ``mean_dsigma`` (mean σ′(zˡ) over the batch and units), from the module's output only —
    σ′ is computed from aˡ, so no pre-activation zˡ needs to be kept.
    """

    name = "saturation"
    kind = "sigmoid"
    module_types: ClassVar[tuple[type[nn.Module], ...]] = (nn.Sigmoid,)
    maximum: ClassVar[float] = 0.25

    def derivative(self, a: torch.Tensor) -> torch.Tensor:
        """σ′(z) from a = σ(z): a(1 − a) = a − a². Shape as ``a``."""
        return a - a * a

    def measure(self, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, int]:
        a = a.detach()
        if not a.is_floating_point() or a.dtype in (torch.float16, torch.bfloat16):
            a = a.float()
        ds = self.derivative(a)
        saturated = torch.count_nonzero(ds < SATURATION_THRESHOLD * self.maximum)
        return saturated, ds.sum(), int(a.numel())

    def series(self, chunk: Chunk, ctx: Context) -> Iterator[Series]:
        for j, (name, kind) in enumerate(ctx.activations):
            if kind != self.kind:
                continue
            n = chunk.act_n[:, j].astype(np.float64)
            present = n > 0
            safe = np.maximum(n, 1.0)
            yield name, "saturation", chunk.act[:, j, 0] / safe, present
            yield name, "mean_dsigma", chunk.act[:, j, 1] / safe, present


class TanhSaturation(Saturation):
    """The tanh version of :class:`Saturation`: σ′ = 1 − a², maximum 1."""

    kind = "tanh"
    module_types: ClassVar[tuple[type[nn.Module], ...]] = (nn.Tanh,)
    maximum: ClassVar[float] = 1.0

    def derivative(self, a: torch.Tensor) -> torch.Tensor:
        return 1 - a * a
