"""The trainer's optional compiled engine ("numba"): whole chunks of SGD steps in one call.

With numba installed (the ``fast`` extra: ``pip install gradprobe[fast]``), `Trainer` runs an
epoch's mini-batches in compiled loops (`gradprobe._numba_kernels`): the same shuffle, the same
mini-batches, forward pass, BP1–BP4 and network2's update w ← (1 − ηλ/n)·w − (η/m)·Σₓ ∂Cₓ/∂w
(or L1's w − (ηλ/n)·sgn(w) − …), seed after seed, on one thread, with no Python between the
steps. At mini-batch 10 the NumPy engine spends most of a step dispatching a few dozen small
operations; here a step is register-blocked loops over 5 examples × 2 neurons, the weight
update happens in the same pass as BP4 (float32 only), every layer's input is padded to 16
floats, inputs that are multiples of 1/256 (MNIST) are read as bytes, and the next batch's
rows are prefetched while a step computes.

The first use compiles the kernels (one compilation serves every activation, cost and depth:
≈ 7 s on the 2-core benchmark machine, 1.5 s more the first time inputs come as bytes, see
`input_bytes`) and stores them in numba's cache (``__pycache__`` beside the module, or
``NUMBA_CACHE_DIR``); a later process imports numba (0.2 s) and loads them (0.6 s). Where no
cache directory is writable the kernels compile in memory (`_numba_kernels.CACHED` is then
False): the engine still works, each process compiling again. Because of that fixed cost,
`Trainer` uses this engine automatically only for fits of at least
`gradprobe.train.NUMBA_MIN_SEED_STEPS` steps × seeds, and always when it is named.

Rounding: the products sum in another order than the NumPy engine (blocked, with LLVM's
reassociation and fused multiply-adds allowed, ``fastmath={'reassoc', 'contract', 'nsz',
'arcp'}``, never ``nnan``/``ninf``), so results differ from it at float32 rounding; they match
the float64 trainer within tests/test_train_engines.py's tolerances (gradients 1e-5 relative,
accuracy curves within one image in ten thousand), and a rerun is bit-identical. Without
fast-math the dot products do not vectorise: 3× slower (56 against 18 µs per step of
784-30-10).

What it does not do — the trainer then runs the epoch on the NumPy engine, as that engine
does when it cannot fuse its step: callbacks with ``on_batch_end`` (they need the gradients),
clipping, momentum, float64, devices other than the CPU.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from .activations import Activation
from .costs import Cost

#: Hidden activations and output activations the kernels implement (codes in _numba_kernels).
_ACT_CODES = {"sigmoid": 0, "tanh": 1, "relu": 2, "leaky-relu": 3, "linear": 4}
_OUT_CODES = {"sigmoid": 0, "softmax": 1, "linear": 2}

#: Layer inputs are padded to a multiple of this many floats inside the kernels.
PAD = 16

#: Environment variable that forces an engine: "numba", "numpy" or "torch" (tests, benchmarks).
ENGINE_ENV = "GRADPROBE_ENGINE"
ENGINES = ("numba", "numpy", "torch")


@functools.cache
def available() -> bool:
    """Whether numba can be imported (checked without importing it)."""
    try:
        return importlib.util.find_spec("numba") is not None
    except (ImportError, ValueError):  # e.g. sys.modules["numba"] = None, to hide it
        return False


def supports(act: Activation, cost: Cost, dtype: torch.dtype, device: torch.device) -> bool:
    """Whether the compiled engine can run this network at all (float32 on the CPU, an
    activation and an output it implements) — independently of the SGD settings."""
    return (
        available()
        and device.type == "cpu"
        and dtype == torch.float32
        and act.name in _ACT_CODES
        and cost.output in _OUT_CODES
    )


def forced_engine() -> str | None:
    """The engine named by ``$GRADPROBE_ENGINE`` (``None`` when unset or empty); ValueError
    for any other name."""
    name = os.environ.get(ENGINE_ENV, "").strip().lower()
    if not name:
        return None
    if name not in ENGINES:
        raise ValueError(f"{ENGINE_ENV}={name!r}: choose one of {', '.join(ENGINES)}")
    return name


@functools.cache
def _kernels() -> Any:
    """The compiled module (imported once; compiling happens on the first call)."""
    from . import _numba_kernels

    return _numba_kernels


def input_bytes(x: np.ndarray) -> np.ndarray | None:
    """x [n, n_0] float32 as uint8 codes k with x = k/256 exactly (MNIST as gradprobe loads it),
    or None when some x is not such a value. One compiled pass (≈ 5 ms for 10 000 MNIST
    images); the steps then read a quarter of the bytes (the batch's rows come from memory,
    at ≈ 8 GB/s on the benchmark machine ≈ 4 µs of a 18 µs step of 784-30-10)."""
    codes, ok = _kernels().to_bytes(np.ascontiguousarray(x, dtype=np.float32))
    return codes if ok else None


class CompiledSGD:
    """The parameters of S seeds packed for `_numba_kernels.run_steps`, and the call.

    ``P`` [S, T] float32: per seed, w¹ [n_1, q_0], b¹ [n_1], w² [n_2, q_1] … (row-major, flat),
    q_l = n_l rounded up to a multiple of `PAD` (the extra columns zero, and they stay zero:
    the padded inputs and activations are zero).
    `load` / `store` copy from / to the network's tensors wˡ [S, n_l, n_{l−1}], bˡ [S, n_l].
    """

    def __init__(
        self,
        sizes: Sequence[int],
        seeds: int,
        act: Activation,
        cost: Cost,
        batch: int,
    ):
        self.sizes = np.asarray(sizes, dtype=np.int64)
        # Every layer's input padded with zero columns to a multiple of PAD floats (one AVX-512
        # register), so that the products' vector loops have no remainder; the outputs not.
        widths = [-(-int(n) // PAD) * PAD for n in sizes[:-1]] + [int(sizes[-1])]
        self.widths = np.asarray(widths, dtype=np.int64)
        woff, boff, o = [], [], 0
        for l in range(len(sizes) - 1):
            woff.append(o)
            o += int(sizes[l + 1]) * widths[l]
            boff.append(o)
            o += int(sizes[l + 1])
        self.woff = np.asarray(woff, dtype=np.int64)
        self.boff = np.asarray(boff, dtype=np.int64)
        self.P = np.zeros((seeds, o), dtype=np.float32)
        self.act, self.out = _ACT_CODES[act.name], _OUT_CODES[cost.output]
        self.sigquad = cost.name == "quadratic" and cost.output == "sigmoid"
        self.batch = batch
        k = _kernels()
        padded = -(-batch // k.BLK) * k.BLK
        self.A = np.zeros(padded * sum(widths[1:]), dtype=np.float32)
        self.D = np.zeros_like(self.A)

    def _views(self, l: int, flat: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """wˡ⁺¹ [S, n_{l+1}, n_l] (without the padding columns) and bˡ⁺¹ [S, n_{l+1}], views of
        ``flat`` (default P)."""
        P = self.P if flat is None else flat
        i, k, q = int(self.sizes[l]), int(self.sizes[l + 1]), int(self.widths[l])
        w = P[:, self.woff[l] : self.woff[l] + k * q].reshape(-1, k, q)[:, :, :i]
        return w, P[:, self.boff[l] : self.boff[l] + k]

    def load(self, W: Sequence[torch.Tensor], B: Sequence[torch.Tensor]) -> None:
        for l, (w, b) in enumerate(zip(W, B)):
            pw, pb = self._views(l)
            pw[...] = w.detach().numpy()
            pb[...] = b.detach().numpy()

    def store(self, W: Sequence[torch.Tensor], B: Sequence[torch.Tensor]) -> None:
        with torch.no_grad():
            for l, (w, b) in enumerate(zip(W, B)):
                pw, pb = self._views(l)
                w.copy_(torch.from_numpy(pw))
                b.copy_(torch.from_numpy(pb))

    def run(
        self,
        x: np.ndarray,
        y: np.ndarray,
        perm: np.ndarray,
        step0: int,
        step1: int,
        *,
        eta: float,
        c: float,
        l1: bool,
    ) -> None:
        """Steps step0 … step1−1 of the epoch for every seed. x [n, n_0] float32 or its
        `input_bytes`, y [n, n_L] float32, C-contiguous; perm [S, n] int64, each seed's
        shuffle; c = ηλ/n (0: no regularisation)."""
        k = _kernels()
        reg = k.REG_L1 if l1 else k.REG_L2
        cc = np.float32(c) if l1 else np.float32(1.0 - c)
        k.run_steps(
            self.P,
            self.sizes,
            self.widths,
            self.woff,
            self.boff,
            x,
            np.float32(1.0 / 256 if x.dtype == np.uint8 else 1.0),
            y,
            perm,
            step0,
            step1,
            self.batch,
            float(eta),
            reg,
            cc,
            self.act,
            self.out,
            self.sigquad,
            self.A,
            self.D,
        )

    def gradients(self, x: np.ndarray, y: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """The gradient of the mean cost over the b examples x [b, n_0], y [b, n_L] (float32),
        for every seed, by the kernels' own BP1–BP4: ([∂C/∂wˡ [S, n_l, n_{l−1}]],
        [∂C/∂bˡ [S, n_l]]). For tests; training never materialises it."""
        k = _kernels()
        b = x.shape[0]
        padded = -(-b // k.BLK) * k.BLK
        A = np.zeros(padded * int(self.widths[1:].sum()), dtype=np.float32)
        G = np.zeros_like(self.P)
        k.batch_gradients(
            self.P,
            self.sizes,
            self.widths,
            self.woff,
            self.boff,
            np.ascontiguousarray(x, dtype=np.float32),
            np.ascontiguousarray(y, dtype=np.float32),
            self.act,
            self.out,
            self.sigquad,
            A,
            np.zeros_like(A),
            G,
        )
        gw, gb = [], []
        for l in range(len(self.woff)):
            w, bias = self._views(l, G)
            gw.append(w.copy())
            gb.append(bias.copy())
        return gw, gb
