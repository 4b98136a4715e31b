"""Architectures beyond the book's engine, S seeds at once, trained through ``torch.autograd``.

The engine (`gradprobe.nets.Network` + `gradprobe.backprop`) writes BP1–BP4 by hand for the
book's plain nets. Batch normalisation, residual connections and orthogonal initialisation do
not fit those four equations, so `BatchedNet` computes its gradients with autograd instead —
still one batched model for S seeds: every layer's weights are one [S, n_l, n_{l−1}] tensor
(`gradprobe.nets.SeedLinear`), every product one ``bmm``, and the cost is Σ_s C_s so that one
``backward()`` gives each seed its own ∂C_s/∂θ (the seeds share no parameter and, batch
statistics included, no computation).

For hidden layer l = 1 … H (the input a⁰ = x, aᴴ feeds the output layer zᴸ = wᴸaᴴ + bᴸ):

    plain      aˡ = σ(zˡ),                          zˡ = wˡaˡ⁻¹ + bˡ
    batchnorm  aˡ = σ(γˡ ⊙ ẑˡ + βˡ),                ẑˡ = (wˡaˡ⁻¹ − μ_B)/√(var_B + ε)
    residual   aˡ = aˡ⁻¹ + σ(zˡ)  where n_l = n_{l−1} (so from l = 2 on); a¹ = σ(z¹)

With batch normalisation the mini-batch mean cancels any bias added before it (∂C/∂bˡ ≡ 0),
so the layer has no bias bˡ: its shift βˡ takes that role and its speed of learning is
‖∂C/∂βˡ‖ — the same quantity, δˡ summed over the batch, at the point where it enters σ. In
training mode μ_B and var_B (biased) are per seed and unit over the batch; running averages
(momentum 0.1, unbiased variance, as ``torch.nn.BatchNorm1d``) serve evaluation.

Initialisations: those of `gradprobe.nets.INITS`, drawn from the very same per-seed random
stream as `Network` (so a plain `BatchedNet` starts exactly where the engine's net does), and
``orthogonal``: wˡ a (semi-)orthogonal matrix (rows orthonormal when n_l ≤ n_{l−1}, columns
otherwise; Saxe et al. 2014, gain 1) from the QR decomposition of the same Gaussian draw;
biases bˡ ~ N(0, 1) as network2's default (only the weights change).

`BatchedTrainer` is network2's SGD (L2 weight decay (1 − ηλ/n), per-seed gradient clipping,
per-seed shuffles from the same streams as `gradprobe.train.Trainer`); a seed whose
parameters become non-finite is recorded in ``diverged`` and the others train on.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn

from .activations import Activation, get_activation
from .costs import Cost, get_cost
from .errors import ConfigError, DataError
from .nets import INITS, SeedLinear, SeedStack, check_seeds, parse_sizes
from .train import _clip_per_seed, _shuffle_generators, _xy

#: Initialisations of `BatchedNet`: the engine's and the orthogonal one.
BATCHED_INITS = (*INITS, "orthogonal")
#: ε of batch normalisation and the momentum of its running statistics (torch's defaults).
BN_EPS, BN_MOMENTUM = 1e-5, 0.1


class SeedBatchNorm(nn.Module):
    """Batch normalisation of [S, B, n] per seed and unit: γ ⊙ (z − μ_B)/√(var_B + ε) + β.

    Parameters ``gamma``/``beta`` [S, n] (not named weight/bias, so that tools re-drawing
    "weights" leave them alone); buffers ``running_mean``/``running_var`` [S, n]. Set
    ``track = False`` to normalise by the batch without updating the running statistics.
    """

    def __init__(self, n: int, seeds: int, *, dtype: torch.dtype, device: Any = None):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(seeds, n, dtype=dtype, device=device))
        self.beta = nn.Parameter(torch.zeros(seeds, n, dtype=dtype, device=device))
        self.register_buffer("running_mean", torch.zeros(seeds, n, dtype=dtype, device=device))
        self.register_buffer("running_var", torch.ones(seeds, n, dtype=dtype, device=device))
        self.track = True

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if self.training:
            mean = z.mean(-2)
            var = z.var(-2, unbiased=False)
            if self.track:
                with torch.no_grad():
                    b = z.shape[-2]
                    unbiased = var * (b / (b - 1)) if b > 1 else var
                    rm = cast(torch.Tensor, self.running_mean)
                    rv = cast(torch.Tensor, self.running_var)
                    rm.lerp_(mean.detach(), BN_MOMENTUM)
                    rv.lerp_(unbiased.detach(), BN_MOMENTUM)
        else:
            mean = cast(torch.Tensor, self.running_mean)
            var = cast(torch.Tensor, self.running_var)
        zhat = (z - mean.unsqueeze(-2)) * torch.rsqrt(var.unsqueeze(-2) + BN_EPS)
        return zhat * self.gamma.unsqueeze(-2) + self.beta.unsqueeze(-2)


@dataclass(frozen=True)
class BatchedConfig:
    """Everything that defines a `BatchedNet` except its parameter values."""

    sizes: tuple[int, ...]
    activation: str = "sigmoid"
    cost: str = "cross-entropy"
    output: str | None = None
    init: str = "default"
    batchnorm: bool = False
    residual: bool = False
    seeds: int = 1
    seed: int = 0


class BatchedNet(SeedStack):
    """S seeds of a feedforward net with optional batch norm / residual connections.

    ``forward(x)``: x [B, n_0] or [S, B, n_0] → aᴸ [S, B, n_L]. Arguments as `Network`'s, plus
    ``init="orthogonal"``, ``batchnorm`` and ``residual`` (see the module doc).
    """

    def __init__(
        self,
        sizes: Sequence[int] | str,
        activation: str = "sigmoid",
        cost: str = "cross-entropy",
        *,
        output: str | None = None,
        init: str = "default",
        batchnorm: bool = False,
        residual: bool = False,
        seeds: int = 1,
        seed: int = 0,
        dtype: torch.dtype = torch.float32,
    ):
        super().__init__()
        sizes = parse_sizes(sizes)
        seeds = check_seeds(seeds)
        if init not in BATCHED_INITS:
            raise ConfigError(f"unknown init {init!r}; choose one of: {', '.join(BATCHED_INITS)}")
        if len(sizes) < 3 and (batchnorm or residual):
            raise ConfigError("batch norm and residual connections need a hidden layer")
        self.act: Activation = get_activation(activation)
        self.cost: Cost = get_cost(cost, output)
        self.config = BatchedConfig(
            sizes, activation, cost, self.cost.output, init, batchnorm, residual, seeds, seed
        )
        self.layers = nn.ModuleList(
            SeedLinear(i, o, seeds, dtype=dtype) for i, o in itertools.pairwise(sizes)
        )
        self.norms = nn.ModuleList(
            SeedBatchNorm(n, seeds, dtype=dtype) for n in (sizes[1:-1] if batchnorm else ())
        )
        if batchnorm:  # the batch mean cancels bˡ: the hidden layers have none (βˡ instead)
            for layer in self.layers[:-1]:
                cast(SeedLinear, layer).bias = None  # type: ignore[assignment]
        self.activations = nn.ModuleList(self.act.module() for _ in sizes[1:-1])
        self.reset_parameters()

    def shifts(self) -> list[torch.Tensor]:
        """The parameter whose gradient is each hidden layer's speed: bˡ, or βˡ with batch
        norm; H tensors [S, n_l]."""
        if self.config.batchnorm:
            return [cast(SeedBatchNorm, m).beta for m in self.norms]
        return [cast(torch.Tensor, layer.bias) for layer in self.linears[:-1]]

    def decayed(self) -> list[torch.Tensor]:
        """The parameters L2 regularisation shrinks: the weights wˡ (as network2)."""
        return [layer.weight for layer in self.linears]

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """Per seed k + s, the generator and draw order of `Network.reset_parameters`
        ("orthogonal": the draw of "large", then made orthogonal by `orthogonal_like`)."""
        if self.config.init == "orthogonal":
            self.draw_linears("large", orthogonal_like)
        else:
            self.draw_linears(self.config.init)
        for m in self.norms:
            bn = cast(SeedBatchNorm, m)
            bn.gamma.fill_(1.0)
            bn.beta.zero_()
            cast(torch.Tensor, bn.running_mean).zero_()
            cast(torch.Tensor, bn.running_var).fill_(1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """aᴸ for x [B, n_0] or [S, B, n_0] → [S, B, n_L]."""
        a = x
        linears = self.linears
        H = len(linears) - 1
        for l in range(H):
            layer = linears[l]
            if self.config.batchnorm:
                z = self.norms[l](torch.matmul(a, layer.weight.transpose(-1, -2)))
            else:
                z = layer(a)
            h = self.activations[l](z)
            a = a + h if self.config.residual and a.shape[-1] == h.shape[-1] and l > 0 else h
        return self.cost.output_fn(self.layers[-1](a))

    @torch.no_grad()
    def accuracy(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Fraction correct per seed (evaluation mode: running statistics): [S] float64."""
        was = self.training
        self.eval()
        try:
            pred = self.forward(x).argmax(-1)
        finally:
            self.train(was)
        return (pred == labels).double().mean(-1)


