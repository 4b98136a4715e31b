"""Saturation of sigmoid and tanh units: how many have σ′(zˡ) ≈ 0 (Nielsen, ch. 5)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from gradprobe.probe.fastnorm import loaded
from gradprobe.probe.quantities.base import Chunk, Context, OutputQuantity, Series

#: A unit is saturated when σ′(z) is below this fraction of σ′'s maximum.
SATURATION_THRESHOLD = 0.01
_BIG = 2.0**100


class Saturation(OutputQuantity):
    """Columns (on the layer feeding the activation) ``saturation`` — the fraction of outputs
    aˡ = σ(zˡ) in the batch whose σ′(zˡ) is below 1 % of its maximum (σ′ = a(1−a) ≤ ¼ for the
    sigmoid) — ``mean_dsigma`` (mean σ′(zˡ)) and ``mean_abs_activation`` (mean |aˡ|, which
    ``diagnose`` follows through depth to flag growing activations). σ′ is computed from aˡ,
    so no pre-activation zˡ needs to be kept.

    Cost (detail steps only): seven light ops on one scratch tensor — σ′ in one fused op, Σσ′,
    the saturated count as a sum of 0/1 values, Σ|aˡ| — and no boolean tensor (a comparison
    kernel plus ``count_nonzero`` cost ~3× as much on the CPU). A non-finite aˡ makes that
    call's saturation NaN (as its mean σ′ already is).
    """

    name = "saturation"
    kind = "sigmoid"
    columns = ("saturation", "mean_dsigma", "mean_abs_activation")
    width = 3
    module_types: ClassVar[tuple[type[nn.Module], ...]] = (nn.Sigmoid,)
    maximum: ClassVar[float] = 0.25
    #: cached 0-d constants, shared by every instance (keyed by value, dtype and device)
    _consts: ClassVar[dict[tuple[float, torch.dtype, torch.device], torch.Tensor]] = {}
    #: :meth:`_kernel_kind`, found at the first call
    _kind: int | None = None

    def selects(self, name: str, module: nn.Module) -> bool:
        return type(module) in self.module_types  # tanh is not a sigmoid

    def derivative(self, a: torch.Tensor) -> torch.Tensor:
        """σ′(z) from a = σ(z): a(1 − a) = a − a·a (one fused op). Shape as ``a``."""
        return torch.addcmul(a, a, a, value=-1)

    def _const(self, value: float, like: torch.Tensor) -> torch.Tensor:
        """A cached 0-d tensor ``value`` of ``like``'s dtype and device."""
        key = (value, like.dtype, like.device)
        c = self._consts.get(key)
        if c is None:
            c = self._consts[key] = torch.tensor(value, dtype=like.dtype, device=like.device)
        return c

    def _kernel_kind(self) -> int:
        """1 (tanh) or 0 (sigmoid) when the compiled pass computes this class's σ′ (not
        for a subclass with its own :meth:`derivative`), −1 otherwise."""
        d = type(self).derivative
        return 1 if d is TanhSaturation.derivative else 0 if d is Saturation.derivative else -1

    def measure(self, out: torch.Tensor) -> tuple[torch.Tensor | np.ndarray, int]:
        """``[#saturated, Σσ′, Σ|a|]`` over the call's output, count = its number of units.

        A contiguous float32 CPU output, once the compiled kernels are loaded: one compiled pass
        (:func:`gradprobe.probe._kernels.saturation_f32`, float64 sums; ≈ 7 µs for
        128 × 256 units against ≈ 30–70 µs for the seven torch ops below), returned as a
        float64 numpy array [3] (host values: the recorder adds them up on the host)."""
        if out.dtype is torch.float32 and out.is_cpu and out.is_contiguous():
            kern = loaded()  # once a probe has loaded them (see fastnorm.COMPILED_AFTER_STEPS)
            kind = self._kind
            if kind is None:
                kind = self._kind = self._kernel_kind()
            if kern is not None and kind >= 0:
                n = out.numel()
                v = kern.saturation_f32(
                    out.data_ptr(), n, kind == 1, SATURATION_THRESHOLD * self.maximum
                )
                return np.array(v, dtype=np.float64), n
        a = out.detach()
        if not a.is_floating_point() or a.dtype in (torch.float16, torch.bfloat16):
            a = a.float()
        ds = self.derivative(a)
        dsum = ds.sum()
        # one scratch tensor, reused in place: σ′ itself when it is a fresh tensor
        fresh = ds._base is None and ds.shape == a.shape and ds.dtype == a.dtype
        work = ds if fresh and ds.data_ptr() != a.data_ptr() else torch.empty_like(a)
        # σ′ < t  ⇔  2¹⁰⁰·t − 2¹⁰⁰·σ′ > 0, exactly (a power-of-two scale is exact and the
        # sign of a rounded difference is the sign of the exact one); every positive
        # difference is ≥ 2¹⁰⁰·ulp(t) ≫ 1, so clamping to [0, 1] gives 1 for a saturated unit
        # and 0 otherwise, and the sum counts them
        limit = self._const(_BIG * SATURATION_THRESHOLD * self.maximum, a)
        torch.add(limit, ds, alpha=-_BIG, out=work)
        saturated = work.clamp_(0.0, 1.0).sum()
        torch.abs(a, out=work)
        return torch.stack([saturated, dsum, work.sum()]), int(a.numel())

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
        """σ′ = 1 − a·a (one fused op)."""
        return torch.addcmul(self._const(1.0, a), a, a, value=-1)
