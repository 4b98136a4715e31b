"""Counterfactual advice: how would each layer's speed ‖∂C/∂bˡ‖ change if …?

``what_if(model, (x, y), changes=["relu", "he-init", "cross-entropy"])`` runs one probe batch
on a *copy* of the model per change (the model itself, its gradients and the RNG are not
touched) and returns a DataFrame: for every change and layer the baseline speed, the speed
with the change and their ratio. Changes combine with ``+`` (``"relu+he-init"``).

Changes
    ``relu`` / ``leaky-relu``: hidden ``nn.Sigmoid``/``nn.Tanh`` modules → ``nn.ReLU`` /
    ``nn.LeakyReLU(0.01)`` (an output activation, called after the last layer, is kept).
    ``he-init``: weights (≥ 2-D parameters named ``weight``, embeddings excepted) redrawn from
    N(0, 2/n_in). ``fan-in-init``: N(0, 1/n_in), the book's ch. 3 initialisation. Biases are
    kept. ``cross-entropy``: the cost becomes the book's cross-entropy
    −Σ[y ln a + (1−y) ln(1−a)] when the output activation is a sigmoid, otherwise softmax
    cross-entropy on the outputs (logits).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from gradprobe.errors import ConfigError
from gradprobe.probe.layers import ROOT_NAME, SIGMOID_LIKE, discover_layers, is_dtensor, unwrap

CHANGES: tuple[str, ...] = ("relu", "leaky-relu", "he-init", "fan-in-init", "cross-entropy")

Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _strip_probe_hooks(model: nn.Module) -> None:
    """Remove hooks installed by gradprobe probes from a (copied) model."""
    for m in model.modules():
        for attr in ("_forward_hooks", "_forward_pre_hooks"):
            hooks = getattr(m, attr)
            for key in [k for k, fn in hooks.items() if _is_probe_hook(fn)]:
                del hooks[key]
                for extra in ("_forward_hooks_with_kwargs", "_forward_hooks_always_called"):
                    getattr(m, extra, {}).pop(key, None)


def _is_probe_hook(fn: object) -> bool:
    return str(getattr(fn, "__module__", "")).startswith("gradprobe.probe")


def clone(model: nn.Module) -> nn.Module:
    """A deep copy of ``model`` without gradients and without any probe's hooks."""
    c = copy.deepcopy(model)
    _strip_probe_hooks(c)
    for p in c.parameters():
        p.grad = None
    return c


def forward_order(model: nn.Module, x: Any) -> list[str]:
    """Module paths in the order the modules are called by ``model(x)`` (no gradients)."""
    order: list[str] = []
    handles = []
    for name, m in model.named_modules():
        if m is model:
            continue

        def hook(mod: nn.Module, args: object, name: str = name) -> None:
            if name not in order:
                order.append(name)

        handles.append(m.register_forward_pre_hook(hook))
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return order


def _output_activations(model: nn.Module, order: list[str]) -> set[str]:
    layers, _ = discover_layers(model)
    names = {layer.name for layer in layers}
    last = max((i for i, n in enumerate(order) if n in names), default=-1)
    return set(order[last + 1 :]) if last >= 0 else set()


def _replace_activations(model: nn.Module, order: list[str], make: Callable[[], nn.Module]) -> int:
    keep = _output_activations(model, order)
    n = 0
    for name, m in list(model.named_modules()):
        if not name or name in keep or not isinstance(m, SIGMOID_LIKE):
            continue
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, make())
        n += 1
    return n


def _fan_in(module: nn.Module, w: torch.Tensor) -> int:
    if hasattr(module, "kernel_size"):
        return int(w[0].numel())
    return int(w.shape[-1])


def _reinit(model: nn.Module, gain: float, seed: int) -> int:
    g = torch.Generator().manual_seed(seed)
    n = 0
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Embedding | nn.EmbeddingBag):
                continue
            w = m._parameters.get("weight")
            if w is None or w.dim() < 2:
                continue
            std = (gain / _fan_in(m, w)) ** 0.5
            w.copy_(torch.randn(w.shape, generator=g, dtype=torch.float64).mul_(std).to(w))
            n += 1
    return n


