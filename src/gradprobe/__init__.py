"""gradprobe: see, measure and fix vanishing and exploding gradients.

The laboratory (Nielsen's chapter-5 networks, many seeds at once), the probe (per-layer
learning speed for any PyTorch model) and reports.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .backprop import Gradients, backprop, feedforward
from .costs import Cost, get_cost
from .errors import ConfigError, DataError, GradprobeError, NonFiniteError
from .nets import NetConfig, Network, load_network, save_network
from .speed import LearningSpeed, learning_speed
from .train import Callback, TrainConfig, Trainer, TrainResult, TrainState, train

__all__ = [
    "Callback",
    "ConfigError",
    "Cost",
    "DataError",
    "Gradients",
    "GradprobeError",
    "LearningSpeed",
    "NetConfig",
    "Network",
    "NonFiniteError",
    "TrainConfig",
    "TrainResult",
    "TrainState",
    "Trainer",
    "__version__",
    "backprop",
    "feedforward",
    "get_cost",
    "learning_speed",
    "load_network",
    "save_network",
    "train",
]
