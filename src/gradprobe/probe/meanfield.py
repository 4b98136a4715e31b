"""Mean-field prediction of each hidden layer's speed ratio, for plain MLPs, beside the probe.

At :func:`gradprobe.watch` time, :func:`capture` checks whether the model is a plain chain
``Linear → φ → Linear → φ → … → Linear [→ φ]`` of ``nn.Linear`` layers separated by one
elementwise built-in activation each (nn.Sigmoid, nn.Tanh, nn.ReLU, nn.LeakyReLU with slope
0.01, nn.GELU (erf), nn.Softplus (β = 1), nn.Identity, or nothing), judged from the leaf modules
in registration order. If so it records, per Linear layer l, σ_w²(l) = n_in·Var(Wˡ) and
σ_b²(l) = Var(bˡ) (the *initialisation* the probe sees), and, on the first forward pass with
gradients (step 0, a detail step), the first layer's input second moment q₀ = mean over the
batch of ‖x‖²/n_in. Everything goes into the history's metadata (``meta["meanfield"]``), so
that ``diagnose`` reads the history only.

:func:`predicted_ratios` then iterates the mean-field length map with each layer's own
(σ_w², σ_b²) — q¹ = σ_w²(1) q₀ + σ_b²(1), qˡ = σ_w²(l) E[φ(h)²] + σ_b²(l), h ~ N(0, qˡ⁻¹)
(`gradprobe.theory.length_map`) — and predicts, from the book's BP2
δˡ = φ′(zˡ) ⊙ (Wˡ⁺¹)ᵀ δˡ⁺¹, the per-example ratio of neighbouring hidden layers

    ‖δˡ‖ / ‖δˡ⁺¹‖ ≈ √χˡ,   χˡ = σ_w²(l+1) · E[φ′(h)²], h ~ N(0, qˡ)   (`gradprobe.theory.chi`).

What is compared: the probe's speed is ‖∂C/∂bˡ‖ of the *batch-mean* loss, ‖(1/n) Σₓ δˡₓ‖, and
its ratio equals the per-example √χˡ only when the images' δˡₓ are strongly correlated (as
for sigmoid nets with σ_b² ≈ 1, where the correlation map drives c → 1) or the batch is one
image; `gradprobe.theory.predicted_speeds` has the batch-mean version for a single
(σ_w², σ_b²). Only hidden-layer pairs (both layers followed by an activation) are compared, so
the output activation and the cost do not enter. NumPy only at diagnosis time (no torch).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from torch import nn

#: A measured ratio within this factor (either way) of the prediction, for every hidden pair,
#: counts as "as the initialisation predicts".
AGREE_FACTOR = 1.5


def _activation_name(m: nn.Module) -> str | None:
    """The theory's name for an elementwise built-in activation module, or None."""
    if isinstance(m, nn.Sigmoid):
        return "sigmoid"
    if isinstance(m, nn.Tanh):
        return "tanh"
    if isinstance(m, nn.LeakyReLU):
        from gradprobe.theory.phi import LEAKY_SLOPE

        return "leaky-relu" if math.isclose(m.negative_slope, LEAKY_SLOPE) else None
    if isinstance(m, nn.ReLU):
        return "relu"
    if isinstance(m, nn.GELU):
        return "gelu" if m.approximate == "none" else None
    if isinstance(m, nn.Softplus):
        return "softplus" if m.beta == 1 else None
    if isinstance(m, nn.Identity):
        return "identity"
    return None


class Capture:
    """The chain's layers and initialisation, recorded at watch time; q₀ on the first forward
    with gradients (a pre-hook on the first Linear that the probe removes at its first step,
    like the recorder's forward-order hooks).

    ``layers``: the Linear modules' paths (= the probe's layer names) in order;
    ``activations``: the theory name of the activation after each, or None (none/output).
    """

    def __init__(self, layers: list[tuple[str, nn.Linear]], activations: list[str | None]):
        self.layers = [n for n, _ in layers]
        self.activations = activations
        self.sigma_w2: list[float] = []
        self.sigma_b2: list[float] = []
        for _, lin in layers:
            w = lin.weight.detach().double()
            self.sigma_w2.append(float(w.var(unbiased=False)) * lin.in_features)
            b = lin.bias
            self.sigma_b2.append(0.0 if b is None else float(b.detach().double().var(False)))
        self.q0: float | None = None
        self._handle: Any = layers[0][1].register_forward_pre_hook(self._first_input)

    def _first_input(self, module: nn.Module, args: tuple[Any, ...]) -> None:
        import torch

        if self.q0 is not None or not torch.is_grad_enabled() or not args:
            return
        x = args[0]
        if isinstance(x, torch.Tensor) and x.is_floating_point() and x.ndim >= 1:
            x = x.detach().double().reshape(-1, x.shape[-1])
            self.q0 = float((x * x).mean())  # mean over the batch of ‖x‖²/n_in

    def remove(self) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None

    def to_meta(self) -> dict[str, Any]:
        return {
            "layers": list(self.layers),
            "activations": list(self.activations),
            "sigma_w2": list(self.sigma_w2),
            "sigma_b2": list(self.sigma_b2),
            "q0": self.q0,
        }


