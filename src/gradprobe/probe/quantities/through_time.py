"""Gradients through time of recurrent modules: ‖∂L/∂x_t‖ per time step t, and what it says.

:class:`ThroughTime` taps the **input sequence** x [B, T, F] (or [T, B, F], [T, F], a
PackedSequence) of every ``nn.RNN``/``nn.LSTM``/``nn.GRU`` with an identity autograd function
(a forward pre-hook, detail steps only) whose backward sums ∂L/∂x_t² over the batch and the
features, per t, on the device. That is the *total* derivative through all later steps:
∂L/∂x_t = W_ihᵀ·diag(σ′(z_t))·∂L/∂h_t with ∂L/∂h_t the full backpropagation-through-time
sum, so its decay in T − t is the decay of the product of the Jacobians
∂h_{t+1}/∂h_t = diag(σ′)·W_hh (ch. 5's chain, one factor per *step*).

Why not a tensor hook on the module's output: ∂L/∂out_t of the fused module is only the
*direct* part (what the layers above send to step t), not the path through h_{t+1}; with a
loss on the last step it is 0 for every t < T − 1. The tap needs no ``requires_grad`` on x
(a zero-size-cost dummy leaf makes the tap part of the graph) and does not cut the graph.

Per stacked layer and direction (``per_layer=True``, the default). A multi-layer or
bidirectional module runs as one fused kernel: layer l's input sequence xˡ (l > 0) never
exists as a tensor. So at a *detail* step only, the module is recomputed one layer and one
direction at a time with its own weights and kernels (:func:`gradprobe.probe.rnn_layers.
run_by_layer`), each layer's and direction's input tapped separately, and that result
replaces the module's output (same value up to float rounding, same parameter gradients);
the fused call itself is given only the first time step (its output is discarded), so the
extra cost is one step of the fused kernel plus the taps. Rows go to the layers
``"lstm.l0"``, ``"lstm.l0_reverse"``, ``"lstm.l1"``, … : ‖∂L/∂xˡ_t‖ through that direction
of that layer (and all it feeds). The reverse direction carries gradient forward in time, so
its profile is read from t = T − 1 down to 0. Ordinary steps are untouched (no hook).

Where the recomputation is not exact it is not done, and the module gets one profile at its
input, under the module's own path (``"lstm"``, all layers and directions together): inter-
layer dropout in training mode (its masks cannot be reproduced), a module with more layers ×
directions than ``max_slots − 1``, ``per_layer=False``, a subclass with another ``mode``. A
one-layer one-direction module is always tapped at its input (that *is* its layer's profile).
Other forward hooks on the same recurrent module see the one-step call at a detail step, and
the full output only if registered after the probe.

Each profile is reduced by :func:`gradprobe.recurrent.analyze_profile`: columns
``time_ratio`` (‖∂L/∂x_first‖ / ‖∂L/∂x_entry‖, entry the latest step reached, in the
direction's order), ``time_decay`` (factor per step backwards), ``time_memory`` (steps over
which it stays ≥ 1 % of its entry value) and ``time_steps`` (T). Steps beyond ``max_steps``
are not recorded.

Read the ratio as a decay through time when the cost enters late (a loss on the last step,
sequence classification). With a loss at every step (language modelling) ∂L/∂x_t also holds
the direct gradient of step t's own loss, so a flat profile there does not mean long memory:
it means every step gets gradient from its own prediction.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence

from gradprobe.probe.quantities.base import Chunk, Context, OutputQuantity, Series
from gradprobe.probe.rnn_layers import layer_name, run_by_layer, shape_of, supported
from gradprobe.recurrent import analyze_profile

COLUMNS = ("time_ratio", "time_decay", "time_memory", "time_steps")


class _Tap(torch.autograd.Function):
    """Identity on x; backward adds Σ_{b,f} (∂L/∂x)² per time step into ``buf`` [T_max + 1]."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any, x: torch.Tensor, dummy: torch.Tensor, buf: torch.Tensor, spec: Any
    ) -> torch.Tensor:
        ctx.buf, ctx.spec = buf, spec
        return x.view_as(x)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[Any, ...]:  # type: ignore[override]
        buf, (layout, index) = ctx.buf, ctx.spec
        g2 = grad.detach().to(buf.dtype).pow(2)
        if layout == "packed":  # [N, F] rows in time order; index [N] = the row's step
            per_t = torch.zeros(buf.shape[0] - 1, dtype=buf.dtype, device=buf.device)
            keep = index < per_t.shape[0]
            per_t.index_add_(0, index[keep], g2.sum(1)[keep])
        else:
            dims = {"bt": (0, 2), "tb": (1, 2), "t": (1,)}[layout]
            per_t = g2.sum(dims)[: buf.shape[0] - 1]
        buf[: per_t.shape[0]] += per_t
        return (grad if ctx.needs_input_grad[0] else None), None, None, None


