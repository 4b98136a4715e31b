"""Add your own quantity to the probe: one small class, no change to the probe.

Two examples: ``GradMax`` reads the gradients (the largest |∂C/∂θ| entry of each layer) and
``HiddenRMS`` reads the outputs of every ``nn.LSTM`` (the RMS of its hidden states hₜ, through
a forward hook). Both keep their numbers on the device; the probe moves them to the host once
per ``flush_every`` steps and turns them into history rows.

Run:  python examples/04_custom_quantity.py
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

import gradprobe
from gradprobe.probe.quantities import DEFAULT_QUANTITIES, OutputQuantity, Quantity


class GradMax(Quantity):
    """Column ``grad_max``: max |∂C/∂θ| over the layer's parameters."""

    name = "grad_max"
    reads = ("gradient",)
    columns = ("grad_max",)

    def measure_step(self, grads, params):
        # one 0-d tensor per parameter, on the device; -1: no gradient
        return torch.stack(
            [
                g.abs().max() if g is not None else p.new_full((), -1.0)
                for g, p in zip(grads, params)
            ]
        )

    def series(self, chunk, ctx):
        raw = chunk.extra[self.name]  # [n steps, P parameters]
        for layer in ctx.layers:
            v = raw[:, layer.param_index].max(axis=1)
            yield layer.name, "grad_max", v, v >= 0


class HiddenRMS(OutputQuantity):
    """Column ``hidden_rms``: √(mean hₜ²) of an LSTM's output sequence [B, T, H]."""

    name = "hidden_rms"
    columns = ("hidden_rms",)
    width = 1  # one summed statistic per call
    module_types = (nn.LSTM,)

    def measure(self, out):  # out: the module's first output tensor
        return out.detach().pow(2).sum().reshape(1), out.numel()

    def series(self, chunk, ctx):
        for layer, sums, counts in self.per_layer(chunk, ctx):
            yield layer, "hidden_rms", (sums[:, 0] / counts.clip(1)) ** 0.5, counts > 0


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(5, 16, num_layers=2, batch_first=True)
        self.head = nn.Linear(16, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.lstm(x)[0][:, -1])


def main() -> None:
    torch.manual_seed(0)
    model = Net()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    quantities = (*DEFAULT_QUANTITIES, GradMax(), HiddenRMS())
    with gradprobe.watch(model, quantities=quantities, detail_every=1) as probe:
        for _ in range(5):
            x, y = torch.randn(8, 12, 5), torch.randint(0, 3, (8,))
            F.cross_entropy(model(x), y).backward()
            probe.step()
            opt.step()
            opt.zero_grad()
    df = probe.history
    table = df[df.quantity.isin(["grad_max", "hidden_rms"])].pivot_table(
        index="layer", columns="quantity", values="value", aggfunc="median"
    )
    print("median over 5 steps:")
    print(table.to_string(float_format=lambda v: f"{v:.4g}"))


if __name__ == "__main__":
    main()
