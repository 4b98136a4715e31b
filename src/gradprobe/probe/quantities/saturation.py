"""Saturation of sigmoid and tanh units: how many have σ′(zˡ) ≈ 0 (Nielsen, ch. 5)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from gradprobe.probe.quantities.base import Chunk, Context, OutputQuantity, Series

#: A unit is saturated when σ′(z) is below this fraction of σ′'s maximum.
SATURATION_THRESHOLD = 0.01


class Saturation(OutputQuantity):
    """Columns (on the layer feeding the activation) ``saturation`` — the fraction of outputs
    aˡ = σ(zˡ) in the batch whose σ′(zˡ) is below 1 % of its maximum (σ′ = a(1−a) ≤ ¼ for the
    sigmoid) — ``mean_dsigma`` (mean σ′(zˡ)) and ``mean_abs_activation`` (mean |aˡ|, which
    ``diagnose`` follows through depth to flag growing activations). σ′ is computed from aˡ,
    so no pre-activation zˡ needs to be kept.
    """

    name = "saturation"
    kind = "sigmoid"
    columns = ("saturation", "mean_dsigma", "mean_abs_activation")
    width = 3
    module_types: ClassVar[tuple[type[nn.Module], ...]] = (nn.Sigmoid,)
    maximum: ClassVar[float] = 0.25

    def selects(self, name: str, module: nn.Module) -> bool:
        return type(module) in self.module_types  # tanh is not a sigmoid

    def derivative(self, a: torch.Tensor) -> torch.Tensor:
        """σ′(z) from a = σ(z): a(1 − a) = a − a². Shape as ``a``."""
        return a - a * a

    def measure(self, out: torch.Tensor) -> tuple[torch.Tensor, int]:
        a = out.detach()
        if not a.is_floating_point() or a.dtype in (torch.float16, torch.bfloat16):
            a = a.float()
        ds = self.derivative(a)
        saturated = torch.count_nonzero(ds < SATURATION_THRESHOLD * self.maximum).to(a.dtype)
        return torch.stack([saturated, ds.sum(), a.abs().sum()]), int(a.numel())

    def series(self, chunk: Chunk, ctx: Context) -> Iterator[Series]:
        for layer, sums, counts in self.per_layer(chunk, ctx):
            present = counts > 0
            safe = np.maximum(counts, 1).astype(np.float64)
            yield layer, "saturation", sums[:, 0] / safe, present
            yield layer, "mean_dsigma", sums[:, 1] / safe, present
            yield layer, "mean_abs_activation", sums[:, 2] / safe, present


class TanhSaturation(Saturation):
    """The tanh version of :class:`Saturation`: σ′ = 1 − a², maximum 1."""

    name = "tanh_saturation"
    kind = "tanh"
    module_types: ClassVar[tuple[type[nn.Module], ...]] = (nn.Tanh,)
    maximum: ClassVar[float] = 1.0

    def derivative(self, a: torch.Tensor) -> torch.Tensor:
        return 1 - a * a
