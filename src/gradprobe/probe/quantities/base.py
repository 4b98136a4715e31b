"""The small base classes of the probe's quantities, and the raw block they read.

A quantity is one file in this package: a subclass of :class:`Quantity` that declares what it
**reads** (``"gradient"``, ``"parameter"``, ``"update"``, ``"output"``, ``"clip"``,
``"events"``), the **columns** (history ``quantity`` names) it writes, and how to turn a
:class:`Chunk` of raw numbers into tidy series (:meth:`Quantity.series`). Which quantities a
probe computes is data: ``gradprobe.watch(model, quantities=DEFAULT_QUANTITIES + (Mine(),))``.

Two ways to measure on the device:

- :meth:`Quantity.measure_step` — once per recorded step (or per detail step when
  ``detail = True``), from the gradients and parameters; returns a 1-D tensor of fixed
  length that lands in ``chunk.extra[name]`` [n, k].
- :class:`OutputQuantity` — a forward hook on the modules it selects; ``measure(out)``
  returns ``width`` summed statistics per call and a host-side count. Each call site of a
  module is recorded separately and attributed to the layer that feeds it, so the values
  arrive as ``[n, width]`` per *layer* through :meth:`OutputQuantity.per_layer`. This is how
  activation statistics (saturation, dead ReLUs) work, and how a quantity reads the output
  of any module (a recurrent layer's hidden states, say).

Neither may synchronise with the device (no ``.item()``, no Python ``if`` on a tensor): the
recorder moves numbers to the host once per chunk of ``flush_every`` steps. Everything else
(layer norms, ratios, fractions) is computed vectorised on the host, a chunk at a time.

Example, a whole user-defined quantity (the largest |∂C/∂θ| entry of each layer)::

    class GradMax(Quantity):
        name = "grad_max"
        reads = ("gradient",)
        columns = ("grad_max",)

        def measure_step(self, grads, params):
            maxes = [g.detach().abs().max() if g is not None else g_missing(p)
                     for g, p in zip(grads, params)]
            return torch.stack(maxes)                    # [P], stays on the device

        def series(self, chunk, ctx):
            raw = chunk.extra[self.name]                 # [n, P]
            for layer in ctx.layers:
                v = raw[:, layer.param_index].max(axis=1)
                yield layer.name, "grad_max", v, v >= 0  # SENTINEL (−1) = no gradient

See ``examples/04_custom_quantity.py`` for a runnable version.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import torch

from gradprobe.probe.layers import LayerInfo

#: Marks "not measured in this step" in the raw buffers (every raw number is a norm or count
#: ≥ 0, so a negative value cannot be confused with a measurement; NaN/Inf stay as they are).
SENTINEL = -1.0

#: What a quantity may read (declared in :attr:`Quantity.reads`).
READS = ("gradient", "parameter", "update", "output", "clip", "events")


def g_missing(p: torch.Tensor) -> torch.Tensor:
    """A SENTINEL 0-d tensor on ``p``'s device: "this parameter had no gradient"."""
    return torch.full((), SENTINEL, dtype=torch.float32, device=p.device)


@dataclass
class Site:
    """One call site of a module watched by an :class:`OutputQuantity`: the module's path,
    which call in a forward pass (0, 1, …) and the layer that feeds it."""

    module: str
    call: int
    layer: str


@dataclass
class OutputBlock:
    """An :class:`OutputQuantity`'s raw numbers for n steps: ``values`` [n, S, width] summed
    statistics and ``counts`` [n, S] (0: not measured) for its S call sites."""

    values: np.ndarray
    counts: np.ndarray


@dataclass
class NonFiniteEvent:
    """Where the first NaN/Inf of a step was produced (see :mod:`gradprobe.probe.origin`).

    ``place`` is one of :data:`gradprobe.probe.origin.PLACES`; ``layer`` the layer (or module
    path, for a module without parameters) that produced it; ``module`` the module path;
    ``detail`` a sentence with the evidence."""

    step: int
    layer: str
    module: str
    place: str
    detail: str = ""


