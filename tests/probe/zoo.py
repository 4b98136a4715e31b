"""The diagnosis zoo: small models with a known problem (or none), trained a few steps."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

import gradprobe.probe as gp


def _init(lin: nn.Linear, std: float, bias_std: float, g: torch.Generator) -> nn.Linear:
    with torch.no_grad():
        lin.weight.copy_(torch.randn(lin.weight.shape, generator=g) * std)
        lin.bias.copy_(torch.randn(lin.bias.shape, generator=g) * bias_std)
    return lin


def deep_sigmoid(g: torch.Generator) -> nn.Module:
    """8 layers of width 64, N(0, 1) weights and biases (Nielsen ch. 5)."""
    sizes = [32] + [64] * 7 + [10]
    mods: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        mods.append(_init(nn.Linear(sizes[i], sizes[i + 1]), 1.0, 1.0, g))
        if i < len(sizes) - 2:
            mods.append(nn.Sigmoid())
    return nn.Sequential(*mods)


def relu_dead_layer(g: torch.Generator) -> nn.Module:
    sizes = [32, 64, 64, 64, 10]
    mods: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        lin = _init(nn.Linear(sizes[i], sizes[i + 1]), math.sqrt(2 / sizes[i]), 0.0, g)
        if i == 1:
            with torch.no_grad():
                lin.bias.fill_(-50.0)  # the second hidden layer is dead for every input
        mods.append(lin)
        if i < len(sizes) - 2:
            mods.append(nn.ReLU())
    return nn.Sequential(*mods)


def cnn_dead(g: torch.Generator) -> nn.Module:
    torch.manual_seed(int(torch.randint(0, 10**6, (1,), generator=g)))
    net = nn.Sequential(
        nn.Conv2d(1, 8, 3),
        nn.ReLU(),
        nn.Conv2d(8, 8, 3),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(8 * 8 * 8, 10),
    )
    with torch.no_grad():
        net[2].bias[:7] = -50.0  # 7 of 8 channels dead
    return net


def tanh_large(g: torch.Generator) -> nn.Module:
    """tanh MLP with N(0, 4²/n_in)-scaled weights: large initialisation."""
    sizes = [32] + [64] * 6 + [10]
    mods: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        mods.append(_init(nn.Linear(sizes[i], sizes[i + 1]), 4.0 / math.sqrt(sizes[i]), 0.0, g))
        if i < len(sizes) - 2:
            mods.append(nn.Tanh())
    return nn.Sequential(*mods)


class Res(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))


def resnet(g: torch.Generator) -> nn.Module:
    torch.manual_seed(int(torch.randint(0, 10**6, (1,), generator=g)))
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1, bias=False),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        Res(8),
        Res(8),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, 10),
    )


class Transformer(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Linear(8, 16)
        self.enc = nn.TransformerEncoder(
            nn.TransformerEncoderLayer(16, 2, dim_feedforward=32, dropout=0.0, batch_first=True),
            num_layers=2,
            enable_nested_tensor=False,
        )
        self.head = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.enc(self.emb(x)).mean(1))


def transformer(g: torch.Generator) -> nn.Module:
    torch.manual_seed(int(torch.randint(0, 10**6, (1,), generator=g)))
    return Transformer()


class StackedLSTM(nn.Module):
    """A PyTorch-default 2-layer LSTM (width 16) classifying sequences from the last step."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(8, 16, num_layers=2, batch_first=True)
        self.head = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.lstm(x)[0][:, -1])


def stacked_lstm(g: torch.Generator) -> nn.Module:
    torch.manual_seed(int(torch.randint(0, 10**6, (1,), generator=g)))
    return StackedLSTM()


ZOO = {
    # name: (builder, input shape without batch, optimiser, lr)
    "deep-sigmoid": (deep_sigmoid, (32,), "sgd", 0.5),
    "relu-dead-layer": (relu_dead_layer, (32,), "sgd", 0.05),
    "cnn-dead-relu": (cnn_dead, (1, 12, 12), "sgd", 0.05),
    "tanh-large-init": (tanh_large, (32,), "sgd", 0.05),
    "resnet": (resnet, (1, 8, 8), "sgd", 0.05),
    "transformer": (transformer, (6, 8), "adam", 1e-3),
    "stacked-lstm": (stacked_lstm, (100, 8), "adam", 1e-3),  # long sequences: T = 100
}


#: Batch sizes other than 64 (the LSTM runs 100 steps per sequence: keep the test fast).
BATCH = {"stacked-lstm": 16}


def run(name: str, steps: int = 12, batch: int | None = None, seed: int = 0) -> gp.Probe:
    """Train ``name`` for ``steps`` steps on random data (fixed seed) under a probe."""
    build, shape, opt_name, lr = ZOO[name]
    batch = batch or BATCH.get(name, 64)
    g = torch.Generator().manual_seed(seed)
    model = build(g)
    opt = (
        torch.optim.SGD(model.parameters(), lr=lr)
        if opt_name == "sgd"
        else torch.optim.Adam(model.parameters(), lr=lr)
    )
    probe = gp.watch(model, detail_every=2)
    for _ in range(steps):
        x = torch.randn(batch, *shape, generator=g)
        y = torch.randint(0, 10, (batch,), generator=g)
        F.cross_entropy(model(x), y).backward()
        probe.step()
        opt.step()
        opt.zero_grad()
    probe.close()
    return probe
