"""Mini-batch stochastic gradient descent as network2 does it, for S seeds at once.

Every epoch each seed reshuffles the n training examples with its own generator and takes
⌈n/m⌉ steps on mini-batches of m examples (the last may be smaller). One step is

    v ← μ·v − η·(g + r(w)),   w ← w + v      with g = (1/m) Σₓ ∂Cₓ/∂w   (by BP1–BP4)

where r(w) = (λ/n)·w for L2 and (λ/n)·sgn(w) for L1, biases unregularised. With μ = 0 this is
network2's update w ← (1 − ηλ/n)·w − η·g. Gradients can be clipped to a maximum norm per seed
(over all of that seed's parameters) before the update.

The step is BP1–BP4 (no autograd), by one of three engines (``Trainer.engine``, the first
that can run the network unless ``$GRADPROBE_ENGINE`` names another):

* ``"numba"`` (float32 on the CPU, when numba is installed: the ``fast`` extra): whole chunks
  of steps compiled (`gradprobe.fastepoch`), every seed inside one call, one thread; the step
  and network2's decay happen in the weight-gradient pass. It runs an epoch when nothing needs
  the gradients themselves (no callback with ``on_batch_end``, no clipping, no momentum);
  otherwise that epoch runs on the NumPy engine, which hands the gradients out. The first use
  compiles for a few seconds and caches the result on disk (see `gradprobe.fastepoch`); fits
  too small to repay loading it run on NumPy unless it was named (`Trainer.engine`);
* ``"numpy"`` (float32/float64 on the CPU; the default there without numba, and for
  float64): `backprop.PackedStep` on packed [wˡ | bˡ] NumPy matrices through OpenBLAS;
  NumPy's ≈ 1 µs per operation against torch's 3–10 µs is what matters at mini-batch 10.
  δᴸ is scaled by −η/m, so the products are the step itself; with several seeds and nothing
  that needs the gradients (no callback with ``on_batch_end``, no clipping, no momentum, L2
  or none) the update, with network2's decay, happens inside the weight-gradient GEMM
  (β = 1 − ηλ/n). One thread, whatever the caller's setting (see `_run_epoch`);
* ``"torch"`` (any device; the GPU path): `backprop.compile_step`, the same equations in torch.

The engines agree to float rounding (tests/test_train_engines.py); a run is bit-identical to a
rerun on the same machine with the same engine. The trainer knows nothing of probes; it calls
`Callback` hooks, and a probe can be one.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
import torch.nn.functional as F

from . import fastepoch
from .backprop import (
    Packed,
    PackedStep,
    Params,
    Workspace,
    blas_threads,
    compile_step,
    packable,
)
from .checkpoints import (
    PROCESS_START,
    CheckpointError,
    clean_stale_temporaries,
    data_fingerprint,
    read_checkpoint,
    write_checkpoint,
)
from .errors import ConfigError, DataError, NonFiniteError
from .nets import Network, SeedStack

#: Below this many steps × seeds in a fit, an automatically chosen "numba" engine runs the fit
#: on NumPy (loading numba and the cached kernels, ≈ 0.8 s per process, would cost more than
#: the ≈ 10–25 µs it saves per seed-step).
NUMBA_MIN_SEED_STEPS = 50_000

# Bytes of per-seed shuffled rows gathered at once: small enough that the rows are still in
# cache when the steps read them, and memory stays bounded for many seeds.
_GATHER_BYTES = 4 * 2**20


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of SGD, with network2's names (η = eta, λ = lmbda, m = batch_size)."""

    epochs: int = 30
    batch_size: int = 10
    eta: float = 0.1
    lmbda: float = 0.0
    regularization: str = "l2"  # "l2" or "l1"
    momentum: float = 0.0
    clip_norm: float | None = None

    def __post_init__(self) -> None:
        def bad(msg: str) -> ConfigError:
            return ConfigError(msg)

        if not _is_int(self.epochs) or self.epochs < 1:
            raise bad(f"epochs must be a positive integer, got {self.epochs!r}")
        if not _is_int(self.batch_size) or self.batch_size < 1:
            raise bad(f"batch size must be a positive integer, got {self.batch_size!r}")
        if not math.isfinite(self.eta) or self.eta <= 0:
            raise bad(f"learning rate eta must be a positive number, got {self.eta!r}")
        if not math.isfinite(self.lmbda) or self.lmbda < 0:
            raise bad(f"regularisation lmbda must be ≥ 0, got {self.lmbda!r}")
        if self.regularization not in ("l2", "l1"):
            raise bad(f"regularization must be 'l2' or 'l1', got {self.regularization!r}")
        if not math.isfinite(self.momentum) or not 0 <= self.momentum < 1:
            raise bad(f"momentum must be in [0, 1), got {self.momentum!r}")
        if self.clip_norm is not None and (
            not math.isfinite(self.clip_norm) or self.clip_norm <= 0
        ):
            raise bad(f"clip norm must be a positive number, got {self.clip_norm!r}")


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


