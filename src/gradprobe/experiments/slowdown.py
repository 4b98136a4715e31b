"""``slowdown``: chapter 3's single sigmoid neuron that learns slowly from a bad start.

One neuron a = σ(w·x + b) with input x = 1 and target y = 0, trained by gradient descent on
that one example from (w, b) = (0.6, 0.9) and from (2.0, 2.0). With the quadratic cost
C = (a − y)²/2 the gradient ∂C/∂b = (a − y)σ′(z) carries σ′(z), which is tiny when the neuron is
saturated, so from (2, 2) learning first crawls along a plateau; with the cross-entropy cost
∂C/∂b = a − y and the neuron learns fastest when it is most wrong. The book uses η = 0.15 for the
quadratic cost and η = 0.005 for cross-entropy; we also run cross-entropy at η = 0.15 to compare
like for like. Gradients come from the engine's backpropagation on a [1, 1] `Network`, float64.

What the book prints: the initial outputs 0.82 and 0.98 (σ(1.5) and σ(4) rounded: true by
construction, so ``identity`` checks) and, for the quadratic cost from (0.6, 0.9), a final output
"of about 0.09" — the one ``reproduction``. The book's widget (js/saturation1.js) runs 300 frames,
each one update, and shows the output after frame 300 (301 updates): a detail the text leaves
open, so both 300 and 301 updates are reported. "For the first 150 or so epochs the weights and
biases don't change much" has no number; it is measured and described.

Deterministic (one fixed start each), so there are no seeds and no band: the reproduction is
judged against the book's printed precision (two decimals, ± 0.005).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..backprop import backprop
from ..book import (
    SLOWDOWN_EPOCHS,
    SLOWDOWN_ETA_CROSS_ENTROPY,
    SLOWDOWN_ETA_QUADRATIC,
    SLOWDOWN_FINAL_OUTPUT_QUADRATIC,
    SLOWDOWN_FINAL_OUTPUT_SOURCE,
    SLOWDOWN_PLATEAU_EPOCHS,
    SLOWDOWN_PRINTED_HALF_UNIT,
    SLOWDOWN_PRINTED_INITIAL_OUTPUT,
    SLOWDOWN_STARTS,
)
from ..errors import ConfigError
from ..io import write_csv
from ..nets import Network
from ..results import Comparison, Table
from .base import Experiment, RunContext, register, unwrap

#: "Learned" means the output fell below this (target 0).
OUTPUT_THRESHOLD = 0.2
#: Float64 agreement of the engine with the closed forms.
TOL = 1e-14
#: Epochs over which the initial rate of learning is measured.
EARLY_EPOCHS = 10
#: The plateau "holds" when b moves less in the first `SLOWDOWN_PLATEAU_EPOCHS` than this
#: fraction of what it moves in as many epochs afterwards.
PLATEAU_FRACTION = 0.5
#: The book's plateau start and its good start.
GOOD, BAD = SLOWDOWN_STARTS


@dataclass(frozen=True)
class SlowdownConfig:
    """Starts (w, b), (cost, η) pairs, ``epochs`` of gradient descent on (x, y)."""

    starts: tuple[tuple[float, float], ...] = SLOWDOWN_STARTS
    runs: tuple[tuple[str, float], ...] = (
        ("quadratic", SLOWDOWN_ETA_QUADRATIC),
        ("cross-entropy", SLOWDOWN_ETA_CROSS_ENTROPY),
        ("cross-entropy", SLOWDOWN_ETA_QUADRATIC),
    )
    epochs: int = SLOWDOWN_EPOCHS
    x: float = 1.0
    y: float = 0.0
    quick: bool = False


#: The experiment's configuration under its conventional name.
Config = SlowdownConfig


@register
class Slowdown(Experiment[SlowdownConfig]):
    name = "slowdown"
    title = "Learning slowdown of one sigmoid neuron: quadratic vs cross-entropy"
    book_ref = "Chapter 3, “The cross-entropy cost function”"
    order = 110
    typical_seconds = (0.7, 3)  # scheduling hint (RESULTS.md)
    Config = SlowdownConfig
    quick_note = """Quick mode is the full experiment: the book's 300 epochs of one neuron take
    a few seconds, so every comparison is the same as in a full run."""

    def quick_config(self) -> SlowdownConfig:
        return SlowdownConfig(quick=True)

    def validate(self, config: SlowdownConfig) -> None:
        super().validate(config)
        e = config.epochs
        if isinstance(e, bool) or not isinstance(e, int) or e < 1:
            raise ConfigError(f"epochs must be a positive integer, got {e!r}")
        if not config.starts or not config.runs:
            raise ConfigError("slowdown needs at least one start and one (cost, η) run")
        for cost, eta in config.runs:
            if cost not in ("quadratic", "cross-entropy"):
                raise ConfigError(f"cost must be quadratic or cross-entropy, got {cost!r}")
            if not (eta > 0 and math.isfinite(eta)):
                raise ConfigError(f"η must be a positive number, got {eta!r}")

    def compute(self, config: SlowdownConfig, ctx: RunContext) -> dict[str, Any]:
        runs: list[dict[str, Any]] = []
        for i, (cost, eta) in enumerate(config.runs):
            ctx.progress(f"{cost} cost, η = {eta:g}, {config.epochs} epochs", i, len(config.runs))
            runs += descend(config, cost, eta)
        ctx.progress("done", len(config.runs), len(config.runs))
        return {"runs": runs, "epochs": config.epochs, "x": config.x, "y": config.y}

    def compare(self, config: SlowdownConfig, data: dict[str, Any]) -> list[Comparison]:
        return compare(data)

    def conclude(
        self, config: SlowdownConfig, data: dict[str, Any], comparisons: list[Comparison]
    ) -> list[str]:
        return conclude(data)

    def tables(self, config: SlowdownConfig, data: dict[str, Any]) -> list[Table]:
        return [
            Table(
                title=f"{data['epochs']} epochs of gradient descent on x = {data['x']:g}, "
                f"y = {data['y']:g} (empty: not reached)",
                columns=[
                    "start (w, b)",
                    "cost, η",
                    "initial output",
                    "final output",
                    f"epochs to output < {OUTPUT_THRESHOLD:g}",
                    "epochs to half the initial cost",
                ],
                rows=_summary_rows(data["runs"]),
            )
        ]

    def write_files(self, config: SlowdownConfig, data: dict[str, Any], out_dir: Path) -> None:
        out = Path(out_dir)
        write_csv(
            out / "slowdown.csv",
            ["w0", "b0", "cost", "eta", "epoch", "w", "b", "output", "cost_value"],
            [
                [r["w0"], r["b0"], r["cost"], r["eta"], e, w, b, a, c]
                for r in data["runs"]
                for e, (w, b, a, c) in enumerate(zip(r["w"], r["b"], r["output"], r["cost_values"]))
            ],
        )
        write_csv(
            out / "slowdown_summary.csv",
            [
                "start",
                "run",
                "initial_output",
                "final_output",
                f"epochs_to_output_below_{OUTPUT_THRESHOLD:g}",
                "epochs_to_half_cost",
            ],
            _summary_rows(data["runs"]),
        )


def _summary_rows(runs: list[dict[str, Any]]) -> list[list[Any]]:
    return [
        [
            _start((r["w0"], r["b0"])),
            run_label(r),
            r["output"][0],
            r["output"][-1],
            r["epochs_to_output_below"],
            r["epochs_to_half_cost"],
        ]
        for r in runs
    ]


# -- computing ----------------------------------------------------------------------------------
def descend(config: SlowdownConfig, cost: str, eta: float) -> list[dict[str, Any]]:
    """Gradient descent from every start at once (one seed per start), ``epochs + 1`` updates
    recorded (the last only for the book's widget's 301st value).

    Returns one run per start: ``w0``, ``b0`` (the start), ``cost`` (its name), ``eta``; per
    epoch [epochs + 1] (before training and after each epoch) ``w``, ``b``, ``output``,
    ``cost_values`` and the engine's ``dC_db``; ``output_after_extra_update`` (one update more);
    and ``closed_form`` values at the start: σ(w·x + b) and ∂C/∂b by the book's formula.
    """
    starts = torch.tensor(config.starts, dtype=torch.float64)  # [S, 2]
    S = starts.shape[0]
    net = Network([1, 1], cost=cost, output="sigmoid", seeds=S, dtype=torch.float64)
    with torch.no_grad():
        net.weights[0].copy_(starts[:, 0].view(S, 1, 1))
        net.biases[0].copy_(starts[:, 1].view(S, 1))
    x = torch.tensor([[config.x]], dtype=torch.float64)
    y = torch.tensor([[config.y]], dtype=torch.float64)
    rec: dict[str, list[torch.Tensor]] = {k: [] for k in ("w", "b", "output", "cost", "dC_db")}
    extra = torch.zeros(S, dtype=torch.float64)
    for epoch in range(config.epochs + 2):
        with torch.no_grad():
            a = net(x)  # [S, 1, 1]
            if epoch == config.epochs + 1:
                extra = a[:, 0, 0].clone()
                break
            g = backprop(net, x, y)  # one example: the sums are the gradient
            rec["w"].append(net.weights[0][:, 0, 0].clone())
            rec["b"].append(net.biases[0][:, 0].clone())
            rec["output"].append(a[:, 0, 0].clone())
            rec["cost"].append(net.cost_per_seed(a, y))
            rec["dC_db"].append(g.bias[0][:, 0].clone())
            net.weights[0].sub_(g.weight[0], alpha=eta)
            net.biases[0].sub_(g.bias[0], alpha=eta)
    series = {k: torch.stack(v, -1) for k, v in rec.items()}  # each [S, epochs + 1]
    runs = []
    for s in range(S):
        w0, b0 = float(starts[s, 0]), float(starts[s, 1])
        out = series["output"][s].tolist()
        cst = series["cost"][s].tolist()
        runs.append(
            {
                "w0": w0,
                "b0": b0,
                "cost": cost,
                "eta": eta,
                "w": series["w"][s].tolist(),
                "b": series["b"][s].tolist(),
                "output": out,
                "cost_values": cst,
                "dC_db": series["dC_db"][s].tolist(),
                "output_after_extra_update": float(extra[s]),
                "closed_form": closed_form(w0, b0, config.x, config.y, cost),
                **learning_times(out, cst),
            }
        )
    return runs


def closed_form(w: float, b: float, x: float, y: float, cost: str) -> dict[str, float]:
    """The neuron's output a = σ(wx + b) and ∂C/∂b at (w, b), by the book's formulas in plain
    float arithmetic (independent of torch): (a − y)σ′(z) for quadratic, a − y for
    cross-entropy (ch. 3, equations (56) and (62))."""
    z = w * x + b
    a = 1.0 / (1.0 + math.exp(-z))
    dc_db = (a - y) * a * (1 - a) if cost == "quadratic" else a - y
    return {"output": a, "dC_db": dc_db}


def learning_times(output: list[float], cost: list[float]) -> dict[str, int | None]:
    """How long learning takes: first epoch with output < `OUTPUT_THRESHOLD`, and with cost
    ≤ half its start (None if never within the run)."""
    below = next((e for e, a in enumerate(output) if a < OUTPUT_THRESHOLD), None)
    half = next((e for e, c in enumerate(cost) if c <= cost[0] / 2), None)
    return {"epochs_to_output_below": below, "epochs_to_half_cost": half}


# -- comparing and concluding -------------------------------------------------------------------
def run_label(r: dict[str, Any]) -> str:
    return f"{r['cost']}, η = {r['eta']:g}"


def _start(start: tuple[float, float]) -> str:
    return f"({start[0]:g}, {start[1]:g})"


def find(
    runs: list[dict[str, Any]], start: tuple[float, float], cost: str, eta: float | None = None
) -> dict[str, Any] | None:
    """The run from ``start`` with ``cost`` (and ``eta`` if given), or None."""
    return next(
        (
            r
            for r in runs
            if (r["w0"], r["b0"]) == tuple(start)
            and r["cost"] == cost
            and (eta is None or r["eta"] == eta)
        ),
        None,
    )


def book_setup(data: dict[str, Any]) -> bool:
    """Whether the book's final output applies: its 300 epochs on x = 1, y = 0."""
    return data["epochs"] == SLOWDOWN_EPOCHS and data["x"] == 1.0 and data["y"] == 0.0


