"""``gradprobe.watch(model)``: the probe — a small facade over its parts.

- :mod:`~gradprobe.probe.layers` decides what a layer is (and filters/groups them by glob);
- :mod:`~gradprobe.probe.recorder` installs the hooks and fills device buffers;
- :mod:`~gradprobe.probe.quantities` (one file each) turn raw blocks into tidy rows;
- :mod:`~gradprobe.probe.history` keeps the rows (bounded if asked) and writes them;
- sinks (TensorBoard, Lightning, Hugging Face: :mod:`~gradprobe.probe.integrations`) receive
  every recorded step;
- :mod:`~gradprobe.probe.diagnose` and :mod:`~gradprobe.probe.what_if` read the history (and,
  for ``what_if``, a copy of the model) and import nothing of the above but layers/quantities.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import pandas as pd
import torch
from torch import nn

from gradprobe.errors import ConfigError
from gradprobe.probe.diagnose import Finding, diagnose
from gradprobe.probe.history import META_KEY, HistoryStore, chunk_records, save_history
from gradprobe.probe.layers import discover_layers, select_layers, unwrap
from gradprobe.probe.meanfield import capture as capture_meanfield
from gradprobe.probe.quantities import (
    DEFAULT_QUANTITIES,
    Chunk,
    Context,
    OutputQuantity,
    Quantity,
    UpdateRatio,
)
from gradprobe.probe.quantities.bias_speed import speed_source
from gradprobe.probe.recorder import NAN_CHECKS, Recorder
from gradprobe.probe.what_if import Loss, what_if

#: A sink receives, for every recorded step and in step order, ``(step, records)`` with
#: ``records = {layer: {quantity: value}}`` — called when the probe fetches values from the
#: device (every ``flush_every`` recorded steps, on ``history``/``latest()`` and on close).
Sink = Callable[[int, dict[str, dict[str, float]]], Any]

LayerRecords = dict[str, dict[str, float]]

#: Without sinks, flushed chunks wait on the host (raw numbers) until STAGE_STEPS recorded
#: steps or STAGE_BYTES bytes have gathered, a reader asks (``history``, ``latest``,
#: ``flush``, …) or the layer context changes; their rows are then derived in one pass, so the
#: per-series Python work of the quantities is paid once per batch of flushes, not per flush.
STAGE_STEPS = 1024
STAGE_BYTES = 2**20

#: Default ``detail_every``: parameter norms, update ratio and activation statistics are
#: recorded at every DETAIL_EVERY-th recorded step.
DETAIL_EVERY = 10


def _positive(name: str, v: object) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ConfigError(f"{name} must be a positive integer, got {v!r}")
    return v


class Probe:
    """Per-layer learning speed, saturation, NaN origin and diagnosis for a PyTorch model.

    Create it with :func:`watch` (same arguments). Call :meth:`step` after ``backward()``
    and before ``optimizer.step()``; read :attr:`history`; call :meth:`diagnose`,
    :meth:`what_if`, :meth:`save`; :meth:`close` (or leave a ``with`` block) removes every
    hook.
    """

    def __init__(
        self,
        model: nn.Module,
        every: int = 1,
        *,
        quantities: Sequence[Quantity] = DEFAULT_QUANTITIES,
        layers: str | Iterable[str] | None = None,
        groups: Mapping[str, str | Iterable[str]] | None = None,
        sinks: Iterable[Sink] = (),
        flush_every: int = 64,
        detail_every: int = DETAIL_EVERY,
        update_ratio: bool = True,
        activations: bool = True,
        nan_check: str = "auto",
        optimizer: torch.optim.Optimizer | None = None,
        max_steps: int | None = None,
        spill: str | Path | None = None,
        preclip: bool = True,
        downsample: bool = False,
    ) -> None:
        if not isinstance(model, nn.Module):
            raise ConfigError(f"watch() needs a torch.nn.Module, got {type(model).__name__}")
        self.every = _positive("every", every)
        self.flush_every = _positive("flush_every", flush_every)
        self.detail_every = _positive("detail_every", detail_every)
        if nan_check not in NAN_CHECKS:
            raise ConfigError(f"nan_check must be one of {NAN_CHECKS}, got {nan_check!r}")
        qs = list(quantities)
        for q in qs:
            if not isinstance(q, Quantity):
                raise ConfigError(f"quantities must be Quantity instances, got {q!r}")
        if len({q.name for q in qs}) != len(qs):
            raise ConfigError("two quantities share a name")
        if not update_ratio:
            qs = [q for q in qs if not isinstance(q, UpdateRatio)]
        if not activations:
            qs = [q for q in qs if not isinstance(q, OutputQuantity)]
        self.quantities: tuple[Quantity, ...] = tuple(qs)
        self.sinks: list[Sink] = list(sinks)
        for s in self.sinks:
            if not callable(s):
                raise ConfigError(f"a sink must be callable, got {type(s).__name__}")
        self.model = model
        self.module = unwrap(model)
        compiled = self.module is not model and hasattr(model, "_orig_mod")
        if compiled and activations and nan_check != "off":
            warnings.warn(
                "gradprobe.watch on a torch.compile'd model: the activation hooks are installed "
                "once and measure outside the graph at detail steps (the compiled forward has "
                "two variants, detail and ordinary, each compiled once; the detail one breaks "
                "at each hooked activation); the NaN-origin capture breaks the graph at the "
                "model's entry every recorded step (nan_check='off' or 'deferred' avoids it). "
                "Nothing is lost; watch the model before compiling it for the fewest graphs",
                stacklevel=3,
            )
        found, params = discover_layers(self.module)
        try:
            chosen = select_layers(found, layers, groups)
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        # keep only the parameters of the chosen layers, re-indexed
        keep = sorted({i for lay in chosen for i in lay.param_index})
        new = {old: k for k, old in enumerate(keep)}
        for lay in chosen:
            lay.param_index = [new[i] for i in lay.param_index]
        params = [params[i] for i in keep]
        if not params:
            raise ConfigError(
                "the model has no parameters (in the chosen layers): nothing to watch"
            )
        self._recorder = Recorder(
            self.module,
            chosen,
            params,
            self.quantities,
            every=self.every,
            detail_every=self.detail_every,
            flush_every=self.flush_every,
            nan_check=nan_check,
            optimizer=optimizer,
            preclip=preclip,
            compiled=compiled,
        )
        self.layers = chosen
        self.params = params
        self._meanfield = capture_meanfield(self.module)
        self._store = HistoryStore(
            max_steps=max_steps, spill=spill, downsample=downsample, every=self.every
        )
        self._staged: list[Chunk] = []  # flushed, rows not derived yet (see STAGE_STEPS)
        self._staged_ctx: Context | None = None
        self._staged_steps = self._staged_bytes = 0
        self._closed = False

    # ------------------------------------------------------------------ public API
    @property
    def steps_taken(self) -> int:
        """How many times :meth:`step` has been called."""
        return self._recorder.step

    @property
    def layer_names(self) -> list[str]:
        """Layer names in forward order (registration order until the first forward)."""
        return [layer.name for layer in self._recorder.ordered_layers()]

    def step(self) -> None:
        """Record this step. Call after ``backward()`` (and after ``scaler.unscale_``),
        before ``optimizer.step()``. Under FSDP2 this is a collective: every rank must call
        it at the same steps. Returns nothing; the values reach the host every
        ``flush_every`` recorded steps (or when :attr:`history` is read)."""
        if self._closed:
            raise ConfigError("this probe is closed; call gradprobe.watch(model) again")
        self._recorder.advance()
        if self._meanfield is not None:
            self._meanfield.remove()  # q₀ is read in step 0's forward only
        if self._recorder.r == self.flush_every:
            self._flush(settle=False)

    def record_clip(self, total_norm: torch.Tensor | float, max_norm: float | None = None) -> None:
        """Tell the probe the total gradient norm *before* clipping (what
        ``torch.nn.utils.clip_grad_norm_`` returns) for the coming :meth:`step`; the norm after
        clipping is what the probe measures itself. Rows ``grad_norm_preclip``,
        ``grad_norm_postclip`` and ``clipped`` under layer ``"(model)"``."""
        if not self._closed:
            self._recorder.record_clip(total_norm, max_norm)

    def clip_grad_norm_(
        self, max_norm: float, norm_type: float = 2.0, **kwargs: Any
    ) -> torch.Tensor:
        """``torch.nn.utils.clip_grad_norm_`` over the watched model's parameters, recording
        the norm before clipping (see :meth:`record_clip`). Returns that norm."""
        total = torch.nn.utils.clip_grad_norm_(
            self.module.parameters(), max_norm, norm_type=norm_type, **kwargs
        )
        self.record_clip(total, max_norm)
        return total

    @property
    def history(self) -> pd.DataFrame:
        """Every recorded value as a tidy DataFrame with columns ``step`` (int64), ``layer``,
        ``quantity`` (str), ``value`` (float64), one row per (step, layer, quantity), layers
        in forward order within a step. Metadata (layer order, types, activations) is in
        ``history.attrs["gradprobe"]``. With ``max_steps`` only the newest steps are kept
        in memory (the older ones are in the ``spill`` file, if given).

        Quantities (see :mod:`gradprobe.probe.quantities`): ``grad_norm``,
        ``grad_norm.<param>``, ``grad_rms``, ``speed`` (‖∂C/∂bˡ‖; every layer has one),
        ``relative_speed``, ``param_norm``, ``update_ratio``, ``saturation``,
        ``mean_dsigma``, ``mean_abs_activation``, ``dead_fraction``, ``nonfinite``,
        ``nonfinite_origin``; under layer ``"(model)"``: ``grad_norm``,
        ``grad_norm_preclip``, ``grad_norm_postclip``, ``clipped``.
        """
        self._flush()
        df = self._store.frame()
        df.attrs[META_KEY] = self.meta()
        return df

    @property
    def history_bytes(self) -> int:
        """Bytes the history holds in memory (rows on the host; the device buffers of at
        most ``flush_every`` steps and a cached :attr:`history` frame not counted)."""
        self._settle()
        return self._store.nbytes

    def latest(self) -> LayerRecords:
        """The most recent recorded step as ``{layer: {quantity: value}}`` (fetches from the
        device). Empty before the first recorded step."""
        self._flush()
        last = self._store.last_chunk
        if last is None:
            return {}
        one = last.rows(slice(last.n - 1, last.n))
        recs = chunk_records(one, self._recorder.context(), self.quantities)
        return recs.get(int(one.steps[0]), {})

    def flush(self) -> None:
        """Fetch the buffered steps from the device now and feed them to the sinks."""
        self._flush()

    def meta(self) -> dict[str, Any]:
        """Layer order and types, activation kinds, speed sources; saved with the history."""
        rec = self._recorder
        order = self.layer_names
        return {
            "order": order,
            "activations": rec.activation_kinds(),
            "forward": rec.forward_order,
            "types": {lay.name: lay.module_type for lay in self.layers},
            "speed_from": {lay.name: speed_source(lay) for lay in self.layers},
            "every": self.every,
            "detail_every": self.detail_every,
            **({"meanfield": self._meanfield.to_meta()} if self._meanfield else {}),
        }

    def save(self, path: str | Path) -> Path:
        """Write :attr:`history` atomically to ``.parquet`` (needs pyarrow), ``.csv`` or
        ``.json`` (by suffix), with its metadata; returns the path written."""
        return save_history(self.history, path)

    def diagnose(self) -> list[Finding]:
        """Findings for the history so far, most severe first (see
        :func:`gradprobe.probe.diagnose.diagnose`)."""
        return diagnose(self.history)

    def what_if(
        self,
        batch: Sequence[Any],
        changes: Sequence[str] = ("relu", "he-init", "cross-entropy"),
        loss_fn: Loss | None = None,
    ) -> pd.DataFrame:
        """Counterfactual speeds on a copy of the model for the batch ``(x, y)`` (see
        :func:`gradprobe.probe.what_if.what_if`)."""
        return what_if(self.module, batch, changes=changes, loss_fn=loss_fn)

    def close(self) -> None:
        """Fetch what is left on the device (feeding the sinks), remove every hook and close
        the sinks that have a ``close()`` method; idempotent."""
        if self._closed:
            return
        self._flush()
        self._recorder.close()
        if self._meanfield is not None:
            self._meanfield.remove()
        self._closed = True
        self._store.close()
        for sink in self.sinks:
            close = getattr(sink, "close", None)
            if callable(close):
                close()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has run."""
        return self._closed

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
        state = "closed" if self._closed else f"step {self.steps_taken}"
        return f"<Probe {len(self.layers)} layers, every={self.every}, {state}>"

    # ------------------------------------------------------------------ internals
    def _flush(self, settle: bool = True) -> None:
        """Fetch the device buffers; derive the rows now when ``settle``, when there are sinks
        to feed, or when the staged chunks are full (see :data:`STAGE_STEPS`)."""
        if self._closed:
            return
        chunk = self._recorder.flush()
        if chunk is not None:
            ctx = self._recorder.context()
            if self._staged and (
                ctx != self._staged_ctx or chunk.extra.keys() != self._staged[0].extra.keys()
            ):  # chunks of one batch share the context and the raw layout
                self._settle()
            self._staged.append(chunk)
            self._staged_ctx = ctx
            self._staged_steps += chunk.n
            self._staged_bytes += chunk.nbytes
        full = self._staged_steps >= STAGE_STEPS or self._staged_bytes >= STAGE_BYTES
        if settle or self.sinks or full:
            self._settle()

    def _settle(self) -> None:
        """Turn the staged chunks into history rows (one pass) and feed the sinks."""
        if not self._staged or self._staged_ctx is None:
            return
        chunk = Chunk.concat(self._staged)
        ctx = self._staged_ctx
        self._staged, self._staged_ctx = [], None
        self._staged_steps = self._staged_bytes = 0
        rows = self._store.add_chunk(chunk, ctx, self.quantities)
        if rows is None or not self.sinks:
            return
        recs = self._store.records(rows)
        for step in sorted(recs):
            for sink in self.sinks:
                sink(step, recs[step])


