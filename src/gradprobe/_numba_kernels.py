"""The trainer's compiled engine: whole chunks of SGD steps for S seeds in one numba call.

Imported only by `gradprobe.fastepoch` when numba is installed (the ``fast`` extra); nothing
else imports this module, so ``import gradprobe`` never pays for numba.

Layout (float32, C order), with q_l = n_l rounded up to a multiple of 16 for l < L (the
padding columns and activations are zero and stay zero; q_L = n_L):

* ``P[s]``: seed s's parameters, flat: for layer l = 1 … L the book's wˡ [n_l, q_{l−1}]
  (row j holds the weights into neuron j) at ``woff[l−1]``, then bˡ [n_l] at ``boff[l−1]``;
* ``X`` [n, n_0] the training inputs (float32, or uint8 codes k of inputs k/256: `to_bytes`),
  ``Y`` [n, n_L] one-hot targets, one row per example;
* activations aˡ and errors δˡ one row per example: ``A``/``D`` flat, layer l's block
  [Bp, q_l] (row-major) after those of layers 1 … l−1; Bp is the mini-batch size rounded up
  to a multiple of ``BLK``.

Each step gathers its examples into a buffer xb [Bp, q_0] (and prefetches the next step's
rows), so that every product runs on register blocks of ``BLK`` examples and on contiguous
rows (measured 1.4× faster than reading the scattered rows of X in the products). Padding
rows have zero input and δ = 0 in every layer, so they add exact zeros (0·x = 0 for finite x)
to the sums: the results are those of the unpadded batch.

Per step, with the batch's δᴸ scaled once by −η/m (m the batch's real size), for l = L … 1:

    BP2   δˡ⁻¹ = ((wˡ)ᵀ δˡ) ⊙ σ′(zˡ⁻¹)          with wˡ before its update
    BP3/4 wˡ ← base(wˡ) + Σₓ δˡ (aˡ⁻¹)ᵀ,  bˡ ← bˡ + Σₓ δˡ

base(w) = (1 − ηλ/n)·w for L2 (network2's decay; ηλ/n = 0 without regularisation) and
w − (ηλ/n)·sgn(w) for L1. The sums over examples run in a fixed order, so a rerun is
bit-identical. ``fastmath`` allows reassociation and FMA contraction only (no ``nnan``/``ninf``:
NaN and ∞ propagate as usual, and the trainer's finiteness check still sees them).
"""

from __future__ import annotations

import numpy as np
from llvmlite import binding as llvm
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from .activations import LEAKY_SLOPE

#: Examples per register block (the products' inner kernels handle BLK examples at once).
BLK = 5
#: LLVM fast-math flags: reassociation (vectorised dot products) and FMA contraction only.
FASTMATH = {"reassoc", "contract", "nsz", "arcp"}

# Activation codes (hidden layers) and output codes.
SIGMOID, TANH, RELU, LEAKY, LINEAR = 0, 1, 2, 3, 4
OUT_SIGMOID, OUT_SOFTMAX, OUT_LINEAR = 0, 1, 2
REG_L2, REG_L1 = 0, 1


def _can_cache() -> bool:
    """Whether numba finds a writable cache directory for this file (``NUMBA_CACHE_DIR``,
    ``__pycache__`` beside it, or the user's cache); without one, compile in memory."""

    def probe() -> int:  # pragma: no cover - never called
        return 0

    try:
        njit(cache=True)(probe)
    except RuntimeError:  # "cannot cache function …: no locator available"
        return False
    return True


#: Whether the compiled kernels are cached on disk (else compiled anew by each process).
CACHED = _can_cache()
_jit = njit(cache=CACHED, fastmath=FASTMATH, error_model="numpy", nogil=True, boundscheck=False)


#: Software prefetch uses the opaque-pointer intrinsic name (only pointers of LLVM ≥ 17);
#: with an older LLVM `_prefetch` compiles to nothing.
_PREFETCH = llvm.llvm_version_info >= (17,)


@intrinsic
def _prefetch(typingctx, arr, index):  # type: ignore[no-untyped-def]
    """A hint to bring the cache line holding ``arr[index]`` (1-d) towards the core."""
    if not isinstance(arr, types.Array) or arr.ndim != 1:
        return None

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        if _PREFETCH:
            aryty = signature.args[0]
            ary = context.make_array(aryty)(context, builder, args[0])
            ptr = cgutils.get_item_pointer(
                context, builder, aryty, ary, [args[1]], wraparound=False
            )
            i8p, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
            fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
            fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
            # read, high locality, data cache
            rw, locality, cache = ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)
            builder.call(fn, [builder.bitcast(ptr, i8p), rw, locality, cache])
        return context.get_dummy_value()

    return types.void(arr, types.intp), codegen


