"""Which modules are *layers*, which parameters they own, and in which order they run.

A layer is what a user means by one: a module that owns parameters directly
(``module.parameters(recurse=False)``) — ``nn.Linear``, ``nn.Conv2d``, ``nn.Embedding``, a
norm layer — named by its module path, so the ``weight`` and ``bias`` of one ``nn.Linear``
form one layer ``"fc1"``. A recurrent module (``nn.RNN``, ``nn.LSTM``, ``nn.GRU``) gives one
layer per stacked layer and direction: ``"lstm.l0"``, ``"lstm.l0_reverse"``, ``"lstm.l1"``, …
(its parameters ``weight_ih_l1`` etc. are split by their suffix). Activation modules are never
layers; their statistics are attributed to the layer that feeds them (see
:func:`feeding_layers`). A parameter shared by several modules (tied weights) belongs to the
first module that registers it. The root module, if it owns parameters itself, is ``"(root)"``.

Layers can be filtered and grouped by name globs (``fnmatch``): see :func:`select_layers`.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import torch
from torch import nn

from gradprobe.probe.rnn_layers import layer_name

ROOT_NAME = "(root)"
MODEL_NAME = "(model)"  # the layer name of model-wide rows (total gradient norm, clipping)

#: Activation modules the probe knows how to read (forward hooks on their outputs).
SIGMOID_LIKE: tuple[type[nn.Module], ...] = (nn.Sigmoid, nn.Tanh)
RELU_LIKE: tuple[type[nn.Module], ...] = (nn.ReLU,)

_RNN_PARAM = re.compile(r"^(?P<base>.+)_l(?P<layer>\d+)(?P<rev>_reverse)?$")


@dataclass
class LayerInfo:
    """One layer.

    ``name`` is its path (``"encoder.0"``, ``"lstm.l1_reverse"``), ``module`` the path of the
    module that owns its parameters (the same except for recurrent layers), ``param_names``
    the local parameter names (``"weight"``, ``"bias"``, ``"weight_ih_l1"``…),
    ``param_index`` indices into the probe's flat parameter list, ``numel`` their sizes and
    ``fan_in`` the number of inputs of one unit (0 when unknown).
    """

    name: str
    module_type: str
    param_names: list[str] = field(default_factory=list)
    param_index: list[int] = field(default_factory=list)
    numel: list[int] = field(default_factory=list)
    module: str = ""
    fan_in: int = 0

    @property
    def bias_index(self) -> list[int]:
        """Indices of the parameters that are biases bˡ (``bias``, ``bias_*``, ``*_bias``)."""
        out = []
        for n, i in zip(self.param_names, self.param_index, strict=True):
            n = n.rsplit(".", 1)[-1]  # grouped layers: "<layer>.<param>"
            if n == "bias" or n.startswith("bias") or n.endswith("_bias"):
                out.append(i)
        return out

    @property
    def weight_index(self) -> list[int]:
        """Indices of the parameters that are not biases."""
        bias = set(self.bias_index)
        return [i for i in self.param_index if i not in bias]


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


def _fan_in(module: nn.Module, pname: str, p: torch.Tensor) -> int:
    if p.dim() < 2 or isinstance(module, nn.Embedding | nn.EmbeddingBag):
        return 0
    if hasattr(module, "kernel_size") or p.dim() > 2:
        return int(p[0].numel())
    return int(p.shape[-1])


def discover_layers(model: nn.Module) -> tuple[list[LayerInfo], list[nn.Parameter]]:
    """Find the layers of ``model`` and the flat, de-duplicated list of their parameters.

    Frozen parameters (``requires_grad=False``) are included: they get a parameter norm but
    no gradient rows. Tied parameters appear once, in the first module that owns them.
    Returns ``(layers in registration order, parameters)``.
    """
    layers: list[LayerInfo] = []
    params: list[nn.Parameter] = []
    seen: set[int] = set()
    for mname, module in model.named_modules():
        path = mname or ROOT_NAME
        infos: dict[str, LayerInfo] = {}
        for pname, p in module.named_parameters(recurse=False):
            if id(p) in seen:
                continue
            seen.add(id(p))
            name = path
            m = _RNN_PARAM.match(pname) if isinstance(module, nn.RNNBase) else None
            if m is not None:
                name = layer_name(path, int(m["layer"]), 1 if m["rev"] else 0)
            info = infos.get(name)
            if info is None:
                info = infos[name] = LayerInfo(name, type(module).__name__, module=path)
            info.param_names.append(pname)
            info.param_index.append(len(params))
            info.numel.append(int(p.numel()))  # global size, also for DTensor shards
            if not info.fan_in:
                info.fan_in = _fan_in(module, pname, p)
            params.append(p)
        layers.extend(infos.values())
    return layers, params


def select_layers(
    layers: list[LayerInfo],
    include: Iterable[str] | None = None,
    groups: Mapping[str, str | Iterable[str]] | None = None,
) -> list[LayerInfo]:
    """Filter and group layers by name globs.

    ``include``: keep only the layers whose name matches one of these ``fnmatch`` globs
    (``["encoder.*", "head"]``); ``None`` keeps all. ``groups``: ``{group name: glob(s)}``;
    the layers matching a group's globs become one layer of that name (its parameters
    together, placed where its first member was). A layer matches the first group that
    claims it. Raises ``ValueError`` for a glob that matches nothing.
    """
    out = list(layers)
    if include is not None:
        pats = [include] if isinstance(include, str) else list(include)
        for pat in pats:
            if not any(fnmatch.fnmatchcase(lay.name, pat) for lay in out):
                raise ValueError(f"layer glob {pat!r} matches no layer")
        out = [lay for lay in out if any(fnmatch.fnmatchcase(lay.name, p) for p in pats)]
    for gname, spec in (groups or {}).items():
        pats = [spec] if isinstance(spec, str) else list(spec)
        members = [lay for lay in out if any(fnmatch.fnmatchcase(lay.name, p) for p in pats)]
        if not members:
            raise ValueError(f"group {gname!r}: no layer matches {pats}")
        merged = LayerInfo(gname, "group", module=members[0].module, fan_in=members[0].fan_in)
        for lay in members:
            merged.param_names += [f"{lay.name}.{n}" for n in lay.param_names]
            merged.param_index += lay.param_index
            merged.numel += lay.numel
        # biases of grouped layers stay biases: their names end in ".bias"
        at = out.index(members[0])
        ids = {id(m) for m in members}
        out = [lay for lay in out if id(lay) not in ids]
        out.insert(min(at, len(out)), merged)
    return out


class ForwardOrder:
    """Records the sequence in which the watched modules are *called* during the first
    forward pass(es): ``order`` (first calls, no repeats) and ``calls`` (every call, in
    order, of the first forward pass of the root module — used to attribute each call of an
    activation module to the layer that feeds it). Backward runs in the reverse order,
    which the NaN-origin rule needs. Removed by :meth:`remove`.
    """

    def __init__(self, modules: list[tuple[str, nn.Module]]) -> None:
        self.order: list[str] = []
        self.calls: list[str] = []
        self._frozen = False
        self._seen: set[str] = set()
        self._handles = [m.register_forward_pre_hook(self._hook(n)) for n, m in modules]

    def _hook(self, name: str) -> Callable[..., None]:
        def hook(module: nn.Module, args: object) -> None:
            if not torch.is_grad_enabled():
                return
            if name not in self._seen:
                self._seen.add(name)
                self.order.append(name)
            if not self._frozen:
                self.calls.append(name)

        return hook

    def freeze_calls(self) -> None:
        """Stop extending :attr:`calls` (called at the end of the first step)."""
        self._frozen = True

    def remove(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []


def feeding_layers(
    calls: list[str], layer_modules: Mapping[str, list[str]], watched: set[str]
) -> dict[tuple[str, int], str]:
    """For each call of a watched (activation) module — ``(module path, k)`` for its k-th
    call in one forward pass — the layer that feeds it: the last layer module called before
    it, or the module itself when it is a layer (its last layer for a recurrent module:
    ``lstm.l1``). Calls before any layer keep the module's own path. ``layer_modules`` maps
    a module path to its layer names."""
    out: dict[tuple[str, int], str] = {}
    count: dict[str, int] = {}
    last: str | None = None
    for name in calls:
        if name in layer_modules:  # a watched module that is a layer feeds itself
            names = layer_modules[name]
            fwd = [n for n in names if not n.endswith("_reverse")]
            last = (fwd or names)[-1]
        if name in watched:
            k = count.get(name, 0)
            count[name] = k + 1
            out[(name, k)] = last if last is not None else name
    return out


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
