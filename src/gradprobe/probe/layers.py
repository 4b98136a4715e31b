"""Which modules are *layers*, which parameters they own, and in which order they run.

A layer is a module that owns parameters directly (``module.parameters(recurse=False)``),
named by its module path: the ``weight`` and ``bias`` of one ``nn.Linear`` form one layer
``"fc1"``. A parameter shared by several modules (tied weights) belongs to the first module
that registers it. The root module, if it owns parameters itself, is named ``"(root)"``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

ROOT_NAME = "(root)"
MODEL_NAME = "(model)"  # the layer name of model-wide rows (total gradient norm, clipping)

#: Activation modules the probe knows how to read (forward hooks on their outputs).
SIGMOID_LIKE: tuple[type[nn.Module], ...] = (nn.Sigmoid, nn.Tanh)
RELU_LIKE: tuple[type[nn.Module], ...] = (nn.ReLU,)
KNOWN_ACTIVATIONS: tuple[type[nn.Module], ...] = (
    nn.Sigmoid,
    nn.Tanh,
    nn.ReLU,
    nn.LeakyReLU,
    nn.GELU,
    nn.ELU,
    nn.SiLU,
    nn.Softplus,
)


@dataclass
class LayerInfo:
    """One layer: its name, its parameters (indices into the probe's flat parameter list)."""

    name: str
    module_type: str
    param_names: list[str] = field(default_factory=list)  # local names: "weight", "bias", …
    param_index: list[int] = field(default_factory=list)  # indices into Probe.params
    numel: list[int] = field(default_factory=list)

    @property
    def bias_index(self) -> list[int]:
        """Indices of the parameters that are biases bˡ (named ``bias`` or ``bias_*``)."""
        return [
            i
            for n, i in zip(self.param_names, self.param_index, strict=True)
            if n == "bias" or n.startswith("bias") or n.endswith("_bias")
        ]


def unwrap(model: nn.Module) -> nn.Module:
    """Return the user's module inside a DDP / DataParallel / ``torch.compile`` wrapper."""
    seen = 0
    while seen < 8:
        seen += 1
        if isinstance(model, nn.parallel.DistributedDataParallel | nn.DataParallel):
            model = model.module
            continue
        orig = getattr(model, "_orig_mod", None)
        if isinstance(orig, nn.Module):
            model = orig
            continue
        break
    return model


def discover_layers(model: nn.Module) -> tuple[list[LayerInfo], list[nn.Parameter]]:
    """Find the layers of ``model`` and the flat, de-duplicated list of their parameters.

    Frozen parameters (``requires_grad=False``) are included: they get a parameter norm but
    no gradient rows. Tied parameters appear once, in the first module that owns them.
    """
    layers: list[LayerInfo] = []
    params: list[nn.Parameter] = []
    seen: set[int] = set()
    for mname, module in model.named_modules():
        info: LayerInfo | None = None
        for pname, p in module.named_parameters(recurse=False):
            if id(p) in seen:
                continue
            seen.add(id(p))
            if info is None:
                info = LayerInfo(mname or ROOT_NAME, type(module).__name__)
            info.param_names.append(pname)
            info.param_index.append(len(params))
            info.numel.append(int(p.numel()))  # global size, also for DTensor shards
            params.append(p)
        if info is not None:
            layers.append(info)
    return layers, params


def activation_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The activation modules whose outputs the probe reads (sigmoid, tanh, ReLU)."""
    return [
        (name or ROOT_NAME, m)
        for name, m in model.named_modules()
        if isinstance(m, SIGMOID_LIKE + RELU_LIKE)
    ]


class ForwardOrder:
    """Records the order in which modules are *called* in the first forward pass.

    Backward runs in the reverse order, which is what the NaN-origin rule needs.
    Installed on construction, removed by :meth:`remove` (the probe removes it after its
    first step).
    """

    def __init__(self, modules: list[tuple[str, nn.Module]]) -> None:
        self.order: list[str] = []
        self._seen: set[str] = set()
        self._handles = [m.register_forward_pre_hook(self._hook(n)) for n, m in modules]

    def _hook(self, name: str) -> Callable[..., None]:
        def hook(module: nn.Module, args: object) -> None:
            if name not in self._seen:
                self._seen.add(name)
                self.order.append(name)

        return hook

    @property
    def hook_ids(self) -> set[int]:
        return {h.id for h in self._handles}

    def remove(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []


def _is_dtensor(t: torch.Tensor) -> bool:
    return type(t).__name__ == "DTensor" or (hasattr(t, "to_local") and hasattr(t, "placements"))


def local(t: torch.Tensor) -> torch.Tensor:
    """The local shard of a DTensor (FSDP2), or the tensor itself."""
    if _is_dtensor(t):
        return t.to_local()  # type: ignore[attr-defined,no-any-return]
    return t


def is_dtensor(t: torch.Tensor) -> bool:
    """True for a ``torch.distributed.tensor.DTensor`` (FSDP2 parameters and gradients)."""
    return _is_dtensor(t)