@intrinsic
def _float_from_bits(typingctx, bits):  # type: ignore[no-untyped-def]
    """The float32 whose IEEE bits are the int32 ``bits`` (a register move, vectorisable)."""
    if not isinstance(bits, types.Integer):
        return None

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.bitcast(args[0], ir.FloatType())

    return types.float32(types.int32), codegen


@_jit
def _exp(x):  # pragma: no cover - compiled
    """eˣ in float32 (Cephes' expf: x = n·ln 2 + r, a degree-7 polynomial for eʳ, 2ⁿ from its
    bits), within 2 ulp of the true value (measured on 2·10⁶ points of [−87, 88]). Unlike
    libm's expf, LLVM vectorises it. x is clamped to [−87.34, 88.38]: eˣ stays a normal
    finite float32 (σ of a larger |z| is within an ulp of 0 or 1 anyway)."""
    x = min(max(x, np.float32(-87.33654)), np.float32(88.37626))
    n = np.floor(x * np.float32(1.44269504088896341) + np.float32(0.5))
    x = x - n * np.float32(0.693359375) + n * np.float32(2.12194440e-4)
    z = x * x
    y = np.float32(1.9875691500e-4)
    y = y * x + np.float32(1.3981999507e-3)
    y = y * x + np.float32(8.3334519073e-3)
    y = y * x + np.float32(4.1665795894e-2)
    y = y * x + np.float32(1.6666665459e-1)
    y = y * x + np.float32(5.0000001201e-1)
    y = y * z + x + np.float32(1.0)
    return y * _float_from_bits(np.int32((np.int32(n) + np.int32(127)) << np.int32(23)))


@_jit
def _forward(W, b, src, Z, n_rows):  # pragma: no cover - compiled
    """Z[e, j] = b[j] + Σₖ W[j, k]·src[e, k] for e < n_rows (a multiple of BLK).

    W [no, ni], b [no], src [≥ n_rows, ni], Z [≥ n_rows, no]. Blocks of 2 rows of W × BLK
    examples: each loaded W[j, k] and src[e, k] serves several products."""
    no, ni = W.shape
    for e0 in range(0, n_rows, BLK):
        x0 = src[e0]
        x1 = src[e0 + 1]
        x2 = src[e0 + 2]
        x3 = src[e0 + 3]
        x4 = src[e0 + 4]
        for j in range(0, no, 2):
            j1 = min(j + 1, no - 1)  # an odd last row pairs with itself (written twice)
            w0 = W[j]
            w1 = W[j1]
            a00 = a01 = a02 = a03 = a04 = np.float32(0.0)
            a10 = a11 = a12 = a13 = a14 = np.float32(0.0)
            for k in range(ni):
                p = w0[k]
                q = w1[k]
                a00 += p * x0[k]
                a01 += p * x1[k]
                a02 += p * x2[k]
                a03 += p * x3[k]
                a04 += p * x4[k]
                a10 += q * x0[k]
                a11 += q * x1[k]
                a12 += q * x2[k]
                a13 += q * x3[k]
                a14 += q * x4[k]
            bj, bk = b[j], b[j1]
            Z[e0, j] = a00 + bj
            Z[e0 + 1, j] = a01 + bj
            Z[e0 + 2, j] = a02 + bj
            Z[e0 + 3, j] = a03 + bj
            Z[e0 + 4, j] = a04 + bj
            Z[e0, j1] = a10 + bk
            Z[e0 + 1, j1] = a11 + bk
            Z[e0 + 2, j1] = a12 + bk
            Z[e0 + 3, j1] = a13 + bk
            Z[e0 + 4, j1] = a14 + bk


@_jit
def _activate(Z, n_rows, width, act):  # pragma: no cover - compiled
    """aˡ = σ(zˡ) in place on the first n_rows rows and width columns of Z (the columns
    after them are padding, kept zero)."""
    no = width
    one = np.float32(1.0)
    slope = np.float32(LEAKY_SLOPE)
    for e in range(n_rows):
        z = Z[e]
        if act == SIGMOID:
            for j in range(no):
                z[j] = one / (one + _exp(-z[j]))
        elif act == TANH:
            for j in range(no):
                z[j] = np.tanh(z[j])
        elif act == RELU:
            for j in range(no):
                z[j] = max(z[j], np.float32(0.0))
        elif act == LEAKY:
            for j in range(no):
                v = z[j]
                z[j] = v if v > 0 else v * slope


