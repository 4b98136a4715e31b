"""The recorder: hooks and device buffers. It measures raw numbers and nothing more.

Hot path. At the end of each backward pass — a callback queued by a post-accumulate-grad
hook, before anything can clip the gradients — one fused norm pass writes ‖∂C/∂θ‖ of the P
parameter tensors into the current row of a preallocated [flush_every, P] buffer (the pre-clip
norms). At ``probe.step()`` a step whose gradients are unchanged since (their version
counters) reuses that row as its post-clip norms; after a clip a second pass writes them
(``torch._foreach_norm`` and ``torch.stack(..., out=row)`` into a [flush_every, 3, P] buffer).
Parameters without a gradient (frozen, unused branch), sparse gradients, mixed devices and
FSDP2 shards take a general path. Every ``detail_every``-th recorded step (a *detail* step)
also measures ‖θ‖ and ‖Δθ‖ (when a quantity reads ``"parameter"``/``"update"``) and the
:class:`~gradprobe.probe.quantities.OutputQuantity` statistics; their forward hooks are
attached only for the forward pass of a detail step (the recorder knows at the end of step t
whether step t+1 is one), so other forward passes run without them.

On the CPU with numba installed (the ``fast`` extra) these norm passes — the gradient norms at
the end of backward and at ``probe.step()``, the snapshot θ_prev ← θ before a detail step and
(‖θ‖, ‖θ − θ_prev‖) at it — run as single-threaded compiled loops over the tensors' memory
(:class:`~gradprobe.probe.fastnorm.CpuNorms`), which also tell whether the gradient norms are
all finite; the torch calls above are the fallback. Loading the kernels costs ≈ 0.7 s, so
they take over at step ``fastnorm.COMPILED_AFTER_STEPS`` (5 000) of a long run, or from the first
step with ``GRADPROBE_ENGINE=numba``; ``GRADPROBE_ENGINE=torch`` never uses them.

Nothing is moved to the host until the buffer is full (``flush_every`` recorded steps) or a
reader asks (:meth:`Recorder.flush`): no host–device synchronisation per step on an
accelerator. The one exception is the NaN/Inf check (``nan_check="sync"``, the default on the
CPU, where it costs a few microseconds): when a step's gradients are non-finite the
:class:`~gradprobe.probe.origin.OriginFinder` names the producer in that very step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from gradprobe.probe import fastnorm
from gradprobe.probe.distributed import (
    ShardGroup,
    queue_after_reducers,
    reduce_sharded,
    shard_groups,
)
from gradprobe.probe.fastnorm import CpuNorms
from gradprobe.probe.layers import (
    ROOT_NAME,
    ForwardOrder,
    LayerInfo,
    feeding_layers,
    is_dtensor,
    local,
)
from gradprobe.probe.origin import OriginFinder, finite
from gradprobe.probe.quantities.base import (
    SENTINEL,
    Chunk,
    Context,
    NonFiniteEvent,
    OutputBlock,
    OutputQuantity,
    Quantity,
    Site,
)

#: Steps during which the recorder watches the order in which layers are called.
ORDER_STEPS = 16
#: backward passes in a row in which the same parameter must be accumulated first before the
#: recorder keeps only that parameter's post-accumulate-grad hook (see ``Recorder.__init__``)
PREFIRST_LEARN = 8
#: Call sites kept apart per hooked module and forward pass (later calls join the last).
MAX_CALLS = 4

NAN_CHECKS = ("auto", "sync", "deferred", "off")


class Recorder:
    """Fills device buffers with per-parameter norms and output statistics.

    ``module``: the (unwrapped) model; ``layers`` the selected layers (registration order);
    ``params`` the flat parameter list they index; ``quantities`` what to compute (decides
    what is measured: see :attr:`Quantity.reads`); ``every``, ``detail_every``,
    ``flush_every`` as in :func:`gradprobe.watch`; ``nan_check`` one of :data:`NAN_CHECKS`.
    """

    def __init__(
        self,
        module: nn.Module,
        layers: list[LayerInfo],
        params: list[nn.Parameter],
        quantities: Sequence[Quantity],
        *,
        every: int,
        detail_every: int,
        flush_every: int,
        nan_check: str = "auto",
        optimizer: Any = None,
        preclip: bool = True,
        compiled: bool = False,
    ) -> None:
        self.module = module
        #: under ``torch.compile`` the output hooks stay installed from the start (Dynamo
        #: does not guard on hook changes, so hooks added later would never run) and measure
        #: outside the graph (see :meth:`_out_hook`)
        self.compiled = compiled
        self.layers = layers
        self.params = params
        self.quantities = list(quantities)
        self.every = every
        self.detail_every = detail_every
        self.flush_every = flush_every
        self._detail_period = every * detail_every
        reads = {r for q in self.quantities for r in q.reads}
        self.need_param = "parameter" in reads
        self.need_update = "update" in reads

        first = local(params[0].detach())
        self.device = first.device
        floats = [p.dtype for p in params if p.is_floating_point()]
        self.dtype = torch.float64 if torch.float64 in floats else torch.float32
        self._acc_dtype = torch.float32 if self.device.type == "mps" else torch.float64
        P = len(params)
        F = flush_every

        modules = {(n or ROOT_NAME): m for n, m in module.named_modules()}
        self._types = {name: type(m).__name__ for name, m in modules.items()}
        self.layer_modules: dict[str, list[str]] = {}
        for layer in layers:
            self.layer_modules.setdefault(layer.module, []).append(layer.name)

        # output quantities: one hook per (quantity, selected module) ----------------------
        self._outq = [q for q in self.quantities if isinstance(q, OutputQuantity)]
        self._out_modules: list[list[str]] = []
        self._out_buf: list[torch.Tensor] = []
        self._out_n: list[np.ndarray] = []  # [F, S] host counts
        self._pending: list[list[tuple[int, torch.Tensor]]] = []
        self._pending_n: list[np.ndarray] = []
        # [S, width] float64 sums of the measurements that came back as host values (numpy)
        self._pending_host: list[np.ndarray] = []
        self._calls: dict[str, int] = {}
        self._hook_fns: list[tuple[nn.Module, Callable[..., None]]] = []
        self._pre_fns: list[tuple[nn.Module, Callable[..., Any]]] = []
        for qi, q in enumerate(self._outq):
            names = [n for n, m in modules.items() if q.selects(n, m)]
            self._out_modules.append(names)
            S = len(names) * MAX_CALLS  # 0 when nothing is hooked: empty raw blocks
            self._out_buf.append(
                torch.zeros(F, S, q.width, dtype=self._acc_dtype, device=self.device)
            )
            self._out_n.append(np.zeros((F, S), dtype=np.int64))
            self._pending.append([])
            self._pending_n.append(np.zeros(S, dtype=np.int64))
            self._pending_host.append(np.zeros((S, q.width)))
            for j, name in enumerate(names):
                self._hook_fns.append((modules[name], self._out_hook(qi, q, j, name)))
                if q.taps_input:
                    self._pre_fns.append((modules[name], self._pre_hook(q, name)))
        self._handles: list[torch.utils.hooks.RemovableHandle] = []
        self._index_cache: dict[tuple[int, ...], torch.Tensor] = {}

        watched = sorted({n for names in self._out_modules for n in names})
        order_modules = [(name, modules[name]) for name in self.layer_modules if name in modules]
        order_modules += [
            (name, modules[name]) for name in watched if name not in self.layer_modules
        ]
        self._order: ForwardOrder | None = ForwardOrder(order_modules)
        self._n_ordered = len(order_modules)
        self._forward_order: list[str] = []
        self._call_seq: list[str] = []
        self._watched = set(watched)

        # step quantities with their own device measurement ------------------------------
        self._stepq = [
            q for q in self.quantities if type(q).measure_step is not Quantity.measure_step
        ]
        self._extra_buf: dict[str, torch.Tensor] = {}

        # buffers ---------------------------------------------------------------------------
        self._buf = torch.full((F, 3, P), SENTINEL, dtype=self.dtype, device=self.device)
        self._grad_rows = list(self._buf[:, 0].unbind(0))
        self._clip_buf = torch.full((F,), SENTINEL, dtype=self.dtype, device=self.device)
        self._host_steps = np.zeros(F, dtype=np.int64)
        self._host_clip_max = np.full(F, np.nan)
        self._sentinel = torch.tensor(SENTINEL, dtype=self.dtype, device=self.device)
        self._prev: list[torch.Tensor] | None = None
        self._prev_valid = False
        self._groups: list[ShardGroup] = shard_groups(params, self.device)
        self._sharded = any(is_dtensor(p) for p in params)
        self._fast = not self._sharded and all(
            p.device == self.device
            and p.is_floating_point()
            and p.dtype.itemsize <= self.dtype.itemsize
            for p in params
        )
        self._norm_kw: dict[str, Any] = (
            {} if all(p.dtype == self.dtype for p in params) else {"dtype": self.dtype}
        )

        # NaN/Inf origin --------------------------------------------------------------------
        if nan_check not in NAN_CHECKS:
            raise ValueError(f"nan_check must be one of {NAN_CHECKS}, got {nan_check!r}")
        if nan_check == "auto":
            nan_check = "sync" if self.device.type == "cpu" else "deferred"
        self.nan_check = nan_check
        layer_of = [""] * P
        for layer in layers:
            for i in layer.param_index:
                layer_of[i] = layer.name
        self.finder: OriginFinder | None = None
        if nan_check == "sync":
            self.finder = OriginFinder(module, params, layer_of, lambda: self.recording)
        self._opt_handle = None
        if optimizer is not None and self.finder is not None:
            finder = self.finder
            self._opt_handle = optimizer.register_step_post_hook(
                lambda *a, **k: finder.optimizer_stepped()
            )
        self._events: dict[int, NonFiniteEvent] = {}
        self._prev_finite = False

        # pre-clip gradient norms, read at the end of backward ------------------------------
        # [F, P]: written by the end-of-backward callback straight into the current row; a
        # recorded step whose gradients did not change since then reuses it (host flag
        # ``_same``), and the total pre-clip norm is derived on the host at the flush.
        self._pre_buf = torch.full((F, P), SENTINEL, dtype=self.dtype, device=self.device)
        self._pre_rows = list(self._pre_buf.unbind(0))
        self._same = np.zeros(F, dtype=bool)
        self._pre_ok = np.zeros(F, dtype=bool)
        # on the CPU the NaN check reads the rows through numpy views (no dispatcher call)
        cpu_view = self.device.type == "cpu" and self.dtype in (torch.float32, torch.float64)
        self._np_grad = self._buf[:, 0].numpy() if cpu_view else None
        self._np_pre = self._pre_buf.numpy() if cpu_view else None
        self._np_buf = self._buf.numpy() if cpu_view else None
        # the compiled norms (numba, on the CPU): one single-threaded pass over all tensors,
        # from the first step when asked for, otherwise from step COMPILED_AFTER_STEPS on
        self._kern: CpuNorms | None = None
        self._kern_params = (
            params if cpu_view and self._fast and all(p.dtype == self.dtype for p in params)
            else None
        )  # fmt: skip
        self._recorded = 0
        if self._kern_params is not None and fastnorm.from_first_step():
            self._kern = CpuNorms.create(self._kern_params)
        self._pre_versions: list[int] | None = None
        #: whether the pre-clip row is all finite (known when the compiled norms wrote it)
        self._pre_finite: bool | None = None
        self._queued = False
        # The callback is queued by a post-accumulate-grad hook on the first parameter of
        # every layer (whichever is accumulated first in a backward pass). Each costs a Python
        # call per backward (≈ 2 µs alone, ≈ 10 µs inside a training step), so once the same
        # parameter has come first in PREFIRST_LEARN backward passes in a row, only its hook
        # stays; a recorded step with gradients but no callback (that parameter got no
        # gradient: a head used only in some steps, a layer frozen) puts them all back for
        # good — that step has no pre-clip row, and it happens at most once.
        self._pa_params: list[nn.Parameter] = []
        self._pa_handles: list[Any] = []
        self._pa_last: int | None = None  # id() of the parameter that came first last time
        self._pa_streak = 0  # backward passes in a row in which it came first
        self._pa_single = False
        self._pa_learn = False  # still watching which parameter comes first
        self._called = False  # the callback ran since the last recorded step
        if preclip and self._fast:
            firsts: dict[str, nn.Parameter] = {}
            for layer in layers:
                for i in layer.param_index:
                    if params[i].requires_grad:
                        firsts.setdefault(layer.name, params[i])
                        break
            self._pa_params = list(firsts.values())
            self._hook_all_firsts()
            self._pa_learn = len(self._pa_handles) > 1

        self.step = 0
        self.r = 0
        self.recording = True
        self.detail = True  # step 0 is a detail step
        self.last_step: int | None = None
        self._attach()

    # ------------------------------------------------------------------ hooks
    def _out_hook(self, qi: int, q: OutputQuantity, j: int, name: str) -> Callable[..., None]:
        pending = self._pending[qi]
        counts = self._pending_n[qi]
        host = self._pending_host[qi]
        calls = self._calls
        base = j * MAX_CALLS

        taps = q.taps_input

        def measure(out: object) -> None:
            t = out if isinstance(out, torch.Tensor) else _first_tensor(out)
            if t is None or t.numel() == 0:
                return
            k = calls.get(name, 0)
            calls[name] = k + 1
            s = base + min(k, MAX_CALLS - 1)
            v, n = q.measure(t)
            if isinstance(v, np.ndarray):  # host values: added up on the host, no tensor op
                host[s] += v
            else:
                pending.append((s, v.reshape(-1)))
            counts[s] += n

        if self.compiled:
            # run eagerly: a graph break at the hooked module in the detail-step variant of
            # the compiled graph only (Dynamo guards on ``self.detail``: two variants, both
            # compiled once), and no Python side effect for Dynamo to trace
            measure = torch._dynamo.disable(measure)

        def hook(module: nn.Module, args: object, out: object) -> Any:
            if not self.detail or not torch.is_grad_enabled():
                return None
            if self.finder is not None and self.finder.replaying:
                return None
            new = q.after(module, out, name) if taps else None  # a replacement output
            if new is not None:
                out = new
            measure(out)
            return new

        return hook

    def _pre_hook(self, q: OutputQuantity, name: str) -> Callable[..., Any]:
        def hook(module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            if not self.detail or not torch.is_grad_enabled() or not args:
                return None
            if self.finder is not None and self.finder.replaying:
                return None
            return q.before_kw(module, args, kwargs, name)

        return hook

    def _accumulated(self, p: torch.Tensor) -> None:
        """A post-accumulate-grad hook: queue one end-of-backward callback per backward."""
        if self._queued or not self.recording:
            return
        if self.finder is not None and self.finder.replaying:
            return
        self._queued = True
        if self._pa_learn:
            if id(p) == self._pa_last:
                self._pa_streak += 1
            else:
                self._pa_last, self._pa_streak = id(p), 1
        queue_after_reducers(self._end_of_backward)  # after DDP's all-reduce has landed

    def _hook_only(self, params: list[nn.Parameter]) -> None:
        """Post-accumulate-grad hooks on ``params`` and on no other parameter (a parameter
        frozen since has no gradient to wait for)."""
        for h in self._pa_handles:
            h.remove()
        self._pa_handles = [
            p.register_post_accumulate_grad_hook(self._accumulated)
            for p in params
            if p.requires_grad
        ]

    def _hook_all_firsts(self) -> None:
        """(Re)install the hooks on the first parameter of every layer."""
        self._hook_only(self._pa_params)
        self._pa_single = False

    def _narrow(self) -> None:
        """Keep only the hook of the parameter that came first in the last PREFIRST_LEARN
        backward passes."""
        keep = next(
            (p for p in self._pa_params if id(p) == self._pa_last and p.requires_grad), None
        )
        if keep is None:  # frozen since: watch again
            self._pa_streak = 0
            return
        self._hook_only([keep])
        self._pa_single, self._pa_learn, self._called = True, False, False

    def _end_of_backward(self) -> None:
        """All gradients of this backward are accumulated, and nothing has clipped them yet:
        one fused norm pass into the pre-clip row; remember the gradients' version counters
        (an in-place change before ``probe.step()`` — clipping, unscaling — bumps them)."""
        self._queued = False
        self._called = True
        grads = [p.grad for p in self.params]
        if self.r >= self.flush_every:  # not reached: probe.step() flushes a full buffer
            self._pre_versions = None
            return
        kern, view = self._kern, self._np_pre
        self._pre_finite = None if kern is None or view is None else kern.norms(grads, view[self.r])
        if self._pre_finite is None:
            try:
                norms = torch._foreach_norm(grads, 2, **self._norm_kw)  # type: ignore[arg-type]
            except (TypeError, RuntimeError):  # a parameter without a gradient: no pre-clip row
                self._pre_versions = None
                return
            torch.stack(norms, out=self._pre_rows[self.r])
        self._pre_versions = [g._version for g in grads]  # type: ignore[union-attr]

    def _attach(self) -> None:
        if not self._handles:
            self._handles = [m.register_forward_hook(h) for m, h in self._hook_fns]
            self._handles += [
                m.register_forward_pre_hook(h, with_kwargs=True) for m, h in self._pre_fns
            ]

    def _detach(self, final: bool = False) -> None:
        if self.compiled and not final:  # installed once under torch.compile
            return
        for h in self._handles:
            h.remove()
        self._handles = []

    # ------------------------------------------------------------------ per step
    def advance(self) -> None:
        """One ``probe.step()``: record when this step is recorded, move to the next."""
        t = self.step
        if self._order is not None:
            self._order.freeze_calls()
            self._forward_order = list(self._order.order)
            self._call_seq = list(self._order.calls)
            if len(self._forward_order) == self._n_ordered or t + 1 >= ORDER_STEPS:
                self._order.remove()
                self._order = None
        grad_mode = torch.is_grad_enabled()
        torch._C._set_grad_enabled(False)
        try:
            if self.recording:
                self._record(t)
            t += 1
            self.step = t
            self.recording = t % self.every == 0
            detail = t % self._detail_period == 0
            if detail or self.detail:
                self._set_detail(detail)
            if self.finder is not None:
                self.finder.new_step()
            self._calls.clear()
        finally:
            torch._C._set_grad_enabled(grad_mode)

    def record_clip(self, total_norm: torch.Tensor | float, max_norm: float | None) -> None:
        """The total gradient norm before clipping for the coming recorded step."""
        if not self.recording:
            return
        if isinstance(total_norm, torch.Tensor):
            tn = total_norm.detach()
            if hasattr(tn, "full_tensor"):
                tn = tn.full_tensor()
            self._clip_buf[self.r].copy_(tn.reshape(()))
        else:
            self._clip_buf[self.r].fill_(float(total_norm))
        self._host_clip_max[self.r] = np.nan if max_norm is None else float(max_norm)

    def _record(self, t: int) -> None:
        r = self.r
        grads = [p.grad for p in self.params]
        done = same = False
        ok: bool | None = None  # the row is all finite (None: not known yet)
        pre, pre_finite = self._pre_versions, self._pre_finite
        self._pre_versions = self._pre_finite = None
        if self._pa_single:  # a step with gradients but no callback: all hooks, for good
            called, self._called = self._called, False
            if not called and any(g is not None for g in grads):
                self._hook_all_firsts()
        elif self._pa_learn and self._pa_streak >= PREFIRST_LEARN:
            self._narrow()
        if pre is not None and len(pre) == len(grads):
            try:
                same = [g._version for g in grads] == pre  # type: ignore[union-attr]
            except AttributeError:  # a gradient went missing since backward
                same, pre = False, None
            if pre is not None:
                self._pre_ok[r] = True  # clip_before = √Σ pre² (host, at the flush)
                if same:  # untouched since backward: post-clip = pre-clip, no second pass
                    self._same[r] = done = True
                    ok = pre_finite
        if not done and self._kern is not None and self._np_grad is not None:
            ok = self._kern.norms(grads, self._np_grad[r])
            done = ok is not None
        if not done and self._fast:
            try:
                torch.stack(self._norms(grads), out=self._grad_rows[r])  # type: ignore[arg-type]
                done = True
            except (TypeError, RuntimeError):  # a missing (None) or sparse gradient
                pass
        if not done:
            self._grad_row(grads, r)
        data: list[torch.Tensor] | None = None
        if self.detail:
            row = self._buf[r]
            if self.need_param or self.need_update:
                data = self._data()
                prev = self._prev if self._prev_valid else None
                kern, view = self._kern, self._np_buf
                if kern is not None and view is not None and prev is not None:
                    done = kern.norms_delta(data, prev, view[r, 1], view[r, 2])
                elif kern is not None and view is not None:
                    done = kern.norms(data, view[r, 1]) is not None  # (finite or not)
                else:
                    done = False
                if not done:
                    torch.stack(self._norms(data), out=row[1])
                    if prev is not None:
                        torch._foreach_sub_(prev, data)  # prev ← w_{t−1} − w_t = −Δw
                        torch.stack(self._norms(prev), out=row[2])
            for qi in range(len(self._outq)):
                self._output_row(qi, r)
        for q in self._stepq:
            if q.detail and not self.detail:
                continue
            if data is None:
                data = self._data()
            v = q.measure_step(grads, data)
            if v is None:
                continue
            buf = self._extra_buf.get(q.name)
            if buf is None:
                buf = torch.full(
                    (self.flush_every, v.numel()), SENTINEL, dtype=self.dtype, device=self.device
                )
                self._extra_buf[q.name] = buf
            buf[r].copy_(v.reshape(-1))
        if self._groups:
            reduce_sharded(self._buf[r], self._groups)
        self._host_steps[r] = t
        self.last_step = t
        self.r = r + 1
        self._recorded += 1
        if self._recorded == fastnorm.COMPILED_AFTER_STEPS and self._kern_params is not None:
            self._kern = CpuNorms.create(self._kern_params)  # the next step on
        if self.finder is not None:
            grow = self._pre_rows[r] if same else self._grad_rows[r]
            if ok is None:
                view = self._np_pre if same else self._np_grad
                if view is not None:
                    ok = bool(np.isfinite(view[r]).all())
                else:
                    ok = bool(torch.isfinite(grow).all())
            if not ok:
                self._events[t] = self._find_origin(t, grow)
            self._prev_finite = ok

    def _find_origin(self, t: int, grad_row: torch.Tensor) -> NonFiniteEvent:
        assert self.finder is not None
        row = grad_row.to("cpu", torch.float64).numpy()
        layers = self.ordered_layers()
        bad = [
            layer.name
            for layer in layers
            if any(not np.isfinite(row[i]) and row[i] != SENTINEL for i in layer.param_index)
        ]
        return self.finder.find(t, bad, layers, self._prev_finite)

    def _output_row(self, qi: int, r: int) -> None:
        """Sum this step's hook statistics per call site into the buffer row [S, width]."""
        pending, host, counts = self._pending[qi], self._pending_host[qi], self._pending_n[qi]
        if not counts.any():  # nothing measured: the row's counts stay 0 (reset at flushes)
            return
        row = self._out_buf[qi][r]
        if host.any():  # host sums came back (a compiled pass): one small copy
            row.copy_(torch.from_numpy(host))
            host.fill(0.0)
        else:  # none: no host-to-device copy (on an accelerator, a sync)
            row.zero_()
        if pending:
            index = self._index(tuple(s for s, _ in pending))
            vals = torch.stack([v for _, v in pending]).to(self._acc_dtype)
            row.index_add_(0, index, vals)
            pending.clear()
        self._out_n[qi][r] = counts
        counts[:] = 0

    def _norms(self, tensors: list[torch.Tensor]) -> list[torch.Tensor]:
        """‖t‖₂ of each tensor as 0-d tensors of ``self.dtype`` on ``self.device``, with one
        ``torch._foreach_norm`` per (device, dtype) group (one in the usual case)."""
        if self._fast:  # one device, float dtypes ≤ self.dtype, no shards
            return list(torch._foreach_norm(tensors, 2, **self._norm_kw))  # type: ignore[arg-type]
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
        row.index_copy_(0, self._index(tuple(where)), torch.stack(self._norms(present)))

    def _index(self, key: tuple[int, ...]) -> torch.Tensor:
        """``key`` as a long tensor on the device, cached (at most 256 keys)."""
        index = self._index_cache.get(key)
        if index is None:
            if len(self._index_cache) > 256:
                self._index_cache.clear()
            index = torch.tensor(key, dtype=torch.long, device=self.device)
            self._index_cache[key] = index
        return index

    def _data(self) -> list[torch.Tensor]:
        if self._sharded:
            return [local(p.detach()) for p in self.params]
        return [p.detach() for p in self.params]

    def _set_detail(self, detail: bool) -> None:
        """Enter (``detail``) or leave a detail step, at the end of the step before it."""
        self.detail = detail
        if detail:
            self._attach()
            if self.need_update:
                data = self._data()
                if self._prev is None:
                    self._prev = [torch.empty_like(d) for d in data]
                if self._kern is None or not self._kern.copy(data, self._prev):
                    torch._foreach_copy_(self._prev, data)
                self._prev_valid = True
        else:
            self._detach()
            self._prev_valid = False
        for qi in range(len(self._outq)):
            self._pending[qi].clear()
            self._pending_n[qi][:] = 0
            self._pending_host[qi].fill(0.0)

    # ------------------------------------------------------------------ reading
    def ordered_layers(self) -> list[LayerInfo]:
        """Layers in forward order (registration order until the first forward); a layer
        whose module is never called (e.g. MultiheadAttention's out_proj) goes right after
        the layer registered before it."""
        order = self._forward_order or (self._order.order if self._order is not None else [])
        if not order:
            return list(self.layers)
        by_module: dict[str, list[LayerInfo]] = {}
        for layer in self.layers:
            by_module.setdefault(layer.module, []).append(layer)
        out: list[LayerInfo] = [lay for n in order for lay in by_module.get(n, [])]
        placed = {id(lay) for lay in out}
        for i, layer in enumerate(self.layers):
            if id(layer) in placed:
                continue
            pos = 0
            if i > 0:
                prev = id(self.layers[i - 1])
                pos = next((k + 1 for k, x in enumerate(out) if id(x) == prev), len(out))
            out.insert(pos, layer)
            placed.add(id(layer))
        return out

    def context(self) -> Context:
        """Layers in forward order and each output quantity's call sites."""
        feeds = feeding_layers(self._call_seq, self.layer_modules, self._watched)
        sites: dict[str, list[Site]] = {}
        for q, names in zip(self._outq, self._out_modules, strict=True):
            lst: list[Site] = []
            for name in names:
                for k in range(MAX_CALLS):
                    lst.append(Site(name, k, feeds.get((name, k), name)))
            sites[q.name] = lst
        return Context(self.ordered_layers(), sites)

    def activation_kinds(self) -> dict[str, str]:
        """``{layer: kind}`` for the layers feeding a hooked activation (seen so far)."""
        feeds = feeding_layers(self._call_seq, self.layer_modules, self._watched)
        out: dict[str, str] = {}
        for q, names in zip(self._outq, self._out_modules, strict=True):
            for (mod, _k), layer in feeds.items():
                if mod in names and q.kind:
                    out.setdefault(layer, q.kind)
        return out

    @property
    def forward_order(self) -> list[str]:
        return list(self._forward_order)

    @property
    def types(self) -> dict[str, str]:
        return self._types

    def flush(self) -> Chunk | None:
        """Copy the buffered raw block to the host (one transfer per buffer) and reset it;
        None when nothing is buffered."""
        n = self.r
        if n == 0:
            return None
        raw = self._buf[:n].to("cpu", torch.float64, copy=True).numpy()
        clip_before = self._clip_buf[:n].to("cpu", torch.float64, copy=True).numpy()
        if self._pre_ok[:n].any():
            pre = self._pre_buf[:n].to("cpu", torch.float64, copy=True).numpy()
            same, ok = self._same[:n], self._pre_ok[:n]
            raw[same, 0] = pre[same]
            clip_before[ok] = np.sqrt(np.square(pre[ok]).sum(axis=1))
        outputs = {
            q.name: OutputBlock(
                self._out_buf[qi][:n].to("cpu", torch.float64, copy=True).numpy(),
                self._out_n[qi][:n].copy(),
            )
            for qi, q in enumerate(self._outq)
        }
        extra = {
            k: v[:n].to("cpu", torch.float64, copy=True).numpy() for k, v in self._extra_buf.items()
        }
        steps = self._host_steps[:n].copy()
        events = {s: e for s, e in self._events.items() if s in set(steps.tolist())}
        for s in events:
            del self._events[s]
        chunk = Chunk(
            steps=steps,
            grad=raw[:, 0],
            param=raw[:, 1],
            delta=raw[:, 2],
            clip_before=clip_before,
            clip_max=self._host_clip_max[:n].copy(),
            outputs=outputs,
            extra=extra,
            events=events,
        )
        if self._pre_versions is not None and n < self.flush_every:
            # a backward since the last step wrote row n: it belongs to the coming step, row 0
            self._pre_rows[0].copy_(self._pre_rows[n])
            self._pre_ok[0] = self._same[0] = False
        self.r = 0
        self._buf[:n].fill_(SENTINEL)
        self._clip_buf[:n].fill_(SENTINEL)
        self._same[:n] = False
        self._pre_ok[:n] = False
        self._host_clip_max[:n] = np.nan
        for qi in range(len(self._outq)):
            self._out_n[qi][:n] = 0
        for v in self._extra_buf.values():
            v[:n].fill_(SENTINEL)
        return chunk

    def close(self) -> None:
        """Remove every hook the recorder installed."""
        self._detach(final=True)
        if self._order is not None:
            self._order.remove()
            self._order = None
        if self.finder is not None:
            self.finder.remove()
        if self._opt_handle is not None:
            self._opt_handle.remove()
            self._opt_handle = None
        for h in self._pa_handles:
            h.remove()
        self._pa_handles = []
        self._prev = None


def _first_tensor(out: object) -> torch.Tensor | None:
    if isinstance(out, list | tuple):
        for v in out:
            t = v if isinstance(v, torch.Tensor) else _first_tensor(v)
            if t is not None:
                return t
    return None


__all__ = ["MAX_CALLS", "NAN_CHECKS", "ORDER_STEPS", "Recorder", "finite"]
