"""Figures of ``through-time``, drawn from its result's data alone.

* ``through_time_profiles``: ‖∂L/∂h_t‖ against t at init per cell (median over seeds), both
  stacked layers, adding problem at the longest T;
* ``through_time_training``: the profile at init, during and after training (seed 0), adding
  problem at the longest length trained;
* ``through_time_during``: per cell (one layer, its longest adding length), the gradient
  reaching t = 0 as a fraction of the one at the last step against the Adam step, every seed;
* ``through_time_stacked``: the stacked models trained at ``stacked_length``: that ratio per
  layer against the step (every seed), and seed 0's per-layer profiles at init, during and
  after training (only when stacked models were trained);
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
    out = [
        _profiles(d, cells),
        _training(d, cells),
        _during(d, cells),
        _radius(d),
        _clipping(d),
        _outcome(d, cells),
        _learning(d, cells),
    ]
    if d.get("stacked_runs"):
        out.append(_stacked(d))
    return out


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
        _profile_lines(ax, r, "layer 0", _colour(i), LABELS[c])
    ax.set_yscale("log")
    ax.set_xlabel("time step t")
    ax.set_ylabel("‖∂L/∂h_t‖")
    ax.set_title(f"During training (seed 0), adding problem T = {T}")
    ax.legend(fontsize=7, ncols=2)
    return Drawn(
        "through_time_training",
        "The per-timestep profile at init (dotted), at the steps profiled during training "
        "(thin, darker as training goes on) and at the last step trained (solid, in the "
        "legend), one seed per cell.",
        fig,
    )


def _profile_lines(ax: Any, r: dict[str, Any], layer: str, colour: str, label: str) -> None:
    """One run's profiles of ``layer``: init dotted, during thin (alpha rising), end solid."""
    steps = sorted(r["profiles"], key=int)
    for k, s in enumerate(steps):
        v = _pos(np.asarray(r["profiles"][s]["norms"][layer], dtype=np.float64))
        x = np.arange(v.size)
        if k == 0:
            ax.plot(x, v, color=colour, alpha=0.5, ls=":", label=f"{label}, init")
        elif k == len(steps) - 1:
            ax.plot(x, v, color=colour, lw=1.8, label=f"{label}, step {s}")
        else:
            ax.plot(x, v, color=colour, lw=0.7, alpha=0.15 + 0.5 * k / len(steps))


def _ratios(r: dict[str, Any], layer: str) -> tuple[np.ndarray, np.ndarray]:
    """(steps, ‖∂L/∂h_0‖ / ‖∂L/∂h_{T−1}‖) of one run's profiles of ``layer``."""
    steps = sorted(r["profiles"], key=int)
    vals = [r["profiles"][s]["analysis"][layer]["ratio"] for s in steps]
    v = np.array([np.nan if x is None else x for x in vals], dtype=np.float64)
    return np.array([int(s) for s in steps], dtype=np.float64), _pos(v)


def _during(d: dict[str, Any], cells: list[str]) -> Drawn:
    fig, axes = style.subplots(
        1, max(len(cells), 1), figsize=(2.9 * max(len(cells), 1), 3.4), squeeze=False
    )
    for i, c in enumerate(cells):
        ax = axes[0][i]
        Ts = [r["T"] for r in d["runs"] if r["task"] == "adding" and r["cell"] == c]
        if not Ts:
            ax.set_visible(False)
            continue
        T = max(Ts)
        for r in d["runs"]:
            if r["task"] == "adding" and r["cell"] == c and r["T"] == T:
                x, v = _ratios(r, "layer 0")
                ax.plot(x, v, color=_colour(i), marker=".", alpha=0.75)
        ax.set_yscale("log")
        ax.set_title(f"{LABELS[c]}, T = {T}", fontsize=9)
        ax.set_xlabel("Adam step")
        if i == 0:
            ax.set_ylabel("‖∂L/∂h_0‖ / ‖∂L/∂h_{T−1}‖")
    return Drawn(
        "through_time_during",
        "During training (one layer, adding problem at each cell's longest length trained): "
        "the gradient reaching t = 0 as a fraction of the one at the last step, at init, every "
        f"{d.get('profile_every', '?')} Adam steps and at the last step; one line per seed.",
        fig,
    )


def _stacked(d: dict[str, Any]) -> Drawn:
    runs = d["stacked_runs"]
    cells = [c for c in CELLS if any(r["cell"] == c for r in runs)]
    n = len(cells)
    fig, axes = style.subplots(2, n, figsize=(3.2 * n, 6.4), squeeze=False)
    T = runs[0]["T"]
    for i, c in enumerate(cells):
        mine = [r for r in runs if r["cell"] == c]
        layers = list(mine[0]["profiles"]["0"]["analysis"])
        top, bottom = axes[0][i], axes[1][i]
        for j, layer in enumerate(layers):
            for r in mine:
                x, v = _ratios(r, layer)
                top.plot(x, v, color=_colour(j), marker=".", alpha=0.6,
                         label=layer if r["seed"] == mine[0]["seed"] else None)  # fmt: skip
            seed0 = mine[0]
            _profile_lines(bottom, seed0, layer, _colour(j), layer)
        if i == 0:
            top.set_ylabel("‖∂L/∂h_0‖ / ‖∂L/∂h_{T−1}‖")
            bottom.set_ylabel(f"‖∂L/∂h_t‖ (seed {mine[0]['seed']})")
            top.legend(fontsize=7)
        for ax, xlabel in ((top, "Adam step"), (bottom, "time step t")):
            ax.set_yscale("log")
            ax.set_xlabel(xlabel)
        top.set_title(f"{len(layers)}-layer {LABELS[c]}", fontsize=9)
        bottom.legend(fontsize=6)
    return Drawn(
        "through_time_stacked",
        f"Stacked models trained on the adding problem at T = {T}: top, the gradient reaching "
        "t = 0 as a fraction of the one at the last step, per layer (colour), every seed, "
        "against the Adam step; bottom, one seed's per-layer profiles at init (dotted), during "
        "training (thin) and at its last step (solid).",
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
