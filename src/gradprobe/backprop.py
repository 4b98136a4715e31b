"""The four equations of backpropagation, written out and batched over seeds and examples.

For a batch of examples x and every seed at once (no autograd):

    BP1  δᴸ = ∇ₐC ⊙ σ′(zᴸ)                   (`Cost.delta`)
    BP2  δˡ = ((wˡ⁺¹)ᵀ δˡ⁺¹) ⊙ σ′(zˡ)
    BP3  ∂C/∂bˡⱼ = δˡⱼ
    BP4  ∂C/∂wˡⱼₖ = aˡ⁻¹ₖ δˡⱼ

Summed over the batch, BP3 and BP4 give Σₓ ∂Cₓ/∂bˡ and Σₓ ∂Cₓ/∂wˡ; with δᴸ scaled by 1/B
they give the gradient of the mean cost instead. The equations are written twice here, once
per engine: in torch (`compile_step`, `forward_backward`; any device, and the book's
learning-speed measurement through `backprop`) and in NumPy on packed [wˡ | bˡ] matrices
(`PackedStep`, the trainer's CPU engine, further down). Tests check both against
`torch.autograd` in float64 for every activation × cost × output pair, and float32 against
float64.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import glob
import importlib.util
import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from scipy.special import expit

from .activations import LEAKY_SLOPE, Activation
from .costs import Cost
from .nets import Network


@dataclass
class Gradients:
    """Σₓ over a batch of the per-example gradients, for every layer l = 1 … L.

    ``bias``: list of [S, n_l] (Σₓ δˡ), ``weight``: list of [S, n_l, n_{l−1}].
    """

    bias: list[torch.Tensor]
    weight: list[torch.Tensor]


@dataclass
class Workspace:
    """Buffers for one batch size B, reused by every call of `forward_backward`.

    ``A[l−1]``: aˡ [S, B, n_l] for l = 1 … L (zˡ is computed into it, then σ applied in place);
    ``D[l−1]``: δˡ [S, B, n_l]; ``DT``: their transposed views [S, n_l, B];
    ``P[l−1]``: σ′(zˡ) [S, B, n_l] for the hidden layers l = 1 … L−1.
    """

    A: list[torch.Tensor]
    D: list[torch.Tensor]
    DT: list[torch.Tensor]
    P: list[torch.Tensor]

    @classmethod
    def allocate(
        cls,
        sizes: Sequence[int],
        seeds: int,
        batch: int,
        *,
        dtype: torch.dtype,
        device: torch.device | str | None = None,
    ) -> Workspace:
        def new(k: int) -> torch.Tensor:
            return torch.empty(seeds, batch, k, dtype=dtype, device=device)

        A = [new(k) for k in sizes[1:]]
        D = [new(k) for k in sizes[1:]]
        return cls(A=A, D=D, DT=[d.transpose(1, 2) for d in D], P=[new(k) for k in sizes[1:-1]])


@dataclass
class Params:
    """The parameters as plain tensors, with the views the products need, built once.

    ``W[l−1]``: wˡ [S, n_l, n_{l−1}]; ``B[l−1]``: bˡ [S, n_l]; ``WT``: (wˡ)ᵀ views
    [S, n_{l−1}, n_l]; ``Bu``: bˡ as [S, 1, n_l] views. Views follow in-place updates.
    """

    W: list[torch.Tensor]
    B: list[torch.Tensor]
    WT: list[torch.Tensor]
    Bu: list[torch.Tensor]

    @classmethod
    def of(cls, W: Sequence[torch.Tensor], B: Sequence[torch.Tensor]) -> Params:
        W, B = [w.detach() for w in W], [b.detach() for b in B]
        return cls(W=W, B=B, WT=[w.transpose(1, 2) for w in W], Bu=[b.unsqueeze(1) for b in B])


Step = Callable[[torch.Tensor, torch.Tensor, Workspace], torch.Tensor]


def compile_step(
    act: Activation,
    cost: Cost,
    params: Params,
    GW: Sequence[torch.Tensor],
    GB: Sequence[torch.Tensor],
) -> Step:
    """BP1–BP4 specialised once for an activation, a cost and fixed buffers: the hot path.

    Returns ``step(x, y, ws) -> aᴸ`` for per-seed inputs x [S, b, n_0], one-hot targets
    y [S, b, n_L] and a `Workspace` ``ws`` for this b, which writes Σₓ ∂Cₓ/∂wˡ into ``GW[l−1]``
    [S, n_l, n_{l−1}] and Σₓ ∂Cₓ/∂bˡ into ``GB[l−1]`` [S, n_l] (sums over the b examples).
    Every product writes into a buffer (``out=``), σ and σ′ run in place; the choices that
    depend on the activation and the cost are made here, not per step.
    """
    W, WT, Bu = params.W, params.WT, params.Bu
    L = len(W)
    hidden = act.inplace
    output: Callable[[torch.Tensor], torch.Tensor] | None = {
        "sigmoid": torch.sigmoid_,
        "linear": None,
    }.get(cost.output, cost.output_fn_)
    prime = act.prime_from_output
    # BP1 is aᴸ − y except for sigmoid outputs with the quadratic cost (σ′(zᴸ) stays).
    plain_bp1 = not (cost.name == "quadratic" and cost.output == "sigmoid")
    bp1 = cost.delta
    bmm, baddbmm, tsum, sub = torch.bmm, torch.baddbmm, torch.sum, torch.sub
    forward_hidden = range(L - 1)
    backward_hidden = range(L - 1, 0, -1)
    last_b, last_wt = Bu[-1], WT[-1]

    def step(x: torch.Tensor, y: torch.Tensor, ws: Workspace) -> torch.Tensor:
        A, D, DT, P = ws.A, ws.D, ws.DT, ws.P
        # Forward: zˡ = wˡ aˡ⁻¹ + bˡ into A[l], then aˡ = σ(zˡ) in place, keeping every aˡ.
        a = x
        for l in forward_hidden:
            a = hidden(baddbmm(Bu[l], a, WT[l], out=A[l]))
        a = baddbmm(last_b, a, last_wt, out=A[-1])
        if output is not None:
            a = output(a)
        # BP1, then BP3/BP4 and BP2 layer by layer, from the output back.
        delta = sub(a, y, out=D[-1]) if plain_bp1 else bp1(a, y, out=D[-1])
        for l in backward_hidden:
            bmm(DT[l], A[l - 1], out=GW[l])  # BP4
            tsum(D[l], 1, out=GB[l])  # BP3
            delta = bmm(D[l], W[l], out=D[l - 1])  # (wˡ⁺¹)ᵀ δˡ⁺¹ …
            if prime is not None:
                delta.mul_(prime(A[l - 1], out=P[l - 1]))  # … ⊙ σ′(zˡ)   (BP2)
        bmm(DT[0], x, out=GW[0])
        tsum(D[0], 1, out=GB[0])
        return a

    return step


def forward_backward(
    act: Activation,
    cost: Cost,
    params: Params,
    x: torch.Tensor,
    y: torch.Tensor,
    ws: Workspace,
    GW: Sequence[torch.Tensor],
    GB: Sequence[torch.Tensor],
    *,
    mean: bool = False,
) -> torch.Tensor:
    """One forward pass and BP1–BP4 into the buffers ``GW`` and ``GB``; returns aᴸ.

    params: wˡ [S, n_l, n_{l−1}] and bˡ [S, n_l] (`Params`); x: [S, b, n_0] per seed, or
    [b, n_0] shared by all seeds; y: one-hot targets [S, b, n_L] or [b, n_L]; ws: a `Workspace`
    for this b. Writes ∂/∂wˡ into ``GW[l−1]`` [S, n_l, n_{l−1}] and ∂/∂bˡ into ``GB[l−1]``
    [S, n_l]: Σₓ ∂Cₓ/∂θ, or with ``mean`` the gradient of the mean cost (1/b) Σₓ ∂Cₓ/∂θ.
    The same equations as `compile_step` (which the trainer uses), for one call.
    """
    b = x.shape[-2]
    if x.dim() == 3:
        if y.dim() == 2:
            y = y.expand(x.shape[0], *y.shape)
        a = compile_step(act, cost, params, GW, GB)(x, y, ws)
    else:
        a = _shared_input(act, cost, params, x, y, ws, GW, GB)
    if mean:
        torch._foreach_mul_([*GW, *GB], 1.0 / b)
    return a


def _shared_input(
    act: Activation,
    cost: Cost,
    params: Params,
    x: torch.Tensor,
    y: torch.Tensor,
    ws: Workspace,
    GW: Sequence[torch.Tensor],
    GB: Sequence[torch.Tensor],
) -> torch.Tensor:
    """`forward_backward` for x [b, n_0] shared by every seed: the first layer's products fold
    into single matrix products (no per-seed copy of x); the rest as `compile_step`."""
    W, Bu = params.W, params.Bu
    L = len(W)
    A, D, DT, P = ws.A, ws.D, ws.DT, ws.P
    a = x
    for l in range(L):
        z = A[l]
        if l == 0:
            z.copy_(torch.matmul(W[0], x.T).transpose(1, 2)).add_(Bu[0])  # [S, n_1, b]ᵀ
        else:
            torch.baddbmm(Bu[l], a, params.WT[l], out=z)
        a = act.inplace(z) if l < L - 1 else cost.output_fn_(z)
    delta = cost.delta(a, y, out=D[-1])
    prime = act.prime_from_output
    for l in range(L - 1, -1, -1):
        if l:
            torch.bmm(DT[l], A[l - 1], out=GW[l])
        else:
            torch.matmul(DT[0], x, out=GW[0])
        torch.sum(D[l], 1, out=GB[l])
        if l:
            delta = torch.bmm(D[l], W[l], out=D[l - 1])
            if prime is not None:
                delta.mul_(prime(A[l - 1], out=P[l - 1]))
    return a


def feedforward(net: Network, x: torch.Tensor) -> list[torch.Tensor]:
    """The activations a⁰ … aᴸ: x [B, n_0] or [S, B, n_0] → list of [S, B, n_l] (a⁰ = x)."""
    acts = [x]
    a = x
    hidden = net.act.fn
    last = len(net.layers) - 1
    for l, (w, b) in enumerate(zip(net.weights, net.biases)):
        z = torch.matmul(a, w.detach().transpose(-1, -2)) + b.detach().unsqueeze(-2)
        a = net.cost.output_fn(z) if l == last else hidden(z)
        acts.append(a)
    return acts


def backprop(net: Network, x: torch.Tensor, y: torch.Tensor) -> Gradients:
    """Σₓ ∂Cₓ/∂bˡ and Σₓ ∂Cₓ/∂wˡ by BP1–BP4 (`forward_backward`).

    x: [B, n_0] (the same examples for every seed) or [S, B, n_0]; y: one-hot targets
    [B, n_L] or [S, B, n_L]. Returns `Gradients` summed (not averaged) over the B examples.
    """
    params = Params.of(net.weights, net.biases)
    dtype, device = params.W[0].dtype, params.W[0].device
    x, y = x.to(dtype), y.to(dtype)
    ws = Workspace.allocate(net.sizes, net.n_seeds, x.shape[-2], dtype=dtype, device=device)
    GW = [torch.empty_like(w) for w in params.W]
    GB = [torch.empty_like(b) for b in params.B]
    forward_backward(net.act, net.cost, params, x, y, ws, GW, GB)
    return Gradients(bias=GB, weight=GW)


# -- The CPU engine: the same equations through NumPy / OpenBLAS on packed matrices ---------
#
# At mini-batch 10 a step is a few dozen tiny operations; torch spends 3–10 µs dispatching
# each, NumPy ≈ 1 µs, and OpenBLAS runs these small products several times faster than MKL's
# batched GEMM. Two packings halve the number of operations:
#
# * wˡ and bˡ side by side, ``Wx[l−1] = [wˡ | bˡ]`` [S, n_l, n_{l−1} + 1], and every activation
#   with a row of ones below it, so zˡ = [wˡ | bˡ]·[aˡ⁻¹; 1] is one product and BP3 with BP4 is
#   one too: [∂C/∂wˡ | ∂C/∂bˡ] = δˡ·[aˡ⁻¹; 1]ᵀ;
# * activations and errors stored as the book's column vectors, one column per example
#   (aˡ: [S, n_l, b]), so every elementwise σ, σ′ runs on contiguous memory.


def _np_sigmoid(z: np.ndarray) -> np.ndarray:
    return expit(z, out=z)


def _np_tanh(z: np.ndarray) -> np.ndarray:
    return np.tanh(z, out=z)


def _np_relu(z: np.ndarray) -> np.ndarray:
    return np.maximum(z, 0, out=z)


def _np_leaky(z: np.ndarray) -> np.ndarray:
    return np.maximum(z, z * LEAKY_SLOPE, out=z)


def _np_linear(z: np.ndarray) -> np.ndarray:
    return z


def _np_sigmoid_prime(a: np.ndarray, p: np.ndarray) -> np.ndarray:
    np.multiply(a, a, out=p)
    return np.subtract(a, p, out=p)  # a − a²


def _np_tanh_prime(a: np.ndarray, p: np.ndarray) -> np.ndarray:
    np.multiply(a, a, out=p)
    return np.subtract(1, p, out=p)  # 1 − a²


def _np_relu_prime(a: np.ndarray, p: np.ndarray) -> np.ndarray:
    return np.sign(a, out=p)  # a = relu(z) ≥ 0: [a > 0]


def _np_leaky_prime(a: np.ndarray, p: np.ndarray) -> np.ndarray:
    np.sign(a, out=p)
    return np.maximum(p, LEAKY_SLOPE, out=p)  # 1 where a > 0, α elsewhere


_NP_ACT: dict[str, tuple[Callable[[np.ndarray], np.ndarray], Callable[..., np.ndarray] | None]] = {
    "sigmoid": (_np_sigmoid, _np_sigmoid_prime),
    "tanh": (_np_tanh, _np_tanh_prime),
    "relu": (_np_relu, _np_relu_prime),
    "leaky-relu": (_np_leaky, _np_leaky_prime),
    "linear": (_np_linear, None),
}


def _np_softmax(z: np.ndarray) -> np.ndarray:
    """Softmax over the units, axis −2 of z [S, n_L, b], in place."""
    np.subtract(z, z.max(axis=-2, keepdims=True), out=z)
    np.exp(z, out=z)
    return np.divide(z, z.sum(axis=-2, keepdims=True), out=z)


_NP_OUT: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "sigmoid": _np_sigmoid,
    "softmax": _np_softmax,
    "linear": _np_linear,
}


def packable(act: Activation, cost: Cost, dtype: torch.dtype, device: torch.device) -> bool:
    """Whether `PackedStep` can run this network: CPU tensors of float32 or float64."""
    return (
        device.type == "cpu"
        and dtype in (torch.float32, torch.float64)
        and act.name in _NP_ACT
        and cost.output in _NP_OUT
    )


class Packed:
    """The parameters as ``Wx[l−1] = [wˡ | bˡ]``: [S, n_l, n_{l−1} + 1] NumPy arrays (C order),
    with gradient buffers ``G`` of the same shapes. `load` / `store` copy from / to the
    network's tensors wˡ [S, n_l, n_{l−1}] and bˡ [S, n_l]."""

    def __init__(self, sizes: Sequence[int], seeds: int, dtype: np.dtype):
        self.sizes, self.seeds, self.dtype = tuple(sizes), seeds, np.dtype(dtype)
        shapes = [(seeds, o, i + 1) for i, o in itertools.pairwise(sizes)]
        self.Wx = [np.zeros(s, dtype=self.dtype) for s in shapes]
        self.G = [np.zeros(s, dtype=self.dtype) for s in shapes]

    def w(self, arrays: Sequence[np.ndarray], l: int) -> np.ndarray:
        """The wˡ⁺¹ part [S, n_{l+1}, n_l] of ``arrays[l]`` (a view)."""
        return arrays[l][:, :, :-1]

    def b(self, arrays: Sequence[np.ndarray], l: int) -> np.ndarray:
        """The bˡ⁺¹ part [S, n_{l+1}] of ``arrays[l]`` (a view)."""
        return arrays[l][:, :, -1]

    def load(
        self,
        W: Sequence[torch.Tensor],
        B: Sequence[torch.Tensor],
        into: Sequence[np.ndarray] | None = None,
    ) -> None:
        """Pack wˡ and bˡ into ``Wx`` (or into ``into``, arrays shaped like it)."""
        target = self.Wx if into is None else into
        for l, (w, b) in enumerate(zip(W, B)):
            self.w(target, l)[...] = w.detach().numpy()
            self.b(target, l)[...] = b.detach().numpy()

    def store(
        self,
        W: Sequence[torch.Tensor],
        B: Sequence[torch.Tensor],
        source: Sequence[np.ndarray] | None = None,
    ) -> None:
        """Unpack ``Wx`` (or ``source``) into the tensors wˡ and bˡ, in place."""
        src = self.Wx if source is None else source
        with torch.no_grad():
            for l, (w, b) in enumerate(zip(W, B)):
                w.copy_(torch.from_numpy(self.w(src, l)))
                b.copy_(torch.from_numpy(self.b(src, l)))