@dataclass
class Chunk:
    """Raw numbers of ``n`` recorded steps, on the host.

    Shapes: ``steps`` [n]; ``grad``, ``param``, ``delta`` [n, P] (P parameter tensors, in the
    probe's flat order; SENTINEL where not measured); ``clip_before``, ``clip_max`` [n];
    ``outputs[name]`` an :class:`OutputBlock`; ``extra[name]`` [n, k] from
    :meth:`Quantity.measure_step`; ``events`` maps a step to its :class:`NonFiniteEvent`.
    """

    steps: np.ndarray
    grad: np.ndarray  # ‖∂C/∂θ‖ per parameter tensor, SENTINEL when θ had no gradient
    param: np.ndarray  # ‖θ‖ (detail steps)
    delta: np.ndarray  # ‖θ_t − θ_{t−1}‖ (detail steps after a snapshot)
    clip_before: np.ndarray  # total gradient norm before clipping, SENTINEL when unknown
    clip_max: np.ndarray  # the clipping threshold, NaN when unknown
    outputs: dict[str, OutputBlock] = field(default_factory=dict)
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    events: dict[int, NonFiniteEvent] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(self.steps.shape[0])

    @property
    def nbytes(self) -> int:
        """Bytes of the raw arrays (events not counted)."""
        arrays = [self.steps, self.grad, self.param, self.delta, self.clip_before, self.clip_max]
        arrays += [b.values for b in self.outputs.values()]
        arrays += [b.counts for b in self.outputs.values()]
        arrays += list(self.extra.values())
        return sum(int(a.nbytes) for a in arrays)

    def rows(self, sel: slice | np.ndarray) -> Chunk:
        """The rows ``sel`` of this chunk."""
        steps = self.steps[sel]
        keep = {int(s) for s in steps}
        return Chunk(
            steps=steps,
            grad=self.grad[sel],
            param=self.param[sel],
            delta=self.delta[sel],
            clip_before=self.clip_before[sel],
            clip_max=self.clip_max[sel],
            outputs={k: OutputBlock(b.values[sel], b.counts[sel]) for k, b in self.outputs.items()},
            extra={k: v[sel] for k, v in self.extra.items()},
            events={s: e for s, e in self.events.items() if s in keep},
        )

    @staticmethod
    def concat(chunks: Sequence[Chunk]) -> Chunk:
        """One chunk of all rows of ``chunks``, in order."""
        if len(chunks) == 1:
            return chunks[0]
        c0 = chunks[0]
        return Chunk(
            steps=np.concatenate([c.steps for c in chunks]),
            grad=np.concatenate([c.grad for c in chunks]),
            param=np.concatenate([c.param for c in chunks]),
            delta=np.concatenate([c.delta for c in chunks]),
            clip_before=np.concatenate([c.clip_before for c in chunks]),
            clip_max=np.concatenate([c.clip_max for c in chunks]),
            outputs={
                k: OutputBlock(
                    np.concatenate([c.outputs[k].values for c in chunks]),
                    np.concatenate([c.outputs[k].counts for c in chunks]),
                )
                for k in c0.outputs
            },
            extra={k: np.concatenate([c.extra[k] for c in chunks]) for k in c0.extra},
            events={s: e for c in chunks for s, e in c.events.items()},
        )


@dataclass
class Context:
    """What the quantities know about the model: ``layers`` in forward order and, for each
    output quantity, its call ``sites`` (same order as the ``S`` axis of its block)."""

    layers: list[LayerInfo]
    sites: dict[str, list[Site]] = field(default_factory=dict)


#: One output series: layer name, column (quantity) name, values [n], mask [n] (rows to keep).
Series = tuple[str, str, np.ndarray, np.ndarray]


