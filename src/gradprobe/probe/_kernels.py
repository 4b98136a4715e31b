"""The probe's optional compiled kernels (numba, the ``fast`` extra): per-tensor norms of many
CPU tensors in one single-threaded pass.

Imported only by :mod:`gradprobe.probe.fastnorm` when numba is installed; nothing else
imports this module, so ``import gradprobe`` never pays for numba.

Why: on the CPU ``torch._foreach_norm`` runs one parallel reduction per tensor (an OpenMP
fork/join each, ~5 µs apiece at 2 threads, far more when the other core is busy), and the
detail passes (‖θ‖, ‖θ − θ_prev‖, the snapshot copy) are three more such loops. Here one
call walks all tensors on the calling thread, reading each element once, straight from
the tensors' memory (addresses and lengths; the caller keeps the tensors alive and checks
that they are contiguous float32/float64 CPU tensors).

Sums of squares accumulate in float64, so ‖·‖ is the float64 norm of the float32 values,
rounded once (torch accumulates in float32: the two differ by float32 rounding). NaN and ∞
propagate (``fastmath`` allows reassociation and FMA contraction only, no ``nnan``/``ninf``):
the probe's NaN check sees them (the flags and the cache setting are the trainer kernels',
:mod:`gradprobe._numba_kernels`). The sums run in a fixed order: a rerun is bit-identical.
"""

from __future__ import annotations

import numpy as np
from numba import carray, types
from numba.extending import intrinsic

from gradprobe._numba_kernels import _jit


def _pointer(dtype: types.Float):  # type: ignore[no-untyped-def]
    @intrinsic
    def at(typingctx, addr):  # type: ignore[no-untyped-def]
        """The address ``addr`` (an integer) as a pointer to ``dtype``."""
        if not isinstance(addr, types.Integer):
            return None
        ptr = types.CPointer(dtype)

        def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
            return builder.inttoptr(args[0], context.get_value_type(ptr))

        return ptr(addr), codegen

    return at


_f32 = _pointer(types.float32)
_f64 = _pointer(types.float64)


@_jit
def _sumsq(x):  # pragma: no cover - compiled
    """Σ x² in float64 (x float32 or float64)."""
    s = 0.0
    for k in range(x.shape[0]):
        v = np.float64(x[k])
        s += v * v
    return s


@_jit
def _sumsq_delta(x, p):  # pragma: no cover - compiled
    """(Σ x², Σ (x − p)²) in float64, x − p in x's dtype (as torch's subtraction)."""
    s = 0.0
    d = 0.0
    for k in range(x.shape[0]):
        v = np.float64(x[k])
        w = np.float64(x[k] - p[k])
        s += v * v
        d += w * w
    return s, d


@_jit
def norms(addrs, sizes, out, f64):  # pragma: no cover - compiled
    """out[i] = ‖x_i‖₂ of the vector of sizes[i] float32 (float64 when ``f64``) elements at
    addrs[i]; float64 sums. Returns whether every stored norm is finite (the probe's NaN
    check, for free)."""
    ok = True
    for i in range(addrs.shape[0]):
        if f64:
            s = _sumsq(carray(_f64(addrs[i]), (sizes[i],)))
        else:
            s = _sumsq(carray(_f32(addrs[i]), (sizes[i],)))
        out[i] = np.sqrt(s)
        ok = ok and np.isfinite(out[i])
    return ok


@_jit
def norms_delta(addrs, prev, sizes, out, out_delta, f64):  # pragma: no cover - compiled
    """out[i] = ‖x_i‖₂ and out_delta[i] = ‖x_i − p_i‖₂ (x_i at addrs[i], p_i at prev[i],
    sizes[i] elements each) in one pass."""
    for i in range(addrs.shape[0]):
        n = (sizes[i],)
        if f64:
            s, d = _sumsq_delta(carray(_f64(addrs[i]), n), carray(_f64(prev[i]), n))
        else:
            s, d = _sumsq_delta(carray(_f32(addrs[i]), n), carray(_f32(prev[i]), n))
        out[i] = np.sqrt(s)
        out_delta[i] = np.sqrt(d)


@_jit
def _copy_into(s, d):  # pragma: no cover - compiled
    """d[k] ← s[k] for every k (same length)."""
    for k in range(s.shape[0]):
        d[k] = s[k]


@_jit
def copy(src, dst, sizes, f64):  # pragma: no cover - compiled
    """dst_i ← src_i for the vectors of sizes[i] elements at the addresses src[i], dst[i]."""
    # an element loop, which LLVM turns into a straight copy: a slice assignment
    # ``d[:] = s`` first checks the two arrays for overlap and copies through a temporary
    # when it cannot rule it out (≈ 200 µs against ≈ 60 µs for 2.6 MB)
    for i in range(src.shape[0]):
        n = (sizes[i],)
        if f64:
            _copy_into(carray(_f64(src[i]), n), carray(_f64(dst[i]), n))
        else:
            _copy_into(carray(_f32(src[i]), n), carray(_f32(dst[i]), n))


@_jit
def saturation_f32(addr, n, tanh, limit):  # pragma: no cover - compiled
    """Over the float32 activations a (n elements at ``addr``): (#units with σ′ < ``limit``,
    Σσ′, Σ|a|), σ′ = 1 − a² (``tanh``) or a − a² (the sigmoid), computed in float32 as the
    torch path does; sums in float64. A NaN σ′ makes the count NaN (σ′ ≤ its maximum, so Σσ′
    is NaN exactly when some σ′ is)."""
    x = carray(_f32(addr), (n,))
    one = np.float32(1.0)
    lim = np.float32(limit)
    sat = 0.0
    dsum = 0.0
    asum = 0.0
    for k in range(n):
        a = x[k]
        ds = (one if tanh else a) - a * a
        sat += 1.0 if ds < lim else 0.0
        dsum += np.float64(ds)
        asum += np.float64(abs(a))
    if np.isnan(dsum):
        sat = np.nan
    return sat, dsum, asum