class ThroughTime(OutputQuantity):
    """Per-timestep ‖∂L/∂x_t‖ at the input of each stacked layer and direction of every
    recurrent module (or of the whole module where that cannot be done exactly), reduced to a
    decay rate and an effective memory; see the module docstring for what is measured.

    ``max_steps``: the longest sequence recorded (later steps are dropped). ``per_layer``:
    split stacked and bidirectional modules into their layers and directions. ``max_slots``:
    profiles kept per module call (layers × directions + 1 for the whole-module fallback);
    the raw buffer per module is ``flush_every × 4 × max_slots × (max_steps + 1)`` float64.
    :meth:`profiles` gives the last measured profiles [T] by layer name (host copy; call it
    off the hot path).
    """

    name = "through_time"
    columns = COLUMNS
    module_types: ClassVar[tuple[type[nn.Module], ...]] = (nn.RNN, nn.LSTM, nn.GRU)
    taps_input: ClassVar[bool] = True
    kind = "recurrent"

    def __init__(self, max_steps: int = 512, per_layer: bool = True, max_slots: int = 5) -> None:
        if max_steps < 2:
            raise ValueError(f"max_steps must be ≥ 2, got {max_steps}")
        if max_slots < 1:
            raise ValueError(f"max_slots must be ≥ 1, got {max_slots}")
        self.max_steps = int(max_steps)
        self.split_layers = bool(per_layer)
        self.slots = int(max_slots) if per_layer else 1
        self.slot = self.max_steps + 1  # one slot: T_max squared sums, then T
        self.width = self.slots * self.slot  # type: ignore[misc]
        self._dummy: dict[torch.device, torch.Tensor] = {}
        self._open: list[torch.Tensor] = []
        self._last: dict[int, tuple[str, torch.Tensor, int, int, bool]] = {}
        self._stash: dict[int, tuple[str, Any, Any]] = {}
        self._layout: dict[str, tuple[int, int]] = {}  # module path → (L, D), from selects

    def selects(self, name: str, module: nn.Module) -> bool:
        """Every ``nn.RNN``/``nn.LSTM``/``nn.GRU``; remembers its (layers, directions)."""
        ok = isinstance(module, self.module_types)
        if ok:
            self._layout[name] = shape_of(module)
        return ok

    def __repr__(self) -> str:
        return (
            f"ThroughTime(max_steps={self.max_steps}, per_layer={self.split_layers}, "
            f"max_slots={self.slots})"
        )

    # ------------------------------------------------------------------ hooks (detail steps)
    def _split(self, module: nn.Module) -> bool:
        """Whether this call of ``module`` is recomputed layer by layer."""
        L, D = shape_of(module)
        return self.split_layers and 1 < L * D < self.slots and supported(module)

    def _fallback_slot(self, module: nn.Module) -> int:
        L, D = shape_of(module)
        return 0 if L * D == 1 else self.slots - 1

    def _new(self, dev: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        dtype = torch.float32 if dev.type == "mps" else torch.float64
        dummy = self._dummy.get(dev)
        if dummy is None:
            dummy = self._dummy[dev] = torch.zeros((), device=dev, requires_grad=True)
        return torch.zeros(self.width, dtype=dtype, device=dev), dummy

    def _tap(self, x: Any, module: nn.Module, buf: torch.Tensor, k: int, dummy: Any) -> Any:
        """``x`` (a tensor or PackedSequence, the module's layout) wrapped in a tap that adds
        its per-step squared gradient norms into slot ``k`` of ``buf``."""
        if isinstance(x, PackedSequence):
            sizes = x.batch_sizes  # [T] on the CPU
            T = int(sizes.shape[0])
            index = torch.repeat_interleave(torch.arange(T), sizes).to(x.data.device)
            data = self._slot_tap(x.data, buf, k, T, ("packed", index), dummy)
            return PackedSequence(data, sizes, x.sorted_indices, x.unsorted_indices)
        if x.dim() == 2:
            layout, T = "t", int(x.shape[0])
        elif getattr(module, "batch_first", False):
            layout, T = "bt", int(x.shape[1])
        else:
            layout, T = "tb", int(x.shape[0])
        return self._slot_tap(x, buf, k, T, (layout, None), dummy)

    def _slot_tap(
        self, t: torch.Tensor, buf: torch.Tensor, k: int, T: int, spec: tuple[str, Any], dummy: Any
    ) -> torch.Tensor:
        """``t`` through `_Tap` into slot ``k`` of ``buf`` (its last entry: the steps kept)."""
        view = buf[k * self.slot : (k + 1) * self.slot]
        view[-1] = float(min(T, self.max_steps))
        return _Tap.apply(t, dummy, view, spec)  # type: ignore[no-any-return]

    def before_kw(
        self, module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], name: str = ""
    ) -> tuple[Any, ...] | None:
        """Forward pre-hook. Split modules: keep the inputs for :meth:`after` and give the fused
        call only the first time step. Others: wrap the input sequence in the tap."""
        x = args[0]
        if not isinstance(x, PackedSequence | torch.Tensor):
            return None
        if self._split(module):
            hx = args[1] if len(args) > 1 else kwargs.get("hx")
            self._stash[id(module)] = (name, x, hx)
            return ((_first_step(x, module), *args[1:]), kwargs)
        return super().before_kw(module, args, kwargs, name)

    def before(self, module: nn.Module, args: tuple[Any, ...], name: str = "") -> tuple[Any, ...]:
        """Wrap the input sequence ``args[0]`` in a tap of the whole module."""
        x = args[0]
        data = x.data if isinstance(x, PackedSequence) else x
        buf, dummy = self._new(data.device)
        tapped = self._tap(x, module, buf, self._fallback_slot(module), dummy)
        self._open.append(buf)
        L, D = shape_of(module)
        self._last[id(module)] = (name, buf, L, D, False)
        return (tapped, *args[1:])

    def after(self, module: nn.Module, out: object, name: str = "") -> object | None:
        """Forward hook of a split module: its output recomputed layer by layer and direction
        by direction, each input tapped (slot l·D + d)."""
        stash = self._stash.pop(id(module), None)
        if stash is None:
            return None
        _, x, hx = stash
        data = x.data if isinstance(x, PackedSequence) else x
        buf, dummy = self._new(data.device)
        L, D = shape_of(module)
        batch_first = bool(getattr(module, "batch_first", False))
        T_packed = int(x.batch_sizes.shape[0]) if isinstance(x, PackedSequence) else 0

        def tap(t: torch.Tensor, layer: int, d: int, time: torch.Tensor | None) -> torch.Tensor:
            if time is not None:
                spec: tuple[str, Any] = ("packed", time)
                T = T_packed
            else:
                spec = ("bt", None) if batch_first else ("tb", None)
                T = int(t.shape[1] if batch_first else t.shape[0])
            return self._slot_tap(t, buf, layer * D + d, T, spec, dummy)

        result = run_by_layer(module, x, hx, tap)
        self._open.append(buf)
        self._last[id(module)] = (name, buf, L, D, True)
        return result

    def measure(self, out: torch.Tensor) -> tuple[torch.Tensor, int]:
        """The buffer the taps fill during backward (read at ``probe.step()``), count 1."""
        if not self._open:  # the pre-hook did not run (should not happen): nothing measured
            return torch.zeros(self.width, dtype=torch.float64, device=out.device), 0
        return self._open.pop(), 1

    # ------------------------------------------------------------------ reading
    def profiles(self) -> dict[str, list[float]]:
        """``{layer name: [‖∂L/∂x_t‖ for t < T]}`` of the last tapped call of each module,
        after its backward (host sync): ``"lstm.l0"``, ``"lstm.l0_reverse"``, … for a split
        module, the module's path for a whole-module profile."""
        res = {}
        for name, buf, L, D, split in self._last.values():
            b = buf.detach().cpu().double().numpy()
            for k, label in _labels(name, L, D, split, self.slots):
                s = b[k * self.slot : (k + 1) * self.slot]
                res[label] = np.sqrt(s[: int(s[-1])]).tolist()
        return res

    def series(self, chunk: Chunk, ctx: Context) -> Iterator[Series]:
        block = chunk.outputs.get(self.name)
        sites = ctx.sites.get(self.name, [])
        if block is None or not sites:
            return
        known = {layer.name for layer in ctx.layers}
        rows: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # label → (sums [n, slot], counts)
        for s, site in enumerate(sites):
            counts = block.counts[:, s]
            if not counts.any():
                continue
            vals = block.values[:, s]
            L, D = self._layout[site.module]  # the module's own shape, not the selection's
            for k in range(self.slots):
                part = vals[:, k * self.slot : (k + 1) * self.slot]
                if not (part[:, -1] > 0).any():
                    continue  # slot never filled
                if L * D == 1 and k == 0:
                    label = site.layer if site.layer in known else layer_name(site.module, 0, 0)
                elif k == self.slots - 1:
                    label = site.module  # the whole module (not split)
                else:
                    label = layer_name(site.module, k // D, k % D)
                if label in rows:
                    acc, cnt = rows[label]
                    rows[label] = (acc + part, cnt + counts)
                else:
                    rows[label] = (part.copy(), counts.copy())
        for label, (sums, counts) in rows.items():
            n = sums.shape[0]
            out = {c: np.full(n, np.nan) for c in COLUMNS}
            ok = counts > 0
            for r in np.flatnonzero(ok):
                T = int(np.rint(sums[r, -1] / counts[r]))
                a = analyze_profile(np.sqrt(np.maximum(sums[r, :T], 0.0)).tolist(), label)
                out["time_ratio"][r] = a.ratio
                out["time_decay"][r] = a.decay_per_step
                out["time_memory"][r] = a.memory
                out["time_steps"][r] = T
            for c in COLUMNS:
                yield label, c, out[c], ok


def _first_step(x: Any, module: nn.Module) -> Any:
    """The input sequence cut to its first time step (the fused call whose output a split
    module's recomputation replaces: it only has to run, cheaply)."""
    if isinstance(x, PackedSequence):
        n = int(x.batch_sizes[0])
        return PackedSequence(x.data[:n], x.batch_sizes[:1], x.sorted_indices, x.unsorted_indices)
    if x.dim() == 3 and getattr(module, "batch_first", False):
        return x[:, :1]
    return x[:1]


def _labels(name: str, L: int, D: int, split: bool, slots: int) -> list[tuple[int, str]]:
    if split:
        return [(layer * D + d, layer_name(name, layer, d)) for layer in range(L) for d in range(D)]
    if L * D == 1:
        return [(0, layer_name(name, 0, 0))]
    return [(slots - 1, name)]
