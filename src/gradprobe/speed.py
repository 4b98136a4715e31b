"""The book's speed of learning: ‖∂C/∂bˡ‖ for each hidden layer l (chapter 5).

Nielsen measures how fast each hidden layer learns as the length of its bias gradient,
averaged over the first 1000 training images:

    speedˡ = ‖(1/n) Σₓ ∂Cₓ/∂bˡ‖ = ‖(1/n) Σₓ δˡ‖

and finds, for [784, 30, 30, 10] at initialisation, 0.07 for the first hidden layer against
0.31 for the second: the earlier layer learns slower.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .backprop import backprop
from .errors import ConfigError, DataError
from .nets import Network


@dataclass
class LearningSpeed:
    """Per-seed, per-hidden-layer gradient statistics of the mean cost C = (1/n) Σₓ Cₓ.

    speed:            [S, H]  ‖∂C/∂bˡ‖ for the H hidden layers, first hidden layer first
    bias_grad:        H tensors [S, n_l], the per-neuron ∂C/∂bˡⱼ
    weight_grad_norm: [S, H]  ‖∂C/∂wˡ‖ (Frobenius; the unregularised cost)
    """

    speed: torch.Tensor
    bias_grad: list[torch.Tensor]
    weight_grad_norm: torch.Tensor

    @property
    def median(self) -> torch.Tensor:
        """[H] float64, the median over seeds of each hidden layer's speed: `quantile` (0.5),
        the mean of the two middle values for an even number of seeds (NumPy's definition),
        so it always lies between the 10 % and 90 % quantiles."""
        return self.quantile(0.5)

    def quantile(self, q: float) -> torch.Tensor:
        """[H] float64, the q-quantile over seeds of each hidden layer's speed (linear
        interpolation, as ``numpy.quantile``)."""
        return torch.quantile(self.speed.double(), q, dim=0)


@torch.no_grad()
def learning_speed(
    net: Network, x: torch.Tensor, y: torch.Tensor, *, chunk: int = 10_000
) -> LearningSpeed:
    """Speed of learning of every hidden layer of every seed.

    x: [n, n_0] inputs; y: [n, n_L] one-hot targets (or [n] integer labels). The gradient is of
    the mean cost over all n examples, accumulated in chunks of ``chunk`` examples.
    """
    n_out = net.sizes[-1]
    if x.dim() != 2 or x.shape[1] != net.sizes[0]:
        raise ConfigError(
            f"inputs of shape {tuple(x.shape)} do not fit the network's input layer of "
            f"{net.sizes[0]} neurons (expected [n, {net.sizes[0]}])"
        )
    if y.dim() == 1:
        if y.numel() and (int(y.min()) < 0 or int(y.max()) >= n_out):
            raise DataError(
                f"labels must lie in 0 … {n_out - 1} for {n_out} output neurons, "
                f"found {int(y.min())} … {int(y.max())}"
            )
        y = torch.nn.functional.one_hot(y.long(), n_out).to(x.dtype)
    if y.shape != (x.shape[0], n_out):
        raise DataError(f"targets of shape {tuple(y.shape)}; expected [{x.shape[0]}, {n_out}]")
    if x.shape[0] == 0:
        raise DataError("no examples to measure the speed of learning on")
    n = x.shape[0]
    sum_b: list[torch.Tensor] | None = None
    sum_w: list[torch.Tensor] | None = None
    for i in range(0, n, chunk):
        g = backprop(net, x[i : i + chunk], y[i : i + chunk])
        if sum_b is None or sum_w is None:
            sum_b, sum_w = g.bias, g.weight
        else:
            sum_b = [s + t for s, t in zip(sum_b, g.bias)]
            sum_w = [s + t for s, t in zip(sum_w, g.weight)]
    assert sum_b is not None and sum_w is not None
    hidden = range(len(net.layers) - 1)
    bias_grad = [sum_b[l] / n for l in hidden]
    speed = torch.stack([b.norm(dim=-1) for b in bias_grad], dim=-1)
    wnorm = torch.stack([(sum_w[l] / n).flatten(1).norm(dim=-1) for l in hidden], dim=-1)
    return LearningSpeed(speed=speed, bias_grad=bias_grad, weight_grad_norm=wnorm)
