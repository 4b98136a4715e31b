"""Gradients through time: tasks, per-timestep gradient norms of recurrent layers, and their
reduction to a decay rate, an effective memory and a finding.

The book's chain (ch. 5) multiplies one factor wⱼσ′(zⱼ) per *layer*; a recurrent net multiplies
one Jacobian ∂h_{t+1}/∂h_t = diag(σ′(z_{t+1}))·W_hh per *time step*, with the same W_hh every
step, so the gradient ‖∂L/∂h_t‖ shrinks or grows geometrically in T − t (Pascanu, Mikolov &
Bengio 2013: it vanishes when the largest singular value of W_hh is below 1/γ, γ = max σ′ —
1 for tanh, ¼ for the sigmoid).

What is here (engine level: imports torch and `errors` only):

* tasks: `adding_problem` (Hochreiter & Schmidhuber 1997) and `memory_task` (recall the first
  symbol after T − 1 blanks), with their constant-prediction baselines computed from data;
* `SigmoidRNN`: an Elman layer with σ instead of tanh (nn.RNN has none), same parameter names;
* `TimestepGradients`: the standalone measurement. While active it replaces the forward of an
  ``nn.RNN``/``nn.LSTM``/``nn.GRU``/`SigmoidRNN` by an unrolled one with the same parameters
  and the same result (checked against the module in tests), registers a tensor hook on every
  hidden state h_t of every stacked layer and direction, and after ``loss.backward()`` holds
  ‖∂L/∂h_t‖ for every t: the *total* derivative through all later steps. (A hook on the fused
  module's output tensor would see only the direct part ∂L/∂out_t, not the path through
  h_{t+1}; hence the unrolling.) ``batch_first``, packed sequences, bidirectional and stacked
  modules are handled; padded steps contribute nothing.
* `analyze_profile`: a profile → decay factor per step, half-life, effective memory, the ratio
  of the gradient reaching the earliest step to the one where it enters, and a finding record
  (``vanishing-through-time`` / ``exploding-through-time``) with severity and remedies.
* `set_spectral_radius`, `set_forget_bias`: initialisations used by the lab.

Shapes: B batch, T time steps, H hidden units, L stacked layers, D directions (1 or 2).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pad_packed_sequence

from .errors import ConfigError

# -- tasks ---------------------------------------------------------------------------------------


def adding_problem(
    batch: int, length: int, generator: torch.Generator, dtype: torch.dtype = torch.float32
) -> tuple[Tensor, Tensor]:
    """The adding problem: x [B, T, 2] (channel 0 values ~ U(0, 1), channel 1 two markers, one
    in the first half and one in the second), target y [B, 1] = the sum of the two marked
    values. Predicting the constant E[y] = 1 gives MSE = Var(y) = 2/12 ≈ 0.167."""
    if length < 2:
        raise ConfigError(f"adding problem needs T ≥ 2, got {length}")
    values = torch.rand(batch, length, generator=generator, dtype=dtype)
    half = length // 2
    first = torch.randint(0, half, (batch,), generator=generator)
    second = torch.randint(half, length, (batch,), generator=generator)
    markers = torch.zeros(batch, length, dtype=dtype)
    rows = torch.arange(batch)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    y = (values * markers).sum(1, keepdim=True)
    return torch.stack([values, markers], dim=2), y


def memory_task(
    batch: int,
    length: int,
    symbols: int,
    generator: torch.Generator,
    dtype: torch.dtype = torch.float32,
) -> tuple[Tensor, Tensor]:
    """Recall the first symbol: x [B, T, K + 1] one-hot (a symbol of K at t = 0, then the blank
    channel K), target y [B] ∈ {0 … K − 1}. Guessing gives cross-entropy ln K."""
    if length < 1 or symbols < 2:
        raise ConfigError(f"memory task needs T ≥ 1 and ≥ 2 symbols, got {length}, {symbols}")
    y = torch.randint(0, symbols, (batch,), generator=generator)
    x = torch.zeros(batch, length, symbols + 1, dtype=dtype)
    x[:, 1:, symbols] = 1.0
    x[torch.arange(batch), 0, y] = 1.0
    return x, y


def constant_mse(train_y: Tensor, test_y: Tensor) -> float:
    """MSE on ``test_y`` of the best constant learned from ``train_y`` (its mean): the baseline
    a sequence model must beat."""
    return float(((test_y - train_y.mean()) ** 2).mean())


def constant_cross_entropy(train_y: Tensor, test_y: Tensor, classes: int) -> float:
    """Cross-entropy on ``test_y`` of predicting the class frequencies of ``train_y``."""
    freq = torch.bincount(train_y, minlength=classes).double() + 1e-12
    logp = torch.log(freq / freq.sum())
    return float(-logp[test_y].mean())


# -- a sigmoid Elman layer -----------------------------------------------------------------------


class SigmoidRNN(nn.Module):
    """h_t = σ(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh): one layer, one direction, nn.RNN's
    parameter names (``weight_ih_l0`` …) and init U(−1/√H, 1/√H), ``batch_first`` as nn.RNN.
    Input [B, T, F] (batch_first) or [T, B, F]; returns (output, h_n [1, B, H])."""

    mode = "RNN_SIGMOID"

    def __init__(self, input_size: int, hidden_size: int, batch_first: bool = False) -> None:
        super().__init__()
        self.input_size, self.hidden_size, self.batch_first = input_size, hidden_size, batch_first
        self.num_layers, self.bidirectional, self.bias, self.dropout, self.proj_size = (
            1,
            False,
            True,
            0.0,
            0,
        )
        k = 1 / math.sqrt(hidden_size)
        self.weight_ih_l0 = nn.Parameter(torch.empty(hidden_size, input_size).uniform_(-k, k))
        self.weight_hh_l0 = nn.Parameter(torch.empty(hidden_size, hidden_size).uniform_(-k, k))
        self.bias_ih_l0 = nn.Parameter(torch.empty(hidden_size).uniform_(-k, k))
        self.bias_hh_l0 = nn.Parameter(torch.empty(hidden_size).uniform_(-k, k))

    def forward(self, x: Any, hx: Any = None) -> tuple[Any, Any]:
        return unrolled_forward(self, x, hx)


RECURRENT_TYPES: tuple[type[nn.Module], ...] = (nn.RNN, nn.LSTM, nn.GRU, SigmoidRNN)


def is_recurrent(module: nn.Module) -> bool:
    """Whether `TimestepGradients` can measure ``module``."""
    return isinstance(module, RECURRENT_TYPES)


def _size(module: nn.Module, name: str) -> int:
    """An integer attribute of a recurrent module (typed as Tensor | Module by nn.Module)."""
    return int(getattr(module, name))


def layer_names(module: nn.Module) -> list[str]:
    """ "layer l" / "layer l reverse" for every stacked layer and direction, in hx order."""
    D = 2 if module.bidirectional else 1
    return [
        f"layer {layer}" + (" reverse" if d else "")
        for layer in range(_size(module, "num_layers"))
        for d in range(D)
    ]


# -- the unrolled forward ------------------------------------------------------------------------

#: Called with (index l·D + d, position map pos [B, T], valid [B, T], states [h_0 … h_{T−1}])
#: once per layer and direction; states[s] is the state after step s (of that direction).
StateSink = Callable[[int, Tensor, Tensor, list[Tensor]], None]


def _param(module: nn.Module, kind: str, layer: int, rev: bool) -> Tensor | None:
    return getattr(module, f"{kind}_l{layer}{'_reverse' if rev else ''}", None)  # type: ignore[no-any-return]


def unrolled_forward(
    module: nn.Module, x: Any, hx: Any = None, sink: StateSink | None = None
) -> tuple[Any, Any]:
    """``module(x, hx)`` computed step by step with the module's own parameters (same result as
    the fused kernel up to rounding). ``x`` is a tensor ([B, T, F] if batch_first else
    [T, B, F], or unbatched [T, F]) or a PackedSequence; returns what the module returns.
    ``sink`` receives every layer's and direction's hidden states (see `StateSink`)."""
    mode = str(getattr(module, "mode", ""))
    if mode not in ("RNN_TANH", "RNN_RELU", "RNN_SIGMOID", "LSTM", "GRU"):
        raise ConfigError(f"cannot unroll a {type(module).__name__} (mode {mode!r})")
    if int(getattr(module, "proj_size", 0) or 0) > 0:
        raise ConfigError("LSTM with proj_size > 0 is not supported by the unrolled measurement")
    packed = isinstance(x, PackedSequence)
    unbatched = False
    if packed:
        padded, lengths = pad_packed_sequence(x, batch_first=True)
        seq = padded
    else:
        if not isinstance(x, Tensor) or x.dim() not in (2, 3):
            raise ConfigError("input must be a 2-D/3-D tensor or a PackedSequence")
        seq = x
        if seq.dim() == 2:
            unbatched = True
            seq = seq.unsqueeze(0 if module.batch_first else 1)
        if not module.batch_first:
            seq = seq.transpose(0, 1)
        lengths = torch.full((seq.shape[0],), seq.shape[1], dtype=torch.long)
    B, T, _ = seq.shape
    H = _size(module, "hidden_size")
    L, D = _size(module, "num_layers"), (2 if module.bidirectional else 1)
    lstm = mode == "LSTM"
    h0: Tensor | None
    c0: Tensor | None = None
    if hx is None:
        h0 = None
    elif lstm:
        h0, c0 = hx
    else:
        h0 = hx
    if unbatched and h0 is not None:
        h0 = h0.unsqueeze(1)
        c0 = c0.unsqueeze(1) if c0 is not None else None
    steps = torch.arange(T).unsqueeze(0).expand(B, T)
    valid = steps < lengths.to(steps.device).unsqueeze(1)  # [B, T]
    rev_pos = torch.where(valid, lengths.unsqueeze(1) - 1 - steps, steps)
    zero = seq.new_zeros(B, H)
    layer_in = seq
    h_n: list[Tensor] = []
    c_n: list[Tensor] = []
    for layer in range(L):
        outs = []
        for d in range(D):
            idx = layer * D + d
            pos = rev_pos if d else steps
            xin = layer_in.gather(1, pos.unsqueeze(2).expand(-1, -1, layer_in.shape[2]))
            w_ih, w_hh = (
                _param(module, "weight_ih", layer, bool(d)),
                _param(module, "weight_hh", layer, bool(d)),
            )
            b_ih, b_hh = (
                _param(module, "bias_ih", layer, bool(d)),
                _param(module, "bias_hh", layer, bool(d)),
            )
            assert w_ih is not None and w_hh is not None
            # [B, G·H] per step; unbind, not xw[:, s]: the backward of each slice would
            # materialise a zero tensor of xw's full size (T× the work and memory).
            xw = torch.nn.functional.linear(xin, w_ih, b_ih).unbind(1)
            h = zero if h0 is None else h0[idx]
            c = zero if c0 is None else c0[idx]
            states: list[Tensor] = []
            for s in range(T):
                hw = torch.nn.functional.linear(h, w_hh, b_hh)
                xs = xw[s]
                if lstm:
                    i, f, g, o = (xs + hw).chunk(4, 1)
                    c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                    h_new = torch.sigmoid(o) * torch.tanh(c_new)
                elif mode == "GRU":
                    xr, xz, xn = xs.chunk(3, 1)
                    hr, hz, hn = hw.chunk(3, 1)
                    r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
                    n = torch.tanh(xn + r * hn)
                    h_new = (1 - z) * n + z * h
                else:
                    pre = xs + hw
                    h_new = (
                        torch.tanh(pre)
                        if mode == "RNN_TANH"
                        else torch.relu(pre)
                        if mode == "RNN_RELU"
                        else torch.sigmoid(pre)
                    )
                keep = valid[:, s : s + 1]
                if packed:
                    h = torch.where(keep, h_new, h)
                    if lstm:
                        c = torch.where(keep, c_new, c)
                else:
                    h = h_new
                    if lstm:
                        c = c_new
                states.append(h)
            if sink is not None:
                sink(idx, pos, valid, states)
            out = torch.stack(states, 1)  # [B, T, H] in step order
            out = out.gather(1, pos.unsqueeze(2).expand(-1, -1, H))  # to positions (involution)
            outs.append(out * valid.unsqueeze(2).to(out.dtype))
            h_n.append(h)
            c_n.append(c)
        layer_in = torch.cat(outs, 2) if D == 2 else outs[0]
        p = float(getattr(module, "dropout", 0.0) or 0.0)
        if layer < L - 1 and p > 0 and module.training:
            layer_in = torch.nn.functional.dropout(layer_in, p, True)
    hn = torch.stack(h_n, 0)
    hidden: Any = (hn, torch.stack(c_n, 0)) if lstm else hn
    if packed:
        sorted_idx = x.sorted_indices
        po = layer_in if sorted_idx is None else layer_in[sorted_idx]
        bs = x.batch_sizes
        data = torch.cat([po[: int(bs[t]), t] for t in range(bs.numel())], 0)
        return PackedSequence(data, bs, x.sorted_indices, x.unsorted_indices), hidden
    output = layer_in if module.batch_first else layer_in.transpose(0, 1)
    if unbatched:
        output = output.squeeze(0 if module.batch_first else 1)
        hidden = tuple(t.squeeze(1) for t in hidden) if lstm else hidden.squeeze(1)
    return output, hidden


# -- the standalone measurement ------------------------------------------------------------------


class TimestepGradients:
    """Per-timestep ‖∂L/∂h_t‖ of every stacked layer and direction of a recurrent module.

    Use::

        with TimestepGradients(model.rnn) as tg:
            loss = loss_fn(model(x))
            loss.backward()
        profile = tg.profile()      # {"layer 0": [‖∂L/∂h_0‖, …, ‖∂L/∂h_{T−1}‖], …}

    While active, the module's forward is the unrolled one (`unrolled_forward`, same
    parameters, same output); a tensor hook on each h_t [B, H] adds Σ_b Σ_j (∂L/∂h_t)²_{bj} of
    the valid (unpadded) sequences to position t's total. t is the position in the sequence
    (for the reverse direction too). The norm is the Frobenius norm over the batch and the
    hidden units of the gradient of the scalar loss (use the loss you train with: a batch mean
    makes it 1/B of the sum). Several forwards inside one ``with`` accumulate.
    """

    def __init__(self, module: nn.Module) -> None:
        if not is_recurrent(module):
            raise ConfigError(
                "TimestepGradients measures nn.RNN/LSTM/GRU or SigmoidRNN, "
                f"got {type(module).__name__}"
            )
        self.module = module
        self.names = layer_names(module)
        self._sq: dict[int, Tensor] = {}
        self._active = False

    def _sink(self, idx: int, pos: Tensor, valid: Tensor, states: list[Tensor]) -> None:
        T = len(states)
        acc = self._sq.get(idx)
        if acc is None or acc.numel() != T:
            acc = torch.zeros(T, dtype=torch.float64)
            self._sq[idx] = acc
        for s, h in enumerate(states):
            if not h.requires_grad:
                continue
            p, v = pos[:, s], valid[:, s]

            def hook(g: Tensor, p: Tensor = p, v: Tensor = v, acc: Tensor = acc) -> None:
                contrib = (g.detach().double() ** 2).sum(1) * v.double()
                acc.index_put_((p,), contrib, accumulate=True)

            h.register_hook(hook)

    def __enter__(self) -> TimestepGradients:
        module = self.module

        def forward(x: Any, hx: Any = None) -> tuple[Any, Any]:
            return unrolled_forward(module, x, hx, sink=self._sink)

        self._saved = module.__dict__.get("forward")
        module.forward = forward  # type: ignore[method-assign]
        self._active = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self._saved is None:
            del self.module.forward
        else:
            self.module.forward = self._saved  # type: ignore[method-assign]
        self._active = False

    def reset(self) -> None:
        self._sq.clear()

    def profile(self) -> dict[str, list[float]]:
        """{layer name: [‖∂L/∂h_t‖ for t = 0 … T − 1]} of what was measured so far."""
        return {self.names[i]: acc.sqrt().tolist() for i, acc in sorted(self._sq.items())}

    def findings(self) -> list[dict[str, Any]]:
        """`findings` of the profile, with remedies fitting this module's cell."""
        return findings(self.profile(), mode=str(getattr(self.module, "mode", "")))