@dataclass
class TrainState:
    """What callbacks see. ``epoch`` counts completed epochs, ``step`` completed mini-batches.

    ``accuracy`` holds one [S] list per completed epoch (empty without evaluation data).
    ``grads`` (valid inside ``on_batch_end``) are the last step's gradients [∂C/∂w¹ … ∂C/∂wᴸ,
    ∂C/∂b¹ … ∂C/∂bᴸ], shapes [S, n_l, n_{l−1}] and [S, n_l], always on one scale: the gradient
    of the mini-batch's *mean* cost C = (1/m) Σₓ Cₓ, without the regularisation term, after
    per-seed clipping when ``clip_norm`` is set (the step used exactly these). They are the
    trainer's buffers, overwritten by the next step: copy them to keep them.
    A callback may set ``stop`` to end training after the current epoch.
    """

    net: Network
    config: TrainConfig
    n: int
    epoch: int = 0
    step: int = 0
    accuracy: list[list[float]] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    grads: list[torch.Tensor] = field(default_factory=list)
    stop: bool = False


class Callback:
    """Base class: override any of these; the trainer calls only the ones you override."""

    def on_train_begin(self, state: TrainState) -> None: ...
    def on_epoch_begin(self, state: TrainState) -> None: ...
    def on_batch_end(self, state: TrainState) -> None: ...
    def on_epoch_end(self, state: TrainState) -> None: ...
    def on_train_end(self, state: TrainState) -> None: ...


class _Labelled(Protocol):
    @property
    def images(self) -> torch.Tensor: ...
    @property
    def labels(self) -> torch.Tensor: ...


Data = _Labelled | tuple[torch.Tensor, torch.Tensor]


@dataclass
class TrainResult:
    """accuracy: [S, E] fraction correct on the evaluation data after each epoch (E = 0 without
    it); seconds_per_epoch: [E] training time only, evaluation excluded."""

    accuracy: torch.Tensor
    seconds_per_epoch: list[float]
    epochs: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "epochs": self.epochs,
            "accuracy": self.accuracy.tolist(),
            "seconds_per_epoch": self.seconds_per_epoch,
        }


