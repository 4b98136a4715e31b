"""Figures of ``mean-field``: the order/chaos phase diagrams and the Jacobian spectra."""

from __future__ import annotations

from typing import Any

import numpy as np

from gradprobe.report import style
from gradprobe.report.figures import Drawn
from gradprobe.results import Result

BOOK_INIT = (1.0, 1.0)  # network2: σ_w² = 1 (N(0, 1/n_in)), σ_b² = 1 (N(0, 1))


def phase_axes(ax: Any, grid: dict[str, Any], title: str, *,
               mark: tuple[float, float] = BOOK_INIT,
               mark_label: str = "network2's init (σ_w² = 1, σ_b² = 1)") -> None:  # fmt: skip
    """Draw log₁₀ χ₁ over (σ_w², σ_b²) from ``grid`` (`gradprobe.theory.phase_grid`'s dict),
    the critical line χ₁ = 1 and the point ``mark``."""
    sw, sb = np.asarray(grid["sigma_w2"]), np.asarray(grid["sigma_b2"])
    chi = np.log10(np.clip(np.asarray(grid["chi1"], dtype=float), 1e-6, 1e6))
    lim = max(1.0, float(np.abs(chi).max()))
    mesh = ax.pcolormesh(sw, sb, chi, cmap="RdBu_r", vmin=-lim, vmax=lim, shading="auto")
    if chi.min() < 0 < chi.max():
        ax.contour(sw, sb, chi, levels=[0.0], colors="black", linewidths=1.4)
    ax.plot(*mark, **{**style.BOOK_MARKER, "markeredgecolor": "white"}, label=mark_label)
    ax.set_xscale("log")
    ax.set_xlabel("σ_w²  (n_in · Var w)")
    ax.set_ylabel("σ_b²  (Var b)")
    ax.set_title(title)
    ax.figure.colorbar(mesh, ax=ax, label="log₁₀ χ₁  (< 0 ordered, > 0 chaotic)")
    ax.legend(loc="upper left", fontsize=8)


def draw(result: Result) -> list[Drawn]:
    """Phase diagrams for each activation in ``data["phase"]`` and the Jacobian spectra in
    ``data["isometry"]``."""
    data = result.data
    out: list[Drawn] = []
    grids = data.get("phase", {})
    if grids:
        fig, axes = style.subplots(1, len(grids), figsize=(5.0 * len(grids), 4.2))
        axes = np.atleast_1d(axes)
        for ax, (name, grid) in zip(axes, grids.items()):
            phase_axes(ax, grid, f"{name}: χ₁ = σ_w² E[φ′(h)²]")
        out.append(Drawn("mean_field_phase", (
            "Order/chaos phase diagrams at initialisation (mean field): colour is log₁₀ χ₁, "
            "the factor by which E‖δ‖² changes per layer; the black line is χ₁ = 1 (critical). "
            "Amber diamond: network2's initialisation (σ_w² = 1, σ_b² = 1)."), fig))  # fmt: skip
    spectra = data.get("isometry", [])
    if spectra:
        fig, axes = style.subplots(1, len(spectra), figsize=(3.6 * len(spectra), 3.6),
                                   sharey=False)  # fmt: skip
        axes = np.atleast_1d(axes)
        for ax, sp in zip(axes, spectra):
            for weights, colour in (("gaussian", style.PALETTE[0]),
                                    ("orthogonal", style.PALETTE[2])):  # fmt: skip
                sv = np.asarray(sp["singular_values"][weights], dtype=float)
                sv = np.log10(np.clip(sv, 1e-12, None))
                # all values equal (the identity net: every singular value 1): bins of zero
                # width would give a density of 1e16; give them a visible width instead
                span = None if np.ptp(sv) > 1e-9 else (sv.min() - 0.5, sv.max() + 0.5)
                # one filled outline per histogram, not 40 bar patches (drawing cost)
                ax.hist(sv, bins=40, range=span, density=True, alpha=0.55, color=colour,
                        label=weights, histtype="stepfilled")  # fmt: skip
            ax.axvline(0.0, color=style.GREY, lw=1, ls=":")
            ax.set_title(f"{sp['activation']} σ_w²={sp['sigma_w2']:.3g} σ_b²={sp['sigma_b2']:g}",
                         fontsize=9)  # fmt: skip
            ax.set_xlabel("log₁₀ singular value of J")
        axes[0].set_ylabel("density")
        axes[0].legend(fontsize=8)
        out.append(Drawn("mean_field_jacobian", (
            "Singular values of the input–output Jacobian J = Dᴸ Wᴸ ⋯ D¹ W¹ at initialisation "
            "(simulation, log scale), Gaussian against orthogonal weights. All near 0 on this "
            "axis (singular value 1) is dynamical isometry."), fig))  # fmt: skip
    return out