def timestep_grad_norms(module: nn.Module, run: Callable[[], Tensor]) -> dict[str, list[float]]:
    """``run()`` computes a scalar loss with ``module`` inside; returns the per-timestep profile
    of `TimestepGradients` after backpropagating it (parameter .grad fields are accumulated as
    by any backward: zero them yourself if needed)."""
    with TimestepGradients(module) as tg:
        loss = run()
        loss.backward()
    return tg.profile()


# -- analysis ------------------------------------------------------------------------------------

#: A profile is a finding when the gradient reaching the earliest step is below this fraction
#: of the one where it enters (vanishing) or above its inverse (exploding).
VANISH_RATIO = 1e-3
EXPLODE_RATIO = 1e3
#: Severe beyond this (10⁻⁶, 10⁶).
SEVERE_RATIO = 1e-6
#: Effective memory: steps back over which the gradient stays ≥ this fraction of its entry value.
MEMORY_FRACTION = 1e-2

REMEDIES_VANISHING = (
    "use a gated cell (LSTM or GRU) instead of a plain RNN",
    "set the LSTM forget-gate bias to 1 (Jozefowicz et al. 2015)",
    "initialise the recurrent matrix orthogonal or as the identity (spectral radius ≈ 1)",
    "truncate backpropagation through time to about the effective memory, or shorten sequences",
)
REMEDIES_EXPLODING = (
    "clip the gradient by norm (Pascanu et al. 2013): torch.nn.utils.clip_grad_norm_",
    "initialise the recurrent matrix orthogonal or scaled to spectral radius ≤ 1",
    "use a gated cell (LSTM or GRU)",
    "truncate backpropagation through time, or lower the learning rate",
)