def compare(data: dict[str, Any]) -> list[Comparison]:
    rows: list[Comparison] = []
    runs = data["runs"]
    seen: set[tuple[float, float]] = set()
    for r in runs:
        start = (r["w0"], r["b0"])
        if start in seen:
            continue
        seen.add(start)
        printed = SLOWDOWN_PRINTED_INITIAL_OUTPUT.get(start)
        note = "" if printed is None else f"the book prints it rounded: {printed:.2f}"
        rows.append(
            Comparison.identity(
                f"initial output σ({start[0]:g}·{data['x']:g} + {start[1]:g})",
                r["output"][0],
                r["closed_form"]["output"],
                TOL,
                "closed form σ(wx + b) (ch. 3" + (f"; {note})" if note else ")"),
            )
        )
    for r in runs:
        formula = "(a − y)σ′(z)" if r["cost"] == "quadratic" else "a − y"
        if r["eta"] != min(x["eta"] for x in runs if x["cost"] == r["cost"]):
            continue  # the start's gradient does not depend on η: one row per cost and start
        rows.append(
            Comparison.identity(
                f"∂C/∂b at the start {_start((r['w0'], r['b0']))}, {r['cost']}: {formula}",
                r["dC_db"][0],
                r["closed_form"]["dC_db"],
                TOL,
                "ch. 3, equations (56) and (62), closed form",
            )
        )
    q = find(runs, GOOD, "quadratic", SLOWDOWN_ETA_QUADRATIC)
    if q is not None and book_setup(data):
        rows.append(
            Comparison(
                f"quadratic, η = {q['eta']:g}, from {_start(GOOD)}: output after "
                f"{data['epochs']} epochs",
                "reproduction",
                q["output"][-1],
                SLOWDOWN_FINAL_OUTPUT_QUADRATIC,
                SLOWDOWN_FINAL_OUTPUT_SOURCE,
                relation="==",
                tolerance=SLOWDOWN_PRINTED_HALF_UNIT,
                band=f"deterministic (one run); the book's two decimals, ± "
                f"{SLOWDOWN_PRINTED_HALF_UNIT:g}",
                note=f"after {data['epochs'] + 1} updates, as the book's widget shows it: "
                f"{q['output_after_extra_update']:.4f}",
            )
        )
    return rows