def book_cross_entropy(a: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The book's cross-entropy on sigmoid outputs a [.., B, out], y one-hot [B, out] or class
    indices [B]: −Σ_j [y ln a + (1−y) ln(1−a)], mean over the batch, summed over any leading
    (seed) dimension."""
    if y.dtype in (torch.int64, torch.int32) and y.dim() == 1:
        y = F.one_hot(y, a.shape[-1]).to(a.dtype)
    eps = torch.finfo(a.dtype).eps
    a = a.clamp(eps, 1 - eps)
    per = -(y * a.log() + (1 - y) * (1 - a).log()).sum(-1)
    return per.mean(-1).sum()


def softmax_cross_entropy(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Softmax cross-entropy on logits z [B, C] (or [S, B, C], summed over S); y class
    indices [B] or probabilities/one-hot [B, C]."""
    if z.dim() > 2:
        return sum((softmax_cross_entropy(z[s], y) for s in range(z.shape[0])), z.new_zeros(()))
    return F.cross_entropy(z, y)


def _cost_fn(model: nn.Module) -> Loss:
    fn = getattr(model, "cost_fn", None)
    if not callable(fn):
        raise ConfigError("pass loss_fn=…: the model has no cost_fn")
    return fn  # type: ignore[no-any-return]


def _set_book_cost(model: nn.Module) -> bool:
    """Switch one of the book's nets (``gradprobe.nets.Network``) to the cross-entropy cost,
    keeping its output activation when the pair exists. False for other models."""
    cost = getattr(model, "cost", None)
    if cost is None or not hasattr(cost, "output_fn") or not hasattr(cost, "output"):
        return False
    from gradprobe.costs import get_cost

    try:
        new = get_cost("cross-entropy", cost.output)
    except ConfigError:
        new = get_cost("cross-entropy")
    setattr(model, "cost", new)  # noqa: B010 (plain attribute of the book's Network)
    return True


def _speeds(model: nn.Module, x: Any, y: Any, loss: Loss) -> tuple[str, dict[str, float]]:
    from gradprobe.probe.watch import Probe

    probe = Probe(model, update_ratio=False, activations=False)
    try:
        out = model(x)
        cost = loss(out, y)
        if not isinstance(cost, torch.Tensor) or cost.dim() != 0:
            raise ConfigError("the loss must return a scalar tensor")
        cost.backward()
        probe.step()
        latest = probe.latest()
    finally:
        probe.close()
    quantity = "speed" if any("speed" in v for v in latest.values()) else "grad_rms"
    return quantity, {
        layer: vals[quantity]
        for layer, vals in latest.items()
        if quantity in vals and layer != "(model)"
    }


def what_if(
    model: nn.Module,
    batch: Sequence[Any],
    changes: Sequence[str] = ("relu", "he-init", "cross-entropy"),
    loss_fn: Loss | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """How each layer's speed would change under each of ``changes`` (see the module doc).

    ``batch`` is ``(x, y)``; ``loss_fn(model(x), y)`` must give a scalar (default: the book
    nets' ``model.cost_fn``). Returns a DataFrame with columns ``change, layer, quantity,
    baseline, speed, factor`` (factor = speed / baseline), layers in forward order.
    """
    model = unwrap(model)
    if any(is_dtensor(p) for p in model.parameters()):
        raise ConfigError("what_if needs an unsharded model (it copies it); not FSDP2")
    if not isinstance(batch, Sequence) or len(batch) != 2:
        raise ConfigError("batch must be a pair (x, y)")
    x, y = batch
    own_cost = loss_fn is None
    if own_cost and not callable(getattr(model, "cost_fn", None)):
        raise ConfigError("pass loss_fn=…: the model has no cost_fn")
    if isinstance(changes, str):
        changes = [changes]
    for change in changes:
        for part in change.split("+"):
            if part not in CHANGES:
                raise ConfigError(f"unknown change {part!r}; choose from {', '.join(CHANGES)}")

    base_model = clone(model)
    order = forward_order(base_model, x)
    outputs = _output_activations(base_model, order)
    sigmoid_out = any(
        isinstance(base_model.get_submodule(n), nn.Sigmoid) for n in outputs if n != ROOT_NAME
    )
    quantity, baseline = _speeds(base_model, x, y, loss_fn or _cost_fn(base_model))

    rows: list[dict[str, Any]] = []
    for change in changes:
        m = clone(model)
        loss: Loss | None = loss_fn
        for part in change.split("+"):
            if part == "relu":
                _replace_activations(m, order, nn.ReLU)
            elif part == "leaky-relu":
                _replace_activations(m, order, lambda: nn.LeakyReLU(0.01))
            elif part == "he-init":
                _reinit(m, 2.0, seed)
            elif part == "fan-in-init":
                _reinit(m, 1.0, seed)
            elif part == "cross-entropy":
                if own_cost and _set_book_cost(m):
                    loss = None
                else:
                    loss = book_cross_entropy if sigmoid_out else softmax_cross_entropy
        _, speeds = _speeds(m, x, y, loss or _cost_fn(m))
        for layer, base in baseline.items():
            s = speeds.get(layer, float("nan"))
            rows.append(
                {
                    "change": change,
                    "layer": layer,
                    "quantity": quantity,
                    "baseline": base,
                    "speed": s,
                    "factor": s / base if base else float("inf"),
                }
            )
    return pd.DataFrame(
        rows, columns=["change", "layer", "quantity", "baseline", "speed", "factor"]
    )
