"""The probe: per-layer learning speed ‖∂C/∂bˡ‖, saturation, dead units, NaN origin and a
diagnosis for any PyTorch model (see :func:`watch`)."""

from __future__ import annotations

from gradprobe.probe.diagnose import Finding, diagnose
from gradprobe.probe.history import load_history, save_history
from gradprobe.probe.watch import Probe, Sink, watch
from gradprobe.probe.what_if import CHANGES, what_if

__all__ = [
    "CHANGES",
    "Finding",
    "Probe",
    "Sink",
    "diagnose",
    "load_history",
    "save_history",
    "watch",
    "what_if",
]