def watch(
    model: nn.Module,
    every: int = 1,
    *,
    quantities: Sequence[Quantity] = DEFAULT_QUANTITIES,
    layers: str | Iterable[str] | None = None,
    groups: Mapping[str, str | Iterable[str]] | None = None,
    sinks: Iterable[Sink] = (),
    flush_every: int = 64,
    detail_every: int = DETAIL_EVERY,
    update_ratio: bool = True,
    activations: bool = True,
    nan_check: str = "auto",
    optimizer: torch.optim.Optimizer | None = None,
    max_steps: int | None = None,
    spill: str | Path | None = None,
    preclip: bool = True,
    downsample: bool = False,
) -> Probe:
    """Attach a :class:`Probe` to ``model``: per-layer speed of learning ‖∂C/∂bˡ‖ and more.

    Parameters
    ----------
    model:
        Any ``nn.Module`` (also DDP-wrapped, ``torch.compile``-d, FSDP2-sharded, or one of
        the book's ``gradprobe.nets.Network``). A *layer* is a module owning parameters
        (Linear, Conv, Embedding, norm layers), each stacked layer and direction of an
        RNN/LSTM/GRU separately (``"lstm.l1_reverse"``). Activations are not layers: their
        statistics go to the layer that feeds them.
    every:
        Record every ``every``-th call of :meth:`Probe.step` (step 0 is recorded).
    quantities:
        What to compute: :data:`gradprobe.probe.quantities.DEFAULT_QUANTITIES`, plus or
        minus your own :class:`~gradprobe.probe.quantities.Quantity` instances.
    layers:
        ``fnmatch`` globs of the layers to watch (``["encoder.*", "head"]``); default all.
    groups:
        ``{name: glob(s)}``: watch the matching layers as one layer ``name``.
    sinks:
        Callables ``sink(step, {layer: {quantity: value}})`` (e.g. ``TensorBoardSink``);
        one with ``close()`` is closed by :meth:`Probe.close`.
    flush_every:
        Recorded steps kept on the device before one transfer to the host.
    detail_every:
        Parameter norms, update ratios and activation statistics at every
        ``detail_every``-th recorded step (1 = all); gradient quantities at every one. A
        detail step is the probe's expensive one — a copy of the parameters at the step
        before it, hooks on every activation module, ‖θ‖ and ‖Δθ‖ (≈ 1–2 ms on the CPU for
        a 10-layer MLP of width 256 with 5–7 ms steps, ``benchmarks/probe_breakdown.py``):
        on a small, fast model raise it (or turn ``update_ratio``/``activations`` off) to
        cut the overhead.
    update_ratio:
        Keep a copy of the parameters before detail steps to measure ‖Δw‖/‖w‖.
    activations:
        Hook ``nn.Sigmoid``/``nn.Tanh``/``nn.ReLU`` modules (saturation, mean σ′, dead
        fraction). Functional activations are not seen.
    nan_check:
        ``"auto"`` (``"sync"`` on the CPU, ``"deferred"`` elsewhere), ``"sync"`` (check every
        recorded step and name the exact producer of a NaN/Inf in that step: one host sync
        per step on an accelerator), ``"deferred"`` (origin from the gradients alone, found
        at the next flush), ``"off"``.
    optimizer:
        The optimiser, to tell a non-finite value produced by its update (``"update"``) from
        one assigned to a parameter (``"parameter"``).
    max_steps:
        Keep at most this many recorded steps in memory (the newest); ``None``: all. The
        history then costs constant memory (22 bytes a row; ``probe.history_bytes``).
    preclip:
        Read the gradient norms at the end of every recorded backward, before anything
        (``clip_grad_norm_``, a framework's clipping) can change them, through
        ``register_post_accumulate_grad_hook`` on one parameter per layer (on the one that
        is accumulated first, once that is clear after a few steps): rows
        ``grad_norm_preclip``/``grad_norm_postclip``/``clipped`` under ``"(model)"`` every
        step, and ``diagnose`` judges growth on the pre-clip norm. When nothing changed the
        gradients by ``probe.step()`` the measurement is reused (no second pass). Under AMP
        the pre-clip norm is of the *scaled* gradients.
    spill:
        With ``max_steps``: append the steps that leave memory to this ``.parquet``/``.csv``
        file (``gradprobe.load_history`` reads it back).
    downsample:
        With ``max_steps``: keep the steps that leave the full-resolution window in memory
        too, thinned — every 2ᵏ-th recorded step, k growing by one whenever more than
        ``max_steps`` of them would be held — so the whole run stays visible at
        exponentially coarser resolution in at most ``2 × max_steps`` steps of memory.

    Returns
    -------
    Probe
        Also a context manager: ``with gradprobe.watch(model) as probe: ...``.

    Example
    -------
    >>> import torch, torch.nn.functional as F, gradprobe
    >>> model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Sigmoid(),
    ...                             torch.nn.Linear(8, 3))
    >>> opt = torch.optim.SGD(model.parameters(), lr=0.1)
    >>> with gradprobe.watch(model) as probe:
    ...     for _ in range(3):
    ...         x, y = torch.randn(16, 4), torch.randint(0, 3, (16,))
    ...         F.cross_entropy(model(x), y).backward()
    ...         probe.step()                 # after backward, before optimizer.step()
    ...         opt.step(); opt.zero_grad()
    >>> sorted(probe.history.query("quantity == 'speed'").layer.unique())
    ['0', '2']
    """
    return Probe(
        model,
        every,
        quantities=quantities,
        layers=layers,
        groups=groups,
        sinks=sinks,
        flush_every=flush_every,
        detail_every=detail_every,
        update_ratio=update_ratio,
        activations=activations,
        nan_check=nan_check,
        optimizer=optimizer,
        max_steps=max_steps,
        spill=spill,
        preclip=preclip,
        downsample=downsample,
    )
