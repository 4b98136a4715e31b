"""An independent, unrolled reference for per-layer, per-direction ‖∂L/∂xˡ_t‖ (tests only).

Each sequence of the batch runs on its own (its own length: what a PackedSequence means),
cell by cell with the textbook equations of PyTorch's gate order, every stacked layer and
direction in a Python loop. Layer l's input sequence enters direction d as xˡ + zˡ_d, with
zˡ_d a zero leaf: ∂L/∂zˡ_d is the gradient reaching xˡ through direction d of layer l (and
everything it feeds). Shares no code with the probe or with ``gradprobe.recurrent``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn


def _cell(mode: str, w: list[Tensor], x: Tensor, h: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
    w_ih, w_hh, b_ih, b_hh = w
    gi, gh = w_ih @ x + b_ih, w_hh @ h + b_hh
    if mode == "LSTM":
        i, f, g, o = (gi + gh).chunk(4)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c
    if mode == "GRU":
        ir, iz, inn = gi.chunk(3)
        hr, hz, hn = gh.chunk(3)
        r, z = torch.sigmoid(ir + hr), torch.sigmoid(iz + hz)
        n = torch.tanh(inn + r * hn)
        return (1 - z) * n + z * h, c
    pre = gi + gh
    return (torch.tanh(pre) if mode == "RNN_TANH" else torch.relu(pre)), c


def reference_profiles(
    rnn: nn.RNNBase, seqs: list[Tensor], cost: Callable[[int, Tensor], Tensor]
) -> dict[str, list[float]]:
    """``seqs``: one [len_b, F] tensor per sequence; ``cost(b, out_b)`` the part of the scalar
    cost that sequence b's output [len_b, D·H] contributes (the cost must be a sum over b).
    Returns ``{"l0": [‖∂L/∂x⁰_t‖ …], "l0_reverse": …, "l1": …}`` over the batch, t < max len."""
    L, D, H = rnn.num_layers, 2 if rnn.bidirectional else 1, rnn.hidden_size
    T = max(int(s.shape[0]) for s in seqs)
    acc: dict[str, Tensor] = {}
    for b, x in enumerate(seqs):
        n = int(x.shape[0])
        inp = x
        leaves: dict[str, Tensor] = {}
        for layer in range(L):
            outs = []
            for d in range(D):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                kinds = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
                w = [getattr(rnn, k + sfx) for k in kinds]
                z = torch.zeros_like(inp, requires_grad=True)
                leaves[f"l{layer}" + ("_reverse" if d else "")] = z
                xin = inp + z
                h = x.new_zeros(H)
                c = x.new_zeros(H)
                hs: list[Tensor] = [x.new_zeros(H)] * n
                for t in reversed(range(n)) if d else range(n):
                    h, c = _cell(str(rnn.mode), w, xin[t], h, c)
                    hs[t] = h
                outs.append(torch.stack(hs))
            inp = torch.cat(outs, 1)
        cost(b, inp).backward()
        for name, z in leaves.items():
            assert z.grad is not None
            sq = torch.zeros(T, dtype=torch.float64)
            sq[:n] = z.grad.pow(2).sum(1)
            acc[name] = acc.get(name, torch.zeros(T, dtype=torch.float64)) + sq
    return {k: v.sqrt().tolist() for k, v in acc.items()}
