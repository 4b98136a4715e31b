"""Per-step overhead and memory of the gradprobe probe, probe vs no probe, in one process.

Models (the issue's): a 10-layer tanh MLP (width 256, batch 128), a ResNet-18-style CNN
(batch 16, 32×32), a 2-layer LSTM (batch 32, 50 steps, hidden 128) and a small Transformer
encoder (2 layers, d=64, batch 32, 32 tokens). Each training step is forward + backward
(+ ``probe.step()``) + ``SGD.step`` + ``zero_grad``. The probe records every step
(``every=1``) with its defaults: gradient quantities and the NaN check at every step, detail
quantities every 10th step — blocks of 20 steps, so detail steps are included.

Method: the two variants (baseline: the same model without a probe; probe: a second copy
with one attached) run interleaved in rounds, the order alternating, each round timing a
block of steps with ``time.perf_counter`` after a warm-up; the overhead is the median over
≥ 7 rounds of the paired ratio probe/baseline. Memory: bytes of history per recorded step
(``DataFrame.memory_usage(deep=True)``), and with ``--memory`` the resident set size of an
11-layer MLP with ``max_steps`` from step 2 000 to ``--memory-steps``.

Usage::

    python benchmarks/bench_probe.py                  # all models, 7 rounds
    python benchmarks/bench_probe.py --models mlp --rounds 9 --threads 2
    python benchmarks/bench_probe.py --memory --memory-steps 30000
"""

from __future__ import annotations

import argparse
import copy
import json
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
import gradprobe

Batch = tuple[torch.Tensor, torch.Tensor]


def mlp(depth: int = 10, width: int = 256) -> nn.Module:
    layers: list[nn.Module] = []
    for _ in range(depth - 1):
        layers += [nn.Linear(width, width), nn.Tanh()]
    return nn.Sequential(*layers, nn.Linear(width, 10))


class Block(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()
        self.down = (
            nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
            if stride != 1 or cin != cout
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.b2(self.c2(self.relu(self.b1(self.c1(x))))) + self.down(x))


def resnet18(width: int = 16) -> nn.Module:
    """ResNet-18 layout (4 stages × 2 basic blocks) at reduced width, 32×32 inputs."""
    w = [width, 2 * width, 4 * width, 8 * width]
    layers: list[nn.Module] = [
        nn.Conv2d(3, w[0], 3, 1, 1, bias=False),
        nn.BatchNorm2d(w[0]),
        nn.ReLU(),
    ]
    cin = w[0]
    for i, c in enumerate(w):
        layers += [Block(cin, c, 1 if i == 0 else 2), Block(c, c, 1)]
        cin = c
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 10))


class LSTMNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(32, 128, num_layers=2, batch_first=True)
        self.head = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.lstm(x)[0][:, -1])


class TransformerNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(100, 64)
        layer = nn.TransformerEncoderLayer(64, 4, 128, dropout=0.1, batch_first=True)
        self.enc = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.head = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.enc(self.emb(x)).mean(1))


def _batch(name: str, g: torch.Generator) -> Batch:
    y = lambda n: torch.randint(0, 10, (n,), generator=g)  # noqa: E731
    if name == "mlp":
        return torch.randn(128, 256, generator=g), y(128)
    if name == "resnet18":
        return torch.randn(16, 3, 32, 32, generator=g), y(16)
    if name == "lstm":
        return torch.randn(32, 50, 32, generator=g), y(32)
    return torch.randint(0, 100, (32, 32), generator=g), y(32)


MODELS: dict[str, Callable[[], nn.Module]] = {
    "mlp": mlp,
    "resnet18": resnet18,
    "lstm": LSTMNet,
    "transformer": TransformerNet,
}
BLOCK = {"mlp": 20, "resnet18": 10, "lstm": 10, "transformer": 20}


def _runner(model: nn.Module, probe: gradprobe.Probe | None, batches: list[Batch]):
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)

    def run(n: int) -> float:
        t0 = time.perf_counter()
        for i in range(n):
            x, y = batches[i % len(batches)]
            F.cross_entropy(model(x), y).backward()
            if probe is not None:
                probe.step()
            opt.step()
            opt.zero_grad()
        return time.perf_counter() - t0

    return run


def overhead(name: str, rounds: int) -> dict[str, float]:
    torch.manual_seed(0)
    base_model = MODELS[name]()
    probed_model = copy.deepcopy(base_model)
    g = torch.Generator().manual_seed(1)
    batches = [_batch(name, g) for _ in range(4)]
    probe = gradprobe.watch(probed_model, every=1)
    runs = {
        "baseline": _runner(base_model, None, batches),
        "probe": _runner(probed_model, probe, batches),
    }
    n = BLOCK[name]
    for r in runs.values():
        r(n)  # warm-up
    ratios, base_t = [], []
    for k in range(rounds):
        order = ["baseline", "probe"] if k % 2 == 0 else ["probe", "baseline"]
        t = {v: runs[v](n) for v in order}
        ratios.append(t["probe"] / t["baseline"])
        base_t.append(t["baseline"] / n)
    df = probe.history
    steps = probe.steps_taken
    probe.close()
    return {
        "ratio_median": statistics.median(ratios),
        "ratio_min": min(ratios),
        "step_ms": 1e3 * statistics.median(base_t),
        "bytes_per_step": float(df.memory_usage(deep=True).sum()) / max(1, steps),
        "rows_per_step": len(df) / max(1, steps),
        "rounds": rounds,
    }


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory(steps: int, keep: int) -> dict[str, float]:
    """Peak RSS of an 11-layer MLP (width 64) recording every step with ``max_steps``."""
    torch.manual_seed(0)
    model = mlp(11, 64)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    probe = gradprobe.watch(model, max_steps=keep)
    x, y = torch.randn(16, 256)[:, :64], torch.randint(0, 10, (16,))
    at: dict[str, float] = {}
    for t in range(steps):
        F.cross_entropy(model(x), y).backward()
        probe.step()
        opt.step()
        opt.zero_grad()
        if t + 1 in (2000, steps):
            probe.flush()
            at[f"rss_mib_step_{t + 1}"] = rss_mib()
    at["history_rows"] = float(len(probe.history))
    probe.close()
    return at


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--memory", action="store_true")
    ap.add_argument("--memory-steps", type=int, default=30000)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    if args.rounds < 7:
        ap.error("--rounds must be at least 7")
    torch.set_num_threads(args.threads)
    out: dict[str, object] = {"threads": args.threads, "torch": torch.__version__}
    print(f"{'model':12s} {'step ms':>8s} {'probe/base':>11s} {'min':>7s} {'B/step':>8s}")
    for name in args.models.split(","):
        r = overhead(name, args.rounds)
        out[name] = r
        print(
            f"{name:12s} {r['step_ms']:8.2f} {r['ratio_median']:11.3f} {r['ratio_min']:7.3f} "
            f"{r['bytes_per_step']:8.0f}",
            flush=True,
        )
    if args.memory:
        m = memory(args.memory_steps, keep=2000)
        out["memory"] = m
        print("memory (max_steps=2000):", json.dumps(m))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
