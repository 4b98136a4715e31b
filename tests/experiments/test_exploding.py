"""``exploding``: ∂C/∂bⱼ against the closed form w·σ′(0) per layer; what the steps do.

The book's 25 and 25³ hold by construction (identity checks); the gradient-descent runs are
ours, and the sentences about them must follow the recorded numbers.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from gradprobe.errors import ConfigError
from gradprobe.experiments import get_experiment
from gradprobe.experiments.exploding import SATURATED_Z, Config, conclude, exact_gradients
from gradprobe.report.figures import draw_figures
from gradprobe.results import read_result


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    exp = get_experiment("exploding")
    out = tmp_path_factory.mktemp("exploding")
    return exp.run(exp.quick_config(), out_dir=out), out


@pytest.mark.parametrize("depth", [2, 4, 7])
def test_gradients_are_the_closed_form(depth: int) -> None:
    # Closed form in plain floats: zⱼ = 0, aⱼ = 1/2, δᴸ = (a − y)σ′(0), δʲ = δʲ⁺¹·w·σ′(0).
    y, w = 0.7, 100.0
    g = exact_gradients(Config(depth=depth, y=y, w=w))
    last = (0.5 - y) * 0.25
    expect = [last * (w * 0.25) ** (depth - 1 - j) for j in range(depth)]
    assert g["bias_gradients"] == pytest.approx(expect, rel=1e-14)
    assert g["ratios"] == pytest.approx([25.0] * (depth - 1), rel=1e-14)
    assert g["factors"] == [25.0] * depth and g["z"] == [0.0] * depth
    assert g["max_rel_disagreement"] < 1e-14


def test_checks_are_identities_and_pass(run: tuple[Any, Path]) -> None:
    result, out = run
    assert {c.kind for c in result.comparisons} == {"identity"}
    assert all(c.verdict == "agrees" for c in result.comparisons)
    assert result.scoreboard.reproductions == 0
    b1_bL = next(c for c in result.comparisons if c.quantity == "∂C/∂b₁ / ∂C/∂b_L")
    assert b1_bL.reference == 25.0**3
    for name in ("exploding_gradients.csv", "exploding_steps.csv", "result.json"):
        assert (out / name).is_file()
    assert read_result(out / "result.json").data["runs"][0]["clip_norm"] is None
    assert get_experiment("exploding").order == 60 and result.quick_note


def test_steps_saturate_without_clipping_and_stay_bounded_with_small_ones(
    run: tuple[Any, Path],
) -> None:
    runs = {(r["eta"], r["clip_norm"]): r for r in run[0].data["runs"]}
    plain = runs[(0.1, None)]
    assert plain["grad_norm"][0] > 1000  # exploded
    assert plain["max_abs_z"][1] > 50 and plain["grad_norm"][-1] < 1e-6  # saturated, stuck
    for clip in (1e-3, 1e-4):
        r = runs[(0.1, clip)]
        assert max(r["step_norm"]) <= 0.1 * clip * (1 + 1e-12)
        assert max(r["max_abs_z"]) < SATURATED_Z


def test_the_clipping_sentence_follows_the_runs(run: tuple[Any, Path]) -> None:
    data = run[0].data
    text = " ".join(run[0].conclusions)
    # The old sentence claimed "only at η·clip = 1e-05" although 1e-04 stays unsaturated too.
    unsat = sorted(
        r["eta"] * r["clip_norm"]
        for r in data["runs"]
        if r["clip_norm"] is not None and max(r["max_abs_z"][1:]) <= SATURATED_Z
    )
    assert len(unsat) == 2
    assert "{" + ", ".join(f"{v:.0e}" for v in unsat) + "} the net stays unsaturated" in text
    # Make the 1e-04 run saturate: the sentence must move it to the saturating set.
    bad = copy.deepcopy(data)
    for r in bad["runs"]:
        if r["clip_norm"] == 1e-3:
            r["max_abs_z"][5] = 40.0
    changed = " ".join(conclude(bad))
    assert "{1e-05} the net stays unsaturated" in changed
    assert "{1e-04, 1e-01} it saturates" in changed


def test_conclusion_says_when_the_ratio_is_not_25(run: tuple[Any, Path]) -> None:
    bad = copy.deepcopy(run[0].data)
    bad["ratios"][1] = 20.0
    text = " ".join(conclude(bad))
    assert "deviate" in text and "equal to 25" not in text


def test_bad_configs_are_config_errors(tmp_path: Path) -> None:
    exp = get_experiment("exploding")
    for cfg in (Config(depth=1), Config(steps=0), Config(runs=((0.0, None),))):
        with pytest.raises(ConfigError):
            exp.run(cfg, out_dir=tmp_path)


@pytest.mark.slow  # matplotlib: several seconds on a busy 2-core machine
def test_figures_are_drawn_from_the_result_alone(run: tuple[Any, Path], tmp_path: Path) -> None:
    files = draw_figures(read_result(run[1] / "result.json"), tmp_path)
    assert [f.stem for f in files] == ["exploding_gradients", "exploding_steps"]
    for f in files:
        assert (tmp_path / f.png).stat().st_size > 0 and (tmp_path / f.svg).stat().st_size > 0
