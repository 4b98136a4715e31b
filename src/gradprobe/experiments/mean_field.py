"""``mean-field``: the theory of wide random nets beside the measured speed of each layer.

Mean-field signal propagation (Poole et al. 2016; Schoenholz et al. 2017) predicts, from the
initialisation alone, how the book's speed of learning ‖δˡ‖ = ‖(1/n) Σₓ δˡ‖ falls from one hidden
layer to the previous one (`gradprobe.theory.predicted_speeds`). This experiment puts that
prediction beside the measured median and 10–90 % band over seeds of our engine for the book's
784-30-30-30-30-10 under network2's init and alternatives, draws the order/chaos phase diagrams
and the singular values of the input–output Jacobian (dynamical isometry, Pennington et al.
2017). Theory numbers are ``prediction`` comparisons, never reproductions of the book.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import theory
from ..errors import ConfigError
from ..results import Comparison, Table, band_of
from .base import Experiment, RunContext, register

SIZES = (784, 30, 30, 30, 30, 10)
#: (label, activation, init, σ_b² override) — init names as `gradprobe.theory.layer_variances`.
PAIRS: tuple[tuple[str, str, str, float | None], ...] = (
    ("sigmoid + network2 default", "sigmoid", "default", None),
    ("relu + He", "relu", "he", None),
    ("tanh + Xavier", "tanh", "xavier", None),
    ("sigmoid + N(0, 1) weights", "sigmoid", "large", None),
    ("sigmoid + orthogonal, b ~ N(0, 1)", "sigmoid", "orthogonal", None),
    ("tanh + orthogonal, b = 0", "tanh", "orthogonal", 0.0),
)
#: (activation, σ_w² or None for the critical value at this σ_b², σ_b²) for the spectra.
SPECTRA: tuple[tuple[str, float | None, float], ...] = (
    ("identity", 1.0, 0.0),
    ("tanh", None, 0.05),
    ("relu", 2.0, 0.0),
    ("sigmoid", 1.0, 1.0),
    ("sigmoid", None, 0.05),
)


@dataclass(frozen=True)
class MeanFieldConfig:
    """``seeds`` engine networks per pair; ``sim_seeds`` NumPy networks for the finite-width
    spread; Jacobian spectra of ``iso_depth`` layers ``iso_width`` wide over ``iso_seeds``. The
    theory averages over the ``samples`` images; its cross term (two different images) over
    ``pairs`` random pairs of them."""

    seeds: int = 100
    sim_seeds: int = 100
    samples: int = 1000
    pairs: int = 200
    iso_depth: int = 10
    iso_width: int = 100
    iso_seeds: int = 5
    grid: int = 30
    seed: int = 0
    quick: bool = False


def _orthogonal_(net: Any, gain: float, sigma_b2: float | None, seed: int) -> None:
    """Replace ``net``'s weights by gain × Haar orthogonal (rows orthonormal) per seed and layer;
    biases zeroed if ``sigma_b2 == 0``."""
    import torch

    with torch.no_grad():
        for s in range(net.n_seeds):
            g = torch.Generator().manual_seed(10_000 + seed + s)
            for layer in net.linears:
                _, n_out, n_in = layer.weight.shape
                a = torch.randn(max(n_out, n_in), min(n_out, n_in), generator=g,
                                dtype=torch.float64)  # fmt: skip
                q, r = torch.linalg.qr(a)
                q = q * torch.sign(torch.diagonal(r))
                w = q if n_out > n_in else q.T
                layer.weight[s].copy_(gain * w)
                if sigma_b2 == 0:
                    layer.bias[s].zero_()


def measure_speeds(activation: str, init: str, sigma_b2: float | None, seeds: int, x: Any,
                   y: Any, seed: int = 0) -> np.ndarray:  # fmt: skip
    """Per-seed ‖δˡ‖ [seeds, H] of our engine (`gradprobe.learning_speed`) for 784-30-…-10."""
    from ..nets import Network
    from ..speed import learning_speed

    engine_init = "default" if init == "orthogonal" else init
    net = Network(SIZES, activation, "cross-entropy", init=engine_init, seeds=seeds, seed=seed)
    if init == "orthogonal":
        _orthogonal_(net, 1.0, sigma_b2, seed)
    return learning_speed(net, x, y).speed.double().numpy()


@register
class MeanFieldExperiment(Experiment[MeanFieldConfig]):
    name = "mean-field"
    title = "Theory beside measurement: mean-field speed of each layer, phases, isometry"
    book_ref = "Beyond the book (chapter 5's speed of learning, explained by mean-field theory)"
    order = 210
    typical_seconds = (5, 60)  # scheduling hint (RESULTS.md)
    Config = MeanFieldConfig
    explanation = """The book measures that each hidden layer of 784-30-30-30-30-10 learns
    about four times slower than the next and explains it with a chain of single neurons. For
    wide random networks there is a precise theory: the variance q of the pre-activations
    settles at a fixed point q*, and backpropagation multiplies E‖δ‖² by χ₁ = σ_w² E[φ′(h)²]
    per layer. For network2's init (σ_w² = σ_b² = 1) and sigmoid units, q* ≈ 1.30 and √χ₁ ≈ 0.205.
    The first layer's variance comes from the images themselves; the book's speed is the norm
    of the gradient averaged over 1000 images, so the theory averages over pairs of images.

    The phase diagrams show where an initialisation lies: ordered (χ₁ < 1: gradients vanish,
    the book's case), chaotic (χ₁ > 1: they explode) or critical. Being critical is not enough:
    dynamical isometry needs all singular values of the Jacobian near 1, which orthogonal
    weights give for tanh at small σ_b² but no initialisation gives for ReLU."""
    quick_note = """Quick mode uses 20 seeds per initialisation (so the bands are rough), 5
    NumPy networks, a coarse phase grid, small Jacobians (6 layers of 50), and averages the
    theory's two-image term over 50 pairs of images instead of 200, which moves the predicted
    ratios by at most about 1 % (measured on the bundled images, 2026-12-01). It shows the same
    picture as a full run: the theory's per-layer ratio for network2's init (about 0.21) and
    where each initialisation lies; it cannot pin the measured ratios as tightly."""

    def quick_config(self) -> MeanFieldConfig:
        return MeanFieldConfig(seeds=20, sim_seeds=5, pairs=50, iso_depth=6, iso_width=50,
                               iso_seeds=2, grid=12, quick=True)  # fmt: skip

    def validate(self, config: MeanFieldConfig) -> None:
        super().validate(config)
        p = config.pairs
        if isinstance(p, bool) or not isinstance(p, int) or p < 1:
            raise ConfigError(f"mean-field: pairs must be a positive integer, got {p!r}")

    def compute(self, config: MeanFieldConfig, ctx: RunContext) -> dict[str, Any]:
        from ..data import load_data

        d = load_data(ctx.data or "bundled").training.subset(config.samples)
        x64, lab = d.images.double().numpy(), d.labels.numpy()
        inputs = theory.Inputs.from_data(x64, lab, pairs=config.pairs)
        pairs = []
        for i, (label, act, init, sb2) in enumerate(PAIRS):
            ctx.progress(f"speeds: {label}", i, len(PAIRS))
            pred = theory.predicted_speeds(SIZES, act, init, inputs=inputs, sigma_b2=sb2)
            measured = measure_speeds(act, init, sb2, config.seeds, d.images, d.labels,
                                      config.seed)  # fmt: skip
            sim = theory.simulate_speeds(SIZES, act, init, x64, lab, seeds=config.sim_seeds,
                                         seed=config.seed, sigma_b2=sb2)  # fmt: skip
            pairs.append({
                "label": label, "activation": act, "init": init, "sigma_b2": sb2,
                "layers": pred.layers, "q": pred.q, "c": pred.c,
                "predicted_speeds": pred.speeds, "predicted_ratios": pred.ratios,
                "per_example_ratios": pred.per_example_ratios,
                "measured_speeds": measured.tolist(),
                "measured_ratios": (measured[:, :-1] / measured[:, 1:]).tolist(),
                "simulated_ratios": (sim[:, :-1] / sim[:, 1:]).tolist(),
            })  # fmt: skip
        ctx.progress("phase diagrams", 0, 3)
        sb = np.linspace(0.0, 2.0, config.grid)
        phase = {
            "sigmoid": theory.phase_grid("sigmoid", np.geomspace(0.3, 300, config.grid), sb),
            "tanh": theory.phase_grid("tanh", np.geomspace(0.1, 8, config.grid), sb),
            "relu": theory.phase_grid("relu", np.geomspace(0.1, 8, config.grid), sb),
        }
        iso: list[dict[str, Any]] = []
        for act, sw2, sb2 in SPECTRA:
            ctx.progress(f"Jacobian: {act}", len(iso), len(SPECTRA))
            w2 = theory.critical_sigma_w2(act, sb2) if sw2 is None else sw2
            entry: dict[str, Any] = {"activation": act, "sigma_w2": w2, "sigma_b2": sb2,
                                     "singular_values": {}, "theory": {}}  # fmt: skip
            for weights in ("gaussian", "orthogonal"):
                sv = theory.jacobian_singular_values(
                    act,
                    w2,
                    sb2,
                    config.iso_depth,
                    width=config.iso_width,
                    weights=weights,
                    seeds=config.iso_seeds,
                    seed=config.seed,
                )
                lam = sv**2
                entry["singular_values"][weights] = sv.tolist()
                entry["measured_spread_" + weights] = float(lam.var() / lam.mean() ** 2)
                entry["theory"][weights] = theory.jacobian_moments(
                    act, w2, sb2, config.iso_depth, weights
                ).to_dict()
            iso.append(entry)
        network2 = theory.mean_field("sigmoid", 1.0, 1.0).to_dict()
        return {"sizes": list(SIZES), "q0": inputs.q0, "c0": inputs.c0, "pairs": pairs,
                "phase": phase, "isometry": iso, "network2": network2}  # fmt: skip

    def compare(self, config: MeanFieldConfig, data: dict[str, Any]) -> list[Comparison]:
        out = []
        for p in data["pairs"]:
            per_seed = np.asarray(p["measured_ratios"])
            for l, pred in enumerate(p["predicted_ratios"]):
                out.append(Comparison.prediction(
                    f"‖δ{l + 1}‖/‖δ{l + 2}‖, {p['label']}", per_seed[:, l], pred,
                    "mean-field theory (gradprobe.theory.predicted_speeds)"))  # fmt: skip
        return out

    def conclude(self, config: MeanFieldConfig, data: dict[str, Any],
                 comparisons: list[Comparison]) -> list[str]:  # fmt: skip
        n2 = data["network2"]
        inside = sum(c.verdict == "agrees" for c in comparisons)
        judged = sum(c.verdict != "not judged" for c in comparisons)
        out = [
            f"For network2's init the theory gives q* = {n2['q_star']:.3f} and "
            f"√χ₁ = {n2['gradient_ratio']:.3f} per layer (ordered phase, ξ_∇ = "
            f"{n2['xi_grad']:.2f} layers).",
            f"{inside} of {judged} predicted per-layer ratios lie inside the 10–90 % band of "
            "our engine's single networks.",
        ]
        for c in comparisons:
            if c.verdict == "disagrees":
                out.append(
                    f"Outside the band: {c.quantity}: predicted {c.reference:.3f}, "
                    f"measured median {c.ours:.3f} [{c.low:.3f}, {c.high:.3f}]."
                )
        for e in data["isometry"]:
            g, o = e["theory"]["gaussian"], e["theory"]["orthogonal"]
            out.append(
                f"{e['activation']} at σ_w² = {e['sigma_w2']:.3g}, σ_b² = {e['sigma_b2']:g}: "
                f"E λ(JJᵀ) = {g['mean']:.3g}; normalised spread {g['spread']:.2f} with Gaussian "
                f"and {o['spread']:.2f} with orthogonal weights (measured "
                f"{e['measured_spread_gaussian']:.2f} and {e['measured_spread_orthogonal']:.2f})."
            )
        return out

    def tables(self, config: MeanFieldConfig, data: dict[str, Any]) -> list[Table]:
        rows = []
        for p in data["pairs"]:
            m = np.asarray(p["measured_ratios"])
            s = np.asarray(p["simulated_ratios"])
            for l, pred in enumerate(p["predicted_ratios"]):
                bm, bs = band_of(m[:, l]), band_of(s[:, l])
                rows.append([p["label"], f"{l + 1}→{l + 2}", round(pred, 3),
                             round(p["per_example_ratios"][l], 3), round(bm.median, 3),
                             _band(bm), round(bs.median, 3), _band(bs)])  # fmt: skip
        return [Table("Per-layer ratio ‖δˡ‖/‖δˡ⁺¹‖ of 784-30-30-30-30-10: theory and measurement",
                      ["init", "layers", "predicted (batch mean)", "predicted (one image)",
                       "engine median", "engine 10–90 %", "NumPy sim. median",
                       "NumPy 10–90 %"], rows)]  # fmt: skip


def _band(b: Any) -> str:
    if b.low is None or not math.isfinite(b.low):
        return "–"
    return f"{b.low:.3f}–{b.high:.3f}"
