"""The probe's quantities, one per file (see :mod:`.base`)."""

from __future__ import annotations

from gradprobe.probe.quantities.base import ActivationQuantity, Chunk, Context, Quantity
from gradprobe.probe.quantities.bias_speed import BiasSpeed
from gradprobe.probe.quantities.dead_relu import DeadReLU
from gradprobe.probe.quantities.grad_norm import GradNorm
from gradprobe.probe.quantities.param_norm import ParamNorm
from gradprobe.probe.quantities.saturation import Saturation, TanhSaturation
from gradprobe.probe.quantities.update_ratio import UpdateRatio

#: The activation quantities, tried in order on every module (first match wins).
ACTIVATION_QUANTITIES: tuple[ActivationQuantity, ...] = (Saturation(), TanhSaturation(), DeadReLU())

__all__ = [
    "ACTIVATION_QUANTITIES",
    "ActivationQuantity",
    "BiasSpeed",
    "Chunk",
    "Context",
    "DeadReLU",
    "GradNorm",
    "ParamNorm",
    "Quantity",
    "Saturation",
    "TanhSaturation",
    "UpdateRatio",
]