class PackedStep:
    """BP1–BP4 for one mini-batch size b on `Packed` parameters, through NumPy (the CPU hot
    path of the trainer).

    ``step(xe, yt, scale)``: xe [S, b, n_0 + 1] the inputs as rows with a trailing 1, yt
    [S, n_L, b] the one-hot targets as columns; writes ``scale``·Σₓ [∂Cₓ/∂wˡ | ∂Cₓ/∂bˡ] into
    ``packed.G[l−1]`` and returns aᴸ [S, n_L, b]. ``scale`` = 1/b gives the gradient of the mean
    cost; the trainer passes −η/b to get the SGD step itself (δᴸ is scaled once, and BP2–BP4
    are linear in δ, so every layer's product comes out scaled).
    """

    def __init__(self, act: Activation, cost: Cost, packed: Packed, batch: int):
        sizes, S, dt = packed.sizes, packed.seeds, packed.dtype
        self.packed, self.L = packed, len(sizes) - 1
        # aˡ with a row of ones for the hidden layers l = 1 … L−1: [S, n_l + 1, b].
        self.Ax = [np.ones((S, k + 1, batch), dtype=dt) for k in sizes[1:-1]]
        self.A = [a[:, :-1, :] for a in self.Ax]  # the aˡ part [S, n_l, b]
        self.AxT = [a.transpose(0, 2, 1) for a in self.Ax]  # [S, b, n_l + 1]
        self.aL = np.empty((S, sizes[-1], batch), dtype=dt)
        self.pL = np.empty_like(self.aL)  # σ′(zᴸ) for sigmoid + quadratic (BP1)
        self.D = [np.empty((S, k, batch), dtype=dt) for k in sizes[1:]]  # δˡ
        self.P = [np.empty((S, k, batch), dtype=dt) for k in sizes[1:-1]]  # σ′(zˡ)
        self.WT = [packed.w(packed.Wx, l).transpose(0, 2, 1) for l in range(self.L)]
        self.hidden, self.prime = _NP_ACT[act.name]
        self.output = _NP_OUT[cost.output]
        self.sigmoid_quadratic = cost.name == "quadratic" and cost.output == "sigmoid"
        self.dtype = dt

        # The fused update (see `__call__`): torch's batched GEMM on the same memory.
        self.tWx = [torch.from_numpy(w) for w in packed.Wx]
        self.tD = [torch.from_numpy(d) for d in self.D]
        self.tAxT = [torch.from_numpy(a) for a in self.AxT]
        self.bsave = [np.empty((S, k), dtype=dt) for k in sizes[1:]]

    def __call__(
        self, xe: np.ndarray, yt: np.ndarray, scale: float, decay: float | None = None
    ) -> np.ndarray:
        """One forward pass and BP1–BP4 (see the class doc); returns aᴸ [S, n_L, b].

        Without ``decay`` the products go to ``packed.G``. With ``decay`` (the fused SGD step,
        ``scale`` = −η/b) each layer's product updates the parameters in place instead,
        wˡ ← decay·wˡ + scale·Σₓ ∂Cₓ/∂wˡ and bˡ ← bˡ + scale·Σₓ ∂Cₓ/∂bˡ, after wˡ has served
        BP2: one GEMM per layer with β = decay, no gradient buffer and no separate passes.
        """
        mm, mul = np.matmul, np.multiply
        Wx, G, A, D, P = self.packed.Wx, self.packed.G, self.A, self.D, self.P
        L, hidden, prime = self.L, self.hidden, self.prime
        # Forward: zˡ = [wˡ | bˡ]·[aˡ⁻¹; 1] straight into aˡ's rows, then σ in place.
        prev = xe.transpose(0, 2, 1)
        for l in range(L - 1):
            hidden(mm(Wx[l], prev, out=A[l]))
            prev = self.Ax[l]
        a = self.output(mm(Wx[-1], prev, out=self.aL))
        # BP1, scaled once: δᴸ = scale·(aᴸ − y) [⊙ σ′(zᴸ) for sigmoid + quadratic].
        d = np.subtract(a, yt, out=D[-1])
        if self.sigmoid_quadratic:
            mul(d, _np_sigmoid_prime(a, self.pL), out=d)
        mul(d, self.dtype.type(scale), out=d)
        fused = decay is not None
        tx = torch.from_numpy(xe) if fused else None
        for l in range(L - 1, -1, -1):
            if l:
                # BP2 (before wˡ changes): δˡ⁻¹ = (wˡ)ᵀ δˡ, ⊙ σ′(zˡ⁻¹) below.
                dprev = mm(self.WT[l], D[l], out=D[l - 1])
            # BP3 + BP4: [∂/∂wˡ | ∂/∂bˡ] = δˡ·[aˡ⁻¹; 1]ᵀ, summed over the b columns.
            if not fused:
                mm(D[l], self.AxT[l - 1] if l else xe, out=G[l])
            else:
                assert decay is not None
                self._fused(l, xe, tx, decay)
            if l and prime is not None:
                mul(dprev, prime(A[l - 1], P[l - 1]), out=dprev)
        return a

    def _fused(self, l: int, xe: np.ndarray, tx: torch.Tensor | None, decay: float) -> None:
        """[wˡ | bˡ] ← decay·[wˡ | bˡ] + δˡ·[aˡ⁻¹; 1]ᵀ in one batched GEMM (β = decay), then bˡ
        gets back (1 − decay)·bˡ so that only the weights decay (network2's L2 leaves biases
        alone). For several seeds: one call replaces a product and two passes over [wˡ | bˡ]
        (with one seed NumPy's unfused product is faster than torch's call overhead)."""
        b = self.packed.Wx[l][:, :, -1]
        keep = decay != 1.0
        if keep:
            np.multiply(b, self.dtype.type(1.0 - decay), out=self.bsave[l])
        q = tx if l == 0 else self.tAxT[l - 1]
        assert q is not None
        self.tWx[l].baddbmm_(self.tD[l], q, beta=decay)
        if keep:
            np.add(b, self.bsave[l], out=b)


