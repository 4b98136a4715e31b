"""gradprobe: see, measure and fix vanishing and exploding gradients.

The laboratory (Nielsen's chapter-5 networks, many seeds at once), the probe (per-layer
learning speed for any PyTorch model) and reports.
"""

from __future__ import annotations

__version__ = "0.1.0"

# Sub-packages a user reaches by name: gradprobe.theory, gradprobe.report, gradprobe.experiments.
from . import experiments, report, theory
from .backprop import Gradients, backprop, feedforward
from .costs import Cost, get_cost
from .data import MNIST, Split, load_bundled, load_mnist
from .errors import ConfigError, DataError, GradprobeError, NonFiniteError
from .nets import NetConfig, Network, load_network, save_network
from .probe import Finding, Probe, load_history, save_history, watch, what_if
from .speed import LearningSpeed, learning_speed
from .train import Callback, TrainConfig, Trainer, TrainResult, TrainState, train

__all__ = [
    "MNIST",
    "Callback",
    "ConfigError",
    "Cost",
    "DataError",
    "Finding",
    "Gradients",
    "GradprobeError",
    "LearningSpeed",
    "NetConfig",
    "Network",
    "NonFiniteError",
    "Probe",
    "Split",
    "TrainConfig",
    "TrainResult",
    "TrainState",
    "Trainer",
    "__version__",
    "backprop",
    "experiments",
    "feedforward",
    "get_cost",
    "learning_speed",
    "load_bundled",
    "load_history",
    "load_mnist",
    "load_network",
    "report",
    "save_history",
    "save_network",
    "theory",
    "train",
    "watch",
    "what_if",
]
