"""Figures of ``through-time``, drawn from its result's data alone.

* ``through_time_profiles``: ‖∂L/∂h_t‖ against t at init per cell (median over seeds), both
  stacked layers, adding problem at the longest T;
* ``through_time_training``: the profile at init and after training (seed 0), adding problem at
  the longest length trained;
* ``through_time_radius``: decay factor per step of the tanh RNN against σ_max(W_hh), beside
  Pascanu et al.'s condition σ_max < 1/γ;
* ``through_time_clipping``: training loss with and without clipping the gradient's norm;
* ``through_time_outcome``: test loss against T per cell with seed bands, and the baseline;
* ``through_time_learning``: validation loss against Adam steps, every seed, per cell, at the
  longest adding length trained (a line ends where its seed reached the stopping threshold).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...results import MIN_BAND_SEEDS, Result, seed_band
from .. import style
from ..figures import Drawn

CELLS = ("rnn-tanh", "rnn-sigmoid", "lstm", "lstm-fb1", "gru")
LABELS = {
    "rnn-tanh": "RNN tanh",
    "rnn-sigmoid": "RNN sigmoid",
    "lstm": "LSTM (default)",
    "lstm-fb1": "LSTM forget bias 1",
    "gru": "GRU",
}


def draw(result: Result) -> list[Drawn]:
    """``data``: ``runs`` (task, cell, T, seed, test_loss, baseline, train_loss, profiles
    {step: {norms: {layer: [T]}}}), ``stacked``, ``sweep``, ``clipping``, ``gamma``."""
    d = result.data
    cells = [c for c in CELLS if any(r["cell"] == c for r in d["runs"])]
    return [
        _profiles(d, cells),
        _training(d, cells),
        _radius(d),
        _clipping(d),
        _outcome(d, cells),
        _learning(d, cells),
    ]


def _longest(d: dict[str, Any]) -> int | None:
    Ts = [r["T"] for r in d["runs"] if r["task"] == "adding"]
    return max(Ts) if Ts else None


def _colour(i: int) -> str:
    return style.PALETTE[i % len(style.PALETTE)]


def _pos(v: np.ndarray) -> np.ndarray:
    return np.where(v > 0, v, np.nan)


def _profiles(d: dict[str, Any], cells: list[str]) -> Drawn:
    fig, ax = style.subplots(figsize=(7.4, 4.4))
    for i, c in enumerate(cells):
        rows = [s for s in d["stacked"] if s["cell"] == c]
        for j, layer in enumerate(rows[0]["norms"]):
            v = np.array([r["norms"][layer] for r in rows], dtype=np.float64)
            med = np.median(v, axis=0)
            ax.plot(
                np.arange(med.size),
                _pos(med),
                color=_colour(i),
                ls="-" if j == 0 else "--",
                label=f"{LABELS[c]}, {layer}",
            )
    ax.set_yscale("log")
    ax.set_xlabel("time step t (loss at the last step)")
    ax.set_ylabel("‖∂L/∂h_t‖")
    ax.set_title(f"Gradient through time at init, adding problem T = {d['profile_length']}")
    ax.legend(fontsize=7.5, ncols=2)
    return Drawn(
        "through_time_profiles",
        "‖∂L/∂h_t‖ for every t at init (median over seeds; solid: first layer, dashed: "
        "second stacked layer; the sigmoid RNN has one layer).",
        fig,
    )


def _training(d: dict[str, Any], cells: list[str]) -> Drawn:
    T = _longest(d)
    fig, ax = style.subplots(figsize=(7.4, 4.4))
    for i, c in enumerate(cells):
        r = next(
            (
                r
                for r in d["runs"]
                if r["task"] == "adding" and r["cell"] == c and r["T"] == T and r["seed"] == 0
            ),
            None,
        )
        if r is None:
            continue
        steps = sorted(r["profiles"], key=int)
        for k, s in enumerate(steps):
            v = np.asarray(r["profiles"][s]["norms"]["layer 0"], dtype=np.float64)
            ax.plot(
                np.arange(v.size),
                _pos(v),
                color=_colour(i),
                alpha=0.4 if k == 0 else 1.0,
                ls=":" if k == 0 else "-",
                label=f"{LABELS[c]}, step {s}",
            )
    ax.set_yscale("log")
    ax.set_xlabel("time step t")
    ax.set_ylabel("‖∂L/∂h_t‖")
    ax.set_title(f"During training (seed 0), adding problem T = {T}")
    ax.legend(fontsize=7, ncols=3)
    return Drawn(
        "through_time_training",
        "The per-timestep profile at init (faint) and after training (solid; the last step "
        "trained, in the legend), one seed per cell.",
        fig,
    )


def _radius(d: dict[str, Any]) -> Drawn:
    sweep = d["sweep"]
    radii = sorted({r["radius"] for r in sweep})
    vals = [[r["decay"] for r in sweep if r["radius"] == x] for x in radii]
    med = [float(np.median(v)) for v in vals]
    lo = [float(np.min(v)) for v in vals]
    hi = [float(np.max(v)) for v in vals]
    fig, ax = style.subplots(figsize=(6.4, 4.2))
    ax.fill_between(radii, lo, hi, color=style.OURS, alpha=0.2, label="min–max over seeds")
    ax.plot(radii, med, color=style.OURS, marker="o", label="ours: decay factor per step")
    g = float(d["gamma"]["tanh"])
    ax.plot(radii, [g * r for r in radii], color=style.GREY, ls=":", label="bound γ·σ_max per step")
    ax.axvline(1 / g, color=style.GREY, ls="--", label="Pascanu: vanishing for σ_max < 1/γ = 1")
    ax.axhline(1.0, color="#374151", lw=0.8)
    ax.set_xlabel("σ_max(W_hh) = spectral radius (W_hh = r·Q, Q orthogonal)")
    ax.set_ylabel("‖∂L/∂h_t‖ factor per step backwards")
    ax.set_title("tanh RNN at init: where the gradient vanishes")
    ax.legend(fontsize=8)
    return Drawn(
        "through_time_radius",
        "Fitted factor per step of ‖∂L/∂h_t‖ against the recurrent matrix's largest "
        "singular value, tanh RNN at init, beside Pascanu et al. (2013)'s condition.",
        fig,
    )


def _clipping(d: dict[str, Any]) -> Drawn:
    fig, ax = style.subplots(figsize=(6.4, 4.2))
    for r in d["clipping"]:
        v = np.array([np.nan if x is None else x for x in r["loss"]], dtype=np.float64)
        c = style.OURS if r["clip"] is not None else "#dc2626"
        lab = ("clipped at ‖g‖ ≤ " + f"{r['clip']:g}") if r["clip"] is not None else "no clipping"
        ax.plot(np.arange(v.size), v, color=c, alpha=0.7, label=lab if r["seed"] == 0 else None)
    ax.set_yscale("log")
    ax.set_xlabel("SGD step")
    ax.set_ylabel("training MSE")
    ax.set_title("Exploding tanh RNN: clipping the gradient's norm")
    ax.legend()
    return Drawn(
        "through_time_clipping",
        "Training loss per step of a tanh RNN with a large recurrent spectral radius, "
        "with and without gradient clipping by norm (one line per seed; a line that "
        "stops went non-finite).",
        fig,
    )


def _outcome(d: dict[str, Any], cells: list[str]) -> Drawn:
    fig, ax = style.subplots(figsize=(6.4, 4.2))
    Ts = sorted({r["T"] for r in d["runs"] if r["task"] == "adding"})
    for i, c in enumerate(cells):
        per = [
            [
                r["test_loss"]
                for r in d["runs"]
                if r["task"] == "adding" and r["cell"] == c and r["T"] == T
            ]
            for T in Ts
        ]
        have = [(T, p) for T, p in zip(Ts, per) if p]
        if not have:
            continue
        xs = [T for T, _ in have]
        vals = [[np.inf if v is None else v for v in p] for _, p in have]
        med, lo, hi = (np.array([seed_band(v)[k] for v in vals]) for k in range(3))
        ax.plot(xs, med, color=_colour(i), marker="o", label=LABELS[c])
        if len(vals[0]) >= MIN_BAND_SEEDS:
            ax.fill_between(xs, lo, hi, color=_colour(i), alpha=0.15)
    base = [
        float(
            np.median([r["baseline"] for r in d["runs"] if r["task"] == "adding" and r["T"] == T])
        )
        for T in Ts
    ]
    ax.plot(Ts, base, color=style.GREY, ls="--", label="constant prediction (baseline)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("sequence length T")
    ax.set_ylabel("test MSE")
    ax.set_title("Adding problem: learning outcome against T")
    ax.legend(fontsize=8)
    return Drawn(
        "through_time_outcome",
        "Test MSE after training against T: median and 10–90 % band over seeds (with ≥ 5 "
        "seeds), beside the constant-prediction baseline computed on the test set. A cell "
        "without a point at a length was not trained there (no seed learnt a shorter one).",
        fig,
    )


def _learning(d: dict[str, Any], cells: list[str]) -> Drawn:
    T = _longest(d)
    fig, ax = style.subplots(figsize=(7.4, 4.4))
    base = []
    for i, c in enumerate(cells):
        runs = [r for r in d["runs"] if r["task"] == "adding" and r["cell"] == c and r["T"] == T]
        for r in runs:
            v = np.array([np.nan if p[1] is None else p[1] for p in r["val_loss"]], dtype=float)
            x = np.array([p[0] for p in r["val_loss"]], dtype=float)
            ax.plot(x, v, color=_colour(i), alpha=0.75, label=LABELS[c] if r["seed"] == 0 else None)
            base.append(r["baseline"])
    if base:
        b = float(np.median(base))
        ax.axhline(b, color=style.GREY, ls="--", label="constant prediction (test set)")
        stop = d.get("stop_fraction")
        if stop:
            ax.axhline(
                stop * b,
                color=style.GREY,
                ls=":",
                label=f"stop: {stop:g} × baseline (≈; of the validation set)",
            )
    ax.set_yscale("log")
    ax.set_xlabel("Adam step")
    ax.set_ylabel("validation MSE")
    ax.set_title(f"Learning the adding problem at T = {T} (every seed)")
    ax.legend(fontsize=7.5)
    return Drawn(
        "through_time_learning",
        f"Validation MSE against Adam steps at T = {T}, one line per seed; a line ends where "
        "its seed reached the stopping threshold or the step budget. Cells missing here were "
        "not trained at this length.",
        fig,
    )
