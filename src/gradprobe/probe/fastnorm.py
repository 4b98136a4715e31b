"""Per-tensor norms of a fixed list of CPU tensors in one compiled call, when numba is installed.

:class:`CpuNorms` serves the recorder's three memory passes over the P parameter tensors of a
model on the CPU — ‖∂C/∂θ‖ per tensor at every recorded step, and at detail steps the
snapshot θ_prev ← θ and (‖θ‖, ‖θ − θ_prev‖) — with the kernels of
:mod:`gradprobe.probe._kernels`: one single-threaded pass over the tensors' memory instead of
``torch._foreach_norm``'s one parallel reduction per tensor. Measured on the 10-layer MLP of
``benchmarks/bench_probe.py`` (20 float32 tensors, 2.6 MB, gradients cold after backward):
≈ 90 µs against ≈ 190 µs.

Every method returns ``False`` (``None`` for :meth:`CpuNorms.norms`) without writing anything
when it cannot take the tensors (a
missing gradient, a non-contiguous or sparse tensor); the recorder then takes its torch path,
which is also the only path without numba or with ``GRADPROBE_ENGINE=torch``. Results: the
float64 sum of squares of the float32 values, rounded once (the torch path accumulates in
float32; the two agree to float32 rounding, ~1e-6 relative). Start-up: the first probe of a
process imports numba and loads (or, the first time, compiles) the kernels — ≈ 0.7 s (≈ 1.1 s
uncached) on the benchmark machine.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from gradprobe.fastepoch import available, forced_engine

#: The dtypes the kernels read.
DTYPES = (torch.float32, torch.float64)


#: An automatic choice loads the kernels once the probe has recorded this many steps: loading
#: them costs a process ≈ 0.7 s (≈ 1.1 s with an empty numba cache), which the ≈ 100 µs they
#: save a step (10-layer MLP, 2.6 MB of gradients) repays only in long runs. The switch is at
#: a fixed step, so a rerun records the same numbers. ``GRADPROBE_ENGINE=numba`` uses them
#: from the first step, ``GRADPROBE_ENGINE=torch`` (or ``numpy``) never.
COMPILED_AFTER_STEPS = 5000


def _engine() -> str | None:
    """The engine ``$GRADPROBE_ENGINE`` names (None when unset or not a known engine: the
    trainer reports the bad name; the probe just takes its default)."""
    try:
        return forced_engine()
    except ValueError:
        return None


def from_first_step() -> bool:
    """Whether the kernels serve the probe from its first step (``GRADPROBE_ENGINE=numba``,
    or `COMPILED_AFTER_STEPS` ≤ 0) rather than from step `COMPILED_AFTER_STEPS`."""
    return _engine() == "numba" or COMPILED_AFTER_STEPS <= 0


@functools.cache
def kernels() -> Any | None:
    """The compiled module, or None (numba missing, or ``GRADPROBE_ENGINE`` names another
    engine than numba)."""
    if _engine() not in (None, "numba") or not available():
        return None
    try:
        from gradprobe.probe import _kernels
    except Exception:  # a broken numba install: the torch path still works
        return None
    return _kernels


class CpuNorms:
    """Norms, norms of differences and copies of tensors shaped like ``params`` (all on the
    CPU, all of one dtype in :data:`DTYPES`; see :meth:`create`)."""

    def __init__(self, params: Sequence[torch.Tensor], kern: Any) -> None:
        self.sizes = np.array([p.numel() for p in params], dtype=np.int64)
        self._sizes = [p.numel() for p in params]
        self.dtype = params[0].dtype
        self._f64 = self.dtype == torch.float64
        self._k = kern

    @classmethod
    def create(cls, params: Sequence[torch.Tensor]) -> CpuNorms | None:
        """A :class:`CpuNorms` for ``params``, or None when the kernels cannot serve them."""
        if not params:
            return None
        dtype = params[0].dtype
        if dtype not in DTYPES:
            return None
        for p in params:
            if p.device.type != "cpu" or p.dtype != dtype or p.layout != torch.strided:
                return None
        kern = kernels()
        return None if kern is None else cls(params, kern)

    def addresses(self, tensors: list[Any]) -> np.ndarray | None:
        """The tensors' data addresses [P] int64, or None when one is missing (``None``),
        sparse, not contiguous, not on the CPU, or of another dtype or size than the
        parameters given to :meth:`create` (a parameter whose ``.data`` was replaced or moved
        since): the kernels read exactly ``sizes[i]`` elements at each address. ≈ 9 µs for
        20 tensors."""
        dt = self.dtype
        try:
            if [
                t.numel() if t.is_contiguous() and t.is_cpu and t.dtype is dt else -1
                for t in tensors
            ] != self._sizes:
                return None
            return np.array([t.data_ptr() for t in tensors], dtype=np.int64)
        except (AttributeError, RuntimeError, NotImplementedError):
            return None

    def norms(self, tensors: list[Any], out: np.ndarray) -> bool | None:
        """out [P] ← ‖t_i‖₂ for each tensor; returns whether all of them are finite, or None
        (nothing written) when the kernels cannot take the tensors."""
        addrs = self.addresses(tensors)
        if addrs is None:
            return None
        return bool(self._k.norms(addrs, self.sizes, out, self._f64))

    def norms_delta(
        self,
        tensors: list[torch.Tensor],
        prev: list[torch.Tensor],
        out: np.ndarray,
        out_delta: np.ndarray,
    ) -> bool:
        """out [P] ← ‖t_i‖₂ and out_delta [P] ← ‖t_i − prev_i‖₂ in one pass."""
        a, b = self.addresses(tensors), self.addresses(prev)
        if a is None or b is None:
            return False
        self._k.norms_delta(a, b, self.sizes, out, out_delta, self._f64)
        return True

    def copy(self, src: list[torch.Tensor], dst: list[torch.Tensor]) -> bool:
        """dst_i ← src_i (same shapes; contiguous)."""
        a, b = self.addresses(src), self.addresses(dst)
        if a is None or b is None:
            return False
        self._k.copy(a, b, self.sizes, self._f64)
        return True


def loaded() -> Any | None:
    """The kernels when this process has loaded them already (a probe past
    `COMPILED_AFTER_STEPS`, or from its first step), else None — without loading them. For
    the quantities that have no step count of their own (saturation)."""
    return kernels() if kernels.cache_info().currsize else None
