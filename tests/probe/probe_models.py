"""Small models and reference computations shared by the probe tests (plain autograd)."""

from __future__ import annotations

import itertools
import math

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn


def mlp(
    sizes: list[int],
    act: type[nn.Module] = nn.Sigmoid,
    init: str = "default",
    seed: int = 0,
) -> nn.Sequential:
    """Linear/activation stack; init "normal" = N(0, 1) weights and biases (the book's
    "large" initialisation), "he" = N(0, 2/n_in) and zero biases, "default" = torch's."""
    g = torch.Generator().manual_seed(seed)
    mods: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        lin = nn.Linear(a, b)
        with torch.no_grad():
            if init == "normal":
                lin.weight.copy_(torch.randn(b, a, generator=g))
                lin.bias.copy_(torch.randn(b, generator=g))
            elif init == "he":
                lin.weight.copy_(torch.randn(b, a, generator=g) * math.sqrt(2 / a))
                lin.bias.zero_()
            else:
                lin.weight.copy_(torch.randn(b, a, generator=g) / math.sqrt(a))
                lin.bias.copy_(torch.randn(b, generator=g) * 0.1)
        mods.append(lin)
        if i < len(sizes) - 2:
            mods.append(act())
    return nn.Sequential(*mods)


def data(n: int = 32, d: int = 10, classes: int = 4, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g), torch.randint(0, classes, (n,), generator=g)


def train(model, probe, steps=3, lr=0.1, n=32, d=10, classes=4, opt=None, loss_fn=None):
    """Plain loop: backward, probe.step(), opt.step(), zero_grad (set_to_none)."""
    opt = opt or torch.optim.SGD(model.parameters(), lr=lr)
    loss_fn = loss_fn or F.cross_entropy
    for t in range(steps):
        x, y = data(n, d, classes, seed=t)
        loss_fn(model(x), y).backward()
        probe.step()
        opt.step()
        opt.zero_grad()
    return opt


def value(df: pd.DataFrame, step: int, layer: str, quantity: str) -> float:
    sel = df[(df.step == step) & (df.layer == layer) & (df.quantity == quantity)]
    assert len(sel) == 1, (step, layer, quantity, len(sel))
    return float(sel.value.iloc[0])


def has(df: pd.DataFrame, step: int, layer: str, quantity: str) -> bool:
    return bool(((df.step == step) & (df.layer == layer) & (df.quantity == quantity)).any())


def layer_params(model: nn.Module) -> dict[str, dict[str, nn.Parameter]]:
    out: dict[str, dict[str, nn.Parameter]] = {}
    seen: set[int] = set()
    for name, m in model.named_modules():
        for pn, p in m.named_parameters(recurse=False):
            if id(p) in seen:
                continue
            seen.add(id(p))
            layer = name or "(root)"
            if isinstance(m, nn.RNNBase):  # one layer per stacked layer and direction
                layer += "." + pn[pn.rindex("_l") + 1 :]
            out.setdefault(layer, {})[pn] = p
    return out


def hook_state(model: nn.Module) -> list[tuple[str, tuple[int, ...]]]:
    """Every hook dict of every module (and every parameter's tensor hooks), by key."""
    out = []
    for name, m in model.named_modules():
        for attr in sorted(vars(m)):
            if "hook" in attr and isinstance(getattr(m, attr), dict):
                out.append((f"{name}.{attr}", tuple(getattr(m, attr).keys())))
    for name, p in model.named_parameters():
        hooks = getattr(p, "_backward_hooks", None)
        out.append((f"{name}._backward_hooks", tuple(hooks.keys()) if hooks else ()))
    return out