@dataclass
class TimeProfileAnalysis:
    """What a per-timestep profile says, in processing order of its direction.

    ``entry``: the latest processed step that receives gradient (where it enters);
    ``ratio``: ‖∂L/∂h‖ at the earliest processed step / at ``entry`` (0 if it underflowed);
    ``decay_per_step``: geometric factor per step backwards, exp(−slope) of a least-squares fit
    of ln‖∂L/∂h‖ against the step over the nonzero steps up to ``entry`` (< 1: vanishing);
    ``half_life``: steps for the gradient to halve (None unless vanishing);
    ``memory``: steps back from ``entry`` over which it stays ≥ `MEMORY_FRACTION` of its entry
    value (``memory_whole`` when that is the whole sequence);
    ``kind``: "vanishing-through-time" / "exploding-through-time" / None; ``severity``.
    """

    layer: str
    steps: int
    entry: int
    ratio: float
    decay_per_step: float
    half_life: float | None
    memory: int
    memory_whole: bool
    kind: str | None
    severity: str | None
    message: str
    remedies: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


def decay_fit(norms: Sequence[float]) -> float:
    """exp(−slope) of the least-squares line through (s, ln norms[s]) over the positive, finite
    entries: the mean factor per step backwards (NaN with fewer than two such entries)."""
    pts = [(s, math.log(v)) for s, v in enumerate(norms) if v > 0 and math.isfinite(v)]
    if len(pts) < 2:
        return math.nan
    n = len(pts)
    ms = sum(s for s, _ in pts) / n
    ml = sum(v for _, v in pts) / n
    var = sum((s - ms) ** 2 for s, _ in pts)
    slope = sum((s - ms) * (v - ml) for s, v in pts) / var
    return math.exp(-slope)


