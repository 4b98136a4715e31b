"""The probe's quantities, one per file (see :mod:`.base` for how to write one).

:data:`DEFAULT_QUANTITIES` is the list a probe computes unless told otherwise — data, not
code: pass ``gradprobe.watch(model, quantities=DEFAULT_QUANTITIES + (MyQuantity(),))`` to add
one, or a shorter tuple to compute less.
"""

from __future__ import annotations

from gradprobe.probe.quantities.base import (
    READS,
    SENTINEL,
    Chunk,
    Context,
    NonFiniteEvent,
    OutputBlock,
    OutputQuantity,
    Quantity,
    Series,
    Site,
    combine,
)
from gradprobe.probe.quantities.bias_speed import BiasSpeed, layer_speed
from gradprobe.probe.quantities.clipping import Clipping
from gradprobe.probe.quantities.dead_relu import DeadReLU
from gradprobe.probe.quantities.grad_norm import GradNorm
from gradprobe.probe.quantities.nonfinite import PLACES, NonFinite
from gradprobe.probe.quantities.param_norm import ParamNorm
from gradprobe.probe.quantities.saturation import Saturation, TanhSaturation
from gradprobe.probe.quantities.through_time import ThroughTime
from gradprobe.probe.quantities.update_ratio import UpdateRatio

#: What ``gradprobe.watch`` computes by default, in this order.
DEFAULT_QUANTITIES: tuple[Quantity, ...] = (
    GradNorm(),
    BiasSpeed(),
    ParamNorm(),
    UpdateRatio(),
    Saturation(),
    TanhSaturation(),
    DeadReLU(),
    NonFinite(),
    Clipping(),
    ThroughTime(),
)

__all__ = [
    "DEFAULT_QUANTITIES",
    "PLACES",
    "READS",
    "SENTINEL",
    "BiasSpeed",
    "Chunk",
    "Clipping",
    "Context",
    "DeadReLU",
    "GradNorm",
    "NonFinite",
    "NonFiniteEvent",
    "OutputBlock",
    "OutputQuantity",
    "ParamNorm",
    "Quantity",
    "Saturation",
    "Series",
    "Site",
    "TanhSaturation",
    "ThroughTime",
    "UpdateRatio",
    "combine",
    "layer_speed",
]
