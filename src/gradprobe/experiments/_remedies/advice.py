"""Does the probe's advice predict what the remedies do? (``remedies``, issue 13 item 5.)

For every un-remedied configuration of the grid (the baseline, network2's large init, the
quadratic cost) at every depth and every seed, the probe watches its first mini-batches and
gives its advice, on a one-seed `gradprobe.nets.Network` (S = 1):

1. ``gradprobe.probe.what_if(net, first_batches, changes)`` at initialisation: for each change
   whose remedied net the grid trains (`PAIRS`), the predicted improvement is how much the
   change moves the first/last speed ratio towards 1, in decades:
   |log₁₀ r₀| − |log₁₀ r₁| (what_if's own "balance", on which its verdict rests);
2. ``gradprobe.watch(net)`` through ``steps`` SGD steps on those batches, then
   ``probe.diagnose()``: the configuration is *sick* when the majority of seeds get a
   ``vanishing``/``exploding``/``saturation``/``dead-relu``/``no-learning``/``nonfinite``
   finding.

Per change, the seeds' median predicted improvement and their majority verdict (a tie:
"neutral") stand for the configuration. The measured gain of a change is the remedied
cell's median test accuracy minus the sick cell's (same seeds, same budget). `validate`
pairs them: Spearman's ρ over the sick configurations' pairs, and every pair where the
advice was wrong (what_if said "helps" and the accuracy did not rise by more than
``helps``, or it said "neutral"/"hurts" and it rose).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

#: sick remedy key → [(what_if change, remedy key of the net that change gives)]. what_if's
#: ``he-init`` keeps the biases (N(0, 1)) while the grid's He nets start with bˡ = 0; its
#: ``fan-in-init`` and ``cross-entropy`` give exactly the grid's baseline.
PAIRS: dict[str, list[tuple[str, str]]] = {
    "baseline": [("relu+he-init", "relu-he"), ("leaky-relu+he-init", "leaky-he")],
    "sigmoid-large": [
        ("fan-in-init", "baseline"),
        ("relu+he-init", "relu-he"),
        ("leaky-relu+he-init", "leaky-he"),
    ],
    "quadratic": [("cross-entropy", "baseline")],
}
#: Findings that make a configuration sick.
SICK_KINDS = ("vanishing", "exploding", "saturation", "dead-relu", "no-learning", "nonfinite")


def advise_seed(
    net_args: dict[str, Any], seed: int, changes: list[str], x: torch.Tensor, labels: torch.Tensor,
    steps: int, batch_size: int, eta: float, lmbda: float, n_train: int,
) -> dict[str, Any]:  # fmt: skip
    """One seed: what_if's predictions at initialisation, then the diagnosis after ``steps``
    SGD steps (network2's update, autograd) on the first ``steps`` mini-batches of x."""
    from ...nets import Network
    from ...probe import watch
    from ...probe.what_if import balance, what_if

    net = Network(**net_args, seeds=1, seed=seed)
    n_out = net.sizes[-1]
    xb_all = x[: steps * batch_size]
    y1h = F.one_hot(labels[: steps * batch_size].long(), n_out).to(xb_all.dtype)
    table = what_if(net, (xb_all, y1h), changes=changes, seed=seed)
    predicted: dict[str, dict[str, Any]] = {}
    for change, rows in table.groupby("change", sort=False):
        first, last = rows.iloc[0], rows.iloc[-1]
        b0 = balance(float(first.baseline), float(last.baseline))
        b1 = balance(float(first.speed), float(last.speed))
        gain = b0 - b1 if math.isfinite(b0) and math.isfinite(b1) else None
        predicted[str(change)] = {"improvement": gain, "verdict": str(rows.iloc[0].verdict)}
    probe = watch(net)
    try:
        weights = [w for w in net.weights]
        for i in range(steps):
            xb = xb_all[i * batch_size : (i + 1) * batch_size]
            yb = y1h[i * batch_size : (i + 1) * batch_size]
            if xb.shape[0] == 0:
                break
            net.zero_grad()
            net.cost_fn(net(xb), yb).backward()
            probe.step()
            with torch.no_grad():
                for w in weights:
                    w.mul_(1.0 - eta * lmbda / n_train)
                for p in net.parameters():
                    if p.grad is not None:
                        p.sub_(eta * p.grad)
        findings = probe.diagnose()
    finally:
        probe.close()
    return {
        "predicted": predicted,
        "findings": sorted({f.kind for f in findings}),
        "severities": {f.kind: f.severity for f in findings},
    }


def advise(
    net_args: dict[str, Any], seeds: list[int], changes: list[str], x: torch.Tensor,
    labels: torch.Tensor, steps: int, batch_size: int, eta: float, lmbda: float, n_train: int,
) -> dict[str, Any]:  # fmt: skip
    """`advise_seed` for every seed, summarised: per change the median predicted improvement
    and the majority verdict; the findings and whether the configuration is sick."""
    per = [advise_seed(net_args, s, changes, x, labels, steps, batch_size, eta, lmbda, n_train)
           for s in seeds]  # fmt: skip
    kinds: dict[str, int] = {}
    for p in per:
        for k in p["findings"]:
            kinds[k] = kinds.get(k, 0) + 1
    sick_seeds = sum(1 for p in per if any(k in SICK_KINDS for k in p["findings"]))
    out: dict[str, Any] = {
        "findings": kinds,
        "sick_seeds": sick_seeds,
        "seeds": len(per),
        "sick": sick_seeds * 2 > len(per),
        "changes": {},
    }
    for change in changes:
        vals = [p["predicted"][change]["improvement"] for p in per]
        fin = [v for v in vals if v is not None]
        verdicts = [p["predicted"][change]["verdict"] for p in per]
        counts = {v: verdicts.count(v) for v in set(verdicts)}
        most = max(counts.values())
        tops = [v for v, c in counts.items() if c == most]
        top = tops[0] if len(tops) == 1 else "neutral"  # a tie between verdicts: no advice
        out["changes"][change] = {
            "improvement": float(np.median(fin)) if fin else None,
            "per_seed": vals,
            "verdict": top,
            "verdicts": {v: verdicts.count(v) for v in sorted(set(verdicts))},
        }
    return out


def validate(
    advice: dict[str, Any], accuracy: dict[str, float | None], helps: float
) -> dict[str, Any]:
    """Pair each sick configuration's advice with the measured gain.

    ``advice``: {"remedy@hidden": `advise` output + "remedy", "hidden"}; ``accuracy``:
    {"remedy@hidden": median test accuracy or None (every seed diverged)}. Returns rows, ρ, p
    and the wrong cases."""
    from scipy.stats import spearmanr

    rows: list[dict[str, Any]] = []
    for key, adv in advice.items():
        if not adv["sick"]:
            continue
        sick_acc = accuracy.get(key)
        for change, target in PAIRS.get(adv["remedy"], []):
            pred = adv["changes"].get(change)
            tkey = f"{target}@{adv['hidden']}"
            if pred is None or tkey not in accuracy:
                continue
            t_acc = accuracy[tkey]
            # a remedied net whose seeds all diverged reached chance at best: count it as 0.1
            t_val = 0.1 if t_acc is None else t_acc
            s_val = 0.1 if sick_acc is None else sick_acc
            gain = t_val - s_val
            verdict = pred["verdict"]
            if verdict == "helps":
                wrong = gain <= helps
                why = "predicted to help, but accuracy rose by at most the threshold" if wrong \
                    else ""  # fmt: skip
            else:
                wrong = gain > helps
                why = f"predicted '{verdict}', but accuracy rose" if wrong else ""
            rows.append({
                "sick": key, "remedy": adv["remedy"], "hidden": adv["hidden"],
                "findings": sorted(adv["findings"]), "change": change, "remedied": tkey,
                "predicted": pred["improvement"], "verdict": verdict,
                "sick_accuracy": sick_acc, "remedied_accuracy": t_acc, "gain": gain,
                "wrong": wrong, "why": why,
            })  # fmt: skip
    pts = [(r["predicted"], r["gain"]) for r in rows if r["predicted"] is not None]
    rho = p = None
    if len(pts) >= 3 and len({a for a, _ in pts}) > 1 and len({b for _, b in pts}) > 1:
        res = spearmanr([a for a, _ in pts], [b for _, b in pts])
        rho, p = float(res.statistic), float(res.pvalue)
    return {
        "rows": rows,
        "spearman": rho,
        "p_value": p,
        "n": len(pts),
        "wrong": sum(1 for r in rows if r["wrong"]),
        "helps_threshold": helps,
    }