def combine(norms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """√(Σ‖·‖²) over the last axis of ``norms`` [n, k], ignoring SENTINEL entries.

    Returns (values [n], present [n]); NaN and Inf propagate (a non-finite part makes the
    whole non-finite), which is what the NaN rules need.
    """
    missing = norms == SENTINEL
    sq = np.where(missing, 0.0, norms.astype(np.float64) ** 2)
    present = ~missing.all(axis=1) if norms.shape[1] else np.zeros(norms.shape[0], dtype=bool)
    return np.sqrt(sq.sum(axis=1)), present


class Quantity:
    """A per-layer quantity: what it reads, the columns it writes, how it is derived.

    Subclasses set :attr:`name` (unique), :attr:`reads` (a subset of :data:`READS`; the
    recorder measures ‖θ‖ only when some quantity reads ``"parameter"``, ‖Δθ‖ only for
    ``"update"``), :attr:`columns`, and implement :meth:`series`; optionally
    :meth:`measure_step` for a device-side measurement of their own.
    """

    name: ClassVar[str]
    reads: ClassVar[tuple[str, ...]] = ()
    columns: ClassVar[tuple[str, ...]] = ()
    #: measure_step runs only at detail steps (every ``detail_every``-th recorded step)
    detail: ClassVar[bool] = False

    def measure_step(
        self, grads: list[torch.Tensor | None], params: list[torch.Tensor]
    ) -> torch.Tensor | None:
        """Device-side numbers for this step (a 1-D tensor of fixed length, no host sync),
        from ``grads`` [P] (``None`` where a parameter has no gradient) and ``params`` [P]
        (detached). Return ``None`` (the default) when the quantity measures nothing itself.
        """
        return None

    def series(self, chunk: Chunk, ctx: Context) -> Iterator[Series]:
        """Yield ``(layer, column, values [n], mask [n])`` for the chunk's steps."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class OutputQuantity(Quantity):
    """A quantity read from the outputs of selected modules by forward hooks (attached only
    for the forward passes of detail steps, and only while gradients are enabled).

    Subclasses set :attr:`width` and :attr:`module_types` (or override :meth:`selects`) and
    implement :meth:`measure`; :meth:`per_layer` gives the summed statistics per layer.
    """

    reads: ClassVar[tuple[str, ...]] = ("output",)
    detail: ClassVar[bool] = True
    #: how many summed statistics :meth:`measure` returns
    width: ClassVar[int] = 2
    #: the modules whose outputs are read (by ``isinstance``)
    module_types: ClassVar[tuple[type[torch.nn.Module], ...]] = ()
    #: a short label saved in the history's metadata (e.g. the activation's name)
    kind: ClassVar[str] = ""
    #: whether :meth:`before` runs as a forward pre-hook (it may replace the inputs)
    taps_input: ClassVar[bool] = False

    def before(self, module: torch.nn.Module, args: tuple, name: str = "") -> tuple | None:  # type: ignore[type-arg]
        """Forward pre-hook (only when :attr:`taps_input`): return new positional inputs (an
        identity on their values, e.g. an autograd tap) or ``None`` to keep them."""
        return None

    def before_kw(
        self,
        module: torch.nn.Module,
        args: tuple,  # type: ignore[type-arg]
        kwargs: dict,  # type: ignore[type-arg]
        name: str = "",
    ) -> tuple | None:  # type: ignore[type-arg]
        """The forward pre-hook the recorder calls (with keyword arguments): by default
        :meth:`before` on the positional inputs. Return ``(args, kwargs)`` to replace them,
        or ``None`` to keep them."""
        new = self.before(module, args, name)
        return None if new is None else (new, kwargs)

    def after(self, module: torch.nn.Module, out: object, name: str = "") -> object | None:
        """Forward hook, called before :meth:`measure` (only when :attr:`taps_input`): return
        a replacement for the module's output (same value, another autograd graph — e.g. the
        module recomputed layer by layer) or ``None`` to keep it."""
        return None

    def selects(self, name: str, module: torch.nn.Module) -> bool:
        """Whether to hook ``module`` (path ``name``); default: ``isinstance`` of
        :attr:`module_types`."""
        return bool(self.module_types) and isinstance(module, self.module_types)

    def measure(self, out: torch.Tensor) -> tuple[torch.Tensor | np.ndarray, int]:
        """From one call's output tensor: ``width`` summed statistics as a 1-D tensor on the
        device — or, when they were computed on the host anyway (a compiled pass over a CPU
        tensor), as a float64 numpy array [width] — and the count (host int) they were summed
        over. No host sync."""
        raise NotImplementedError

    def per_layer(self, chunk: Chunk, ctx: Context) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
        """``(layer, sums [n, width], counts [n])`` for every layer feeding a hooked module
        (call sites that feed the same layer are added together)."""
        block = chunk.outputs.get(self.name)
        sites = ctx.sites.get(self.name, [])
        if block is None or not sites:
            return
        by_layer: dict[str, list[int]] = {}
        for s, site in enumerate(sites):
            by_layer.setdefault(site.layer, []).append(s)
        for layer, idx in by_layer.items():
            yield layer, block.values[:, idx].sum(axis=1), block.counts[:, idx].sum(axis=1)
