"""From a history to findings: which layers learn, which do not, and why.

Each rule reads the tidy history (``step, layer, quantity, value``) — from a live probe or a
saved file — and returns :class:`Finding` objects with the numbers, layers and steps that
triggered it and the remedies of Nielsen's chapter 5 (and 3) that address it.

Rules and thresholds (medians over the recorded steps, non-finite values ignored):

Every rule works per step and states its **confidence**: the fraction of recorded steps in
which its criterion holds (a finding needs ≥ 60 %), so one odd batch neither makes nor hides a
finding. Findings are ordered by severity, then by kind (:data:`KINDS`: the cause before its
symptoms — a dead layer before the vanishing it causes).

``nonfinite``
    any NaN/±Inf: the producer (forward, backward, parameter, buffer, update, loss, input)
    and the first step.
``dead-relu``
    more than half of the ReLU units fed by a layer are 0 for the whole batch (critical
    above 90 %).
``no-learning``
    a layer's gradient is exactly 0 in ≥ 90 % of the steps: it does not learn.
``vanishing``
    the first layer's speed ‖∂C/∂b¹‖ (every layer has a speed: see ``layer_speed``)
    relative to the last layer's is below 10⁻¹ (critical below 10⁻³) in the median step and
    in ≥ 60 % of the steps. For a plain Linear/elementwise-activation MLP (see
    `gradprobe.probe.meanfield`) this finding, and ``exploding``'s ratio rule, also put the
    mean-field ratio predicted from the initialisation recorded at watch time beside the
    measured ratio of each pair of hidden layers (``evidence["meanfield"]``) and say whether
    the decay is as the initialisation predicts (every pair within 1.5×).
``exploding``
    the same ratio is above 10 (critical above 10³); or the model's gradient norm — before
    clipping when known — grows to more than 100× its early median (critical 10⁴×); or
    clipping acts in more than half of the steps.
``saturation``
    more than half of the sigmoid/tanh outputs fed by a layer have σ′(z) < 1 % of its
    maximum — or more than a quarter do and the mean σ′ is below half its maximum —
    in the median step and in ≥ 60 % of the steps (critical above 90 %).
``dead-relu``
    more than half of a ReLU module's units are 0 for the whole batch (critical above 90 %).
``activation-growth``
    the mean |aˡ| of the activations grows layer after layer (≥ 3 layers, ×2 or more from
    the first to the largest): the inputs of later layers drift toward saturation.
``update-ratio``
    ‖Δw‖/‖w‖ above 10⁻¹ (critical above 1) or below 10⁻⁶ for a layer that gets gradients.
``insufficient-data``
    fewer than :data:`MIN_STEPS` recorded steps, or no finite gradient value: the other
    findings (if any) rest on too little data, and "no finding" means nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from gradprobe.errors import ConfigError, DataError
from gradprobe.probe.history import COLUMNS, meta_of
from gradprobe.probe.layers import MODEL_NAME
from gradprobe.probe.meanfield import compare as meanfield_compare
from gradprobe.probe.meanfield import sentence as meanfield_sentence
from gradprobe.probe.quantities.nonfinite import PLACES
from gradprobe.recurrent import (
    EXPLODE_RATIO,
    REMEDIES_EXPLODING,
    REMEDIES_VANISHING,
    SEVERE_RATIO,
    VANISH_RATIO,
    remedies_for,
)

KINDS = (
    "insufficient-data",
    "nonfinite",
    "dead-relu",
    "no-learning",
    "vanishing",
    "exploding",
    "vanishing-through-time",
    "exploding-through-time",
    "saturation",
    "activation-growth",
    "update-ratio",
)
SEVERITIES = ("info", "warning", "critical")

MIN_STEPS = 3
CONFIDENCE = 0.6
ZERO_GRAD_FRACTION = 0.9
GROWTH_ACTIVATION = 2.0
VANISHING_RATIO = 1e-1
VANISHING_CRITICAL = 1e-3
EXPLODING_RATIO = 10.0
EXPLODING_CRITICAL = 1e3
GROWTH_RATIO = 1e2
GROWTH_CRITICAL = 1e4
CLIPPED_FRACTION = 0.5
SATURATED_FRACTION = 0.5
SATURATED_LOW = 0.25
DSIGMA_LOW = 0.5
DEAD_FRACTION = 0.5
CRITICAL_FRACTION = 0.9
UPDATE_RATIO_HIGH = 1e-1
UPDATE_RATIO_CRITICAL = 1.0
UPDATE_RATIO_LOW = 1e-6

#: The remedies, keyed by a short name; the text cites the book where it discusses them.
REMEDIES: dict[str, str] = {
    "relu": "use ReLU hidden units: σ′(z) ≤ ¼ shrinks δˡ by at least 4× per sigmoid layer, "
    "ReLU′ = 1 where active (ch. 3, ch. 5)",
    "fan-in-init": "initialise weights scaled to fan-in, N(0, 1/n_in) — or He, N(0, 2/n_in), "
    "for ReLU — so that zˡ stays out of σ's flat tails (ch. 3)",
    "cross-entropy": "use a cross-entropy cost (or softmax + log-likelihood outputs): the "
    "output error δᴸ = aᴸ − y no longer carries the factor σ′(zᴸ) (ch. 3)",
    "clipping": "clip the gradient norm (torch.nn.utils.clip_grad_norm_, or "
    "probe.clip_grad_norm_ to record it) (ch. 5: exploding gradients)",
    "l2": "add L2 regularisation (weight decay) to keep ‖w‖ — and the products w·σ′ — "
    "from growing (ch. 3)",
    "normalisation": "add normalisation (BatchNorm / LayerNorm) so every layer's zˡ stays in "
    "the range where σ′ is large",
    "residual": "add residual (skip) connections so δˡ reaches early layers without passing "
    "through every w·σ′ factor",
    "fewer-layers": "use fewer layers: each extra sigmoid layer multiplies δ by another "
    "w·σ′(z) factor (ch. 5)",
    "lstm": "for recurrent nets use an LSTM (or GRU): its additive cell state avoids the "
    "product of w·σ′ factors over time steps (ch. 5, ch. 6)",
    "learning-rate": "lower the learning rate η (or warm it up)",
    "raise-learning-rate": "raise the learning rate η for this layer (per-layer learning rates)",
    "check-data": "check the inputs and the cost for NaN/Inf and for log(0) or division by 0",
    "leaky-relu": "use LeakyReLU / a smaller η so that units cannot die permanently",
    "check-wiring": "check that the layer is used in the forward pass and that nothing "
    "detaches its output (.detach(), torch.no_grad, an integer cast)",
    "more-steps": "record more steps (at least 3, better 20+) before drawing conclusions",
}


@dataclass(frozen=True)
class Finding:
    """One diagnosis.

    ``kind`` is one of :data:`KINDS`, ``severity`` one of :data:`SEVERITIES`; ``evidence``
    holds the numbers, layers and steps that triggered the rule; ``remedies`` the book's
    remedies, most relevant first.
    """

    kind: str
    layers: tuple[str, ...]
    severity: str
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)
    remedies: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["layers"] = list(self.layers)
        d["remedies"] = list(self.remedies)
        return d

    def __str__(self) -> str:
        return f"[{self.severity}] {self.kind}: {self.message}"


def _remedies(*keys: str) -> tuple[str, ...]:
    return tuple(REMEDIES[k] for k in dict.fromkeys(keys))


def _order(df: pd.DataFrame, meta: dict[str, Any]) -> list[str]:
    seen = list(dict.fromkeys(df["layer"].tolist()))
    order = [n for n in meta.get("order", []) if n in set(seen)]
    return order + [n for n in seen if n not in set(order)]


def _medians(df: pd.DataFrame, quantity: str) -> dict[str, float]:
    sub = df[(df["quantity"] == quantity) & np.isfinite(df["value"])]
    if sub.empty:
        return {}
    return {str(k): float(v) for k, v in sub.groupby("layer", sort=False)["value"].median().items()}


def _steps(df: pd.DataFrame) -> list[int]:
    return [int(df["step"].min()), int(df["step"].max())] if len(df) else [0, 0]


def _is_recurrent(meta: dict[str, Any]) -> bool:
    types = meta.get("types", {})
    return any(t in ("RNN", "LSTM", "GRU", "RNNBase", "RNNCell") for t in types.values())


def _wide(df: pd.DataFrame, quantity: str, order: list[str]) -> pd.DataFrame:
    """[steps × layers] of ``quantity`` (layers in ``order``, non-finite values as NaN)."""
    sub = df[(df["quantity"] == quantity) & (df["layer"] != MODEL_NAME)]
    if sub.empty:
        return pd.DataFrame()
    w = sub.pivot_table(index="step", columns="layer", values="value", aggfunc="last")
    w = w.replace([np.inf, -np.inf], np.nan)
    cols = [c for c in order if c in w.columns] + [c for c in w.columns if c not in order]
    return w[cols]


def _confidence(mask: pd.Series | np.ndarray) -> float:
    m = np.asarray(mask, dtype=bool)
    return float(m.mean()) if m.size else 0.0


def _depth_rules(df: pd.DataFrame, order: list[str], meta: dict[str, Any]) -> list[Finding]:
    w = _wide(df, "speed", order)
    quantity = "speed"
    if w.shape[1] < 2:
        w, quantity = _wide(df, "grad_rms", order), "grad_rms"
    if w.shape[1] < 2:
        return []
    w = w.dropna(how="any")
    w = w[(w.iloc[:, -1] > 0)]
    if w.empty:
        return []
    first_name, last_name = str(w.columns[0]), str(w.columns[-1])
    per_step = w.iloc[:, 0] / w.iloc[:, -1]  # first/last speed in each step
    r = float(per_step.median())
    med = w.median()
    rel = {str(k): float(v) / float(med.iloc[-1]) for k, v in med.items()}
    n = w.shape[1]
    factor = r ** (1 / (n - 1)) if r > 0 else 0.0
    label = "‖∂C/∂bˡ‖" if quantity == "speed" else "gradient RMS"
    dsig = _medians(df, "mean_dsigma")
    kinds = meta.get("activations", {})
    dsig_rel = {
        k: v / (0.25 if kinds.get(k) == "sigmoid" else 1.0)
        for k, v in dsig.items()
        if kinds.get(k) in ("sigmoid", "tanh")
    }
    evidence: dict[str, Any] = {
        "quantity": quantity,
        "first_layer": first_name,
        "last_layer": last_name,
        "ratio_first_to_last": r,
        "factor_per_layer": factor,
        "median": {str(k): float(v) for k, v in med.items()},
        "relative": rel,
        "steps": _steps(df),
        "n_steps": len(w),
    }
    if dsig_rel:
        evidence["mean_dsigma_over_max"] = dsig_rel
    theory = ""
    mf = meta.get("meanfield")
    if quantity == "speed" and isinstance(mf, dict) and _chain_in_order(mf, meta):
        cmp = _meanfield_compare(w, mf)
        if cmp:
            evidence["meanfield"] = cmp
            theory = meanfield_sentence(cmp)
    rec = _is_recurrent(meta)
    out: list[Finding] = []
    conf_v = _confidence(per_step < VANISHING_RATIO)
    conf_e = _confidence(per_step > EXPLODING_RATIO)
    if r < VANISHING_RATIO and conf_v >= CONFIDENCE:
        evidence["confidence"] = conf_v
        slow = tuple(k for k, v in rel.items() if v < VANISHING_RATIO and k != last_name)
        sev = "critical" if r < VANISHING_CRITICAL else "warning"
        keys = ["lstm"] if rec else []
        keys += ["relu", "fan-in-init", "cross-entropy", "normalisation", "residual"]
        keys += ["fewer-layers"]
        why = ""
        if dsig_rel:
            lo, hi = min(dsig_rel.values()), max(dsig_rel.values())
            why = f"; mean σ′ is {lo:.2f}–{hi:.2f} of its maximum, a factor on δ per layer"
        out.append(
            Finding(
                "vanishing",
                slow or (first_name,),
                sev,
                (
                    f"layer {first_name} learns {1 / r:.3g}× slower than {last_name} "
                    if r > 0
                    else f"layer {first_name} does not learn (zero gradient), unlike {last_name} "
                )
                + f"(median {label} {float(med.iloc[0]):.3g} vs {float(med.iloc[-1]):.3g}, "
                f"in {conf_v:.0%} of {len(w)} steps); the speed shrinks by ×{factor:.3g} per "
                f"layer toward the input{why}{theory}",
                evidence,
                _remedies(*keys),
            )
        )
    elif r > EXPLODING_RATIO and conf_e >= CONFIDENCE:
        evidence["confidence"] = conf_e
        fast = tuple(k for k, v in rel.items() if v > EXPLODING_RATIO)
        sev = "critical" if r > EXPLODING_CRITICAL else "warning"
        keys = ["lstm"] if rec else []
        keys += ["clipping", "fan-in-init", "l2", "normalisation", "learning-rate"]
        out.append(
            Finding(
                "exploding",
                fast or (first_name,),
                sev,
                f"layer {first_name} gets a {r:.3g}× larger {label} than {last_name} "
                f"({float(med.iloc[0]):.3g} vs {float(med.iloc[-1]):.3g}, in {conf_e:.0%} of "
                f"{len(w)} steps): gradients grow ×{factor:.3g} per layer toward the input"
                f"{theory}",
                evidence,
                _remedies(*keys),
            )
        )
    return out


def _chain_in_order(mf: dict[str, Any], meta: dict[str, Any]) -> bool:
    """Whether the Linear layers ran in the order they were registered (when the forward
    order was recorded): a model that calls them otherwise is not the chain theory assumes."""
    fwd = meta.get("forward") or []
    layers = mf.get("layers") or []
    if not isinstance(fwd, list) or not isinstance(layers, list):
        return False
    ran = [n for n in fwd if n in set(layers)]
    return not ran or ran == layers


def _meanfield_compare(w: pd.DataFrame, mf: dict[str, Any]) -> dict[str, Any]:
    """Mean-field predicted vs measured ratio of neighbouring hidden layers' speeds (the
    median over steps of speedˡ/speedˡ⁺¹), from the metadata recorded at watch time; {} if
    the metadata is malformed or nothing is comparable."""

    def measured(a: str, b: str) -> float | None:
        if a not in w.columns or b not in w.columns:
            return None
        r = (w[a] / w[b]).replace([np.inf, -np.inf], np.nan).dropna()
        return float(r.median()) if len(r) else None

    try:
        return meanfield_compare(mf, measured)
    except (KeyError, TypeError, ValueError, IndexError, ConfigError):
        return {}


def _model_rows(df: pd.DataFrame, quantity: str) -> pd.DataFrame:
    return df[(df["layer"] == MODEL_NAME) & (df["quantity"] == quantity)]


def _growth_rule(df: pd.DataFrame, meta: dict[str, Any]) -> list[Finding]:
    pre = _model_rows(df, "grad_norm_preclip")
    tot = pre if len(pre) else _model_rows(df, "grad_norm")
    name = "pre-clip gradient norm" if len(pre) else "gradient norm"
    tot = tot[np.isfinite(tot["value"])].sort_values("step")
    clipped = _model_rows(df, "clipped")
    frac = float(clipped["value"].mean()) if len(clipped) else 0.0
    out: list[Finding] = []
    keys = ["lstm"] if _is_recurrent(meta) else []
    keys += ["clipping", "learning-rate", "l2", "normalisation", "fan-in-init"]
    if len(tot) >= 5:
        k = max(3, len(tot) // 10)
        base = float(tot["value"].iloc[:k].median())
        late = tot["value"].iloc[k:]
        i = int(np.argmax(tot["value"].to_numpy()))
        peak = float(tot["value"].iloc[i])
        if base > 0 and peak / base > GROWTH_RATIO:
            g = peak / base
            above = _confidence((late > base * GROWTH_RATIO**0.5).to_numpy())
            out.append(
                Finding(
                    "exploding",
                    (MODEL_NAME,),
                    "critical" if g > GROWTH_CRITICAL else "warning",
                    f"the {name} grew {g:.3g}× (from {base:.3g} to {peak:.3g} at step "
                    f"{int(tot['step'].iloc[i])}; above {GROWTH_RATIO**0.5:.0f}× the early "
                    f"level in {above:.0%} of the later steps)",
                    {
                        "quantity": name,
                        "early_median": base,
                        "peak": peak,
                        "peak_step": int(tot["step"].iloc[i]),
                        "growth": g,
                        "clipped_fraction": frac,
                        "confidence": above,
                    },
                    _remedies(*keys),
                )
            )
    if len(clipped) and frac > CLIPPED_FRACTION and not out:
        before = _model_rows(df, "grad_norm_preclip")
        after = _model_rows(df, "grad_norm_postclip")
        out.append(
            Finding(
                "exploding",
                (MODEL_NAME,),
                "warning",
                f"gradient clipping acted in {frac:.0%} of {len(clipped)} steps (median norm "
                f"before clipping {float(before['value'].median()):.3g}, after "
                f"{float(after['value'].median()):.3g})",
                {
                    "clipped_fraction": frac,
                    "n_steps": len(clipped),
                    "median_preclip": float(before["value"].median()),
                    "median_postclip": float(after["value"].median()),
                    "confidence": frac,
                },
                _remedies("learning-rate", "fan-in-init", "l2", "normalisation"),
            )
        )
    return out


def _nonfinite_rule(df: pd.DataFrame) -> list[Finding]:
    org = df[df["quantity"] == "nonfinite_origin"]
    if org.empty:
        return []
    org = org.sort_values("step", kind="stable")
    first_step = int(org["step"].iloc[0])
    first_layer = str(org["layer"].iloc[0])
    code = org["value"].iloc[0]
    place = PLACES[int(code)] if np.isfinite(code) and 0 <= int(code) < len(PLACES) else "?"
    counts = {str(k): int(v) for k, v in org.groupby("layer", sort=False).size().items()}
    spread = df[(df["quantity"] == "nonfinite") & (df["step"] == first_step)]["layer"].tolist()
    where = {
        "forward": "in the forward pass (its output is non-finite from finite inputs)",
        "backward": "in backward (the first non-finite gradient)",
        "parameter": "in a parameter that holds NaN/Inf",
        "buffer": "in a buffer that holds NaN/Inf",
        "update": "by the optimiser's update of its parameters",
        "loss": "in the loss: the gradient arriving at the model's output is non-finite",
        "input": "in the model's inputs",
        "gradients": "(from the gradients alone: the last non-finite layer in forward order)",
    }.get(place, "")
    propagated = [str(s) for s in spread if s != first_layer]
    return [
        Finding(
            "nonfinite",
            tuple(counts),
            "critical",
            f"a NaN/Inf was produced by {first_layer} at step {first_step} {where}"
            + (f"; propagated to {', '.join(propagated[:6])}" if propagated else "")
            + f" ({int(org['step'].nunique())} non-finite steps in all)",
            {
                "first_step": first_step,
                "origin": first_layer,
                "place": place,
                "origin_counts": counts,
                "steps": sorted({int(s) for s in org["step"]})[:20],
                "n_steps": int(org["step"].nunique()),
                "spread_to": propagated,
            },
            _remedies("check-data", "learning-rate", "clipping", "cross-entropy", "normalisation"),
        )
    ]


def _fraction_rule(
    df: pd.DataFrame, quantity: str, threshold: float
) -> dict[str, tuple[float, float]]:
    """{layer: (median, confidence)} for layers whose ``quantity`` exceeds ``threshold`` in
    the median step and in ≥ CONFIDENCE of the steps."""
    out: dict[str, tuple[float, float]] = {}
    sub = df[(df["quantity"] == quantity) & np.isfinite(df["value"])]
    for layer, g in sub.groupby("layer", sort=False):
        med = float(g["value"].median())
        conf = _confidence((g["value"] > threshold).to_numpy())
        if med > threshold and conf >= CONFIDENCE:
            out[str(layer)] = (med, conf)
    return out


def _activation_rules(df: pd.DataFrame, order: list[str], meta: dict[str, Any]) -> list[Finding]:
    out: list[Finding] = []
    last_layer = order[-1] if order else None
    dsig = _medians(df, "mean_dsigma")
    bad = _fraction_rule(df, "saturation", SATURATED_FRACTION)
    kinds = meta.get("activations", {})
    for layer, (frac, conf) in _fraction_rule(df, "saturation", SATURATED_LOW).items():
        top = 0.25 if kinds.get(layer) == "sigmoid" else 1.0
        if layer not in bad and layer in dsig and dsig[layer] / top < DSIGMA_LOW:
            bad[layer] = (frac, conf)  # many saturated units and a small mean σ′ together
    if bad:
        worst = max(v for v, _ in bad.values())
        is_output = last_layer in bad
        keys = ["cross-entropy"] if is_output else []
        keys += ["fan-in-init", "relu", "normalisation"]
        out.append(
            Finding(
                "saturation",
                tuple(n for n in order if n in bad) or tuple(bad),
                "critical" if worst > CRITICAL_FRACTION else "warning",
                ", ".join(
                    f"{k}: {v:.0%} saturated (in {c:.0%} of steps)" for k, (v, c) in bad.items()
                )
                + " (σ′(z) below 1 % of its maximum, so δˡ ∝ σ′(zˡ) ≈ 0 there)",
                {
                    "saturated_fraction": {k: v for k, (v, _) in bad.items()},
                    "confidence": min(c for _, c in bad.values()),
                    "mean_dsigma": {k: dsig[k] for k in bad if k in dsig},
                    "output_activation": [last_layer] if is_output else [],
                    "steps": _steps(df),
                },
                _remedies(*keys),
            )
        )
    dead = _fraction_rule(df, "dead_fraction", DEAD_FRACTION)
    if dead:
        worst = max(v for v, _ in dead.values())
        out.append(
            Finding(
                "dead-relu",
                tuple(n for n in order if n in dead) or tuple(dead),
                "critical" if worst > CRITICAL_FRACTION else "warning",
                ", ".join(
                    f"{k}: {v:.0%} of its ReLU units dead (in {c:.0%} of steps)"
                    for k, (v, c) in dead.items()
                )
                + " (output 0 for every example: σ′ = 0, so ∂C/∂bˡ = 0 for them — "
                "they do not learn)",
                {
                    "dead_fraction": {k: v for k, (v, _) in dead.items()},
                    "confidence": min(c for _, c in dead.values()),
                    "steps": _steps(df),
                },
                _remedies("learning-rate", "fan-in-init", "leaky-relu", "normalisation"),
            )
        )
    act = _medians(df, "mean_abs_activation")
    prof = [(n, act[n]) for n in order if n in act]
    if len(prof) >= 3:
        vals = [v for _, v in prof]
        run_start, best = 0, (0, 0)
        for i in range(1, len(vals)):
            if vals[i] <= vals[i - 1] * 1.05:
                run_start = i
            if i - run_start + 1 >= 3 and i - run_start > best[1] - best[0]:
                best = (run_start, i)
        lo, hi = best
        if hi - lo >= 2 and vals[lo] > 0 and vals[hi] / vals[lo] >= GROWTH_ACTIVATION:
            names = tuple(n for n, _ in prof[lo : hi + 1])
            out.append(
                Finding(
                    "activation-growth",
                    names,
                    "warning",
                    f"the mean |a| of the activations grows from {vals[lo]:.3g} ({names[0]}) "
                    f"to {vals[hi]:.3g} ({names[-1]}) over {len(names)} layers: each layer "
                    "amplifies its input, pushing later units toward saturation",
                    {"mean_abs_activation": dict(prof), "steps": _steps(df)},
                    _remedies("fan-in-init", "normalisation", "l2"),
                )
            )
    return out


def _zero_grad_rule(df: pd.DataFrame, order: list[str]) -> list[Finding]:
    sub = df[(df["quantity"] == "grad_norm") & (df["layer"] != MODEL_NAME)]
    zero: dict[str, float] = {}
    for layer, g in sub.groupby("layer", sort=False):
        frac = _confidence((g["value"] == 0).to_numpy())
        if frac >= ZERO_GRAD_FRACTION:
            zero[str(layer)] = frac
    if not zero:
        return []
    names = tuple(n for n in order if n in zero) or tuple(zero)
    return [
        Finding(
            "no-learning",
            names,
            "critical",
            ", ".join(names)
            + (
                " does not learn: its gradient is"
                if len(names) == 1
                else " do not learn: their gradients are"
            )
            + " exactly 0 in "
            + ", ".join(f"{zero[k]:.0%}" for k in names)
            + " of the steps",
            {"zero_gradient_fraction": zero, "steps": _steps(df), "confidence": min(zero.values())},
            _remedies("check-wiring", "leaky-relu", "fan-in-init", "learning-rate"),
        )
    ]


def _update_rule(df: pd.DataFrame, order: list[str]) -> list[Finding]:
    ratios = _medians(df, "update_ratio")
    grads = _medians(df, "grad_norm")
    ratios = {k: v for k, v in ratios.items() if grads.get(k, 0.0) > 0}  # zero grad: no-learning
    if not ratios:
        return []
    out: list[Finding] = []
    high = {k: v for k, v in ratios.items() if v > UPDATE_RATIO_HIGH}
    low = {k: v for k, v in ratios.items() if 0 <= v < UPDATE_RATIO_LOW}
    if high:
        out.append(
            Finding(
                "update-ratio",
                tuple(n for n in order if n in high),
                "critical" if max(high.values()) > UPDATE_RATIO_CRITICAL else "warning",
                ", ".join(f"{k}: ‖Δw‖/‖w‖ = {v:.3g}" for k, v in high.items())
                + " per step: updates too large for stable learning (≈10⁻³ is typical)",
                {"update_ratio": high, "threshold": UPDATE_RATIO_HIGH, "steps": _steps(df)},
                _remedies("learning-rate", "clipping", "l2", "normalisation"),
            )
        )
    if low:
        out.append(
            Finding(
                "update-ratio",
                tuple(n for n in order if n in low),
                "info",
                ", ".join(f"{k}: ‖Δw‖/‖w‖ = {v:.3g}" for k, v in low.items())
                + " per step: these layers get gradients but barely move"
                + (" (not at all: are they in the optimiser?)" if max(low.values()) == 0 else ""),
                {"update_ratio": low, "threshold": UPDATE_RATIO_LOW, "steps": _steps(df)},
                _remedies("raise-learning-rate", "relu", "fan-in-init", "normalisation"),
            )
        )
    return out


def _time_rule(df: pd.DataFrame, order: list[str], meta: dict[str, Any]) -> list[Finding]:
    """``vanishing-through-time`` / ``exploding-through-time`` from the ``time_ratio`` column
    of :class:`~gradprobe.probe.quantities.ThroughTime` (median over the recorded steps):
    below 10⁻³ / above 10³ (critical beyond 10⁻⁶ / 10⁶), as :func:`recurrent.analyze_profile`.
    Remedies that do not fit the layer's module type (``meta["types"]``) are dropped, as
    :func:`recurrent.remedies_for` does."""
    types = meta.get("types", {}) or {}
    ratios = _medians(df, "time_ratio")
    decays, memory, steps = (
        _medians(df, "time_decay"),
        _medians(df, "time_memory"),
        _medians(df, "time_steps"),
    )
    out: list[Finding] = []
    for layer in [n for n in order if n in ratios]:
        r = ratios[layer]
        sub = df[(df["quantity"] == "time_ratio") & (df["layer"] == layer)]["value"].to_numpy()
        if r < VANISH_RATIO:
            kind, remedies, severe = "vanishing-through-time", REMEDIES_VANISHING, r < SEVERE_RATIO
            conf = _confidence(sub < VANISH_RATIO)
        elif r > EXPLODE_RATIO:
            kind, remedies, severe = (
                "exploding-through-time",
                REMEDIES_EXPLODING,
                r > 1 / SEVERE_RATIO,
            )
            conf = _confidence(sub > EXPLODE_RATIO)
        else:
            continue
        T = int(steps.get(layer, 0))
        out.append(
            Finding(
                kind,
                (layer,),
                "critical" if severe else "warning",
                f"{layer}: the gradient reaching the first of {T} time steps is {r:.2g} of the "
                f"one where it enters (median over steps); factor {decays.get(layer, np.nan):.3g} "
                f"per step back; effective memory {memory.get(layer, np.nan):.0f} steps "
                + _time_where(layer),
                {
                    "time_ratio": r,
                    "decay_per_step": decays.get(layer),
                    "memory_steps": memory.get(layer),
                    "steps": T,
                    "confidence": conf,
                },
                tuple(_fitting(remedies, types, layer)),
            )
        )
    return out


def _fitting(remedies: Sequence[str], types: dict[str, str], layer: str) -> list[str]:
    """``remedies`` that fit the recurrent module of ``layer`` (a stacked layer ``lstm.l1``, or
    a whole module ``lstm`` whose layers are ``lstm.l0`` …); all of them when its type is
    unknown."""
    cell = types.get(layer) or types.get(f"{layer}.l0")
    return list(remedies) if cell is None else remedies_for(remedies, str(cell))


def _time_where(layer: str) -> str:
    """Where a through-time profile was measured, from its layer name (``lstm.l1``,
    ``lstm.l0_reverse``: one stacked layer and direction; a module path: the whole module)."""
    if re.search(r"\.l\d+_reverse$", layer):
        return (
            "(‖∂L/∂x_t‖ at the input of this stacked layer, reverse direction: read from "
            "t = T − 1 down to t = 0)"
        )
    if re.search(r"\.l\d+$", layer):
        return "(‖∂L/∂x_t‖ at the input of this stacked layer)"
    return "(‖∂L/∂x_t‖ at the recurrent module's input, all stacked layers and directions together)"


def check_history(history: object) -> pd.DataFrame:
    """Validate a history: a DataFrame with columns step (integers), layer, quantity
    (strings), value (numbers) and at least one row. Returns it with clean dtypes; raises
    :class:`~gradprobe.errors.DataError` saying what is wrong otherwise."""
    if not isinstance(history, pd.DataFrame):
        raise DataError(f"diagnose() needs a DataFrame, got {type(history).__name__}")
    missing = [c for c in COLUMNS if c not in history.columns]
    if missing:
        raise DataError(f"not a gradprobe history: missing columns {missing}")
    if history.empty:
        raise DataError("the history is empty (no recorded step): nothing to diagnose")
    df = history
    step = pd.to_numeric(df["step"], errors="coerce")
    if step.isna().any() or (step != step.round()).any():
        raise DataError("the history's 'step' column must hold integers")
    if not (
        pd.api.types.is_numeric_dtype(df["value"]) and not pd.api.types.is_bool_dtype(df["value"])
    ):
        raise DataError(f"the history's 'value' column must hold numbers, not {df['value'].dtype}")
    if df["step"].dtype != np.int64:
        df = df.assign(step=step.astype(np.int64))
    return df


def diagnose(history: pd.DataFrame, meta: dict[str, Any] | None = None) -> list[Finding]:
    """Findings for a history (a probe's ``history`` or :func:`load_history`'s result).

    Parameters
    ----------
    history:
        Tidy DataFrame with columns ``step, layer, quantity, value``.
    meta:
        Layer order, types and activation kinds; default ``history.attrs["gradprobe"]``
        (present for live probes and saved files).

    Returns
    -------
    list[Finding], most severe first, causes before symptoms within a severity (order of
    :data:`KINDS`), each with the numbers
    that support it (``evidence``, including ``confidence``: the fraction of steps in which
    the rule's criterion holds) and the book's remedies. An ``insufficient-data`` finding
    says when the history cannot support a diagnosis (fewer than :data:`MIN_STEPS` steps, or
    no finite value); an empty list means the data was enough and nothing is wrong.

    Raises
    ------
    DataError
        Not a DataFrame, missing columns, no rows, non-integer steps, non-numeric values.
    """
    df = check_history(history)
    meta = dict(meta) if meta is not None else meta_of(history)
    order = _order(df, meta)
    findings = (
        _nonfinite_rule(df)
        + _activation_rules(df, order, meta)
        + _zero_grad_rule(df, order)
        + _depth_rules(df, order, meta)
        + _growth_rule(df, meta)
        + _update_rule(df, order)
        + _time_rule(df, order, meta)
    )
    n_steps = int(df["step"].nunique())
    finite = np.isfinite(df["value"].to_numpy(dtype=np.float64))
    if not finite.any():
        findings.append(
            Finding(
                "insufficient-data",
                (),
                "critical" if not any(f.kind == "nonfinite" for f in findings) else "info",
                f"every one of the {len(df)} values is NaN/Inf: no speed, norm or fraction can "
                "be compared",
                {"n_steps": n_steps, "n_rows": len(df)},
                _remedies("check-data"),
            )
        )
    elif n_steps < MIN_STEPS:
        findings.append(
            Finding(
                "insufficient-data",
                (),
                "warning",
                f"only {n_steps} recorded step{'s' if n_steps != 1 else ''}: a robust finding "
                f"needs at least {MIN_STEPS}; what is (or is not) reported rests on "
                f"{'one batch' if n_steps == 1 else 'too few batches'}",
                {"n_steps": n_steps, "min_steps": MIN_STEPS},
                _remedies("more-steps"),
            )
        )
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    kind = {k: i for i, k in enumerate(KINDS)}
    return sorted(findings, key=lambda f: (-rank[f.severity], kind.get(f.kind, 99)))
