"""A toy experiment on the new base, with its own figure module, for report and CLI tests.

`install(monkeypatch)` registers it (in a copy of the registry) and puts its figure module where
`gradprobe.report.figures.plot_module` finds figure modules — ``gradprobe.report.plots.<name>``
— without touching any file of the package. Its numbers are drawn from a seeded generator, so
the same seed gives the same result.
"""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import gradprobe.experiments as experiments
from gradprobe.experiments import base
from gradprobe.results import Comparison, Result, Table

NAME = "toy-exp"
MODULE = "gradprobe.report.plots.toy_exp"


@dataclass(frozen=True)
class ToyConfig:
    seeds: int = 6
    quick: bool = False
    centre: float = 0.5


class Toy(base.Experiment[ToyConfig]):
    name = NAME
    title = "Toy: σ′(z) and δˡ per seed"
    book_ref = "none (a test double)"
    order = 5.0
    Config = ToyConfig
    explanation = "A toy.\n\nIt draws numbers around ``centre``."
    quick_note = "Quick mode uses 5 seeds: the band is rough."

    def quick_config(self) -> ToyConfig:
        return ToyConfig(seeds=5, quick=True)

    def compute(self, config: ToyConfig, ctx: base.RunContext) -> dict[str, Any]:
        rng = np.random.default_rng(0)
        values = []
        for s in range(config.seeds):
            ctx.progress(f"seed {s + 1} of {config.seeds}", s, config.seeds)
            values.append(config.centre + 0.1 * rng.standard_normal())
        ctx.progress("done", config.seeds, config.seeds)
        return {"values": values, "curve": [config.centre * k for k in range(5)]}

    def compare(self, config: ToyConfig, data: dict[str, Any]) -> list[Comparison]:
        v = data["values"]
        return [
            Comparison.reproduction("δ¹ at the centre", v, 0.5, "toy book, ch. 0"),
            Comparison.reproduction("δ² far away", v, 9.0, "toy book, ch. 0"),
            Comparison.identity("σ′(0)", 0.25, 0.25, 1e-12),
            Comparison.prediction("theory σ′ mean", v, 0.5, "toy theory"),
        ]

    def conclude(
        self, config: ToyConfig, data: dict[str, Any], comparisons: list[Comparison]
    ) -> list[str]:
        med = float(np.median(data["values"]))
        side = "agrees with" if abs(med - 0.5) < 0.2 else "disagrees with"
        return [f"The median {med:.3f} {side} the toy book's 0.5."]

    def tables(self, config: ToyConfig, data: dict[str, Any]) -> list[Table]:
        rows = [[i, f"{x:.3f} ± 0.1"] for i, x in enumerate(data["values"])]
        return [Table("Per seed", ["seed", "‖δˡ‖ σ′(z)"], rows)]


def draw(result: Result) -> list[Any]:
    """The toy's one figure, from ``result.data`` only."""
    from gradprobe.report import style
    from gradprobe.report.figures import Drawn

    fig, ax = style.subplots(figsize=(4, 3))
    ax.plot(result.data["curve"], label="ours")
    ax.set(title="toy curve", xlabel="k", ylabel="σ′")
    ax.legend()
    return [Drawn("toy-curve", "The toy's curve, drawn from result.data.", fig)]


def plot_module() -> types.ModuleType:
    mod = types.ModuleType(MODULE)
    mod.draw = draw  # type: ignore[attr-defined]
    return mod


def install(monkeypatch: pytest.MonkeyPatch) -> type[Toy]:
    """Register the toy and its figure module for one test (both undone afterwards)."""
    # Every experiment module is imported first: one imported for the first time inside the
    # test would register into the copy only, and be missing from the registry afterwards.
    experiments.load_all()
    monkeypatch.setattr(base, "REGISTRY", dict(base.REGISTRY))
    base.register(Toy)
    monkeypatch.setitem(sys.modules, MODULE, plot_module())
    return Toy


def make_result(name: str = NAME, **changes: Any) -> Result:
    """A toy `Result` built directly (no run), with every kind of comparison."""
    values = [0.41, 0.45, 0.5, 0.52, 0.58, 0.6]
    fields: dict[str, Any] = {
        "name": name,
        "title": f"Toy {name}: σ′ and δˡ",
        "book_ref": "ch. 5",
        "config": {"seeds": 6, "sizes": [784, 30, 10]},
        "data": {"curve": [0.0, 0.5, 1.0, 1.5]},
        "comparisons": [
            Comparison.reproduction("‖δ¹‖ inside", values, 0.5, "ch. 5, text"),
            Comparison.reproduction("‖δ²‖ outside", values, 0.9, "ch. 5, figure"),
            Comparison.reproduction(
                "‖δ³‖ outside, explained", values, 0.1, "ch. 5", note="the book used one seed"
            ),
            Comparison.reproduction("‖δ⁴‖ few seeds", values[:3], 0.5, "ch. 5"),
            Comparison.identity("σ′(0)", 0.25, 0.25, 1e-12),
            Comparison("ratio ≥ 16", "bound", 20.0, 16.0, "ch. 5", relation=">=", band="exact"),
            Comparison.prediction("mean-field", values, 0.55, "theory"),
        ],
        "conclusions": ["First sentence about σ′.", "Second: the book's 0.9 is outside."],
        "tables": [Table("Per depth", ["depth", "acc %"], [[1, "95.1 ± 0.2"], [2, 96.0]])],
        "seeds": 6,
        "seconds": 1.5,
        "order": 5.0,
    }
    fields.update(changes)
    return Result(**fields)