def orthogonal_like(w: torch.Tensor) -> torch.Tensor:
    """The (semi-)orthogonal factor of a Gaussian matrix w [n_out, n_in] (QR, signs fixed so
    that the result is Haar-distributed): w wᵀ = I if n_out ≤ n_in, else wᵀ w = I."""
    tall = w.shape[0] > w.shape[1]
    m = w if tall else w.T
    q, r = torch.linalg.qr(m)
    q = q * torch.sign(torch.diagonal(r)).unsqueeze(0)
    return q if tall else q.T


def _one_hot(y: torch.Tensor, n_out: int, dtype: torch.dtype) -> torch.Tensor:
    if y.dim() == 1:
        if y.numel() and (int(y.min()) < 0 or int(y.max()) >= n_out):
            raise DataError(f"labels must lie in 0 … {n_out - 1} for {n_out} output neurons")
        return F.one_hot(y.long(), n_out).to(dtype)
    return y.to(dtype)


def gradients(net: BatchedNet, x: torch.Tensor, y: torch.Tensor) -> list[torch.Tensor]:
    """∂C/∂θ of the mean cost C = (1/n) Σₓ Cₓ over x [n, n_0] (all seeds see the same
    examples; batch statistics over all n), y labels [n] or one-hot [n, n_L]: one tensor per
    parameter in ``net.parameters()`` order. Running statistics are not updated."""
    yy = _one_hot(y, net.sizes[-1], x.dtype)
    params = list(net.parameters())
    tracks = [cast(SeedBatchNorm, m).track for m in net.norms]
    for m in net.norms:
        cast(SeedBatchNorm, m).track = False
    try:
        with torch.enable_grad():
            cost = net.cost_fn(net(x), yy)
            grads = torch.autograd.grad(cost, params, allow_unused=True)
    finally:
        for m, t in zip(net.norms, tracks):
            cast(SeedBatchNorm, m).track = t
    return [torch.zeros_like(p) if g is None else g for p, g in zip(params, grads)]


