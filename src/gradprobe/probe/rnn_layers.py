"""Run an ``nn.RNN``/``nn.LSTM``/``nn.GRU`` one stacked layer and one direction at a time.

PyTorch runs a multi-layer (or bidirectional) recurrent module as one fused kernel: the hidden
sequence of layer l < L − 1, the input xˡ of layer l + 1, never appears as a tensor, so no hook
can read ∂L/∂xˡ_t. :func:`run_by_layer` computes what the module computes, with the module's
own parameters and the same kernels (``torch._VF.lstm``/``gru``/``rnn_tanh``/``rnn_relu``,
called once per layer and direction with ``num_layers=1``, ``bidirectional=False``; the
reverse direction sees its input reversed in time, per sequence for a PackedSequence), and
lets a caller wrap each layer's and direction's input xˡ (before the reversal, so position t
stays position t) in an identity of its choice — an autograd tap. Same output as the fused
call up to float rounding (the fused CPU kernel sums in another order: 1e-16 relative in
float64), same gradients for the parameters.

What it does not do: inter-layer dropout in training mode (the fused kernel draws its own
masks: the masks cannot be reproduced, so :func:`supported` says no), and modules that are not
the plain ``nn.RNNBase`` subclasses (their ``mode`` is unknown).

Shapes: x is [T, B, F] ([B, T, F] with ``batch_first``), unbatched [T, F], or a
PackedSequence with ``data`` [N, F]; hx as the module takes it ([L·D, B, H], a pair for the
LSTM; H the projection size for ``h`` of an LSTM with ``proj_size``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import _VF, Tensor, nn
from torch.nn.utils.rnn import PackedSequence

#: ``tap(x, l, d, time_index)``: x the input of layer l, direction d (rows [N, F] of a packed
#: sequence with ``time_index`` [N] their step, or the dense [T, B, F]/[B, T, F] tensor with
#: ``time_index`` None); returns the tensor to use in its place (an identity on its value).
Tap = Callable[[Tensor, int, int, Tensor | None], Tensor]

_KERNELS = {"LSTM": "lstm", "GRU": "gru", "RNN_TANH": "rnn_tanh", "RNN_RELU": "rnn_relu"}


def shape_of(module: nn.Module) -> tuple[int, int]:
    """(number of stacked layers L, directions D) of a recurrent module."""
    return int(getattr(module, "num_layers", 1)), (
        2 if getattr(module, "bidirectional", False) else 1
    )


def layer_name(path: str, layer: int, direction: int) -> str:
    """The probe's layer name of stacked layer ``layer``, direction ``direction`` of the module
    at ``path``: ``"lstm.l1"``, ``"lstm.l1_reverse"`` (the one naming, used by
    :func:`gradprobe.probe.layers.discover_layers` and the through-time quantity's rows)."""
    return f"{path}.l{layer}{'_reverse' if direction else ''}"


def supported(module: nn.Module) -> bool:
    """Whether :func:`run_by_layer` reproduces ``module``'s forward pass exactly: a plain
    RNN/LSTM/GRU, and no inter-layer dropout in training mode."""
    if not isinstance(module, nn.RNNBase) or str(module.mode) not in _KERNELS:
        return False
    L, _ = shape_of(module)
    return not (L > 1 and module.training and float(module.dropout) > 0)


def _weights(module: nn.RNNBase, layer: int, direction: int) -> list[Tensor]:
    sfx = f"_l{layer}{'_reverse' if direction else ''}"
    names = [f"weight_ih{sfx}", f"weight_hh{sfx}"]
    if module.bias:
        names += [f"bias_ih{sfx}", f"bias_hh{sfx}"]
    if int(getattr(module, "proj_size", 0) or 0) > 0:
        names.append(f"weight_hr{sfx}")
    return [getattr(module, n) for n in names]


def _packed_reverse_index(batch_sizes: Tensor, device: torch.device) -> tuple[Tensor, Tensor]:
    """For packed rows (time-major, sequences sorted by decreasing length): ``time`` [N], the
    step of each row, and ``rev`` [N], the row holding the same sequence's step len − 1 − t
    (an involution: reversing each sequence in time)."""
    sizes = batch_sizes.to("cpu", torch.long).numpy()  # rows of each time step [T]
    T = sizes.size
    offsets = np.cumsum(sizes) - sizes  # first row of each step
    time = np.repeat(np.arange(T), sizes)  # [N]
    b = np.arange(time.size) - offsets[time]  # each row's sequence
    lengths = (sizes[None, :] > np.arange(sizes[0] if T else 0)[:, None]).sum(1)  # [B]
    rev = offsets[lengths[b] - 1 - time] + b
    return (
        torch.from_numpy(time).to(device),
        torch.from_numpy(rev).to(device),
    )


def run_by_layer(module: nn.Module, x: Any, hx: Any = None, tap: Tap | None = None) -> Any:
    """``module(x, hx)`` one stacked layer and direction at a time (see the module docstring);
    returns what the module returns: ``(output, h_n)``, ``(output, (h_n, c_n))`` for the LSTM.
    Raises ``ValueError`` when :func:`supported` is False."""
    if not supported(module):
        raise ValueError(f"run_by_layer cannot reproduce this {type(module).__name__}")
    assert isinstance(module, nn.RNNBase)
    kernel = getattr(_VF, _KERNELS[str(module.mode)])
    lstm = module.mode == "LSTM"
    L, D = shape_of(module)
    H = int(module.hidden_size)
    Hout = int(getattr(module, "proj_size", 0) or 0) or H
    packed = isinstance(x, PackedSequence)
    unbatched = False
    if packed:
        data, sizes = x.data, x.batch_sizes
        B = int(sizes[0])
        time, rev = _packed_reverse_index(sizes, data.device)
    else:
        data = x
        if data.dim() == 2:
            unbatched = True
            data = data.unsqueeze(0 if module.batch_first else 1)
            if hx is not None:
                hx = tuple(h.unsqueeze(1) for h in hx) if lstm else hx.unsqueeze(1)
        B = int(data.shape[0 if module.batch_first else 1])
        tdim = 1 if module.batch_first else 0
    if hx is None:
        z = data.new_zeros(L * D, B, Hout)
        hx = (z, data.new_zeros(L * D, B, H)) if lstm else z
    elif packed:
        hx = module.permute_hidden(hx, x.sorted_indices)  # type: ignore[operator]
    h_n: list[Tensor] = []
    c_n: list[Tensor] = []
    inp = data
    for layer in range(L):
        outs = []
        for d in range(D):
            k = layer * D + d
            xin = inp if tap is None else tap(inp, layer, d, time if packed else None)
            if d:
                xin = xin.index_select(0, rev) if packed else xin.flip(tdim)
            h0: Any = (hx[0][k : k + 1], hx[1][k : k + 1]) if lstm else hx[k : k + 1]
            w = _weights(module, layer, d)
            bias = bool(module.bias)
            if packed:
                res = kernel(xin, sizes, h0, w, bias, 1, 0.0, module.training, False)
            else:
                res = kernel(xin, h0, w, bias, 1, 0.0, module.training, False, module.batch_first)
            out = res[0]
            if d:
                out = out.index_select(0, rev) if packed else out.flip(tdim)
            outs.append(out)
            h_n.append(res[1])
            if lstm:
                c_n.append(res[2])
        inp = torch.cat(outs, -1) if D == 2 else outs[0]
    hidden: Any = (torch.cat(h_n, 0), torch.cat(c_n, 0)) if lstm else torch.cat(h_n, 0)
    if packed:
        hidden = module.permute_hidden(hidden, x.unsorted_indices)  # type: ignore[operator]
        return PackedSequence(inp, sizes, x.sorted_indices, x.unsorted_indices), hidden
    if unbatched:
        inp = inp.squeeze(0 if module.batch_first else 1)
        hidden = tuple(h.squeeze(1) for h in hidden) if lstm else hidden.squeeze(1)
    return inp, hidden


def first_nonfinite_layer(module: nn.Module, x: Any, hx: Any = None) -> tuple[int, int] | None:
    """(layer, direction) of the first stacked layer and direction, in the order the fused
    kernel runs them (layer 0 forward, layer 0 reverse, layer 1 …), whose output sequence is
    non-finite although its input is finite (the input of layer l > 0 is the output of layer
    l − 1, all finite when no earlier one was flagged). None when every output is finite, when
    the module's input is already non-finite, or when :func:`supported` is False. Runs without
    gradients (a replay on the fault path only)."""
    if not supported(module):
        return None
    data = x.data if isinstance(x, PackedSequence) else x
    L, D = shape_of(module)
    inputs: list[Tensor] = []

    def keep(t: Tensor, layer: int, d: int, time: Tensor | None) -> Tensor:
        if d == 0:
            inputs.append(t)
        return t

    with torch.no_grad():
        if not bool(torch.isfinite(data).all()):
            return None
        out = run_by_layer(module, x, hx, keep)
    last = out[0].data if isinstance(out[0], PackedSequence) else out[0]
    seqs = [*inputs[1:], last]  # the output sequence of layer l: both directions, last dim
    for layer in range(L):
        width = seqs[layer].shape[-1] // D
        for d in range(D):
            if not bool(torch.isfinite(seqs[layer][..., d * width : (d + 1) * width]).all()):
                return layer, d
    return None
