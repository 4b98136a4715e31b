"""The tiny base classes of the probe's quantities.

The probe's hot path (``Probe.step``) only fills one row of raw, per-parameter numbers on the
device: ‖∂C/∂θ‖, ‖θ‖ and ‖Δθ‖ for every parameter tensor θ, plus the summed activation
statistics of the forward hooks. Everything else (layer norms, the learning speed ‖∂C/∂bˡ‖,
ratios, fractions) is derived on the host, a chunk of steps at a time, by the
:class:`Quantity` subclasses in this package: one quantity per file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from gradprobe.probe.layers import LayerInfo

#: Marks "not measured in this step" in the raw buffer (every raw number is a norm ≥ 0, so a
#: negative value cannot be confused with a measurement; NaN/Inf stay what they are).
SENTINEL = -1.0


@dataclass
class Chunk:
    """Raw numbers of ``n`` recorded steps, on the host.

    Shapes: ``steps`` [n]; ``grad``, ``param``, ``delta`` [n, P] (P parameter tensors, in the
    probe's flat order); ``act`` [n, A, 2] and ``act_n`` [n, A] (A watched activation modules);
    ``clip_before`` and ``clip_max`` [n].
    """

    steps: np.ndarray
    grad: np.ndarray  # ‖∂C/∂θ‖ per parameter tensor, SENTINEL when θ had no gradient
    param: np.ndarray  # ‖θ‖
    delta: np.ndarray  # ‖θ_t − θ_{t−1}‖, SENTINEL when there is no previous snapshot
    act: np.ndarray  # summed activation statistics (two per module, meaning set by the module)
    act_n: np.ndarray  # how many elements / units the statistics were summed over
    clip_before: np.ndarray  # total gradient norm before clipping, SENTINEL when not clipped
    clip_max: np.ndarray  # the clipping threshold, NaN when unknown

    @property
    def n(self) -> int:
        return int(self.steps.shape[0])


@dataclass
class Context:
    """What the quantities know about the model: layers in forward order, activations."""

    layers: list[LayerInfo]
    activations: list[tuple[str, str]]  # (module path, quantity kind: "sigmoid"|"tanh"|"relu")


#: One output series: layer name, quantity name, values [n], mask [n] (rows to keep).
Series = tuple[str, str, np.ndarray, np.ndarray]


def combine(norms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """√(Σ‖·‖²) over the last axis of ``norms`` [n, k], ignoring SENTINEL entries.

    Returns (values [n], present [n]); NaN and Inf propagate (a non-finite part makes the
    whole non-finite), which is what the NaN rules need.
    """
    missing = norms == SENTINEL
    sq = np.where(missing, 0.0, norms.astype(np.float64) ** 2)
    present = ~missing.all(axis=1) if norms.shape[1] else np.zeros(norms.shape[0], dtype=bool)
    return np.sqrt(sq.sum(axis=1)), present


class Quantity:
    """A per-layer quantity derived from a :class:`Chunk`."""

    name: ClassVar[str]

    def series(self, chunk: Chunk, ctx: Context) -> Iterator[Series]:
        raise NotImplementedError


class ActivationQuantity(Quantity):
    """A quantity read from an activation module's output aˡ by a forward hook.

    ``measure(a)`` runs inside the hook and must not synchronise with the device: it returns
    two summed statistics as 0-d tensors (their meaning is the subclass's) and, on the host,
    the count they were summed over. Keep it to a handful of kernels: it runs on every
    recorded forward pass.
    """

    kind: ClassVar[str]
    module_types: ClassVar[tuple[type[torch.nn.Module], ...]]

    def measure(self, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, int]:
        raise NotImplementedError