def speeds(net: BatchedNet, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The speed of learning of every hidden layer, [S, H]: ‖∂C/∂bˡ‖ (‖∂C/∂βˡ‖ with batch
    norm) of the mean cost over x [n, n_0] (see `gradients`)."""
    if x.dim() != 2 or x.shape[1] != net.sizes[0]:
        raise ConfigError(f"inputs of shape {tuple(x.shape)} do not fit {net.sizes[0]} inputs")
    if x.shape[0] < 2 and net.config.batchnorm:
        raise DataError("batch normalisation needs at least 2 examples")
    shifts = net.shifts()
    ids = {id(p): i for i, p in enumerate(net.parameters())}
    g = gradients(net, x, y)
    return torch.stack([g[ids[id(b)]].norm(dim=-1) for b in shifts], dim=-1)


@dataclass(frozen=True)
class BatchedTrainConfig:
    """network2's SGD: η, λ (L2 on the weights, decay 1 − ηλ/n per step), mini-batch m,
    optional per-seed clipping of the joint gradient norm to ``clip_norm``."""

    epochs: int = 1
    batch_size: int = 10
    eta: float = 0.1
    lmbda: float = 0.0
    clip_norm: float | None = None

    def __post_init__(self) -> None:
        for f in ("epochs", "batch_size"):
            v = getattr(self, f)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ConfigError(f"{f} must be a positive integer, got {v!r}")
        if not (math.isfinite(self.eta) and self.eta > 0):
            raise ConfigError(f"eta must be a positive number, got {self.eta!r}")
        if not (math.isfinite(self.lmbda) and self.lmbda >= 0):
            raise ConfigError(f"lmbda must be ≥ 0, got {self.lmbda!r}")
        if self.clip_norm is not None and not (
            math.isfinite(self.clip_norm) and self.clip_norm > 0
        ):
            raise ConfigError(f"clip_norm must be a positive number, got {self.clip_norm!r}")


@dataclass
class BatchedTrainResult:
    """accuracy [S, E] after each epoch (NaN for diverged seeds), seconds per epoch, and
    the indices of seeds whose parameters became non-finite."""

    accuracy: torch.Tensor
    seconds_per_epoch: list[float]
    diverged: list[int]


class BatchedTrainer:
    """SGD for a `BatchedNet` (all its seeds): ``BatchedTrainer(net, cfg).fit(train, test)``.
    ``train``/``test``: Split-like (``.images`` [n, n_0], ``.labels`` [n]) or (x, labels)."""

    def __init__(self, net: BatchedNet, config: BatchedTrainConfig):
        self.net, self.config = net, config
        self.generators = _shuffle_generators(net)
        self.diverged: set[int] = set()
        self.params: list[torch.Tensor] = list(net.parameters())
        self._decay: list[torch.Tensor] = net.decayed()

    def step(self, xb: torch.Tensor, yb: torch.Tensor, n: int) -> None:
        """One SGD step on per-seed mini-batches xb [S, m, n_0], one-hot yb [S, m, n_L]."""
        net, cfg = self.net, self.config
        for p in self.params:
            p.grad = None
        net.cost_fn(net(xb), yb).backward()  # Σ_s of each seed's mean cost
        grads = [cast(torch.Tensor, p.grad) for p in self.params]
        with torch.no_grad():
            if cfg.clip_norm is not None:
                _clip_per_seed(grads, cfg.clip_norm)
            c = cfg.eta * cfg.lmbda / n
            if c:
                torch._foreach_mul_(self._decay, 1.0 - c)
            torch._foreach_add_(self.params, grads, alpha=-cfg.eta)

    def fit(self, train: Any, test: Any | None = None) -> BatchedTrainResult:
        net, cfg = self.net, self.config
        dtype = net.linears[0].weight.dtype
        x, labels = _xy(train, net.sizes[-1], dtype)
        y = _one_hot(labels, net.sizes[-1], dtype)
        n, S, m = x.shape[0], net.n_seeds, cfg.batch_size
        if net.config.batchnorm and (m < 2 or n % m == 1):
            raise ConfigError("batch normalisation needs mini-batches of at least 2 examples")
        ev = None if test is None else _xy(test, net.sizes[-1], dtype)
        accs: list[list[float]] = []
        seconds: list[float] = []
        net.train()
        for _epoch in range(cfg.epochs):
            t0 = time.perf_counter()
            perms = torch.stack([torch.randperm(n, generator=g) for g in self.generators])
            for c0 in range(0, n, m):
                idx = perms[:, c0 : c0 + m]  # [S, mb]
                self.step(x[idx], y[idx], n)
            seconds.append(time.perf_counter() - t0)
            self._check_finite()
            if ev is not None:
                acc = net.accuracy(*ev)
                for s in self.diverged:
                    acc[s] = float("nan")
                accs.append(acc.tolist())
        acc_t = torch.tensor(accs, dtype=torch.float64).reshape(-1, S).T
        return BatchedTrainResult(acc_t, seconds, sorted(self.diverged))

    def _check_finite(self) -> None:
        for s in range(self.net.n_seeds):
            if s not in self.diverged and not all(
                bool(torch.isfinite(p[s]).all()) for p in self.params
            ):
                self.diverged.add(s)
