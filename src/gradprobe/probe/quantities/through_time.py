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

Scope, stated honestly: one profile per *module* (call site), the gradient reaching the
module's input through its whole stack. For a stacked module it is not split per stacked
layer, and for a bidirectional one it is the sum of both directions (the forward direction
carries gradient back in time, the reverse one forward). The per-stacked-layer, per-direction
‖∂L/∂h_t‖ needs the unrolled measurement of :class:`gradprobe.recurrent.TimestepGradients`.
The profile is reduced by :func:`gradprobe.recurrent.analyze_profile` (read in forward
order): columns ``time_ratio`` (‖∂L/∂x_0‖ / ‖∂L/∂x_entry‖, entry the latest step reached),
``time_decay`` (factor per step backwards), ``time_memory`` (steps over which it stays ≥ 1 %
of its entry value) and ``time_steps`` (T). Steps beyond ``max_steps`` are not recorded.

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
    """Per-timestep ‖∂L/∂x_t‖ at the input of each recurrent module, reduced to a decay rate
    and an effective memory (see the module docstring for what exactly is measured).

    ``max_steps``: the longest sequence recorded (later steps are dropped). :meth:`profiles`
    gives the last measured profiles [T] per module path (host copy; call it off the hot path).
    """

    name = "through_time"
    columns = COLUMNS
    module_types: ClassVar[tuple[type[nn.Module], ...]] = (nn.RNN, nn.LSTM, nn.GRU)
    taps_input: ClassVar[bool] = True
    kind = "recurrent"

    def __init__(self, max_steps: int = 512) -> None:
        if max_steps < 2:
            raise ValueError(f"max_steps must be ≥ 2, got {max_steps}")
        self.max_steps = int(max_steps)
        self.width = self.max_steps + 1  # type: ignore[misc]  # last slot: T
        self._dummy: dict[torch.device, torch.Tensor] = {}
        self._open: list[torch.Tensor] = []
        self._last: dict[int, tuple[str, torch.Tensor]] = {}

    def __repr__(self) -> str:
        return f"ThroughTime(max_steps={self.max_steps})"

    def before(self, module: nn.Module, args: tuple[Any, ...], name: str = "") -> tuple[Any, ...]:
        """Forward pre-hook: wrap the input sequence ``args[0]`` in the tap."""
        x = args[0]
        data = x.data if isinstance(x, PackedSequence) else x
        dev = data.device
        dtype = torch.float32 if dev.type == "mps" else torch.float64
        buf = torch.zeros(self.width, dtype=dtype, device=dev)
        dummy = self._dummy.get(dev)
        if dummy is None:
            dummy = self._dummy[dev] = torch.zeros((), device=dev, requires_grad=True)
        if isinstance(x, PackedSequence):
            sizes = x.batch_sizes  # [T] on the CPU
            T = int(sizes.shape[0])
            index = torch.repeat_interleave(torch.arange(T), sizes).to(dev)
            spec: tuple[str, Any] = ("packed", index)
            tapped: Any = PackedSequence(
                _Tap.apply(data, dummy, buf, spec), sizes, x.sorted_indices, x.unsorted_indices
            )
        else:
            if data.dim() == 2:
                layout, T = "t", int(data.shape[0])
            elif getattr(module, "batch_first", False):
                layout, T = "bt", int(data.shape[1])
            else:
                layout, T = "tb", int(data.shape[0])
            tapped = _Tap.apply(data, dummy, buf, (layout, None))
        buf[-1] = float(min(T, self.max_steps))
        self._open.append(buf)
        self._last[id(module)] = (name, buf)
        return (tapped, *args[1:])

    def measure(self, out: torch.Tensor) -> tuple[torch.Tensor, int]:
        """The buffer the tap fills during backward (read at ``probe.step()``), count 1."""
        if not self._open:  # the pre-hook did not run (should not happen): nothing measured
            return torch.zeros(self.width, dtype=torch.float64, device=out.device), 0
        return self._open.pop(), 1

    def profiles(self) -> dict[str, list[float]]:
        """``{module path: [‖∂L/∂x_t‖ for t < T]}`` of the last tapped call of each module,
        after its backward (host sync)."""
        res = {}
        for name, buf in self._last.values():
            b = buf.detach().cpu().double().numpy()
            res[name] = np.sqrt(b[: int(b[-1])]).tolist()
        return res

    def series(self, chunk: Chunk, ctx: Context) -> Iterator[Series]:
        for layer, sums, counts in self.per_layer(chunk, ctx):
            n = sums.shape[0]
            out = {c: np.full(n, np.nan) for c in COLUMNS}
            ok = counts > 0
            for r in np.flatnonzero(ok):
                T = int(np.rint(sums[r, -1] / counts[r]))
                a = analyze_profile(
                    np.sqrt(np.maximum(sums[r, :T], 0.0)).tolist(), layer, reverse=False
                )
                out["time_ratio"][r] = a.ratio
                out["time_decay"][r] = a.decay_per_step
                out["time_memory"][r] = a.memory
                out["time_steps"][r] = T
            for c in COLUMNS:
                yield layer, c, out[c], ok
