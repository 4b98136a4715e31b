"""Cost of the probe's per-stacked-layer through-time profile (``ThroughTime``) on one step.

Models: an ``nn.LSTM`` (input 32, hidden 64, batch 32, T = 100, cost on the last step through a
linear head) with 2 layers, 2 layers bidirectional, and 1 layer. Each timed step is forward +
backward (+ ``probe.step()`` for the probed variants) on a fixed batch:

- ``plain``: no probe;
- ``whole-module``: ``ThroughTime(per_layer=False)`` — one tap at the module's input;
- ``per-layer``: ``ThroughTime()`` — at a detail step the module is recomputed one layer and
  direction at a time with a tap per layer input (the fused call gets one time step).

Every probed step here is a detail step (``detail_every=1``): the numbers are the cost of a
profile step; ordinary steps carry no through-time hook at all. Method: the variants run
interleaved in rounds (order rotating), the ratio to ``plain`` is the median over rounds.

Usage::

    python benchmarks/bench_through_time_layers.py --rounds 9 --threads 1
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import gradprobe
from gradprobe.probe.quantities import ThroughTime


class Net(nn.Module):
    def __init__(self, layers: int, bidirectional: bool) -> None:
        super().__init__()
        self.lstm = nn.LSTM(32, 64, layers, batch_first=True, bidirectional=bidirectional)
        self.head = nn.Linear(64 * (2 if bidirectional else 1), 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.lstm(x)[0][:, -1])


def one(model: nn.Module, x: torch.Tensor, y: torch.Tensor, variant: str) -> float:
    probe = None
    if variant != "plain":
        q = ThroughTime(per_layer=variant == "per-layer")
        probe = gradprobe.watch(model, quantities=(q,), detail_every=1)
    t0 = time.perf_counter()
    F.cross_entropy(model(x), y).backward()
    if probe is not None:
        probe.step()
    dt = time.perf_counter() - t0
    if probe is not None:
        probe.close()
    model.zero_grad(set_to_none=True)
    return dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    variants = ["plain", "whole-module", "per-layer"]
    for layers, bi in ((2, False), (2, True), (1, False)):
        torch.manual_seed(0)
        model = Net(layers, bi)
        x, y = torch.randn(32, 100, 32), torch.randint(0, 10, (32,))
        for v in variants:  # warm-up
            one(model, x, y, v)
        times: dict[str, list[float]] = {v: [] for v in variants}
        for r in range(args.rounds):
            for v in variants[r % 3 :] + variants[: r % 3]:
                times[v].append(one(model, x, y, v))
        base = statistics.median(times["plain"])
        ratios = {
            v: statistics.median(t / p for t, p in zip(times[v], times["plain"], strict=True))
            for v in variants[1:]
        }
        print(
            f"LSTM {layers} layer(s){' bidirectional' if bi else ''}: plain step "
            f"{base * 1e3:.1f} ms; " + ", ".join(f"{v} ×{ratios[v]:.3f}" for v in variants[1:])
        )


if __name__ == "__main__":
    main()