@_jit
def _output(Z, n_rows, out):  # pragma: no cover - compiled
    """aᴸ = f(zᴸ) in place: sigmoid, softmax over the units, or linear."""
    if out == OUT_SIGMOID:
        _activate(Z, n_rows, Z.shape[1], SIGMOID)
    elif out == OUT_SOFTMAX:
        no = Z.shape[1]
        for e in range(n_rows):
            z = Z[e]
            top = z[0]
            for j in range(1, no):
                top = max(top, z[j])
            total = np.float32(0.0)
            for j in range(no):
                z[j] = _exp(z[j] - top)
                total += z[j]
            for j in range(no):
                z[j] = z[j] / total


@_jit
def _prime(a, act):  # pragma: no cover - compiled
    """σ′(z) from a = σ(z)."""
    if act == SIGMOID:
        return a - a * a
    if act == TANH:
        return np.float32(1.0) - a * a
    if act == RELU:
        return np.float32(1.0) if a > 0 else np.float32(0.0)
    if act == LEAKY:
        return np.float32(1.0) if a > 0 else np.float32(LEAKY_SLOPE)
    return np.float32(1.0)


@_jit
def _backprop_error(W, D, Dprev, Aprev, n_rows, act):  # pragma: no cover - compiled
    """BP2: Dprev[e, k] = (Σⱼ D[e, j]·W[j, k])·σ′ from Aprev[e, k], for e < n_rows (a multiple
    of BLK), the sum over j in order.

    W [no, ni] (before its update), D [≥ n_rows, no], Dprev and Aprev [≥ n_rows, ni]. Two rows
    of W × BLK examples per pass (an odd last row pairs with coefficients 0)."""
    no, ni = W.shape
    zero = np.float32(0.0)
    for e in range(n_rows):
        for k in range(ni):
            Dprev[e, k] = zero
    for j in range(0, no, 2):
        j1 = min(j + 1, no - 1)
        w0 = W[j]
        w1 = W[j1]
        for e0 in range(0, n_rows, BLK):
            p0, p1, p2, p3, p4 = (
                Dprev[e0],
                Dprev[e0 + 1],
                Dprev[e0 + 2],
                Dprev[e0 + 3],
                Dprev[e0 + 4],
            )
            d0, d1, d2, d3, d4 = D[e0, j], D[e0 + 1, j], D[e0 + 2, j], D[e0 + 3, j], D[e0 + 4, j]
            f0 = f1 = f2 = f3 = f4 = zero
            if j1 > j:
                f0, f1, f2 = D[e0, j1], D[e0 + 1, j1], D[e0 + 2, j1]
                f3, f4 = D[e0 + 3, j1], D[e0 + 4, j1]
            for k in range(ni):
                u, v = w0[k], w1[k]
                p0[k] = (p0[k] + d0 * u) + f0 * v
                p1[k] = (p1[k] + d1 * u) + f1 * v
                p2[k] = (p2[k] + d2 * u) + f2 * v
                p3[k] = (p3[k] + d3 * u) + f3 * v
                p4[k] = (p4[k] + d4 * u) + f4 * v
    if act != LINEAR:
        for e in range(n_rows):
            dp = Dprev[e]
            ap = Aprev[e]
            for k in range(ni):
                dp[k] *= _prime(ap[k], act)