def _moved(r: dict[str, Any], a: int, b: int) -> float:
    """How far (w, b) moved between epochs ``a`` and ``b`` (Euclidean)."""
    return math.hypot(r["w"][b] - r["w"][a], r["b"][b] - r["b"][a])


def conclude(data: dict[str, Any]) -> list[str]:
    """Sentences chosen and filled from ``data``."""
    out: list[str] = []
    runs, n = data["runs"], data["epochs"]
    q = find(runs, GOOD, "quadratic", SLOWDOWN_ETA_QUADRATIC)
    if q is not None and book_setup(data):
        a = q["output"][-1]
        if abs(a - SLOWDOWN_FINAL_OUTPUT_QUADRATIC) <= SLOWDOWN_PRINTED_HALF_UNIT:
            out.append(
                f"Quadratic cost, η = {q['eta']:g}, from {_start(GOOD)}: the output falls from "
                f"{q['output'][0]:.4f} to {a:.4f} in {n} epochs "
                f"({q['output_after_extra_update']:.4f} after {n + 1} updates), the book's "
                "“about 0.09”."
            )
        else:
            out.append(
                f"Quadratic cost, η = {q['eta']:g}, from {_start(GOOD)}: the output ends at "
                f"{a:.4f} after {n} epochs — not the book's “about 0.09”."
            )
    good = find(runs, GOOD, "quadratic")
    bad = find(runs, BAD, "quadratic")
    P = SLOWDOWN_PLATEAU_EPOCHS
    if good is not None and bad is not None and n >= 2 * P:
        first, then = _moved(bad, 0, P), _moved(bad, P, 2 * P)
        fast = _moved(good, 0, P)
        detail = (
            f"(w, b) moves {first:.3f} in the first {P} epochs against {then:.3f} in the next "
            f"{P}, and {fast:.3f} in the first {P} from {_start(GOOD)}"
        )
        a0 = bad["output"][0]
        if first < PLATEAU_FRACTION * then and first < PLATEAU_FRACTION * fast:
            out.append(
                f"As the book says, from {_start(BAD)} (output {a0:.4f}, σ′(z) = "
                f"{a0 * (1 - a0):.4f}) learning starts slowly: {detail}."
            )
        else:
            out.append(
                f"Unlike the book's plateau of “the first 150 or so epochs”, from {_start(BAD)} "
                f"learning does not start markedly slower: {detail}."
            )
    if good is not None and bad is not None:
        hg, hb = good["epochs_to_half_cost"], bad["epochs_to_half_cost"]
        out.append(
            f"Quadratic cost: the cost halves in {_epochs(hg, n)} from {_start(GOOD)} and in "
            f"{_epochs(hb, n)} from {_start(BAD)}; the output ends at {good['output'][-1]:.3f} "
            f"and {bad['output'][-1]:.3f}."
        )
    ce_g = find(runs, GOOD, "cross-entropy", good["eta"] if good else None)
    ce_b = find(runs, BAD, "cross-entropy", good["eta"] if good else None)
    if good and bad and ce_g and ce_b:
        qg, qb = good["epochs_to_output_below"], bad["epochs_to_output_below"]
        cg, cb = ce_g["epochs_to_output_below"], ce_b["epochs_to_output_below"]
        lag_q = _lag(qg, qb, n)
        lag_c = _lag(cg, cb, n)
        verdict = (
            "the worse start lags less than with the quadratic cost"
            if lag_c < lag_q
            else "the worse start lags no less than with the quadratic cost, unlike what the "
            "book's argument predicts"
        )
        out.append(
            f"At the same η = {good['eta']:g} the output falls below {OUTPUT_THRESHOLD:g} from "
            f"{_start(GOOD)} and {_start(BAD)} in {_epochs(qg, n)} and {_epochs(qb, n)} with the "
            f"quadratic cost, in {_epochs(cg, n)} and {_epochs(cb, n)} with cross-entropy: "
            f"{verdict}."
        )
    ce_small = [
        r
        for r in runs
        if r["cost"] == "cross-entropy"
        and r["eta"] == min(x["eta"] for x in runs if x["cost"] == "cross-entropy")
    ]
    sg = next((r for r in ce_small if (r["w0"], r["b0"]) == GOOD), None)
    sb = next((r for r in ce_small if (r["w0"], r["b0"]) == BAD), None)
    if sg is not None and sb is not None:
        k = min(EARLY_EPOCHS, n)
        dg = sg["cost_values"][0] - sg["cost_values"][k]
        db = sb["cost_values"][0] - sb["cost_values"][k]
        if db > dg:
            tail = "the start that is more wrong learns faster, as the book says"
        else:
            tail = "the start that is more wrong does NOT learn faster, unlike the book"
        out.append(
            f"Cross-entropy at η = {sg['eta']:g}: in the first {k} epochs the cost falls by "
            f"{dg:.4f} from {_start(GOOD)} and {db:.4f} from {_start(BAD)}: {tail}."
        )
    return out


