"""The exact origin of a NaN/±Inf, found in the step it happens.

When a recorded step's gradients hold a non-finite value (one check of the per-parameter
gradient norms the probe computes anyway; on the CPU that costs a few microseconds, on an
accelerator it is a host sync, so ``nan_check="auto"`` only does it on the CPU), the
:class:`OriginFinder` decides, in this order, where the value was *produced* (every other
non-finite layer merely propagated it):

1. ``parameter`` / ``update`` — a parameter holds NaN/Inf (one fused norm over all
   parameters). Parameters were effectively finite at the previous recorded step (its
   gradients were finite), so with an optimiser given to ``watch(..., optimizer=opt)`` the
   value is named ``update`` when the parameter has not been modified since the optimiser's
   last step (its version counter), ``parameter`` otherwise (an assignment, a load).
2. ``input`` — the model's inputs of this step hold NaN/Inf.
3. ``forward`` / ``buffer`` — the step's forward pass is replayed without gradients from the
   captured inputs and random-number state (buffers restored afterwards), with a hook on
   every module: the producer is the first module to *finish* whose output is non-finite
   while all its inputs are finite (the innermost, earliest one). If that module holds a
   non-finite buffer (a running mean, say), the place is ``buffer``. A multi-layer or
   bidirectional ``nn.RNN``/``nn.LSTM``/``nn.GRU`` runs its layers inside one call: it is
   recomputed layer by layer with its own weights (:mod:`gradprobe.probe.rnn_layers`) and the
   first stacked layer and direction whose output sequence is non-finite is named
   (``"lstm.l1"``). Not possible, and then the module is named: a value injected into the
   module's output by other code (a forward hook: the layers' own outputs are finite), and
   inter-layer dropout in training mode (its masks cannot be replayed). For a parameter the
   event's detail names the parameter itself (``lstm.weight_hh_l1``).
4. ``loss`` — the forward pass is finite but the gradient arriving at the model's output is
   not: the loss (or code between the model and ``backward``) produced it.
5. ``backward`` — otherwise the value was born in backward: backpropagation computes δˡ from
   δˡ⁺¹, so it spreads to the layers *before* its origin in forward order; the producer is
   the last non-finite layer in forward order (the first non-finite gradient in backward).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import torch
from torch import nn

from gradprobe.probe.layers import ROOT_NAME, LayerInfo
from gradprobe.probe.quantities.base import NonFiniteEvent
from gradprobe.probe.rnn_layers import first_nonfinite_layer, layer_name, supported

INPUT_NAME = "(input)"
LOSS_NAME = "(loss)"


def _tensors(x: Any) -> Iterator[torch.Tensor]:
    if isinstance(x, torch.Tensor):
        yield x
    elif isinstance(x, list | tuple):
        for v in x:
            yield from _tensors(v)
    elif isinstance(x, Mapping):
        for v in x.values():
            yield from _tensors(v)
    elif hasattr(x, "__dataclass_fields__") or hasattr(x, "to_tuple"):  # HF ModelOutput
        for v in getattr(x, "__dict__", {}).values():
            yield from _tensors(v)


def finite(x: Any) -> bool:
    """All floating-point tensors in ``x`` (nested tuples/lists/dicts) are finite."""
    for t in _tensors(x):
        floating = t.is_floating_point() or t.is_complex()
        if floating and t.numel() and not bool(torch.isfinite(t).all()):
            return False
    return True


class _Ref:
    """A reference that copies and pickles as an empty one (a deep copy of the watched model
    copies its hooks, hence the finder: a non-leaf tensor cannot be deep-copied)."""

    __slots__ = ("t",)

    def __init__(self) -> None:
        self.t: torch.Tensor | None = None

    def __reduce__(self) -> tuple[type[_Ref], tuple[()]]:
        return (_Ref, ())


class OriginFinder:
    """Captures what a replay needs (hooks on the root module) and, on demand, names the
    producer of a non-finite value; see the module docstring for the rules.

    Per recorded forward: a reference to the inputs, the RNG state, and the output with
    ``retain_grad()`` (so ∂C/∂output is kept by autograd itself, for the ``loss`` rule; a
    side effect: the output tensor's ``.grad`` is set). The references are dropped at the
    next forward or ``probe.step()``.

    ``module`` is the watched model, ``params`` the probe's flat parameter list,
    ``layer_of`` the layer name of each parameter index.
    """

    def __init__(
        self,
        module: nn.Module,
        params: list[nn.Parameter],
        layer_of: list[str],
        is_active: Callable[[], bool],
    ) -> None:
        self.module = module
        self.params = params
        self.layer_of = layer_of
        self._is_active = is_active
        self._args: Any = None
        self._kwargs: Any = None
        self._rng: torch.Tensor | None = None
        self._cuda_rng: list[torch.Tensor] | None = None
        self._out = _Ref()  # the forward's output, its gradient retained
        self._captured = False
        self.replaying = False
        self._versions: list[int] | None = None
        self._handles = [
            module.register_forward_pre_hook(self._pre, with_kwargs=True),
            module.register_forward_hook(self._post),
        ]

    # ------------------------------------------------------------------ capture (hot path)
    def _pre(self, mod: nn.Module, args: Any, kwargs: Any) -> None:
        if self.replaying or not torch.is_grad_enabled() or not self._is_active():
            return
        self._args, self._kwargs = args, kwargs
        self._rng = torch.get_rng_state()
        self._cuda_rng = None
        if torch.cuda.is_initialized():  # (not initialised when not available)
            self._cuda_rng = torch.cuda.get_rng_state_all()
        self._out.t = None
        self._captured = True

    def _post(self, mod: nn.Module, args: Any, out: Any) -> None:
        if self.replaying or not torch.is_grad_enabled() or not self._is_active():
            return
        t = out if isinstance(out, torch.Tensor) else next(_tensors(out), None)
        if t is not None and t.requires_grad:
            # autograd keeps ∂C/∂output in t.grad (no Python call in backward, and cheaper
            # than a tensor hook); the reference is dropped at the next forward or step
            t.retain_grad()
            self._out.t = t

    def optimizer_stepped(self) -> None:
        """Called after every optimiser step (``watch(..., optimizer=)``): remember each
        parameter's version counter."""
        self._versions = [p._version for p in self.params]

    def new_step(self) -> None:
        """Forget the captured inputs (called at the end of every ``probe.step()``)."""
        self._args = self._kwargs = None
        self._out.t = None
        self._captured = False

    def remove(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []
        self.new_step()

    # ------------------------------------------------------------------ the rules (fault path)
    def find(
        self,
        step: int,
        bad_layers: list[str],
        layers: list[LayerInfo],
        prev_finite: bool,
    ) -> NonFiniteEvent:
        """The producer of the non-finite value of ``step``. ``bad_layers``: layers with a
        non-finite gradient, in forward order; ``layers`` in forward order; ``prev_finite``:
        the previous recorded step was checked and finite."""
        rank = {layer.name: i for i, layer in enumerate(layers)}
        with torch.no_grad():
            norms = torch._foreach_norm([p.detach() for p in self.params])  # type: ignore[arg-type]
            bad = torch.stack([n.float() for n in norms]).isfinite().logical_not().tolist()
        bad_params = [i for i, b in enumerate(bad) if b]
        if bad_params:
            i = min(bad_params, key=lambda k: rank.get(self.layer_of[k], len(rank)))
            layer = self.layer_of[i]
            untouched = self._versions is not None and self._versions[i] == self.params[i]._version
            if prev_finite and untouched:
                return NonFiniteEvent(
                    step,
                    layer,
                    layer,
                    "update",
                    f"the optimiser's update made a parameter of {layer} non-finite "
                    f"({self._param_names(bad_params, layer)}; its gradient at the previous "
                    "step was finite)",
                )
            return NonFiniteEvent(
                step,
                layer,
                layer,
                "parameter",
                f"a parameter of {layer} holds NaN/Inf: {self._param_names(bad_params, layer)}",
            )
        if self._captured:
            if not finite((self._args, self._kwargs)):
                return NonFiniteEvent(
                    step, INPUT_NAME, INPUT_NAME, "input", "the model's inputs hold NaN/Inf"
                )
            found = self._replay()
            if found is not None:
                name, mod, margs, mkwargs = found
                layer = self._layer_of_module(name, layers)
                if any(not bool(torch.isfinite(b).all()) for b in _float_buffers(mod)):
                    return NonFiniteEvent(
                        step, layer, name, "buffer", f"a buffer of {name} holds NaN/Inf"
                    )
                detail = f"{name}'s output is non-finite although its inputs are finite"
                if layer == name and isinstance(mod, nn.RNNBase):
                    layer, why = _stacked_producer(name, mod, margs, mkwargs, layers)
                    detail += why
                return NonFiniteEvent(step, layer, name, "forward", detail)
            out_grad = self._out.t.grad if self._out.t is not None else None
            if out_grad is not None and not finite(out_grad):
                return NonFiniteEvent(
                    step,
                    LOSS_NAME,
                    LOSS_NAME,
                    "loss",
                    "the forward pass is finite but the gradient of the cost with respect to "
                    "the model's output is not (the loss: log(0), 0/0, overflow…)",
                )
        if bad_layers:
            layer = bad_layers[-1]
            return NonFiniteEvent(
                step,
                layer,
                layer,
                "backward",
                f"backward produced the first non-finite gradient in {layer}"
                + ("" if self._captured else " (forward not replayed: inputs not captured)"),
            )
        return NonFiniteEvent(step, ROOT_NAME, ROOT_NAME, "gradients", "")

    def _param_names(self, index: list[int], layer: str) -> str:
        """The qualified names of the non-finite parameters ``index`` of ``layer``
        (``lstm.weight_hh_l1``)."""
        names = {id(p): n for n, p in self.module.named_parameters()}
        got = [names.get(id(self.params[i]), f"#{i}") for i in index if self.layer_of[i] == layer]
        return ", ".join(got)

    def _layer_of_module(self, name: str, layers: list[LayerInfo]) -> str:
        """The layer a module is; the module's path when it is not one layer (no
        parameters, or a stacked recurrent module whose layers run inside one call)."""
        mine = [layer.name for layer in layers if layer.module == name]
        return mine[0] if len(mine) == 1 else name

    def _replay(self) -> tuple[str, nn.Module, Any, Any] | None:
        """Re-run the captured forward pass without gradients; the first module to finish
        with a non-finite output from finite inputs (path, module, its args and kwargs), or
        None."""
        found: list[tuple[str, nn.Module, Any, Any]] = []

        def hook(name: str) -> Callable[..., None]:
            def fn(mod: nn.Module, args: Any, kwargs: Any, out: Any) -> None:
                if found:
                    return
                if not finite(out) and finite((args, kwargs)):
                    found.append((name, mod, args, kwargs))

            return fn

        buffers = [(b, b.detach().clone()) for b in self.module.buffers()]
        rng = torch.get_rng_state()
        cuda_rng = torch.cuda.get_rng_state_all() if self._cuda_rng is not None else None
        handles = [
            m.register_forward_hook(hook(n or ROOT_NAME), with_kwargs=True)
            for n, m in self.module.named_modules()
        ]
        self.replaying = True
        try:
            if self._rng is not None:
                torch.set_rng_state(self._rng)
            if self._cuda_rng is not None:
                torch.cuda.set_rng_state_all(self._cuda_rng)
            with torch.no_grad():
                self.module(*self._args, **(self._kwargs or {}))
        except Exception:  # the replay is best effort: fall back to the gradient rule
            found.clear()
        finally:
            self.replaying = False
            for h in handles:
                h.remove()
            with torch.no_grad():
                for b, saved in buffers:
                    b.copy_(saved)
            torch.set_rng_state(rng)
            if cuda_rng is not None:
                torch.cuda.set_rng_state_all(cuda_rng)
        return found[0] if found else None


def _stacked_producer(
    name: str, mod: nn.RNNBase, args: Any, kwargs: Any, layers: list[LayerInfo]
) -> tuple[str, str]:
    """The stacked layer and direction of a multi-layer or bidirectional recurrent module
    ``mod`` (path ``name``) that produced a non-finite output from finite inputs, found by
    recomputing it layer by layer with its own weights (no gradients); ``(layer name, why)``,
    or ``(name, why not)`` when it cannot be narrowed down."""
    x = args[0] if args else kwargs.get("input")
    hx = args[1] if len(args) > 1 else kwargs.get("hx")
    if not supported(mod):
        return name, " (not narrowed to a stacked layer: inter-layer dropout in training mode)"
    try:
        found = first_nonfinite_layer(mod, x, hx)
    except Exception:  # best effort, like the replay itself
        found = None
    if found is None:
        return name, (
            " (not narrowed to a stacked layer: recomputed layer by layer with the same "
            "weights, every layer's output is finite, so the value did not come from the "
            "module's own arithmetic — a forward hook, say)"
        )
    sub = layer_name(name, *found)
    if sub not in {layer.name for layer in layers}:
        return name, f" (produced in {sub}, which is not a selected layer)"
    return sub, (
        f"; recomputed layer by layer: {sub} is the first stacked layer and direction whose "
        "output sequence is non-finite (its input sequence is finite)"
    )


def _float_buffers(mod: nn.Module) -> list[torch.Tensor]:
    return [b for b in mod.buffers(recurse=False) if b.is_floating_point()]