@_jit
def _update(W, b, D, src, n_rows, reg, c):  # pragma: no cover - compiled
    """wˡ ← base(wˡ) + Σₑ D[e]ᵀ·src[e], bˡ ← bˡ + Σₑ D[e] over e < n_rows (BP3/BP4 with the
    step folded in: D holds −(η/m)·δ). base(w) = c·w for L2 (c = 1 − ηλ/n; 1 without
    regularisation) and w − c·sgn(w) for L1 (c = ηλ/n). The examples are added in order,
    BLK per pass over two rows of wˡ at once (each loaded src[e, k] serves both); L2's decay
    happens in the first pass."""
    no, ni = W.shape
    one, zero = np.float32(1.0), np.float32(0.0)
    if reg == REG_L1 and c != zero:
        for j in range(no):
            w = W[j]
            for k in range(ni):
                v = w[k]
                w[k] = v - c * (one if v > 0 else (-one if v < 0 else v * zero))
    # An odd last row pairs with a scratch row, whose result is dropped.
    spare = np.zeros(ni, dtype=np.float32) if no % 2 else W[0]
    for j in range(0, no, 2):
        j1 = min(j + 1, no - 1)
        w0 = W[j]
        w1 = W[j1] if j1 > j else spare
        scale = c if reg == REG_L2 else one
        for e0 in range(0, n_rows, BLK):
            x0, x1, x2, x3, x4 = src[e0], src[e0 + 1], src[e0 + 2], src[e0 + 3], src[e0 + 4]
            d0, d1, d2, d3, d4 = D[e0, j], D[e0 + 1, j], D[e0 + 2, j], D[e0 + 3, j], D[e0 + 4, j]
            f0, f1, f2 = D[e0, j1], D[e0 + 1, j1], D[e0 + 2, j1]
            f3, f4 = D[e0 + 3, j1], D[e0 + 4, j1]
            for k in range(ni):
                u0, u1, u2, u3, u4 = x0[k], x1[k], x2[k], x3[k], x4[k]
                w0[k] = ((((w0[k] * scale + d0 * u0) + d1 * u1) + d2 * u2) + d3 * u3) + d4 * u4
                w1[k] = ((((w1[k] * scale + f0 * u0) + f1 * u1) + f2 * u2) + f3 * u3) + f4 * u4
            b[j] = ((((b[j] + d0) + d1) + d2) + d3) + d4
            if j1 > j:
                b[j1] = ((((b[j1] + f0) + f1) + f2) + f3) + f4
            scale = one


@_jit
def _step(
    Ps, Ts, sizes, widths, woff, boff, xb, Y, yrows, mb, scale, reg, c, act, out, sigquad, A, D
):
    """One step on a gathered batch: forward pass with the parameters Ps, BP1 (δᴸ scaled by
    ``scale``), then from the output back BP2 with wˡ as it was and the update of layer l
    into Ts: Tˡ ← base(Tˡ) + Σₑ δˡ (aˡ⁻¹)ᵀ (see `_update`). Ts is Ps for an SGD step, zeros
    (with L2 and c = 1) to collect the gradient. xb [Bp, n_0] the batch's inputs (rows past
    mb are padding, zero); Y[yrows[e]] example e's target."""  # pragma: no cover - compiled
    Bp = xb.shape[0]
    L = sizes.shape[0] - 1
    nL = sizes[L]
    # Forward: zˡ = wˡ aˡ⁻¹ + bˡ into aˡ's rows, then aˡ = σ(zˡ) (the output layer: f(zᴸ)).
    off = 0
    for l in range(L):
        no, ni, wo = sizes[l + 1], widths[l], widths[l + 1]
        W = Ps[woff[l] : woff[l] + no * ni].reshape((no, ni))
        bl = Ps[boff[l] : boff[l] + no]
        Z = A[off : off + Bp * wo].reshape((Bp, wo))
        if l == 0:
            _forward(W, bl, xb, Z, Bp)
        else:
            prev = A[off - Bp * ni : off].reshape((Bp, ni))
            _forward(W, bl, prev, Z, Bp)
        if l < L - 1:
            _activate(Z, Bp, no, act)
        else:
            _output(Z, Bp, out)
        off += Bp * wo
    # BP1, scaled: δᴸ = scale·(aᴸ − y) [⊙ σ′(zᴸ)]; zero for the padding rows.
    off -= Bp * nL
    aL = A[off : off + Bp * nL].reshape((Bp, nL))
    dL = D[off : off + Bp * nL].reshape((Bp, nL))
    for e in range(mb):
        y = Y[yrows[e]]
        for j in range(nL):
            a = aL[e, j]
            d = a - y[j]
            if sigquad:
                d = d * (a - a * a)
            dL[e, j] = d * scale
    for e in range(mb, Bp):
        for j in range(nL):
            dL[e, j] = np.float32(0.0)
    # Backward: BP2 with wˡ as it was, then layer l's update (BP3/BP4).
    for l in range(L - 1, -1, -1):
        no, ni, wo = sizes[l + 1], widths[l], widths[l + 1]
        W = Ps[woff[l] : woff[l] + no * ni].reshape((no, ni))
        Tw = Ts[woff[l] : woff[l] + no * ni].reshape((no, ni))
        Tb = Ts[boff[l] : boff[l] + no]
        Dl = D[off : off + Bp * wo].reshape((Bp, wo))
        if l > 0:
            Dp = D[off - Bp * ni : off].reshape((Bp, ni))
            Ap = A[off - Bp * ni : off].reshape((Bp, ni))
            _backprop_error(W, Dl, Dp, Ap, Bp, act)
            _update(Tw, Tb, Dl, Ap, Bp, reg, c)
            off -= Bp * ni
        else:
            _update(Tw, Tb, Dl, xb, Bp, reg, c)