def analyze_profile(
    norms: Sequence[float], layer: str = "layer 0", *, reverse: bool | None = None
) -> TimeProfileAnalysis:
    """Reduce a profile [T] (positions 0 … T − 1) to a `TimeProfileAnalysis`. ``reverse`` (by
    default: whether ``layer`` ends in "reverse") reads it in the reverse direction's order."""
    rev = layer.endswith("reverse") if reverse is None else reverse
    p = [float(v) for v in (reversed(norms) if rev else norms)]
    T = len(p)
    nz = [s for s, v in enumerate(p) if v > 0]
    if T == 0 or not nz:
        return TimeProfileAnalysis(
            layer,
            T,
            -1,
            math.nan,
            math.nan,
            None,
            0,
            False,
            None,
            None,
            f"{layer}: no gradient reached any step",
        )
    entry = nz[-1]
    ratio = p[0] / p[entry]
    decay = decay_fit(p[: entry + 1])
    half = math.log(2) / -math.log(decay) if 0 < decay < 1 else None
    memory = 0
    for s in range(entry - 1, -1, -1):
        if p[s] < MEMORY_FRACTION * p[entry]:
            break
        memory += 1
    whole = memory == entry
    kind = severity = None
    remedies: list[str] = []
    span = entry  # steps the gradient travelled
    t0 = (T - 1) if rev else 0
    te = (T - 1 - entry) if rev else entry
    if ratio < VANISH_RATIO:
        kind, remedies = "vanishing-through-time", list(REMEDIES_VANISHING)
        severity = "severe" if ratio < SEVERE_RATIO else "moderate"
    elif ratio > EXPLODE_RATIO:
        kind, remedies = "exploding-through-time", list(REMEDIES_EXPLODING)
        severity = "severe" if ratio > 1 / SEVERE_RATIO else "moderate"
    mem = f"≥ {memory} steps (the whole sequence)" if whole else f"{memory} steps"
    msg = (
        f"{layer}: the gradient reaching t = {t0} is {ratio:.2g} of the one at t = {te} "
        f"({span} steps back); factor {decay:.3g} per step"
        + (f", halving every {half:.3g} steps" if half is not None else "")
        + f"; effective memory {mem} (≥ {MEMORY_FRACTION:g} of its entry value)"
    )
    return TimeProfileAnalysis(
        layer, T, entry, ratio, decay, half, memory, whole, kind, severity, msg, remedies
    )


