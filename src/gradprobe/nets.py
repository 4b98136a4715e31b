"""The book's feedforward networks, S independently initialised copies at once.

A `Network` with ``sizes = [784, 30, 30, 10]`` holds, for every seed s and layer l = 1 … L,
the weights wˡ: [S, n_l, n_{l−1}] and biases bˡ: [S, n_l]. The forward pass is the book's
aˡ = σ(wˡ aˡ⁻¹ + bˡ), batched over seeds with one batched matrix product per layer, so S
seeds cost far less than S separate networks. One seed is simply S = 1.

Initialisations (network2's names where it has them):

    default   wˡ ~ N(0, 1/n_in),  bˡ ~ N(0, 1)      network2's default_weight_initializer
    large     wˡ ~ N(0, 1),       bˡ ~ N(0, 1)      network2's large_weight_initializer
    xavier    wˡ ~ N(0, 2/(n_in + n_out)), bˡ = 0
    he        wˡ ~ N(0, 2/n_in),  bˡ = 0

Seed s of a network built with ``seed=k`` is drawn from its own generator seeded with k + s,
so seed k + s gets the same initial weights whether it is trained alone or among others.
"""

from __future__ import annotations

import itertools
import json
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, cast

import torch
from torch import nn

from .activations import Activation, get_activation
from .costs import Cost, get_cost
from .errors import ConfigError, DataError
from .io import load_tensors, save_tensors

INITS = ("default", "large", "xavier", "he")


@dataclass(frozen=True)
class NetConfig:
    """Everything that defines a network except its parameter values."""

    sizes: tuple[int, ...]
    activation: str = "sigmoid"
    cost: str = "cross-entropy"
    output: str | None = None  # None: the cost's book pairing
    init: str = "default"
    seeds: int = 1
    seed: int = 0

    def to_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["sizes"] = list(self.sizes)
        return d


def parse_sizes(text: str | Sequence[int]) -> tuple[int, ...]:
    """``"784,30,10"`` or ``[784, 30, 10]`` → (784, 30, 10); `ConfigError` when malformed."""
    if isinstance(text, str):
        parts = [p.strip() for p in text.replace(" ", ",").split(",") if p.strip()]
        try:
            sizes = tuple(int(p) for p in parts)
        except ValueError:
            raise ConfigError(
                f"bad sizes {text!r}: expected comma-separated positive integers, e.g. 784,30,10"
            ) from None
    else:
        sizes = tuple(int(s) for s in text)
    if len(sizes) < 2:
        raise ConfigError(
            f"bad sizes {text!r}: need at least an input and an output layer, e.g. 784,30,10"
        )
    if any(s <= 0 for s in sizes):
        raise ConfigError(f"bad sizes {text!r}: every layer needs at least one neuron")
    return sizes


DEVICES = ("auto", "cpu", "cuda")


def resolve_device(device: torch.device | str | None = "auto") -> torch.device:
    """``"auto"`` → the GPU when torch sees one, else the CPU; ``"cpu"`` (or None); ``"cuda"``
    or ``"cuda:N"`` (`ConfigError` when torch sees no GPU); a `torch.device` is checked alike.
    The same code runs on either: only where the tensors live changes."""
    if device is None:
        return torch.device("cpu")
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ConfigError(
            f"unknown device {device!r}; choose one of: {', '.join(DEVICES)}"
        ) from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(
                "device 'cuda' asked for, but torch sees no GPU here; use --device cpu or auto"
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ConfigError(
                f"device {device!r}: only {torch.cuda.device_count()} GPU(s) are visible"
            )
    elif dev.type != "cpu":
        raise ConfigError(f"unsupported device {device!r}; choose one of: {', '.join(DEVICES)}")
    return dev


class SeedLinear(nn.Module):
    """zˡ = wˡ aˡ⁻¹ + bˡ for S seeds at once.

    Parameters: ``weight`` [S, n_out, n_in], ``bias`` [S, n_out].
    Input [B, n_in] (shared by all seeds) or [S, B, n_in]; output [S, B, n_out].
    """

    def __init__(self, n_in: int, n_out: int, seeds: int, *, dtype: torch.dtype, device=None):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(seeds, n_out, n_in, dtype=dtype, device=device))
        self.bias = nn.Parameter(torch.empty(seeds, n_out, dtype=dtype, device=device))

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        return torch.matmul(a, self.weight.transpose(-1, -2)) + self.bias.unsqueeze(-2)

    def extra_repr(self) -> str:
        s, o, i = self.weight.shape
        return f"in={i}, out={o}, seeds={s}"