@_jit
def _gather(X, xscale, order, lo, mb, xb):
    """xb[e] = xscale·X[order[lo + e]] for e < mb; the padding rows after them zero. X is
    float32 (xscale 1) or the uint8 codes of `to_bytes` (xscale 2⁻⁸: exact in float32)."""
    ni = X.shape[1]  # xb's columns past it are padding, zero
    for e in range(mb):
        row = X[order[lo + e]]
        out = xb[e]
        for k in range(ni):
            out[k] = np.float32(row[k]) * xscale
    for e in range(mb, xb.shape[0]):
        xb[e, :] = np.float32(0.0)


@_jit
def _padded(m):
    """m rounded up to a multiple of BLK."""
    return ((m + BLK - 1) // BLK) * BLK


@_jit
def run_steps(
    P,
    sizes,
    widths,
    woff,
    boff,
    X,
    xscale,
    Y,
    perm,
    step0,
    step1,
    m,
    eta,
    reg,
    c,
    act,
    out,
    sigquad,
    A,
    D,
):  # pragma: no cover - compiled
    """SGD steps step0 … step1−1 of the epoch for every seed s (seed by seed).

    P [S, T] parameters (see the module doc), sizes [L+1], woff/boff [L] offsets into P[s];
    X [n, n_0] float32 (xscale 1) or its `to_bytes` codes (xscale 2⁻⁸), Y [n, n_L]; perm [S, n]
    each seed's shuffle (row indices into X); step t uses
    rows perm[s, t·m : min((t+1)·m, n)], δᴸ scaled by −η/m_t (m_t that batch's size). reg, c:
    the regulariser (see `_update`). act: hidden activation code, out: output code, sigquad:
    BP1 keeps σ′(zᴸ) (sigmoid outputs with the quadratic cost). A, D: work buffers
    [Bp·Σ n_l] with Bp = m rounded up to a multiple of BLK."""
    S, n = perm.shape
    xb = np.zeros((_padded(m), widths[0]), dtype=np.float32)
    for s in range(S):
        Ps = P[s]
        order = perm[s]
        for t in range(step0, step1):
            lo = t * m
            mb = min(lo + m, n) - lo
            _gather(X, xscale, order, lo, mb, xb)
            if t + 1 < step1:  # the next batch's rows, while this one computes
                for e in range(min(lo + 2 * m, n) - lo - m):
                    row = X[order[lo + m + e]]
                    for k in range(0, row.shape[0], 64 // row.itemsize):
                        _prefetch(row, k)
            scale = np.float32(-eta / mb)
            _step(
                Ps,
                Ps,
                sizes,
                widths,
                woff,
                boff,
                xb,
                Y,
                order[lo:],
                mb,
                scale,
                reg,
                c,
                act,
                out,
                sigquad,
                A,
                D,
            )


@_jit
def batch_gradients(P, sizes, widths, woff, boff, X, Y, act, out, sigquad, A, D, G):
    """G[s] = the gradient of the mean cost (1/b) Σₓ Cₓ over the b examples of X [b, n_0],
    Y [b, n_L] for each seed's parameters P[s], laid out like P (BP1–BP4 by the same code as
    `run_steps`, for tests)."""  # pragma: no cover - compiled
    S = P.shape[0]
    b = X.shape[0]
    xb = np.zeros((_padded(b), widths[0]), dtype=np.float32)
    order = np.arange(b)
    for s in range(S):
        _gather(X, np.float32(1.0), order, 0, b, xb)
        G[s, :] = np.float32(0.0)
        _step(
            P[s],
            G[s],
            sizes,
            widths,
            woff,
            boff,
            xb,
            Y,
            order,
            b,
            np.float32(1.0 / b),
            REG_L2,
            np.float32(1.0),
            act,
            out,
            sigquad,
            A,
            D,
        )


@_jit
def to_bytes(X):  # pragma: no cover - compiled
    """(codes uint8 [n, d], True) with X = codes·2⁻⁸ exactly, when every x·256 is an integer in
    0 … 255 (MNIST as gradprobe loads it: pixel/256); else (empty, False). One pass."""
    n, d = X.shape
    codes = np.empty((n, d), dtype=np.uint8)
    for i in range(n):
        for k in range(d):
            y = X[i, k] * np.float32(256.0)
            if not (y >= 0 and y <= 255 and y == np.floor(y)):
                return np.empty((0, 0), dtype=np.uint8), False
            codes[i, k] = np.uint8(y)
    return codes, True
