"""The probe: per-layer learning speed ‖∂C/∂bˡ‖, saturation, dead units, the exact origin of
a NaN/Inf and a diagnosis for any PyTorch model (see :func:`watch`).

Parts: :mod:`.layers` (what a layer is), :mod:`.recorder` (hooks, device buffers),
:mod:`.quantities` (one file each; the list is data), :mod:`.origin` (NaN/Inf producer),
:mod:`.history` (in-memory store, files), :mod:`.integrations` (sinks for TensorBoard,
Lightning, Hugging Face), :mod:`.diagnose` and :mod:`.what_if` (analysis).
"""

from __future__ import annotations

from gradprobe.probe.diagnose import Finding, diagnose
from gradprobe.probe.history import load_history, save_history
from gradprobe.probe.quantities import DEFAULT_QUANTITIES, OutputQuantity, Quantity
from gradprobe.probe.watch import Probe, Sink, watch
from gradprobe.probe.what_if import CHANGES, what_if

__all__ = [
    "CHANGES",
    "DEFAULT_QUANTITIES",
    "Finding",
    "OutputQuantity",
    "Probe",
    "Quantity",
    "Sink",
    "diagnose",
    "load_history",
    "save_history",
    "watch",
    "what_if",
]
