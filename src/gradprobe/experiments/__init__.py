"""The experiments, one file each, found by name in `REGISTRY` (see `base`).

Each experiment module registers itself (``@register``) when imported; `load_all` imports every
module of this package whose name does not start with an underscore.
"""

from __future__ import annotations

import importlib
import pkgutil

from .base import (
    REGISTRY,
    Experiment,
    RunContext,
    config_hash,
    get_experiment,
    ordered_names,
    register,
    with_fields,
)


def load_all() -> None:
    """Import every experiment module so that its ``@register`` runs."""
    for m in pkgutil.iter_modules(__path__):
        if not m.name.startswith("_") and m.name != "base":
            importlib.import_module(f"{__name__}.{m.name}")


def available() -> list[str]:
    """Names of the experiments, in report order."""
    load_all()
    return ordered_names()


__all__ = [
    "REGISTRY",
    "Experiment",
    "RunContext",
    "available",
    "config_hash",
    "get_experiment",
    "load_all",
    "ordered_names",
    "register",
    "with_fields",
]