def _lag(good: int | None, bad: int | None, n: int) -> float:
    """How much later the worse start gets there (epochs; a run that never does counts n + 1)."""
    return (n + 1 if bad is None else bad) - (n + 1 if good is None else good)


def _epochs(e: int | None, total: int) -> str:
    return f"{e} epochs" if e is not None else f"more than {total} epochs"


# Hard-wrapped here for the source; `unwrap` makes each paragraph one line for the report.
Slowdown.explanation = unwrap(
    """\
For one sigmoid neuron with the quadratic cost C = (a − y)²/2, the gradients are ∂C/∂w = (a −
y)σ′(z)x and ∂C/∂b = (a − y)σ′(z). When the neuron's output is close to 1 — as at the start (2, 2),
where z = 4 and a = σ(4) — σ′(z) = a(1 − a) is small, so even though the neuron is badly wrong its
weights barely move until the output leaves the saturated region.

With the cross-entropy cost C = −[y ln a + (1 − y) ln(1 − a)], ∂C/∂a = (a − y)/(a(1 − a)) and the
σ′(z) = a(1 − a) of the chain rule cancels: ∂C/∂w = x(a − y) and ∂C/∂b = a − y. The rate of
learning is then proportional to the error itself. The book runs cross-entropy with η = 0.005;
because the two costs have different scales, the like-for-like comparison is at the same η = 0.15,
which we add.

What is checked how: the initial outputs the book prints (0.82, 0.98) are σ(1.5) and σ(4), and
the gradients at the start are the book's formulas — checks of our code, true by construction. The
book's one printed result, an output “of about 0.09” after training from (0.6, 0.9), is compared
within its two printed decimals. The plateau and the cross-entropy claims have no printed number;
the sentences describing them are computed from our runs.
"""
)
