"""Optional integrations of the probe with training frameworks (the ``integrations`` extra).

Nothing here imports a framework until it is used, so ``import gradprobe`` never needs
Lightning, transformers or TensorBoard:

* :class:`GradprobeCallback` — a Lightning callback (``lightning.pytorch``);
* :class:`GradprobeTrainerCallback` — a Hugging Face ``transformers.TrainerCallback``;
* :class:`TensorBoardSink` — a probe sink writing ``gradprobe/<quantity>/<layer>`` scalars;
* CSV/Parquet/JSON export is :meth:`gradprobe.probe.Probe.save` /
  :func:`gradprobe.probe.save_history` (chosen by suffix).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gradprobe.probe.integrations.huggingface import GradprobeTrainerCallback
    from gradprobe.probe.integrations.lightning import GradprobeCallback
    from gradprobe.probe.integrations.tensorboard import TensorBoardSink

__all__ = ["GradprobeCallback", "GradprobeTrainerCallback", "TensorBoardSink", "scalar_tags"]

_WHERE = {
    "GradprobeCallback": "lightning",
    "GradprobeTrainerCallback": "huggingface",
    "TensorBoardSink": "tensorboard",
}


def scalar_tags(
    records: dict[str, dict[str, float]],
    quantities: tuple[str, ...] | None = None,
    prefix: str = "gradprobe",
) -> dict[str, float]:
    """Flatten one step's ``{layer: {quantity: value}}`` into ``{"<prefix>/<quantity>/<layer>":
    value}``, keeping only ``quantities`` when given (a quantity such as ``grad_norm`` also
    selects its per-parameter ``grad_norm.<param>`` entries)."""
    out: dict[str, float] = {}
    for layer, values in records.items():
        for quantity, value in values.items():
            if quantities is not None and quantity.split(".", 1)[0] not in quantities:
                continue
            out[f"{prefix}/{quantity}/{layer}"] = float(value)
    return out


def __getattr__(name: str) -> Any:
    # lazy: the submodule (and its framework) is imported on first access only
    if name in _WHERE:
        from importlib import import_module

        return getattr(import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
