"""Probe any PyTorch model: which layers learn, which do not, and why.

A deep sigmoid MLP with N(0, 1) weights — the setting of Nielsen's chapter 5 — trained for a
few steps on synthetic data while the probe records every layer's speed of learning
‖∂C/∂bˡ‖. The diagnosis finds the vanishing gradient; ``what_if`` shows what ReLU and He
initialisation would change; the same depth with ReLU and He initialisation is healthy.

Run:  python examples/02_probe_any_model.py
"""

from __future__ import annotations

import itertools
import math
import tempfile
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

import gradprobe.probe as gp

SIZES = [20, 30, 30, 30, 30, 30, 30, 10]


def mlp(activation: type[nn.Module], init: str, seed: int = 0) -> nn.Sequential:
    g = torch.Generator().manual_seed(seed)
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(SIZES)):
        lin = nn.Linear(n_in, n_out)
        with torch.no_grad():
            std = 1.0 if init == "normal" else math.sqrt(2 / n_in)  # N(0,1) or He
            lin.weight.copy_(torch.randn(n_out, n_in, generator=g) * std)
            lin.bias.copy_(torch.randn(n_out, generator=g) if init == "normal" else 0)
        layers.append(lin)
        if i < len(SIZES) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


def train(model: nn.Module, steps: int = 30) -> gp.Probe:
    g = torch.Generator().manual_seed(1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with gp.watch(model) as probe:  # hooks are removed when the block ends
        for _ in range(steps):
            x = torch.randn(64, SIZES[0], generator=g)
            y = torch.randint(0, SIZES[-1], (64,), generator=g)
            F.cross_entropy(model(x), y).backward()
            probe.step()  # after backward, before optimizer.step()
            opt.step()
            opt.zero_grad()
    return probe


def show(title: str, probe: gp.Probe) -> None:
    df = probe.history
    speed = df[df.quantity == "speed"].groupby("layer", sort=False).value.median()
    print(f"\n== {title}: median speed ‖∂C/∂bˡ‖ per layer (input → output)")
    for layer, s in speed.items():
        print(f"  layer {layer:>3}  {s:10.3g}  {'#' * max(1, int(12 + 2 * math.log10(s)))}")
    findings = probe.diagnose()
    if not findings:
        print("  diagnosis: no problem found")
    for f in findings:
        print(f"  diagnosis: {f}")
        for r in f.remedies[:3]:
            print(f"    • {r}")


def main() -> None:
    torch.manual_seed(0)
    sick = mlp(nn.Sigmoid, "normal")
    probe = train(sick)
    show("sigmoid, N(0,1) weights", probe)

    with tempfile.TemporaryDirectory() as tmp:
        path = probe.save(Path(tmp) / "history.parquet")
        rows = len(probe.history)
        print(f"\n  history: {rows} rows saved; try `gradprobe diagnose {path.name}`")

    g = torch.Generator().manual_seed(2)
    batch = (
        torch.randn(256, SIZES[0], generator=g),
        torch.randint(0, SIZES[-1], (256,), generator=g),
    )
    # an ordinary classifier: what_if uses cross-entropy on the batch unless given loss_fn
    table = gp.what_if(sick, batch, changes=["relu", "he-init", "relu+he-init"])
    print("\n== what if? speed of the first and last layer, relative to now, and why")
    for change, sub in table.groupby("change", sort=False):
        first, last = sub.iloc[0], sub.iloc[-1]
        print(f"  {change:14s} first layer ×{first.factor:8.3g}   last layer ×{last.factor:8.3g}")
        print(f"      {first.why}")

    show("ReLU, He initialisation", train(mlp(nn.ReLU, "he")))


if __name__ == "__main__":
    main()
