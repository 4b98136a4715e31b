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

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from gradprobe.errors import ConfigError
from gradprobe.probe.layers import (
    RELU_LIKE,
    ROOT_NAME,
    SIGMOID_LIKE,
    discover_layers,
    is_dtensor,
    unwrap,
)
from gradprobe.probe.quantities.bias_speed import layer_speed
from gradprobe.probe.quantities.dead_relu import unit_dims

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


def _default_loss(out: Any, y: Any) -> torch.Tensor:
    """Cross-entropy for an ordinary classifier: logits [B, C] (or [B, C, …]) and class
    indices [B] (or [B, …]); anything else asks for ``loss_fn`` by name."""
    if isinstance(out, tuple | list) and out and isinstance(out[0], torch.Tensor):
        out = out[0]
    logits = getattr(out, "logits", out)
    if (
        isinstance(logits, torch.Tensor)
        and isinstance(y, torch.Tensor)
        and logits.is_floating_point()
        and not y.is_floating_point()
        and logits.dim() == y.dim() + 1
        and logits.shape[0] == y.shape[0]
    ):
        return F.cross_entropy(logits, y)
    raise ConfigError(
        "what_if needs a loss: pass loss_fn=… (e.g. loss_fn=torch.nn.functional.mse_loss); "
        "the default, cross-entropy, needs logits [B, C] and integer class labels [B]"
    )


def _cost_fn(model: nn.Module) -> Loss:
    fn = getattr(model, "cost_fn", None)
    return fn if callable(fn) else _default_loss  # type: ignore[no-any-return]


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


class _Measured:
    """One batch on one model: per-layer speeds (forward order), hidden activation stats."""

    def __init__(self, model: nn.Module, x: Any, y: Any, loss: Loss, order: list[str]) -> None:
        layers, params = discover_layers(model)
        outputs = _output_activations(model, order)
        sat: list[float] = []  # per hidden sigmoid/tanh module: fraction saturated
        dsig: list[float] = []  # mean σ′ / max σ′
        dead: list[float] = []  # per hidden ReLU module: fraction of dead units
        handles = []
        for name, m in model.named_modules():
            if not name or name in outputs:
                continue
            if isinstance(m, SIGMOID_LIKE):
                top = 0.25 if isinstance(m, nn.Sigmoid) else 1.0

                def sig_hook(mod: nn.Module, a: Any, out: torch.Tensor, top: float = top) -> None:
                    o = out.detach().double()
                    ds = o * (1 - o) if top == 0.25 else 1 - o * o
                    sat.append(float((ds < 0.01 * top).double().mean()))
                    dsig.append(float(ds.mean()) / top)

                handles.append(m.register_forward_hook(sig_hook))
            elif isinstance(m, RELU_LIKE):

                def relu_hook(mod: nn.Module, a: Any, out: torch.Tensor) -> None:
                    o = out.detach()
                    keep = unit_dims(o)
                    red = tuple(d for d in range(o.dim()) if d not in keep)
                    total = o.abs().sum(dim=red) if red else o.abs()
                    dead.append(float((total == 0).double().mean()))

                handles.append(m.register_forward_hook(relu_hook))
        try:
            cost = loss(model(x), y)
            if not isinstance(cost, torch.Tensor) or cost.dim() != 0:
                raise ConfigError("the loss must return a scalar tensor")
            cost.backward()
        finally:
            for h in handles:
                h.remove()
        g = np.array(
            [float(p.grad.detach().double().norm()) if p.grad is not None else -1.0 for p in params]
        )[None, :]
        rank = {n: i for i, n in enumerate(order)}
        layers.sort(key=lambda lay: rank.get(lay.module, len(rank)))
        self.speed = {lay.name: float(layer_speed(lay, g)[0][0]) for lay in layers}
        ws = [p.detach().double() for p in params if p.dim() >= 2]
        self.weight_rms = (
            float(torch.stack([w.pow(2).sum() for w in ws]).sum() / sum(w.numel() for w in ws))
            ** 0.5
            if ws
            else float("nan")
        )
        self.saturation = float(np.mean(sat)) if sat else float("nan")
        self.dsigma = float(np.mean(dsig)) if dsig else float("nan")
        self.dead = float(np.mean(dead)) if dead else float("nan")

    @property
    def ratio(self) -> float:
        """First layer's speed / last layer's."""
        v = list(self.speed.values())
        return v[0] / v[-1] if len(v) >= 2 and v[-1] > 0 else float("nan")

    @property
    def balance(self) -> float:
        """|log10(first layer's speed / last layer's)|: 0 when all layers learn alike."""
        v = list(self.speed.values())
        return balance(v[0], v[-1]) if len(v) >= 2 else float("inf")


def balance(first: float, last: float) -> float:
    """|log10(first / last)| of two layers' speeds of learning ‖∂C/∂bˡ‖: 0 when they learn
    alike; inf unless both are positive."""
    if not (first > 0 and last > 0):
        return float("inf")
    return abs(float(np.log10(first / last)))