def analyze(profile: dict[str, list[float]]) -> list[TimeProfileAnalysis]:
    """`analyze_profile` of every layer and direction of a `TimestepGradients.profile`."""
    return [analyze_profile(v, k) for k, v in profile.items()]


def findings(profile: dict[str, list[float]], mode: str | None = None) -> list[dict[str, Any]]:
    """Finding records (kind, severity, layer, message, remedies and the numbers) of the layers
    whose profile vanishes or explodes through time; [] if none does. ``mode`` (the module's
    ``mode``: "LSTM", "GRU", "RNN_TANH" …) drops remedies that do not apply: "use a gated cell"
    for LSTM/GRU, the forget-gate bias for anything but an LSTM."""
    out = []
    for a in analyze(profile):
        if a.kind is None:
            continue
        d = a.to_dict()
        if mode is not None:
            d["remedies"] = remedies_for(a.remedies, mode)
        out.append(d)
    return out


def remedies_for(remedies: Sequence[str], cell: str) -> list[str]:
    """``remedies`` without those that do not apply to ``cell`` (a module's ``mode`` or type
    name: "LSTM", "GRU", "RNN_TANH", "RNN" …): "use a gated cell" for an LSTM or GRU, the
    forget-gate bias for anything but an LSTM."""
    return [
        r
        for r in remedies
        if not (cell in ("LSTM", "GRU") and "gated cell" in r)
        and not (cell != "LSTM" and "forget-gate" in r)
    ]