@functools.cache
def _openblas() -> tuple[_ThreadSetter, ...]:
    """The thread controls of the OpenBLAS copies NumPy and SciPy bring (each wheel has its
    own); empty where they use another BLAS or none is found."""
    found = []
    for pkg in ("numpy", "scipy"):
        spec = importlib.util.find_spec(pkg)
        if spec is None or spec.origin is None:
            continue
        libs = Path(spec.origin).resolve().parent.parent / f"{pkg}.libs"
        for lib in sorted(glob.glob(str(libs / "*openblas*"))):
            try:
                cdll = ctypes.CDLL(lib)
            except OSError:
                continue
            for prefix, suffix in (
                ("scipy_openblas", "64_"),
                ("scipy_openblas", ""),
                ("openblas", ""),
            ):
                setter = getattr(cdll, f"{prefix}_set_num_threads{suffix}", None)
                getter = getattr(cdll, f"{prefix}_get_num_threads{suffix}", None)
                if setter is not None and getter is not None:
                    setter.argtypes, setter.restype = [ctypes.c_int], None
                    getter.argtypes, getter.restype = [], ctypes.c_int
                    found.append(_ThreadSetter(setter, getter))
                    break
    return tuple(found)


class _ThreadSetter:
    def __init__(self, setter: Callable[[int], None], getter: Callable[[], int]):
        self.set, self.get = setter, getter


@contextlib.contextmanager
def blas_threads(n: int) -> Iterator[None]:
    """Run the OpenBLAS of NumPy and SciPy on ``n`` threads inside the block (the trainer
    passes torch's thread count, so that one policy governs all three), restoring their
    settings after; a no-op where no OpenBLAS is found at run time. OpenBLAS' idle threads
    spin, so on a busy machine more threads than asked for cost far more than they give."""
    libs = _openblas()
    before = [lib.get() for lib in libs]
    for lib in libs:
        lib.set(max(1, int(n)))
    try:
        yield
    finally:
        for lib, k in zip(libs, before):
            lib.set(k)
