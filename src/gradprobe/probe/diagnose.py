"""From a history to findings: which layers learn, which do not, and why.

Each rule reads the tidy history (``step, layer, quantity, value``) — from a live probe or a
saved file — and returns :class:`Finding` objects with the numbers, layers and steps that
triggered it and the remedies of Nielsen's chapter 5 (and 3) that address it.

Rules and thresholds (medians over the recorded steps, non-finite values ignored):

``vanishing``
    the first layer's speed ‖∂C/∂b¹‖ (or gradient RMS when layers have no bias) relative to
    the last layer's is below 10⁻² (critical below 10⁻³), or below 10⁻¹ with speeds growing
    toward the output through at least three layers.
``exploding``
    the same ratio is above 10 (critical above 10³); or the model's gradient norm grows to
    more than 100× its early median (critical 10⁴×); or clipping acts in more than half of
    the steps.
``nonfinite``
    any NaN/±Inf gradient: the layer where it was born and the first step.
``saturation``
    more than half of a sigmoid/tanh module's outputs have σ′(z) < 1 % of its maximum
    (critical above 90 %).
``dead-relu``
    more than half of a ReLU module's units are 0 for the whole batch (critical above 90 %).
``update-ratio``
    ‖Δw‖/‖w‖ above 10⁻¹ (critical above 1) or below 10⁻⁶ for a layer that gets gradients.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from gradprobe.errors import DataError
from gradprobe.probe.history import COLUMNS, meta_of
from gradprobe.probe.layers import MODEL_NAME

KINDS = ("vanishing", "exploding", "nonfinite", "saturation", "dead-relu", "update-ratio")
SEVERITIES = ("info", "warning", "critical")

VANISHING_RATIO = 1e-2
VANISHING_CRITICAL = 1e-3
VANISHING_TREND_RATIO = 1e-1
EXPLODING_RATIO = 10.0
EXPLODING_CRITICAL = 1e3
GROWTH_RATIO = 1e2
GROWTH_CRITICAL = 1e4
CLIPPED_FRACTION = 0.5
SATURATED_FRACTION = 0.5
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
    return any(t in ("RNN", "RNNBase", "RNNCell") for t in types.values())


def _speed_profile(df: pd.DataFrame, order: list[str]) -> tuple[str, list[tuple[str, float]]]:
    for quantity in ("speed", "grad_rms"):
        med = _medians(df, quantity)
        prof = [(n, med[n]) for n in order if n in med and n != MODEL_NAME]
        if len(prof) >= 2:
            return quantity, prof
    return "", []


def _depth_rules(df: pd.DataFrame, order: list[str], meta: dict[str, Any]) -> list[Finding]:
    quantity, prof = _speed_profile(df, order)
    if not prof:
        return []
    last_name, last = prof[-1]
    first_name, first = prof[0]
    if not (last > 0 and math.isfinite(last)):
        return []
    rel = {n: s / last for n, s in prof}
    r = first / last
    n = len(prof)
    factor = r ** (1 / (n - 1)) if r > 0 else 0.0
    speeds = [s for _, s in prof]
    growing = sum(a < b for a, b in itertools.pairwise(speeds)) / (n - 1)
    label = "‖∂C/∂bˡ‖" if quantity == "speed" else "gradient RMS"
    evidence: dict[str, Any] = {
        "quantity": quantity,
        "first_layer": first_name,
        "last_layer": last_name,
        "ratio_first_to_last": r,
        "factor_per_layer": factor,
        "median": {k: v for k, v in prof},
        "relative": rel,
        "steps": _steps(df),
        "n_steps": int(df["step"].nunique()),
    }
    rec = _is_recurrent(meta)
    out: list[Finding] = []
    vanishing = r < VANISHING_RATIO or (n >= 3 and r < VANISHING_TREND_RATIO and growing >= 0.75)
    if vanishing:
        slow = tuple(k for k, v in rel.items() if v < VANISHING_TREND_RATIO and k != last_name)
        sev = "critical" if r < VANISHING_CRITICAL else "warning"
        keys = ["lstm"] if rec else []
        keys += ["relu", "fan-in-init", "cross-entropy", "normalisation", "residual"]
        keys += ["fewer-layers"]
        out.append(
            Finding(
                "vanishing",
                slow or (first_name,),
                sev,
                (
                    f"layer {first_name} learns {1 / r:.3g}× slower than {last_name} "
                    if r > 0
                    else f"layer {first_name} does not learn at all, unlike {last_name} "
                )
                + f"(median {label} {first:.3g} vs {last:.3g}); the speed shrinks by "
                f"×{factor:.3g} per layer toward the input",
                evidence,
                _remedies(*keys),
            )
        )
    elif r > EXPLODING_RATIO:
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
                f"({first:.3g} vs {last:.3g}): gradients grow ×{factor:.3g} per layer "
                "toward the input",
                evidence,
                _remedies(*keys),
            )
        )
    return out


def _growth_rule(df: pd.DataFrame, meta: dict[str, Any]) -> list[Finding]:
    tot = df[(df["layer"] == MODEL_NAME) & (df["quantity"] == "grad_norm")]
    tot = tot[np.isfinite(tot["value"])].sort_values("step")
    clipped = df[(df["layer"] == MODEL_NAME) & (df["quantity"] == "clipped")]
    frac = float(clipped["value"].mean()) if len(clipped) else 0.0
    out: list[Finding] = []
    keys = ["lstm"] if _is_recurrent(meta) else []
    keys += ["clipping", "learning-rate", "l2", "normalisation", "fan-in-init"]
    if len(tot) >= 5:
        k = max(3, len(tot) // 10)
        base = float(tot["value"].iloc[:k].median())
        i = int(np.argmax(tot["value"].to_numpy()))
        peak = float(tot["value"].iloc[i])
        if base > 0 and peak / base > GROWTH_RATIO:
            g = peak / base
            out.append(
                Finding(
                    "exploding",
                    (MODEL_NAME,),
                    "critical" if g > GROWTH_CRITICAL else "warning",
                    f"the gradient norm grew {g:.3g}× (from {base:.3g} to {peak:.3g} at step "
                    f"{int(tot['step'].iloc[i])})",
                    {
                        "early_median": base,
                        "peak": peak,
                        "peak_step": int(tot["step"].iloc[i]),
                        "growth": g,
                        "clipped_fraction": frac,
                    },
                    _remedies(*keys),
                )
            )
    if len(clipped) and frac > CLIPPED_FRACTION and not out:
        before = df[(df["layer"] == MODEL_NAME) & (df["quantity"] == "clip_before")]
        out.append(
            Finding(
                "exploding",
                (MODEL_NAME,),
                "warning",
                f"gradient clipping acted in {frac:.0%} of {len(clipped)} steps (median norm "
                f"before clipping {float(before['value'].median()):.3g})",
                {
                    "clipped_fraction": frac,
                    "n_steps": len(clipped),
                    "median_before": float(before["value"].median()),
                    "median_after": float(
                        df[(df["layer"] == MODEL_NAME) & (df["quantity"] == "clip_after")][
                            "value"
                        ].median()
                    ),
                },
                _remedies("learning-rate", "fan-in-init", "l2", "normalisation"),
            )
        )
    return out


def _nonfinite_rule(df: pd.DataFrame) -> list[Finding]:
    org = df[(df["quantity"] == "nonfinite_origin") & (df["value"] > 0)]
    if org.empty:
        return []
    org = org.sort_values("step", kind="stable")
    first_step = int(org["step"].iloc[0])
    first_layer = str(org["layer"].iloc[0])
    counts = {str(k): int(v) for k, v in org.groupby("layer", sort=False).size().items()}
    spread = df[(df["quantity"] == "nonfinite") & (df["step"] == first_step)]["layer"].tolist()
    at_step = df[(df["step"] == first_step) & (df["quantity"] == "grad_norm")]
    graded = set(at_step["layer"]) - {MODEL_NAME}
    everywhere = bool(graded) and graded <= set(spread)
    layers = tuple(counts)
    hint = (
        "; every layer's gradient is non-finite, so it may come from the forward pass or the "
        "cost itself (inputs, log(0), overflow)"
        if everywhere
        else ""
    )
    return [
        Finding(
            "nonfinite",
            layers,
            "critical",
            f"a NaN/Inf gradient was born in layer {first_layer} at step {first_step} "
            f"({int(org['step'].nunique())} non-finite steps in all){hint}",
            {
                "first_step": first_step,
                "origin": first_layer,
                "origin_counts": counts,
                "steps": sorted({int(s) for s in org["step"]})[:20],
                "n_steps": int(org["step"].nunique()),
                "spread_to": [str(s) for s in spread if s != first_layer],
                "all_layers": everywhere,
            },
            _remedies("check-data", "learning-rate", "clipping", "cross-entropy", "normalisation"),
        )
    ]


def _activation_rules(df: pd.DataFrame, meta: dict[str, Any]) -> list[Finding]:
    out: list[Finding] = []
    forward = meta.get("forward", [])
    order = meta.get("order", [])
    last_layer = order[-1] if order else None
    output_acts: set[str] = set()
    if forward and last_layer in forward:
        output_acts = set(forward[forward.index(last_layer) + 1 :])
    sat = _medians(df, "saturation")
    dsig = _medians(df, "mean_dsigma")
    bad = {k: v for k, v in sat.items() if v > SATURATED_FRACTION}
    if bad:
        worst = max(bad.values())
        is_output = any(k in output_acts for k in bad)
        keys = ["cross-entropy"] if is_output else []
        keys += ["fan-in-init", "relu", "normalisation"]
        out.append(
            Finding(
                "saturation",
                tuple(bad),
                "critical" if worst > CRITICAL_FRACTION else "warning",
                ", ".join(f"{k}: {v:.0%} saturated" for k, v in bad.items())
                + " (σ′(z) below 1 % of its maximum, so δˡ ∝ σ′(zˡ) ≈ 0 there)",
                {
                    "saturated_fraction": bad,
                    "mean_dsigma": {k: dsig[k] for k in bad if k in dsig},
                    "output_activation": sorted(k for k in bad if k in output_acts),
                    "steps": _steps(df),
                },
                _remedies(*keys),
            )
        )
    dead = {k: v for k, v in _medians(df, "dead_fraction").items() if v > DEAD_FRACTION}
    if dead:
        worst = max(dead.values())
        out.append(
            Finding(
                "dead-relu",
                tuple(dead),
                "critical" if worst > CRITICAL_FRACTION else "warning",
                ", ".join(f"{k}: {v:.0%} of units dead" for k, v in dead.items())
                + " (output 0 for every example: σ′ = 0, so ∂C/∂bˡ = 0 for them)",
                {"dead_fraction": dead, "steps": _steps(df)},
                _remedies("learning-rate", "fan-in-init", "leaky-relu", "normalisation"),
            )
        )
    return out


def _update_rule(df: pd.DataFrame, order: list[str]) -> list[Finding]:
    ratios = _medians(df, "update_ratio")
    has_grad = set(df[df["quantity"] == "grad_norm"]["layer"])
    ratios = {k: v for k, v in ratios.items() if k in has_grad}
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


def diagnose(history: pd.DataFrame, meta: dict[str, Any] | None = None) -> list[Finding]:
    """Findings for a history (a probe's ``history`` or :func:`load_history`'s result),
    most severe first. ``meta`` (layer order and types) defaults to ``history.attrs``."""
    if not isinstance(history, pd.DataFrame):
        raise DataError(f"diagnose() needs a DataFrame, got {type(history).__name__}")
    missing = [c for c in COLUMNS if c not in history.columns]
    if missing:
        raise DataError(f"not a gradprobe history: missing columns {missing}")
    meta = dict(meta) if meta is not None else meta_of(history)
    df = history
    if df.empty:
        return []
    order = _order(df, meta)
    findings = (
        _nonfinite_rule(df)
        + _depth_rules(df, order, meta)
        + _growth_rule(df, meta)
        + _activation_rules(df, meta)
        + _update_rule(df, order)
    )
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    return sorted(findings, key=lambda f: -rank[f.severity])