# -- initialisations -----------------------------------------------------------------------------


def recurrent_weights(module: nn.Module) -> Iterator[Tensor]:
    """Every W_hh of ``module`` (all layers and directions)."""
    for name, p in module.named_parameters():
        if name.startswith("weight_hh"):
            yield p


def set_spectral_radius(
    module: nn.Module, radius: float, generator: torch.Generator, *, orthogonal: bool = True
) -> None:
    """W_hh ← radius · Q per gate block, Q a random orthogonal matrix (every singular value =
    spectral radius = ``radius``), or a Gaussian matrix rescaled to that spectral radius
    (``orthogonal=False``)."""
    if not radius >= 0:
        raise ConfigError(f"spectral radius must be ≥ 0, got {radius!r}")
    with torch.no_grad():
        for w in recurrent_weights(module):
            H = w.shape[1]
            for g in range(w.shape[0] // H):
                a = torch.randn(H, H, generator=generator, dtype=torch.float64)
                if orthogonal:
                    q, r = torch.linalg.qr(a)
                    m = q * torch.sign(torch.diagonal(r))
                else:
                    m = a / torch.linalg.eigvals(a).abs().max()
                w[g * H : (g + 1) * H] = (radius * m).to(w.dtype)


def set_forget_bias(lstm: nn.LSTM, value: float = 1.0) -> None:
    """Forget-gate bias (the second of the four gate blocks) = ``value``: b_ih's block ← value,
    b_hh's block ← 0 (their sum is what the gate sees)."""
    if not isinstance(lstm, nn.LSTM):
        raise ConfigError("set_forget_bias needs an nn.LSTM")
    H = lstm.hidden_size
    with torch.no_grad():
        for name, p in lstm.named_parameters():
            if name.startswith("bias_ih"):
                p[H : 2 * H] = value
            elif name.startswith("bias_hh"):
                p[H : 2 * H] = 0.0


def gamma(nonlinearity: str) -> float:
    """γ = max σ′ of the recurrent nonlinearity: 1 for tanh (and relu), ¼ for the sigmoid."""
    table = {"tanh": 1.0, "relu": 1.0, "sigmoid": 0.25}
    if nonlinearity not in table:
        raise ConfigError(f"unknown nonlinearity {nonlinearity!r}")
    return table[nonlinearity]
