"""``gradprobe.watch(model)``: the probe.

Usage::

    probe = gradprobe.watch(model, every=1)   # or: with gradprobe.watch(model) as probe:
    for x, y in loader:
        loss_fn(model(x), y).backward()
        probe.step()                           # after backward, before optimizer.step()
        opt.step(); opt.zero_grad()
    probe.history      # tidy DataFrame: step, layer, quantity, value
    probe.diagnose()   # findings
    probe.close()      # removes every hook

Mixed precision: call ``scaler.unscale_(optimizer)`` before ``probe.step()`` so that the
probe sees true gradients; the steps a ``GradScaler`` skips for Inf/NaN show up as non-finite.

Hot path. At an ordinary recorded step ``step()`` does one list comprehension
``[p.grad for p in params]`` (``zero_grad(set_to_none=True)``, PyTorch's default, makes the
``.grad`` tensors new objects every step, so they are gathered anew, without a per-layer
Python loop), one ``torch._foreach_norm`` over them and one ``torch.stack(..., out=row)``
straight into a preallocated [flush_every, 3, P] device buffer. Parameters without a gradient
in a step (frozen, unused branch), sparse gradients, mixed devices and FSDP2 shards take a
general path that handles each case. Every ``detail_every``-th recorded step (a *detail*
step) also measures ‖θ‖ and ‖Δθ‖ (the snapshot for Δθ is taken at the step before) and the
activation statistics; the forward hooks that collect those are attached only for the forward
pass of a detail step (the probe knows at the end of step t whether step t+1 is one), so the
other forward passes run without any hook.

Nothing is moved to the host until the buffer is full (``flush_every`` recorded steps) or
``history``/``latest()`` is read, so there is no host–device synchronisation per step on a
GPU. A flush copies the raw block to the host as NumPy arrays and nothing more (unless sinks
need per-step records); all per-layer quantities — layer norms, speed, relative speed, ratios,
the NaN origin — are derived vectorised over whole blocks (see
:mod:`gradprobe.probe.quantities`) when :attr:`Probe.history` is read, and the DataFrame is
cached until the next flush. Non-finite gradients are therefore detected when the block is
processed, not in ``step()`` (which would need a host sync on a GPU); each finding still names
the step in which the NaN/Inf first appeared and the layer where backward produced it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from gradprobe.errors import ConfigError
from gradprobe.probe.clipping import Clipping
from gradprobe.probe.distributed import ShardGroup, reduce_sharded, shard_groups
from gradprobe.probe.history import (
    META_KEY,
    chunk_frame,
    empty_history,
    records,
    save_history,
)
from gradprobe.probe.layers import (
    ROOT_NAME,
    ForwardOrder,
    LayerInfo,
    discover_layers,
    is_dtensor,
    local,
    unwrap,
)
from gradprobe.probe.nonfinite import NonFinite
from gradprobe.probe.quantities import (
    ACTIVATION_QUANTITIES,
    BiasSpeed,
    GradNorm,
    ParamNorm,
    UpdateRatio,
)
from gradprobe.probe.quantities.base import SENTINEL, ActivationQuantity, Chunk, Context, Quantity

if TYPE_CHECKING:
    from gradprobe.probe.diagnose import Finding

#: A sink receives, for every recorded step and in step order, ``(step, records)`` with
#: ``records = {layer: {quantity: value}}`` — called when the probe fetches values from the
#: device (every ``flush_every`` recorded steps, on ``history``/``latest()`` and on close).
Sink = Callable[[int, dict[str, dict[str, float]]], Any]

LayerRecords = dict[str, dict[str, float]]

#: Steps during which the probe watches the order in which layers are called.
ORDER_STEPS = 16

#: Default ``detail_every``: parameter norms, update ratio and activation statistics are
#: recorded at every DETAIL_EVERY-th recorded step.
DETAIL_EVERY = 10


class Probe:
    """Per-layer learning speed, saturation, NaN origin and diagnosis for a PyTorch model.

    Parameters
    ----------
    model:
        Any ``nn.Module`` (also DDP-wrapped, FSDP2-sharded, or one of the book's
        ``gradprobe.nets.Network``). A *layer* is a module owning parameters directly.
    every:
        Record every ``every``-th call of :meth:`step` (steps are numbered from 0, step 0 is
        recorded).
    sinks:
        Callables ``sink(step, {layer: {quantity: value}})``, see :data:`Sink`. A sink with a
        ``close()`` method (e.g. ``TensorBoardSink``) is closed by :meth:`close`.
    flush_every:
        Recorded steps kept on the device before one transfer to the host.
    update_ratio:
        Keep a copy of the parameters (one model's worth of memory) to measure ‖Δw‖/‖w‖.
    detail_every:
        Record the *detail* quantities — ``param_norm``, ``update_ratio`` and the activation
        statistics — at every ``detail_every``-th recorded step (1 = every recorded step);
        the gradient quantities (norms, speed, NaN origin, clipping) are recorded at every
        recorded step. A detail step costs about four passes over all parameters (snapshot,
        difference, two norms) plus a few kernels per activation module; spread over the
        default DETAIL_EVERY recorded steps this keeps the probe's per-step cost close to one
        pass over the gradients (see ``benchmarks/RESULTS.md``, "Probe overhead").
    activations:
        Install forward hooks on ``nn.Sigmoid``/``nn.Tanh`` (saturation, mean σ′) and
        ``nn.ReLU`` modules (dead fraction). Functional activations are not seen.
    """

    def __init__(
        self,
        model: nn.Module,
        every: int = 1,
        *,
        sinks: Iterable[Sink] = (),
        flush_every: int = 64,
        update_ratio: bool = True,
        activations: bool = True,
        detail_every: int = DETAIL_EVERY,
    ) -> None:
        if not isinstance(model, nn.Module):
            raise ConfigError(f"watch() needs a torch.nn.Module, got {type(model).__name__}")
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ConfigError(f"every must be a positive integer, got {every!r}")
        if isinstance(flush_every, bool) or not isinstance(flush_every, int) or flush_every < 1:
            raise ConfigError(f"flush_every must be a positive integer, got {flush_every!r}")
        if isinstance(detail_every, bool) or not isinstance(detail_every, int) or detail_every < 1:
            raise ConfigError(f"detail_every must be a positive integer, got {detail_every!r}")
        self.detail_every = detail_every
        self._detail_period = every * detail_every
        self.model = model
        self.module = unwrap(model)
        self.every = every
        self.flush_every = flush_every
        self.sinks: list[Sink] = list(sinks)
        for s in self.sinks:
            if not callable(s):
                raise ConfigError(f"a sink must be callable, got {type(s).__name__}")
        self.track_update_ratio = update_ratio

        self.layers, self.params = discover_layers(self.module)
        if not self.params:
            raise ConfigError("the model has no parameters: nothing to watch")
        first = local(self.params[0].detach())
        self.device = first.device
        floats = [p.dtype for p in self.params if p.is_floating_point()]
        self.dtype = torch.float64 if torch.float64 in floats else torch.float32
        acc_dtype = torch.float32 if self.device.type == "mps" else torch.float64
        P = len(self.params)

        modules = {(n or ROOT_NAME): m for n, m in self.module.named_modules()}
        self._types = {name: type(m).__name__ for name, m in modules.items()}

        # activation hooks ------------------------------------------------------------------
        self._act: list[tuple[str, ActivationQuantity]] = []
        if activations:
            for name, m in modules.items():
                for q in ACTIVATION_QUANTITIES:
                    if type(m) in q.module_types:
                        self._act.append((name, q))
                        break
        A = len(self._act)
        self._acc_dtype = acc_dtype
        self._stats: list[torch.Tensor] = []  # 0-d statistics of this step's hook calls
        self._stat_module: list[int] = []  # which activation module each pair came from
        self._act_n = np.zeros(max(A, 1), dtype=np.int64)
        # the forward hooks are attached only while the next forward pass belongs to a detail
        # step (see _set_detail): the other forward passes run without any probe hook
        self._act_hooks = [
            (modules[name], self._act_hook(j, q)) for j, (name, q) in enumerate(self._act)
        ]
        self._handles: list[torch.utils.hooks.RemovableHandle] = []
        order_modules = [(layer.name, modules[layer.name]) for layer in self.layers]
        order_modules += [(name, modules[name]) for name, _ in self._act]
        self._order: ForwardOrder | None = ForwardOrder(order_modules)
        self._n_ordered = len(order_modules)
        self._forward_order: list[str] = []

        # buffers ---------------------------------------------------------------------------
        F = flush_every
        self._buf = torch.full((F, 3, P), SENTINEL, dtype=self.dtype, device=self.device)
        self._grad_rows = list(self._buf[:, 0].unbind(0))  # views written by torch.stack(out=)
        self._act_buf = torch.zeros(F, max(A, 1), 2, dtype=acc_dtype, device=self.device)
        self._clip_buf = torch.full((F,), SENTINEL, dtype=self.dtype, device=self.device)
        self._host_steps = np.zeros(F, dtype=np.int64)
        self._host_act_n = np.zeros((F, max(A, 1)), dtype=np.int64)
        self._host_clip_max = np.full(F, np.nan)
        self._sentinel = torch.tensor(SENTINEL, dtype=self.dtype, device=self.device)
        self._prev: list[torch.Tensor] | None = None
        self._prev_valid = False
        self._groups: list[ShardGroup] = shard_groups(self.params, self.device)
        self._sharded = any(is_dtensor(p) for p in self.params)
        # the fast path of _record: one _foreach_norm over [p.grad for p in params], written
        # with torch.stack(out=) into the buffer row; it falls back to the general path when
        # a gradient is missing (TypeError) or unsupported (sparse: NotImplementedError)
        self._fast = not self._sharded and all(
            p.device == self.device
            and p.is_floating_point()
            and p.dtype.itemsize <= self.dtype.itemsize
            for p in self.params
        )
        self._norm_kw: dict[str, Any] = (
            {} if all(p.dtype == self.dtype for p in self.params) else {"dtype": self.dtype}
        )
        self._index_cache: dict[tuple[int, ...], torch.Tensor] = {}

        self._quantities: list[Quantity] = [
            GradNorm(),
            BiasSpeed(),
            ParamNorm(),
            UpdateRatio(),
            *[q for q in _unique(q for _, q in self._act)],
            NonFinite(),
            Clipping(),
        ]
        self._step = 0
        self._r = 0
        self._recording = True
        self._detail = True  # this step records the detail quantities: step 0 does
        self._chunks: list[Chunk] = []  # raw blocks fetched from the device, not yet framed
        self._frames: list[pd.DataFrame] = []
        self._history: pd.DataFrame | None = None
        self._last_step: int | None = None
        self._last_chunk: Chunk | None = None  # the raw block of the latest flush
        self._closed = False
        self._attach_act()  # no snapshot: step 0 has no update ratio

    # ------------------------------------------------------------------ public API
    @property
    def steps_taken(self) -> int:
        """How many times :meth:`step` has been called."""
        return self._step

    @property
    def layer_names(self) -> list[str]:
        """Layer names in forward order (registration order until the first forward)."""
        return [layer.name for layer in self._ordered_layers()]

    def step(self) -> None:
        """Record this step's gradients. Call after ``backward()``, before ``optimizer.step()``.

        Under FSDP2 this is a collective: every rank must call it at the same steps.
        """
        if self._closed:
            raise ConfigError("this probe is closed; call gradprobe.watch(model) again")
        t = self._step
        if self._order is not None:
            # the forward order is watched until every layer has run once (at most
            # ORDER_STEPS steps), so that layers used only in some steps are placed too
            self._forward_order = list(self._order.order)
            if len(self._forward_order) == self._n_ordered or t + 1 >= ORDER_STEPS:
                self._order.remove()
                self._order = None
        grad_mode = torch.is_grad_enabled()
        torch._C._set_grad_enabled(False)
        try:
            if self._recording:
                self._record(t)
            t += 1
            self._step = t
            self._recording = t % self.every == 0
            detail = t % self._detail_period == 0
            if detail or self._detail:  # entering or leaving a detail step
                self._set_detail(detail)
        finally:
            torch._C._set_grad_enabled(grad_mode)
        if self._r == self.flush_every:
            self._flush()

    def record_clip(self, total_norm: torch.Tensor | float, max_norm: float | None = None) -> None:
        """Tell the probe the total gradient norm *before* clipping (what
        ``torch.nn.utils.clip_grad_norm_`` returns) for the coming :meth:`step`; the norm after
        clipping is what the probe measures itself."""
        if not self._recording or self._closed:
            return
        if isinstance(total_norm, torch.Tensor):
            tn = total_norm.detach()
            if hasattr(tn, "full_tensor"):
                tn = tn.full_tensor()
            self._clip_buf[self._r].copy_(tn.reshape(()))
        else:
            self._clip_buf[self._r].fill_(float(total_norm))
        self._host_clip_max[self._r] = np.nan if max_norm is None else float(max_norm)

    def clip_grad_norm_(
        self, max_norm: float, norm_type: float = 2.0, **kwargs: Any
    ) -> torch.Tensor:
        """``torch.nn.utils.clip_grad_norm_`` over the watched model's parameters, with the
        norms before and after recorded. Returns the total norm before clipping."""
        grads = [p for p in self.params if p.grad is not None]
        total = torch.nn.utils.clip_grad_norm_(grads, max_norm, norm_type, **kwargs)
        self.record_clip(total, max_norm)
        return total

    @property
    def history(self) -> pd.DataFrame:
        """All recorded values: a tidy DataFrame with columns ``step, layer, quantity, value``.

        Quantities (per layer unless noted): ``grad_norm``, ``grad_norm.<param>``,
        ``grad_rms``, ``speed`` (‖∂C/∂bˡ‖), ``relative_speed``, ``param_norm``,
        ``update_ratio``, ``saturation``/``mean_dsigma`` (sigmoid, tanh modules),
        ``dead_fraction`` (ReLU modules), ``nonfinite``/``nonfinite_origin``; layer
        ``"(model)"``: ``grad_norm`` (all parameters), ``clip_before``/``clip_after``/``clipped``.
        """
        self._flush()
        if self._chunks:
            # all blocks fetched since the last read, in one vectorised pass
            df_new = chunk_frame(_concat(self._chunks), self._context(), self._quantities)
            self._chunks = []
            if len(df_new):
                self._frames.append(df_new)
                self._history = None
        if self._history is None:
            frames = [f for f in self._frames if len(f)]
            df = pd.concat(frames, ignore_index=True) if frames else empty_history()
            self._frames = [df] if len(df) else []
            self._history = df
        out = self._history.copy()
        out.attrs[META_KEY] = self.meta()
        return out

    def latest(self) -> LayerRecords:
        """The most recent recorded step as ``{layer: {quantity: value}}`` (fetches from the
        device). Empty before the first recorded step."""
        self._flush()
        c = self._last_chunk
        if self._last_step is None or c is None:
            return {}
        last = _rows(c, slice(c.n - 1, c.n))  # only the last step's row is turned into records
        df = chunk_frame(last, self._context(), self._quantities)
        return records(df).get(self._last_step, {})

    def flush(self) -> None:
        """Fetch the buffered steps from the device now and feed them to the sinks."""
        self._flush()

    def meta(self) -> dict[str, Any]:
        """Layer order and types, saved with the history."""
        order = self.layer_names
        acts = [name for name, _ in self._act]
        return {
            "order": order,
            "activations": {name: q.kind for name, q in self._act},
            "forward": list(self._forward_order),
            "types": {name: self._types.get(name, "") for name in order + acts},
            "every": self.every,
            "detail_every": self.detail_every,
        }

    def save(self, path: Any) -> Any:
        """Write :attr:`history` to ``.csv``, ``.parquet`` or ``.json``; returns the path."""
        return save_history(self.history, path)

    def diagnose(self) -> list[Finding]:
        """Turn the history into findings (see :func:`gradprobe.probe.diagnose.diagnose`)."""
        from gradprobe.probe.diagnose import diagnose

        return diagnose(self.history)

    def what_if(
        self,
        batch: Sequence[Any],
        changes: Sequence[str] = ("relu", "he-init", "cross-entropy"),
        loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    ) -> pd.DataFrame:
        """Counterfactual speeds on a copy of the model (see :func:`what_if`)."""
        from gradprobe.probe.what_if import what_if

        return what_if(self.module, batch, changes=changes, loss_fn=loss_fn)

    def close(self) -> None:
        """Fetch what is left on the device (feeding the sinks), remove every hook and close
        the sinks that have a ``close()`` method; idempotent."""
        if self._closed:
            return
        self._flush()
        self._detach_act()
        if self._order is not None:
            self._order.remove()
            self._order = None
        self._prev = None
        self._closed = True
        for sink in self.sinks:  # e.g. TensorBoardSink: flush and close its writer
            close = getattr(sink, "close", None)
            if callable(close):
                close()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def hook_ids(self) -> set[int]:
        """Ids of the hooks the probe installed (used to strip them from copies)."""
        ids = {h.id for h in self._handles}
        if self._order is not None:
            ids |= self._order.hook_ids
        return ids

    def __enter__(self) -> Probe:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"step {self._step}"
        return f"<Probe {len(self.layers)} layers, every={self.every}, {state}>"

    # ------------------------------------------------------------------ internals
    def _act_hook(self, j: int, q: ActivationQuantity) -> Callable[..., None]:
        stats = self._stats
        which = self._stat_module
        counts = self._act_n

        def hook(module: nn.Module, args: object, out: object) -> None:
            if not self._detail or not torch.is_grad_enabled():
                return
            if not isinstance(out, torch.Tensor) or out.numel() == 0:
                return
            a, b, n = q.measure(out)
            stats.append(a)
            stats.append(b)
            which.append(j)
            counts[j] += n

        return hook

    def _activation_row(self, r: int) -> None:
        """Sum this step's hook statistics per module into ``_act_buf[r]`` [A, 2]: one
        ``torch.stack`` when every module ran once, in order (the usual case)."""
        A = len(self._act)
        row = self._act_buf[r, :A]
        if not self._stats:
            row.zero_()
            return
        v = torch.stack(self._stats).to(self._acc_dtype).view(-1, 2)
        if self._stat_module == list(range(A)):
            row.copy_(v)
            return
        row.zero_()
        for k, j in enumerate(self._stat_module):
            row[j].add_(v[k])

    def _norms(self, tensors: list[torch.Tensor]) -> list[torch.Tensor]:
        """‖t‖₂ of each tensor as 0-d tensors of ``self.dtype`` on ``self.device``, with one
        ``torch._foreach_norm`` per (device, dtype) group (one in the usual case)."""
        groups: dict[tuple[torch.device, torch.dtype], list[int]] = {}
        for i, t in enumerate(tensors):
            groups.setdefault((t.device, t.dtype), []).append(i)
        out: list[torch.Tensor] = [self._sentinel] * len(tensors)
        for (dev, dt), idx in groups.items():
            ts = [tensors[i] for i in idx]
            if dt == self.dtype or (dt.is_floating_point and dt.itemsize < self.dtype.itemsize):
                ns = list(torch._foreach_norm(ts, 2, dtype=self.dtype))
            else:
                ns = [n.to(self.dtype) for n in torch._foreach_norm(ts, 2)]
            if dev != self.device:
                ns = [n.to(self.device, non_blocking=True) for n in ns]
            for i, n in zip(idx, ns, strict=True):
                out[i] = n
        return out

    def _record(self, t: int) -> None:
        r = self._r
        grads = [p.grad for p in self.params]
        done = False
        if self._fast:
            try:
                norms = torch._foreach_norm(grads, 2, **self._norm_kw)  # type: ignore[arg-type]
                torch.stack(norms, out=self._grad_rows[r])
                done = True
            except (TypeError, RuntimeError):  # a missing (None) or sparse gradient
                pass
        if not done:
            self._grad_row(grads, r)
        if self._detail:
            row = self._buf[r]  # [3, P]: ‖∂C/∂θ‖, ‖θ‖, ‖Δθ‖ (rows 1, 2 SENTINEL otherwise)
            data = self._data()
            torch.stack(self._norms(data), out=row[1])
            if self._prev_valid and self._prev is not None:
                torch._foreach_sub_(self._prev, data)  # prev ← w_{t−1} − w_t = −Δw
                torch.stack(self._norms(self._prev), out=row[2])
            if self._act:
                self._activation_row(r)
                self._host_act_n[r] = self._act_n
                self._stats.clear()
                self._stat_module.clear()
                self._act_n[:] = 0
        if self._groups:
            reduce_sharded(self._buf[r], self._groups)
        self._host_steps[r] = t
        self._last_step = t
        self._r = r + 1

    def _grad_row(self, grads: list[torch.Tensor | None], r: int) -> None:
        """The general path: parameters without a gradient keep SENTINEL, sparse gradients
        are coalesced, DTensor gradients give their local shard, devices and dtypes are
        grouped (see :meth:`_norms`)."""
        present: list[torch.Tensor] = []
        where: list[int] = []
        for i, g in enumerate(grads):
            if g is None:
                continue
            if self._sharded:
                g = local(g)
            if g.is_sparse:
                g = g.coalesce().values()
            present.append(g)
            where.append(i)
        row = self._grad_rows[r]
        if not present:
            return
        if len(where) == len(grads):
            torch.stack(self._norms(present), out=row)
            return
        key = tuple(where)
        index = self._index_cache.get(key)
        if index is None:
            if len(self._index_cache) > 64:
                self._index_cache.clear()
            index = torch.tensor(where, dtype=torch.long, device=self.device)
            self._index_cache[key] = index
        row.index_copy_(0, index, torch.stack(self._norms(present)))

    def _data(self) -> list[torch.Tensor]:
        if self._sharded:
            return [local(p.detach()) for p in self.params]
        return [p.detach() for p in self.params]

    def _snapshot(self) -> None:
        data = self._data()
        if self._prev is None:
            self._prev = [torch.empty_like(d) for d in data]
        torch._foreach_copy_(self._prev, data)
        self._prev_valid = True

    def _set_detail(self, detail: bool) -> None:
        """Enter (``detail``) or leave a detail step, at the end of the step before it: attach
        or remove the activation hooks and take (or drop) the snapshot for ‖Δθ‖."""
        self._detail = detail
        if detail:
            self._attach_act()
            if self.track_update_ratio:
                self._snapshot()
        else:
            self._detach_act()
            self._prev_valid = False
        if self._act:
            self._stats.clear()
            self._stat_module.clear()
            self._act_n[:] = 0

    def _attach_act(self) -> None:
        if not self._handles:
            self._handles = [m.register_forward_hook(h) for m, h in self._act_hooks]

    def _detach_act(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []

    def _ordered_layers(self) -> list[LayerInfo]:
        order = self._forward_order or (self._order.order if self._order is not None else [])
        if not order:
            return list(self.layers)
        # layers in forward order; a layer whose module is never called (its parameters are
        # used by another module, e.g. MultiheadAttention's out_proj) goes right after the
        # layer registered before it
        by_name = {layer.name: layer for layer in self.layers}
        out = [by_name[n] for n in order if n in by_name]
        placed = {layer.name for layer in out}
        for i, layer in enumerate(self.layers):
            if layer.name in placed:
                continue
            pos = 0
            if i > 0:
                prev = self.layers[i - 1].name
                pos = next(k for k, x in enumerate(out) if x.name == prev) + 1
            out.insert(pos, layer)
            placed.add(layer.name)
        return out

    def _context(self) -> Context:
        return Context(self._ordered_layers(), [(name, q.kind) for name, q in self._act])

    def _flush(self) -> None:
        """Copy the buffered raw block to the host (one transfer) and reset the buffer. The
        DataFrame is built lazily from the raw blocks when :attr:`history` is read; only
        sinks need per-step records now."""
        n = self._r
        if n == 0:
            return
        A = len(self._act)
        raw = self._buf[:n].to("cpu", torch.float64, copy=True).numpy()
        chunk = Chunk(
            steps=self._host_steps[:n].copy(),
            grad=raw[:, 0],
            param=raw[:, 1],
            delta=raw[:, 2],
            act=self._act_buf[:n, :A].to("cpu", torch.float64, copy=True).numpy(),
            act_n=self._host_act_n[:n, :A].copy(),
            clip_before=self._clip_buf[:n].to("cpu", torch.float64, copy=True).numpy(),
            clip_max=self._host_clip_max[:n].copy(),
        )
        self._r = 0
        self._buf[:n].fill_(SENTINEL)
        self._clip_buf[:n].fill_(SENTINEL)
        self._host_clip_max[:n] = np.nan
        self._host_act_n[:n] = 0  # rows of non-detail steps must read "no activation data"
        self._chunks.append(chunk)
        self._last_chunk = chunk
        if self.sinks:
            df = chunk_frame(chunk, self._context(), self._quantities)
            if len(df):
                recs = records(df)
                for step in sorted(recs):
                    for sink in self.sinks:
                        sink(step, recs[step])


def _rows(c: Chunk, rows: slice) -> Chunk:
    """The chunk's rows ``rows`` (views)."""
    return Chunk(
        steps=c.steps[rows],
        grad=c.grad[rows],
        param=c.param[rows],
        delta=c.delta[rows],
        act=c.act[rows],
        act_n=c.act_n[rows],
        clip_before=c.clip_before[rows],
        clip_max=c.clip_max[rows],
    )


def _concat(chunks: list[Chunk]) -> Chunk:
    """One chunk of all the rows of ``chunks``, in order."""
    if len(chunks) == 1:
        return chunks[0]
    return Chunk(
        steps=np.concatenate([c.steps for c in chunks]),
        grad=np.concatenate([c.grad for c in chunks]),
        param=np.concatenate([c.param for c in chunks]),
        delta=np.concatenate([c.delta for c in chunks]),
        act=np.concatenate([c.act for c in chunks]),
        act_n=np.concatenate([c.act_n for c in chunks]),
        clip_before=np.concatenate([c.clip_before for c in chunks]),
        clip_max=np.concatenate([c.clip_max for c in chunks]),
    )


def _unique(items: Iterable[ActivationQuantity]) -> list[ActivationQuantity]:
    seen: set[type] = set()
    out: list[ActivationQuantity] = []
    for q in items:
        if type(q) not in seen:
            seen.add(type(q))
            out.append(q)
    return out


def watch(
    model: nn.Module,
    every: int = 1,
    *,
    sinks: Iterable[Sink] = (),
    flush_every: int = 64,
    update_ratio: bool = True,
    activations: bool = True,
    detail_every: int = DETAIL_EVERY,
) -> Probe:
    """Attach a :class:`Probe` to ``model``; also usable as a context manager."""
    return Probe(
        model,
        every,
        sinks=sinks,
        flush_every=flush_every,
        update_ratio=update_ratio,
        activations=activations,
        detail_every=detail_every,
    )