def check_seeds(seeds: object) -> int:
    """``seeds``, the number S of networks at once; `ConfigError` unless a positive int."""
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ConfigError(f"seeds must be a positive integer, got {seeds!r}")
    return seeds


class SeedStack(nn.Module):
    """What every S-seed feedforward stack shares: a ``config`` with ``sizes``, ``seeds`` and
    ``seed``, and ``layers``, the L `SeedLinear` modules zˡ = wˡ aˡ⁻¹ + bˡ (`Network` and
    `gradprobe.batched.BatchedNet`)."""

    config: Any
    layers: nn.ModuleList
    cost: Cost

    @property
    def sizes(self) -> tuple[int, ...]:
        """[n_0, n_1, …, n_L]."""
        return cast(tuple[int, ...], self.config.sizes)

    @property
    def n_seeds(self) -> int:
        """S, the number of networks trained at once."""
        return int(self.config.seeds)

    @property
    def seed_values(self) -> list[int]:
        """The seed of each of the S networks: seed, seed + 1, …"""
        return [int(self.config.seed) + s for s in range(self.n_seeds)]

    @property
    def linears(self) -> list[SeedLinear]:
        """The L layers zˡ = wˡ aˡ⁻¹ + bˡ (the modules in ``self.layers``)."""
        return [cast(SeedLinear, m) for m in self.layers]

    def cost_per_seed(self, a: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """C = (1/n) Σₓ Cₓ for each seed: aᴸ [S, n, n_L], y [n, n_L] or [S, n, n_L] → [S]."""
        return self.cost.per_example(a, y).mean(-1)

    def cost_fn(self, a: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Scalar Σ_s C_s, so that one ``backward()`` gives every seed its own ∂C/∂θ."""
        return self.cost_per_seed(a, y).sum()

    @torch.no_grad()
    def draw_linears(
        self, init: str, shape_w: Callable[[torch.Tensor], torch.Tensor] | None = None
    ) -> None:
        """Per seed k + s, from ``torch.Generator().manual_seed(k + s)``, layer by layer: wˡ
        [n_l, n_{l−1}] ~ N(0, std²) by ``init`` (one of `INITS`), then bˡ [n_l] ~ N(0, 1),
        zeroed for "xavier" and "he", all in float64; ``shape_w`` may transform wˡ after its
        draw (the same random numbers are used either way). A layer without bias skips bˡ."""
        for s, seed in enumerate(self.seed_values):
            g = torch.Generator().manual_seed(seed)
            for layer in self.linears:
                _, n_out, n_in = layer.weight.shape
                std = {
                    "default": 1 / math.sqrt(n_in),
                    "large": 1.0,
                    "xavier": math.sqrt(2 / (n_in + n_out)),
                    "he": math.sqrt(2 / n_in),
                }[init]
                w = torch.randn(n_out, n_in, generator=g, dtype=torch.float64) * std
                b = torch.randn(n_out, generator=g, dtype=torch.float64)
                if init in ("xavier", "he"):
                    b.zero_()
                layer.weight[s].copy_(w if shape_w is None else shape_w(w))
                if layer.bias is not None:
                    layer.bias[s].copy_(b)


class Network(SeedStack):
    """The book's network: ``sizes`` such as [784, 30, 30, 10], S = ``seeds`` copies.

    ``forward(x)``: x [B, n_0] or [S, B, n_0] → aᴸ [S, B, n_L]. Hidden layers use
    ``activation``; the output layer uses the activation paired with ``cost``. ``device``:
    ``"cpu"`` (default), ``"cuda"`` or ``"auto"`` (the GPU if there is one); see
    `resolve_device`. Initial weights are drawn on the CPU, so they do not depend on it.
    """

    def __init__(
        self,
        sizes: Sequence[int] | str,
        activation: str = "sigmoid",
        cost: str = "cross-entropy",
        *,
        output: str | None = None,
        init: str = "default",
        seeds: int = 1,
        seed: int = 0,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = "cpu",
    ):
        super().__init__()
        sizes = parse_sizes(sizes)
        device = resolve_device(device)
        seeds = check_seeds(seeds)
        if init not in INITS:
            raise ConfigError(f"unknown init {init!r}; choose one of: {', '.join(INITS)}")
        self.act: Activation = get_activation(activation)
        self.cost: Cost = get_cost(cost, output)
        self.config = NetConfig(sizes, activation, cost, self.cost.output, init, seeds, seed)
        self.layers = nn.ModuleList(
            SeedLinear(i, o, seeds, dtype=dtype, device=device)
            for i, o in itertools.pairwise(sizes)
        )
        # Modules, not functions, so that probes can attach forward hooks to them.
        self.activations = nn.ModuleList(self.act.module() for _ in sizes[1:-1])
        self.reset_parameters()

    # -- shape facts (sizes, n_seeds, seed_values, linears: `SeedStack`) ----------------------
    @property
    def weights(self) -> list[nn.Parameter]:
        """wˡ for l = 1 … L, each [S, n_l, n_{l−1}] (the parameters themselves)."""
        return [layer.weight for layer in self.linears]

    @property
    def biases(self) -> list[nn.Parameter]:
        """bˡ for l = 1 … L, each [S, n_l]."""
        return [layer.bias for layer in self.linears]

    # -- initialisation ----------------------------------------------------------------------
    @torch.no_grad()
    def reset_parameters(self) -> None:
        """Draw every seed's weights and biases from its own generator (see module doc)."""
        self.draw_linears(self.config.init)

    # -- forward -----------------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """aᴸ for input x: [B, n_0] or [S, B, n_0] → [S, B, n_L]."""
        a = x
        for layer, act in zip(self.layers[:-1], self.activations):
            a = act(layer(a))
        return self.cost.output_fn(self.layers[-1](a))

    @torch.no_grad()
    def predict(self, x: torch.Tensor, chunk: int = 10_000) -> torch.Tensor:
        """argmax of aᴸ: x [n, n_0] → labels [S, n] (int64), in chunks to bound memory."""
        out = [self.forward(x[i : i + chunk]).argmax(-1) for i in range(0, x.shape[0], chunk)]
        return torch.cat(out, dim=-1)

    @torch.no_grad()
    def accuracy(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Fraction classified correctly, per seed: x [n, n_0], labels [n] → [S] float64."""
        return (self.predict(x) == labels).double().mean(-1)

    def extra_repr(self) -> str:
        c = self.config
        return f"sizes={list(c.sizes)}, activation={c.activation}, cost={c.cost}, init={c.init}"

    def describe(self) -> str:
        """One line, e.g. ``784-30-10 sigmoid, sigmoid + cross-entropy, default init, 4 seeds``."""
        c = self.config
        seeds = (
            f"{c.seeds} seeds ({c.seed}…{c.seed + c.seeds - 1})"
            if c.seeds > 1
            else f"seed {c.seed}"
        )
        return (
            f"{'-'.join(map(str, c.sizes))} {c.activation}, {c.output} + {c.cost}, "
            f"{c.init} init, {seeds}"
        )


def save_network(net: Network, path: str | os.PathLike[str]) -> Path:
    """Write ``net``'s parameters and configuration to a safetensors file (atomically)."""
    meta = {"gradprobe.net": json.dumps(net.config.to_dict())}
    return save_tensors(path, dict(net.state_dict()), meta)


def load_network(path: str | os.PathLike[str], *, dtype: torch.dtype | None = None) -> Network:
    """Rebuild a `Network` saved by `save_network`. No pickle is involved."""
    tensors, meta = load_tensors(path)
    try:
        cfg = json.loads(meta["gradprobe.net"])
    except (KeyError, json.JSONDecodeError):
        raise DataError(f"{path} is not a gradprobe network file") from None
    first = next(iter(tensors.values()))
    net = Network(
        cfg["sizes"],
        cfg["activation"],
        cfg["cost"],
        output=cfg["output"],
        init=cfg["init"],
        seeds=cfg["seeds"],
        seed=cfg["seed"],
        dtype=dtype or first.dtype,
    )
    try:
        net.load_state_dict(tensors)
    except RuntimeError as e:
        raise DataError(f"{path} does not match its own configuration: {e}") from None
    return net