def _why(change: str, base: _Measured, new: _Measured) -> tuple[str, str]:
    """(verdict, sentence): helps / hurts / neutral, and why, from the measured numbers."""
    names = list(base.speed)
    first, last = names[0], names[-1]
    f1 = new.speed.get(first, np.nan) / base.speed[first] if base.speed[first] else np.nan
    fl = new.speed.get(last, np.nan) / base.speed[last] if base.speed[last] else np.nan
    parts: list[str] = []
    for part in change.split("+"):
        if part in ("relu", "leaky-relu"):
            if np.isfinite(base.dsigma):
                parts.append(
                    f"the hidden sigmoid/tanh units passed on average {base.dsigma:.2f} of their "
                    "maximum σ′ per layer; ReLU passes δ unchanged where active"
                )
            if np.isfinite(new.dead) and new.dead > 0.05:
                parts.append(f"but {new.dead:.0%} of the new ReLU units are dead on this batch")
            if new.ratio > 10:
                parts.append(
                    f"with weights of RMS {new.weight_rms:.3g} each ReLU layer now multiplies δ "
                    "by more than 1: the gradient explodes toward the input"
                )
        elif part in ("he-init", "fan-in-init"):
            if np.isfinite(base.saturation) and np.isfinite(new.saturation):
                more = new.saturation > base.saturation + 0.02
                parts.append(
                    f"saturated sigmoid/tanh outputs {base.saturation:.0%} → {new.saturation:.0%}"
                    + (
                        " (larger weights push zˡ into σ's flat tails, σ′ ≈ 0)"
                        if more
                        else " (zˡ stays where σ′ is large)"
                    )
                )
            if np.isfinite(new.dead):
                parts.append(f"{new.dead:.0%} dead ReLU units")
            if new.weight_rms < base.weight_rms * 0.8 and np.isfinite(base.dsigma):
                parts.append(
                    f"weights' RMS {base.weight_rms:.3g} → {new.weight_rms:.3g}: each sigmoid "
                    "layer multiplies δ by w·σ′(z), now smaller, so δ shrinks faster toward the "
                    "input"
                )
            elif new.weight_rms < base.weight_rms * 0.8:
                parts.append(f"weights' RMS {base.weight_rms:.3g} → {new.weight_rms:.3g}")
            elif new.weight_rms > base.weight_rms * 1.25:
                parts.append(f"weights' RMS {base.weight_rms:.3g} → {new.weight_rms:.3g} (larger)")
        elif part == "cross-entropy":
            parts.append(f"the output error δᴸ no longer carries σ′(zᴸ): last layer ×{fl:.3g}")
    b0, b1 = base.balance, new.balance
    if np.isfinite(b0) and np.isfinite(b1) and b1 < b0 - 0.1:
        verdict = "helps"
    elif np.isfinite(b0) and (not np.isfinite(b1) or b1 > b0 + 0.1):
        verdict = "hurts"
    else:
        verdict = "neutral"
    head = (
        f"{verdict}: first layer ×{f1:.3g}, last layer ×{fl:.3g}; first/last speed ratio "
        f"{base.ratio:.3g} → {new.ratio:.3g}"
    )
    return verdict, head + ("; " + "; ".join(parts) if parts else "")


def what_if(
    model: nn.Module,
    batch: Sequence[Any],
    changes: Sequence[str] = ("relu", "he-init", "cross-entropy"),
    loss_fn: Loss | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """How each layer's speed would change under each of ``changes`` (see the module doc).

    Parameters
    ----------
    model:
        The model (not modified: every change runs on a copy; gradients and RNG untouched).
    batch:
        ``(x, y)`` with ``model(x)`` and ``y`` what the loss takes.
    changes:
        Names from :data:`CHANGES`, combined with ``+`` (``"relu+he-init"``).
    loss_fn:
        ``loss_fn(model(x), y)`` → scalar. Default: the book nets' ``model.cost_fn``;
        otherwise cross-entropy for logits [B, C] and integer labels [B]; otherwise a
        :class:`~gradprobe.errors.ConfigError` asking for ``loss_fn``.
    seed:
        Seed of the re-drawn weights (``he-init``, ``fan-in-init``).

    Returns
    -------
    DataFrame with columns ``change, layer, quantity, baseline, speed, factor, verdict,
    why``: one row per change and layer (forward order), ``factor`` = speed / baseline,
    ``verdict`` ``helps``/``hurts``/``neutral`` (whether the first/last layer speed ratio
    moves toward 1), ``why`` a sentence with the measured reasons.

    Example
    -------
    >>> table = what_if(model, (x, y), changes=["relu", "he-init"])   # doctest: +SKIP
    >>> table.groupby("change").why.first()                           # doctest: +SKIP
    """
    model = unwrap(model)
    if any(is_dtensor(p) for p in model.parameters()):
        raise ConfigError("what_if needs an unsharded model (it copies it); not FSDP2")
    if not isinstance(batch, Sequence) or len(batch) != 2:
        raise ConfigError("batch must be a pair (x, y)")
    x, y = batch
    own_cost = loss_fn is None
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
    base = _Measured(base_model, x, y, loss_fn or _cost_fn(base_model), order)

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
        new = _Measured(m, x, y, loss or _cost_fn(m), order)
        verdict, why = _why(change, base, new)
        for layer, b in base.speed.items():
            s = new.speed.get(layer, float("nan"))
            rows.append(
                {
                    "change": change,
                    "layer": layer,
                    "quantity": "speed",
                    "baseline": b,
                    "speed": s,
                    "factor": s / b if b else float("inf"),
                    "verdict": verdict,
                    "why": why,
                }
            )
    return pd.DataFrame(
        rows,
        columns=["change", "layer", "quantity", "baseline", "speed", "factor", "verdict", "why"],
    )
