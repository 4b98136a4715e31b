"""An independent oracle for the chapter-5 experiments: ∂C/∂bˡ by torch.autograd in float64.

C = (1/n) Σₓ Σⱼ [−yⱼ ln aᴸⱼ − (1 − yⱼ) ln(1 − aᴸⱼ)] (network2's cross-entropy) for one seed of a
sigmoid `Network`, written from the definitions, not with gradprobe's backprop.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def bias_grads(net, s: int, x: torch.Tensor, labels: torch.Tensor) -> list[np.ndarray]:
    """[∂C/∂bˡ for every layer l] ([n_l] each, float64) of seed index ``s`` of ``net``."""
    ws = [w[s].detach().double() for w in net.weights]
    bs = [b[s].detach().double().clone().requires_grad_(True) for b in net.biases]
    a = x.double()
    for l, (w, b) in enumerate(zip(ws, bs)):
        z = a @ w.T + b
        a = torch.sigmoid(z) if l < len(ws) - 1 else z
    y = F.one_hot(labels, ws[-1].shape[0]).double()
    cost = F.binary_cross_entropy_with_logits(a, y, reduction="sum") / x.shape[0]
    grads = torch.autograd.grad(cost, bs)
    return [g.numpy() for g in grads]


def speeds(net, s: int, x: torch.Tensor, labels: torch.Tensor) -> np.ndarray:
    """‖∂C/∂bˡ‖ of every hidden layer of seed index ``s`` ([H], float64)."""
    return np.array([np.linalg.norm(g) for g in bias_grads(net, s, x, labels)[:-1]])
