"""The book's experiments, one file each, found by name in `REGISTRY` (see `base`)."""

from __future__ import annotations

import importlib
import pkgutil

from .base import (
    ORDER,
    REGISTRY,
    Comparison,
    Experiment,
    ExperimentResult,
    Figure,
    Table,
    get_experiment,
)


def _load_all() -> None:
    """Import every experiment module so that its ``@register`` runs."""
    for m in pkgutil.iter_modules(__path__):
        if not m.name.startswith("_") and m.name != "base":
            importlib.import_module(f"{__name__}.{m.name}")


def available() -> list[str]:
    """Names of the experiments, in the book's order."""
    _load_all()
    return [n for n in ORDER if n in REGISTRY]


__all__ = [
    "ORDER",
    "REGISTRY",
    "Comparison",
    "Experiment",
    "ExperimentResult",
    "Figure",
    "Table",
    "available",
    "get_experiment",
]