def _xy(data: Data, n_out: int, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """(x [n, n_0], integer labels [n]) from a Split-like object or a tuple."""
    x, y = data if isinstance(data, tuple) else (data.images, data.labels)
    if y.dim() == 2:
        y = y.argmax(-1)
    if x.shape[0] != y.shape[0]:
        raise DataError(f"{x.shape[0]} inputs but {y.shape[0]} labels")
    if y.numel() and (int(y.min()) < 0 or int(y.max()) >= n_out):
        raise DataError(f"labels must lie in 0 … {n_out - 1} for {n_out} output neurons")
    return x.to(dtype), y.long()


def _able(net: Network) -> dict[str, bool]:
    """Which engines can run ``net`` at all (its activation, output, dtype and device)."""
    w0 = net.weights[0]
    return {
        "numba": fastepoch.supports(net.act, net.cost, w0.dtype, w0.device),
        "numpy": packable(net.act, net.cost, w0.dtype, w0.device),
        "torch": True,
    }


def _choose_engine(net: Network) -> tuple[str, bool]:
    """The first engine of ``$GRADPROBE_ENGINE`` (if set), "numba", "numpy", "torch" that can
    run ``net``, and whether the environment named it."""
    able = _able(net)
    forced = fastepoch.forced_engine()
    if forced is not None and able[forced]:
        return forced, True
    return next(e for e in fastepoch.ENGINES if able[e]), forced is not None


def _shuffle_generators(net: SeedStack) -> list[torch.Generator]:
    """One shuffle stream per seed, independent of its initialisation stream and derived from
    the same seed (SeedSequence([seed, 1])); `BatchedTrainer` draws from the same streams."""
    return [
        torch.Generator().manual_seed(int(np.random.SeedSequence([s, 1]).generate_state(1)[0]))
        for s in net.seed_values
    ]


class Trainer:
    """SGD for a `Network` with S seeds. ``Trainer(net, config).fit(training, evaluation)``.

    ``checkpoint``: a file written (atomically) after every epoch, from which ``fit(...,
    resume=True)`` continues; see `gradprobe.checkpoints`. ``run_config``: JSON-able settings of
    the caller (for example the data source) stored in the checkpoint; a resume with other
    values is refused, as is one with another network, other SGD settings (only ``epochs`` may
    grow) or other training data.
    """

    def __init__(
        self,
        net: Network,
        config: TrainConfig,
        *,
        callbacks: Sequence[Callback] = (),
        progress: bool = False,
        checkpoint: str | Path | None = None,
        run_config: Mapping[str, Any] | None = None,
    ):
        self.net = net
        self.run_config = dict(run_config or {})
        self._data: dict[str, Any] = {}
        self.config = config
        self.callbacks = list(callbacks)
        self.progress = progress
        self.checkpoint = Path(checkpoint) if checkpoint is not None else None
        self.generators = _shuffle_generators(net)
        self._views = Params.of(net.weights, net.biases)
        self._params = [*self._views.W, *self._views.B]
        self._grads = [torch.empty_like(t) for t in self._params]
        self._velocity = [torch.zeros_like(t) for t in self._params] if config.momentum else []
        self._engine, self._engine_explicit = _choose_engine(net)
        self._seed_steps = 0  # of the current fit: epochs × ⌈n/m⌉ × S
        self._compiled_sgd: fastepoch.CompiledSGD | None = None
        self._inputs: tuple[torch.Tensor, int, np.ndarray] | None = None

    @property
    def engine(self) -> str:
        """ "numba" (`gradprobe.fastepoch`, compiled, float32 on the CPU, when numba is
        installed), "numpy" (`PackedStep`, the CPU engine) or "torch" (`compile_step`, any
        device): the first that can run the network, or the one ``$GRADPROBE_ENGINE`` names
        if it can. Set it to choose another (tests and benchmarks do).

        Chosen automatically, "numba" leaves fits of fewer than `NUMBA_MIN_SEED_STEPS` steps
        (epochs × ⌈n/m⌉ × seeds) to the NumPy engine: loading the compiled kernels costs a
        process ≈ 0.8 s (≈ 7 s the first time, compiling), more than such a fit gains. Named
        (here or by ``$GRADPROBE_ENGINE``), it always runs. Naming an engine that cannot run
        this network (say "numpy" for a network on a GPU, or "numba" without numba installed)
        raises `ConfigError`."""
        return self._engine

    @engine.setter
    def engine(self, name: str) -> None:
        if name not in fastepoch.ENGINES:
            choose = ", ".join(fastepoch.ENGINES)
            raise ConfigError(f"unknown engine {name!r}; choose one of {choose}")
        if not _able(self.net)[name]:
            w0, needs = self.net.weights[0], {"numba": "float32", "numpy": "float32 or float64"}
            why = (
                "numba is not installed (pip install 'gradprobe[fast]')"
                if name == "numba" and not fastepoch.available()
                else f"it runs {needs[name]} networks on the CPU with the book's activations and "
                f"outputs; this one is {str(w0.dtype).removeprefix('torch.')} on "
                f"{w0.device.type} ({self.net.act.name}, {self.net.cost.output})"
            )
            raise ConfigError(f"engine {name!r} cannot run this network: {why}")
        self._engine, self._engine_explicit = name, True

    # -- callbacks ---------------------------------------------------------------------------
    def _hooks(self, name: str) -> list[Callable[[TrainState], None]]:
        return [
            getattr(cb, name)
            for cb in self.callbacks
            if getattr(type(cb), name, None) is not getattr(Callback, name)
        ]

    # -- the step ----------------------------------------------------------------------------
    def _compiled(self) -> bool:
        """Whether this epoch runs on the compiled engine: chosen, able to run the network,
        and nothing needs a per-step gradient (the contract of the NumPy engine's fused step:
        no ``on_batch_end`` callback, no clipping, no momentum)."""
        net, cfg = self.net, self.config
        w0 = net.weights[0]
        return (
            self.engine == "numba"
            and (self._engine_explicit or self._seed_steps >= NUMBA_MIN_SEED_STEPS)
            and fastepoch.supports(net.act, net.cost, w0.dtype, w0.device)
            and not self._hooks("on_batch_end")
            and cfg.clip_norm is None
            and not cfg.momentum
        )

    def _run_epoch(
        self, x: torch.Tensor, y1h: torch.Tensor, state: TrainState, tick: Callable[[int], None]
    ) -> None:
        if self._compiled():
            self._run_epoch_compiled(x, y1h, state, tick)
            return
        if self.engine in ("numpy", "numba"):
            # Overflow shows up as NaN/inf parameters, which `_check_finite` reports.
            # One thread for BLAS and torch, whatever the caller's setting: per seed these
            # products are 10 columns wide, a second thread gains ≤ 1.3× on a quiet machine
            # and, spinning, costs 5–40× on a busy one (measured for S = 4 and 16, RESULTS.md).
            # Parallel work belongs in separate processes (sweeps: jobs × threads ≤ cores).
            threads = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                with blas_threads(1), np.errstate(all="ignore"):
                    self._run_epoch_packed(x, y1h, state, tick)
            finally:
                torch.set_num_threads(threads)
            return
        net, cfg = self.net, self.config
        S, n, m = net.n_seeds, x.shape[0], cfg.batch_size
        params, grads = self._views, self._grads
        GW, GB = grads[: len(params.W)], grads[len(params.W) :]
        step_fn = compile_step(net.act, net.cost, params, GW, GB)
        on_batch = self._hooks("on_batch_end")
        decay_w = cfg.eta * cfg.lmbda / state.n
        update = self._update
        need_mean = bool(on_batch) or cfg.clip_norm is not None
        perms = torch.stack([torch.randperm(n, generator=g) for g in self.generators])
        perms = perms.to(x.device)  # the shuffle is drawn on the CPU: same order on any device
        n0, nL = x.shape[1], y1h.shape[1]
        row_bytes = S * (n0 + nL) * x.element_size()
        chunk = max(m, (_GATHER_BYTES // max(row_bytes, 1)) // m * m)
        tick_every = max(1, math.ceil(n / m) // 100)
        # Gather buffers, reused by every chunk (a fresh tensor per chunk costs more in page
        # faults than the copy itself), and one `Workspace` (aˡ, δˡ, σ′ buffers) per
        # mini-batch size, reused by every step (the last mini-batch may be smaller).
        rows = S * min(chunk, n)
        xbuf = torch.empty(rows, n0, dtype=x.dtype, device=x.device)
        ybuf = torch.empty(rows, nL, dtype=y1h.dtype, device=y1h.device)
        spaces: dict[int, Workspace] = {}

        def workspace(mb: int) -> Workspace:
            if mb not in spaces:
                spaces[mb] = Workspace.allocate(net.sizes, S, mb, dtype=x.dtype, device=x.device)
            return spaces[mb]

        step = state.step
        # One seed's matrices (10 rows) gain nothing from a second intra-op thread, and on a
        # busy CPU the threads' hand-offs cost far more than the arithmetic (measured 3–60×
        # slower with 2 threads on a shared 2-core machine): run the epoch on one, then restore.
        threads = torch.get_num_threads()
        single = S == 1 and x.device.type == "cpu" and threads != 1
        if single:
            torch.set_num_threads(1)
        try:
            for c0 in range(0, n, chunk):
                idx = perms[:, c0 : c0 + chunk]
                c = idx.shape[1]
                flat = idx.reshape(-1)
                xc = torch.index_select(x, 0, flat, out=xbuf[: S * c]).view(S, c, n0)
                yc = torch.index_select(y1h, 0, flat, out=ybuf[: S * c]).view(S, c, nL)
                for xb, yb in zip(xc.split(m, 1), yc.split(m, 1)):
                    mb = xb.shape[1]
                    # Forward pass and BP1–BP4: Σₓ over this mini-batch, turned into the mean
                    # in place only when a callback or clipping looks at it (else η/m does).
                    step_fn(xb, yb, workspace(mb))
                    if need_mean:
                        torch._foreach_mul_(grads, 1.0 / mb)
                    update(grads, mb, need_mean, decay_w)
                    step += 1
                    state.step = step
                    if on_batch:
                        state.grads = grads
                        for hook in on_batch:
                            hook(state)
                    if step % tick_every == 0:
                        tick(tick_every)
        finally:
            if single:
                torch.set_num_threads(threads)

    def _run_epoch_compiled(
        self, x: torch.Tensor, y1h: torch.Tensor, state: TrainState, tick: Callable[[int], None]
    ) -> None:
        """One epoch on the compiled engine (`fastepoch.CompiledSGD`): the same shuffle,
        mini-batches and update as the other engines, in chunks of steps (one call each, every
        seed inside it; the progress bar moves after each)."""
        net, cfg = self.net, self.config
        S, n, m = net.n_seeds, x.shape[0], cfg.batch_size
        if self._compiled_sgd is None:
            self._compiled_sgd = fastepoch.CompiledSGD(net.sizes, S, net.act, net.cost, m)
        sgd = self._compiled_sgd
        W, B = self._views.W, self._views.B
        sgd.load(W, B)
        perms = torch.stack([torch.randperm(n, generator=g) for g in self.generators]).numpy()
        xs = self._compiled_inputs(x)
        ys = np.ascontiguousarray(y1h.numpy())
        c = cfg.eta * cfg.lmbda / state.n
        steps = math.ceil(n / m)
        # At least 100 steps per call: each call runs the seeds one after the other, and a
        # seed's parameters leave the cache while the others run (10-step chunks measured
        # 3.5 % slower with 16 seeds).
        chunk = max(100, steps // 100)
        try:
            for t0 in range(0, steps, chunk):
                t1 = min(t0 + chunk, steps)
                sgd.run(xs, ys, perms, t0, t1, eta=cfg.eta, c=c, l1=cfg.regularization == "l1")
                state.step += t1 - t0
                tick(t1 - t0)
        finally:
            sgd.store(W, B)

    def _compiled_inputs(self, x: torch.Tensor) -> np.ndarray:
        """x for the compiled engine: as bytes (`fastepoch.input_bytes`, a quarter of the
        memory traffic) when every input is a multiple of 1/256 and the fit reads the data at
        least twice (seeds × epochs ≥ 2: the one conversion pass costs about one such read),
        else float32. Made once per fit (kept while x is the same, unchanged tensor)."""
        cached = self._inputs
        if cached is not None and cached[0] is x and cached[1] == x._version:
            return cached[2]
        xs = np.ascontiguousarray(x.detach().numpy())
        if self.net.n_seeds * self.config.epochs >= 2:
            codes = fastepoch.input_bytes(xs)
            if codes is not None:
                xs = codes
        self._inputs = (x, x._version, xs)
        return xs

    def _run_epoch_packed(
        self, x: torch.Tensor, y1h: torch.Tensor, state: TrainState, tick: Callable[[int], None]
    ) -> None:
        """One epoch on the CPU engine (`PackedStep`): the same shuffle, steps and update as
        the torch path, on packed [wˡ | bˡ] NumPy matrices that are copied from the network at
        the start and back at the end (and around ``on_batch_end`` hooks)."""
        net, cfg = self.net, self.config
        S, n, m = net.n_seeds, x.shape[0], cfg.batch_size
        W, B = self._views.W, self._views.B
        dt = x.detach().numpy().dtype
        pk = Packed(net.sizes, S, dt)
        pk.load(W, B)
        G, Wx = pk.G, pk.Wx
        Wv = [pk.w(Wx, l) for l in range(len(Wx))]  # the wˡ parts (views)
        V: list[np.ndarray] = []  # the velocity [vʷ | vᵇ], packed alike
        if cfg.momentum:
            V = [np.zeros_like(g) for g in G]
            pk.load(self._velocity[: len(W)], self._velocity[len(W) :], into=V)
        Vv = [v[:, :, :-1] for v in V]
        on_batch = self._hooks("on_batch_end")
        c = cfg.eta * cfg.lmbda / state.n
        l2 = cfg.regularization == "l2"
        need_mean = bool(on_batch) or cfg.clip_norm is not None
        # No callback, clipping or momentum needs the gradient itself: fuse the step (and
        # network2's L2 decay) into the weight-gradient products.
        fused = S > 1 and not need_mean and not V and (c == 0 or l2)
        fused_decay = 1.0 - c
        neg_eta, decay, cc, mu = (dt.type(v) for v in (-cfg.eta, 1.0 - c, c, cfg.momentum))
        c_b = dt.type(1.0) - decay  # what the decay takes from bˡ, given back
        bsave = [np.empty((S, k), dtype=dt) for k in net.sizes[1:]]
        perms = torch.stack([torch.randperm(n, generator=g) for g in self.generators]).numpy()
        xs, ys = x.detach().numpy(), y1h.numpy()
        n0, nL = xs.shape[1], ys.shape[1]
        row_bytes = S * (n0 + 1 + nL) * dt.itemsize
        chunk = max(m, (_GATHER_BYTES // max(row_bytes, 1)) // m * m)
        tick_every = max(1, math.ceil(n / m) // 100)
        rows = S * min(chunk, n)
        # Rows [x | 1] gathered per seed in the shuffled order, reused by every chunk.
        xbuf = np.ones((rows, n0 + 1), dtype=dt)
        ybuf = np.empty((rows, nL), dtype=dt)
        steps: dict[int, PackedStep] = {}
        grads = self._grads  # handed to on_batch_end callbacks
        step = state.step
        try:
            for c0 in range(0, n, chunk):
                idx = perms[:, c0 : c0 + chunk]
                k = idx.shape[1]
                flat = idx.reshape(-1)
                np.take(xs, flat, axis=0, out=xbuf[: S * k, :n0], mode="clip")
                np.take(ys, flat, axis=0, out=ybuf[: S * k], mode="clip")
                xc = xbuf[: S * k].reshape(S, k, n0 + 1)
                yc = ybuf[: S * k].reshape(S, k, nL)
                for j in range(0, k, m):
                    xb = xc[:, j : j + m]
                    mb = xb.shape[1]
                    fn = steps.get(mb)
                    if fn is None:
                        fn = steps[mb] = PackedStep(net.act, net.cost, pk, mb)
                    yt = yc[:, j : j + m].transpose(0, 2, 1)
                    # G = −(η/b)·Σₓ ∂Cₓ/∂θ (the step itself), or the mean gradient when
                    # clipping or a callback needs it.
                    if fused:
                        # The step inside the products: w ← (1 − ηλ/n)·w − (η/b)·Σₓ ∂Cₓ/∂w.
                        fn(xb, yt, -cfg.eta / mb, decay=fused_decay)
                        step += 1
                        state.step = step
                        if step % tick_every == 0:
                            tick(tick_every)
                        continue
                    fn(xb, yt, 1.0 / mb if need_mean else -cfg.eta / mb)
                    if need_mean:
                        if cfg.clip_norm is not None:
                            _clip_packed(G, cfg.clip_norm)
                        step += 1
                        state.step = step
                        if on_batch:
                            pk.store(W, B)
                            for l in range(len(G)):
                                grads[l].copy_(torch.from_numpy(pk.w(G, l)))
                                grads[len(G) + l].copy_(torch.from_numpy(pk.b(G, l)))
                            state.grads = grads
                            for hook in on_batch:
                                hook(state)
                            pk.load(W, B)
                        for g in G:
                            np.multiply(g, neg_eta, out=g)
                    else:
                        step += 1
                        state.step = step
                    # v ← μv + G − c·r(w), w ← w + v; without momentum w ← w − c·r(w) + G.
                    for l, g in enumerate(G):
                        if V:
                            v = V[l]
                            np.multiply(v, mu, out=v)
                            np.add(v, g, out=v)
                            if c:
                                r = Wv[l] * cc if l2 else np.sign(Wv[l]) * cc
                                np.subtract(Vv[l], r, out=Vv[l])
                            np.add(Wx[l], v, out=Wx[l])
                        else:
                            if c and l2:
                                # Decay all of [wˡ | bˡ] (one contiguous pass, several times
                                # faster than the strided wˡ part), and give bˡ its part back.
                                bl, keep = pk.b(Wx, l), bsave[l]
                                np.multiply(bl, c_b, out=keep)
                                np.multiply(Wx[l], decay, out=Wx[l])
                                np.add(bl, keep, out=bl)
                            elif c:
                                np.subtract(Wv[l], np.sign(Wv[l]) * cc, out=Wv[l])
                            np.add(Wx[l], g, out=Wx[l])
                    if step % tick_every == 0:
                        tick(tick_every)
        finally:
            pk.store(W, B)
            if V:
                pk.store(self._velocity[: len(W)], self._velocity[len(W) :], source=V)

    def _update(self, grads: list[torch.Tensor], mb: int, mean: bool, decay_w: float) -> None:
        """Apply one SGD step from ``grads`` ([wˡ…, bˡ…]): the mini-batch's mean gradients if
        ``mean``, else its sums Σₓ (then η/m is the step). Clipping (which needs the mean)
        happens here, in place."""
        cfg = self.config
        P, L = self._params, len(self.net.layers)
        eta = cfg.eta if mean else cfg.eta / mb
        if cfg.clip_norm is not None:
            _clip_per_seed(grads, cfg.clip_norm)
        if cfg.momentum:
            V = self._velocity
            torch._foreach_mul_(V, cfg.momentum)
            torch._foreach_add_(V, grads, alpha=-eta)
            if decay_w:
                self._regularise(V[:L], P[:L], decay_w)
            torch._foreach_add_(P, V)
        else:
            if decay_w:
                self._regularise(P[:L], P[:L], decay_w)
            torch._foreach_add_(P, grads, alpha=-eta)

    def _regularise(self, target: list[torch.Tensor], W: list[torch.Tensor], c: float) -> None:
        """target −= (ηλ/n)·w (L2) or (ηλ/n)·sgn(w) (L1)."""
        if self.config.regularization == "l2":
            if target is W:
                torch._foreach_mul_(W, 1.0 - c)
            else:
                torch._foreach_add_(target, W, alpha=-c)
        else:
            torch._foreach_add_(target, torch._foreach_sign(W), alpha=-c)

    # -- the loop ----------------------------------------------------------------------------
    def fit(
        self, training: Data, evaluation: Data | None = None, *, resume: bool = False
    ) -> TrainResult:
        """Train for ``config.epochs`` epochs; evaluate after each epoch if ``evaluation`` given.

        training / evaluation: Split-like objects (``.images`` [n, n_0], ``.labels`` [n]) or
        (x, labels) tuples. With ``resume`` and an existing checkpoint, continue from it.
        """
        net = self.net
        dtype = net.weights[0].dtype
        device = net.weights[0].device
        x, labels = _xy(training, net.sizes[-1], dtype)
        if x.shape[1] != net.sizes[0]:
            raise ConfigError(
                f"the data has {x.shape[1]} inputs per example but the network's input layer "
                f"has {net.sizes[0]} neurons"
            )
        x = x.to(device)
        y1h = F.one_hot(labels, net.sizes[-1]).to(dtype=dtype, device=device)
        ev = None
        if evaluation is not None:
            ex, el = _xy(evaluation, net.sizes[-1], dtype)
            ev = (ex.to(device), el.to(device))
        state = TrainState(net=net, config=self.config, n=x.shape[0])
        if self.checkpoint is not None:
            clean_stale_temporaries(self.checkpoint, older_than=PROCESS_START)
            self._data = data_fingerprint(x, labels)
            if resume and self.checkpoint.exists():
                self._restore(state)
        for hook in self._hooks("on_train_begin"):
            hook(state)
        steps = math.ceil(x.shape[0] / self.config.batch_size)
        self._seed_steps = self.config.epochs * steps * net.n_seeds
        with _progress(self.progress, self.config.epochs, steps, state.epoch) as tick:
            while state.epoch < self.config.epochs and not state.stop:
                for hook in self._hooks("on_epoch_begin"):
                    hook(state)
                t0 = time.perf_counter()
                self._run_epoch(x, y1h, state, tick)
                state.seconds.append(time.perf_counter() - t0)
                self._check_finite(state.epoch + 1)
                if ev is not None:
                    state.accuracy.append(net.accuracy(*ev).tolist())
                state.epoch += 1
                tick(0, state)
                for hook in self._hooks("on_epoch_end"):
                    hook(state)
                if self.checkpoint is not None:
                    self._save(state)
        self._inputs = None  # the compiled engine's copy of the inputs: one fit's only
        for hook in self._hooks("on_train_end"):
            hook(state)
        acc = torch.tensor(state.accuracy, dtype=torch.float64).reshape(-1, net.n_seeds).T
        return TrainResult(accuracy=acc, seconds_per_epoch=state.seconds, epochs=state.epoch)

    def _check_finite(self, epoch: int) -> None:
        bad = [
            s
            for s in range(self.net.n_seeds)
            if not all(bool(torch.isfinite(p[s]).all()) for p in self._params)
        ]
        if bad:
            seeds = ", ".join(str(self.net.seed_values[s]) for s in bad[:5])
            raise NonFiniteError(
                f"parameters became NaN or infinite in epoch {epoch} (seed {seeds}); "
                f"try a smaller learning rate eta (now {self.config.eta}) or clip gradients"
            )

    # -- checkpoints -------------------------------------------------------------------------
    def _meta(self, state: TrainState) -> dict[str, Any]:
        return {
            "net": self.net.config.to_dict(),
            "train": asdict(self.config),
            "run": dict(self.run_config),
            "data": self._data,
            "epoch": state.epoch,
            "step": state.step,
            "accuracy": state.accuracy,
            "seconds": state.seconds,
        }

    def _tensors(self) -> dict[str, torch.Tensor]:
        tensors = dict(self.net.state_dict())
        for i, v in enumerate(self._velocity):
            tensors[f"velocity.{i}"] = v
        for s, g in enumerate(self.generators):
            tensors[f"shuffle_rng.{s}"] = g.get_state()
        return tensors

    def _save(self, state: TrainState) -> None:
        assert self.checkpoint is not None
        write_checkpoint(self.checkpoint, self._tensors(), self._meta(state))

    def _restore(self, state: TrainState) -> None:
        """Continue from the checkpoint: `CheckpointError` if it is damaged or foreign,
        `ConfigError` if it belongs to another run (network, SGD settings other than the
        number of epochs, the caller's ``run_config``, training data)."""
        assert self.checkpoint is not None
        ck = read_checkpoint(self.checkpoint)
        saved, mine = ck.meta, self._meta(state)
        where = f"checkpoint {self.checkpoint}"
        diffs = _differences(saved["net"], mine["net"])
        diffs += _differences(saved["train"], mine["train"], skip=("epochs",))
        diffs += _differences(saved["run"], mine["run"])
        if saved["data"] != mine["data"]:
            n0, n1 = saved["data"].get("n"), mine["data"].get("n")
            diffs.append(
                f"training data: {n0} examples in the checkpoint, {n1} now"
                if n0 != n1
                else "training data: same size, other contents (SHA-256 differs)"
            )
        if diffs:
            raise ConfigError(
                f"{where} was made with other settings ({'; '.join(diffs)}); resume with the "
                f"same settings, or delete it to start a new run"
            )
        if saved["epoch"] > self.config.epochs:
            raise ConfigError(
                f"{where} has already {saved['epoch']} epochs, more than the {self.config.epochs} "
                f"asked for; ask for at least {saved['epoch']} epochs"
            )
        want = self._tensors()
        for k, v in want.items():
            got = ck.tensors.get(k)
            if got is None or got.shape != v.shape or got.dtype != v.dtype:
                raise CheckpointError(f"{where} is damaged: tensor {k!r} missing or mismatched")
        with torch.no_grad():
            for k, v in self.net.state_dict().items():
                v.copy_(ck.tensors[k])
            for i, v in enumerate(self._velocity):
                v.copy_(ck.tensors[f"velocity.{i}"])
        for s, g in enumerate(self.generators):
            g.set_state(ck.tensors[f"shuffle_rng.{s}"])
        state.epoch, state.step = saved["epoch"], saved["step"]
        state.accuracy, state.seconds = saved["accuracy"], saved["seconds"]


def _differences(
    saved: dict[str, Any], mine: dict[str, Any], skip: tuple[str, ...] = ()
) -> list[str]:
    return [
        f"{k}: {saved.get(k)!r} in the checkpoint, {mine.get(k)!r} now"
        for k in sorted(set(saved) | set(mine))
        if k not in skip and saved.get(k) != mine.get(k)
    ]


def _clip_packed(G: list[np.ndarray], max_norm: float) -> None:
    """`_clip_per_seed` for the NumPy engine's packed [∂C/∂wˡ | ∂C/∂bˡ] arrays
    [S, n_l, n_{l−1} + 1], in NumPy: ≈ 17 µs a step for 784-30-10 against ≈ 43 µs through
    torch views (a step of this engine is ≈ 20–30 µs)."""
    sq = sum(np.einsum("sij,sij->s", g, g) for g in G)
    scale = np.minimum(max_norm / (np.sqrt(sq) + 1e-12), 1.0).astype(G[0].dtype)
    for g in G:
        np.multiply(g, scale[:, None, None], out=g)


def _clip_per_seed(grads: list[torch.Tensor], max_norm: float) -> None:
    """Scale each seed's gradients so that their joint norm is at most ``max_norm``."""
    sq = torch.stack([g.flatten(1).pow(2).sum(1) for g in grads]).sum(0)  # [S]
    scale = (max_norm / (sq.sqrt() + 1e-12)).clamp_(max=1.0)
    for g in grads:
        g.mul_(scale.view(-1, *([1] * (g.dim() - 1))))


class _progress:
    """A rich progress bar over all steps of all epochs (a no-op when disabled)."""

    def __init__(self, enabled: bool, epochs: int, steps: int, done_epochs: int):
        self.enabled, self.epochs, self.steps, self.done = enabled, epochs, steps, done_epochs

    def __enter__(self) -> Callable[..., None]:
        if not self.enabled:
            return lambda *a: None
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(
            TextColumn("[bold]epoch {task.fields[epoch]}/{task.fields[total_epochs]}"),
            BarColumn(),
            TextColumn("{task.fields[acc]}"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self.bar.__enter__()
        self.task = self.bar.add_task(
            "train",
            total=self.epochs * self.steps,
            completed=self.done * self.steps,
            epoch=self.done + 1,
            total_epochs=self.epochs,
            acc="",
        )

        def tick(k: int, state: TrainState | None = None) -> None:
            if state is None:
                self.bar.advance(self.task, k)
                return
            acc = f"acc {100 * float(np.mean(state.accuracy[-1])):.2f}%" if state.accuracy else ""
            self.bar.update(
                self.task,
                completed=state.epoch * self.steps,
                epoch=min(state.epoch + 1, self.epochs),
                acc=acc,
            )

        return tick

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self.bar.__exit__(None, None, None)


def train(
    net: Network,
    training: Data,
    config: TrainConfig | None = None,
    *,
    evaluation: Data | None = None,
    callbacks: Sequence[Callback] = (),
    progress: bool = False,
    checkpoint: str | Path | None = None,
    resume: bool = False,
    run_config: Mapping[str, Any] | None = None,
) -> TrainResult:
    """Train ``net`` (all its seeds) by SGD; see `Trainer`. Returns a `TrainResult`."""
    trainer = Trainer(
        net,
        config or TrainConfig(),
        callbacks=callbacks,
        progress=progress,
        checkpoint=checkpoint,
        run_config=run_config,
    )
    return trainer.fit(training, evaluation, resume=resume)
