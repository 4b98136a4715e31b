"""Where the probe's time goes, inside a training loop: each entry point timed where it runs.

``bench_probe.py`` gives the end-to-end ratio (probe vs no probe), which on a shared machine
moves by several percent from process to process. This script answers the next question —
which part costs what — on the 10-layer tanh MLP of ``bench_probe.py`` (width 256, batch 128,
SGD, every step recorded, detail steps every 10th, compiled norms from the first step):

1. **Per entry point**: the probe's functions (the end-of-backward norm pass, ``probe.step``'s
   parts, the forward hooks of the NaN-origin finder and of the detail steps, the numba
   kernels) are wrapped with ``time.perf_counter`` and timed *in the loop*, where the data
   they read was just written by backward and the interpreter's own state is cold — often
   several times what the same call costs in a microbenchmark. Printed: calls per step,
   median µs per call, mean µs per step (the wrapper adds ≈ 0.1 µs per call).
2. **Per position in the detail cycle**: the model with the probe and an identical one
   without it train in alternating blocks; the median step time at each position t mod
   ``detail_every`` shows what the detail step (0) and the step before it (which snapshots
   θ and attaches the activation hooks) cost beyond an ordinary step. Costs that show up
   here but in no entry point of part 1 are indirect: the probe's memory traffic evicting
   the model's own data.

Usage::

    python benchmarks/probe_breakdown.py                 # ≈ 1 min on 2 cores
    python benchmarks/probe_breakdown.py --steps 4000 --blocks 200
"""

from __future__ import annotations

import argparse
import collections
import copy
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
import bench_probe

import gradprobe
from gradprobe.probe import fastnorm, origin, recorder
from gradprobe.probe.quantities import saturation
from gradprobe.probe.watch import Probe

#: (class, method) pairs timed in part 1; nested ones (a kernel inside the end-of-backward
#: pass) are counted in both
ENTRY_POINTS: list[tuple[Any, str]] = [
    (recorder.Recorder, "_accumulated"),
    (recorder.Recorder, "_end_of_backward"),
    (fastnorm.CpuNorms, "norms"),
    (Probe, "step"),
    (recorder.Recorder, "_record"),
    (fastnorm.CpuNorms, "norms_delta"),
    (recorder.Recorder, "_output_row"),
    (recorder.Recorder, "_set_detail"),
    (fastnorm.CpuNorms, "copy"),
    (recorder.Recorder, "_attach"),
    (recorder.Recorder, "_detach"),
    (Probe, "_flush"),
    (origin.OriginFinder, "_pre"),
    (origin.OriginFinder, "_post"),
    (origin.OriginFinder, "new_step"),
    (saturation.Saturation, "measure"),
]


def _wrap(cls: Any, name: str, times: dict[str, list[float]]) -> Callable[[], None]:
    """Time every call of ``cls.name`` into ``times``; returns the undo."""
    original = cls.__dict__[name]
    key = f"{cls.__name__}.{name}"

    def timed(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            times[key].append(time.perf_counter() - t0)

    setattr(cls, name, timed)
    return lambda: setattr(cls, name, original)


def _model_and_batches() -> tuple[torch.nn.Module, list[bench_probe.Batch]]:
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    return bench_probe.mlp(), [bench_probe._batch("mlp", g) for _ in range(4)]


def entry_points(steps: int, warm: int = 200) -> tuple[float, dict[str, list[float]]]:
    """Part 1: the step time (ms) of the probed loop and every entry point's call times."""
    times: dict[str, list[float]] = collections.defaultdict(list)
    undo = [_wrap(cls, name, times) for cls, name in ENTRY_POINTS]
    try:
        model, batches = _model_and_batches()
        probe = gradprobe.watch(model, every=1)
        run = bench_probe._runner(model, batches, probe.step)
        run(warm)
        times.clear()
        wall, _ = run(steps)
        probe.close()
    finally:
        for u in undo:
            u()
    return 1e3 * wall / steps, times


def cycle(blocks: int, block: int = 20) -> dict[int, tuple[float, float]]:
    """Part 2: {t mod detail_every: (median step µs with the probe, without)}."""
    model, batches = _model_and_batches()
    plain = copy.deepcopy(model)
    probe = gradprobe.watch(model, every=1)
    period = probe.detail_every
    opts = {id(m): torch.optim.SGD(m.parameters(), lr=1e-3) for m in (model, plain)}
    out: dict[str, dict[int, list[float]]] = {"probe": {}, "plain": {}}
    for b in range(blocks):
        order = [(model, "probe"), (plain, "plain")]
        for m, label in order if b % 2 == 0 else order[::-1]:
            opt = opts[id(m)]
            for i in range(block):
                x, y = batches[i % len(batches)]
                pos = probe.steps_taken % period if label == "probe" else i % period
                t0 = time.perf_counter()
                F.cross_entropy(m(x), y).backward()
                if label == "probe":
                    probe.step()
                opt.step()
                opt.zero_grad()
                if b >= 4:  # after a warm-up
                    out[label].setdefault(pos, []).append(time.perf_counter() - t0)
    probe.close()
    return {
        k: (1e6 * statistics.median(out["probe"][k]), 1e6 * statistics.median(out["plain"][k]))
        for k in sorted(out["probe"])
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=2000, help="timed steps of part 1")
    ap.add_argument("--blocks", type=int, default=100, help="blocks of 20 steps of part 2")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    if args.steps < 100 or args.blocks < 10:
        ap.error("--steps must be at least 100 and --blocks at least 10")
    torch.set_num_threads(args.threads)
    fastnorm.COMPILED_AFTER_STEPS = 0  # the steady state of a long run (see bench_probe.py)

    step_ms, times = entry_points(args.steps)
    print(f"1. entry points, in the loop ({args.steps} steps, {step_ms:.2f} ms per step)")
    print(f"{'function':34s} {'calls/step':>10s} {'µs/call':>9s} {'µs/step':>9s}")
    for cls, name in ENTRY_POINTS:
        v = times.get(f"{cls.__name__}.{name}", [])
        if v:
            per_call = 1e6 * statistics.median(v)
            per_step = 1e6 * sum(v) / args.steps
            print(f"{cls.__name__ + '.' + name:34s} {len(v) / args.steps:10.2f} "
                  f"{per_call:9.1f} {per_step:9.1f}")  # fmt: skip
    cyc = cycle(args.blocks)
    print(f"2. step time by position in the detail cycle ({args.blocks} blocks of 20 steps)")
    print(f"{'t mod 10':>8s} {'probe µs':>9s} {'plain µs':>9s} {'extra µs':>9s}")
    for k, (p, q) in cyc.items():
        print(f"{k:8d} {p:9.0f} {q:9.0f} {p - q:9.0f}")
    extra = statistics.mean(p - q for p, q in cyc.values())
    plain = statistics.mean(q for _, q in cyc.values())
    print(f"mean extra {extra:.0f} µs per step = {extra / plain:.1%} of the plain step")


if __name__ == "__main__":
    main()