def capture(model: nn.Module) -> Capture | None:
    """A :class:`Capture` when ``model`` is a plain Linear/elementwise-activation chain with at
    at least two hidden layers (one hidden pair) and one activation kind throughout, else None."""
    leaves = [(n, m) for n, m in model.named_modules() if not list(m.children())]
    layers: list[tuple[str, nn.Linear]] = []
    acts: list[str | None] = []
    for name, m in leaves:
        if isinstance(m, nn.Linear):
            layers.append((name, m))
            acts.append(None)
        elif not list(m.parameters(recurse=False)) and (kind := _activation_name(m)):
            if not layers or acts[-1] is not None:
                return None  # an activation first, or two in a row
            acts[-1] = kind
        else:
            return None
    hidden = sum(a is not None for a in acts[:-1])
    if len(layers) < 3 or hidden < 2 or any(a is None for a in acts[:-1]):
        return None
    if len({a for a in acts if a is not None}) != 1:
        return None  # mixed activations: allowed by the theory, kept out for simplicity
    return Capture(layers, acts)


def predicted_ratios(mf: dict[str, Any]) -> dict[str, float]:
    """``{layer l: predicted ‖δˡ‖/‖δˡ⁺¹‖}`` for each hidden layer l whose successor is hidden
    too, from the recorded (σ_w², σ_b²) per layer and q₀ (see the module docstring); {} when
    q₀ was not seen or the length map diverges."""
    from gradprobe.theory import chi, length_map

    q0 = mf.get("q0")
    names, acts = list(mf["layers"]), list(mf["activations"])
    sw, sb = [float(v) for v in mf["sigma_w2"]], [float(v) for v in mf["sigma_b2"]]
    if q0 is None or not math.isfinite(float(q0)):
        return {}
    q = sw[0] * float(q0) + sb[0]
    out: dict[str, float] = {}
    for i in range(len(names) - 1):
        act = acts[i]
        if act is None or not math.isfinite(q):
            break
        if acts[i + 1] is not None:
            out[names[i]] = math.sqrt(float(chi(act, sw[i + 1], q)))
        q = float(length_map(act, sw[i + 1], sb[i + 1], q))
    return out


def compare(mf: dict[str, Any], measured: Callable[[str, str], float | None]) -> dict[str, Any]:
    """Predicted vs measured ratio per hidden pair; ``measured(l, l_next)`` gives the median
    over steps of speedˡ/speedˡ⁺¹ (None if missing). Returns {} when nothing is comparable,
    else ``{"pairs": {l: {"next", "predicted", "measured", "factor"}}, "explained": bool,
    "predicted_per_layer", "measured_per_layer" (geometric means), "agree_factor",
    "activation", "q0", "compares": "..."}``."""
    pred = predicted_ratios(mf)
    names = list(mf["layers"])
    pairs: dict[str, dict[str, Any]] = {}
    for layer, p in pred.items():
        nxt = names[names.index(layer) + 1]
        m = measured(layer, nxt)
        if m is None or not (m > 0 and math.isfinite(m)) or not p > 0:
            continue
        pairs[layer] = {"next": nxt, "predicted": p, "measured": m, "factor": m / p}
    if not pairs:
        return {}
    gp = math.exp(sum(math.log(v["predicted"]) for v in pairs.values()) / len(pairs))
    gm = math.exp(sum(math.log(v["measured"]) for v in pairs.values()) / len(pairs))
    ok = all(1 / AGREE_FACTOR <= v["factor"] <= AGREE_FACTOR for v in pairs.values())
    act = next(a for a in mf["activations"] if a is not None)
    return {
        "pairs": pairs,
        "explained": ok,
        "predicted_per_layer": gp,
        "measured_per_layer": gm,
        "agree_factor": AGREE_FACTOR,
        "activation": act,
        "q0": mf.get("q0"),
        "compares": "median over steps of ‖∂C/∂bˡ‖/‖∂C/∂bˡ⁺¹‖ (batch-mean gradient) vs the "
        "per-example mean-field ratio √(σ_w²(l+1)·E[φ′(h)²]), h ~ N(0, qˡ), with each layer's "
        "σ_w², σ_b² as recorded at watch time",
    }


def sentence(c: dict[str, Any]) -> str:
    """One clause for the vanishing/exploding finding."""
    head = (
        f"; mean-field theory for the initialisation recorded at watch time "
        f"({c['activation']}, per-layer σ_w², σ_b², q₀ = {c['q0']:.3g}) predicts "
        f"×{c['predicted_per_layer']:.3g} per hidden layer, measured ×"
        f"{c['measured_per_layer']:.3g}: "
    )
    if c["explained"]:
        return head + (
            f"the decay is as initialisation predicts (every hidden pair within {AGREE_FACTOR:g}×)"
        )
    return head + (
        f"not explained by the initialisation alone (some hidden pair differs by more than "
        f"{AGREE_FACTOR:g}×: weights changed since, training, or the net is not wide)"
    )
