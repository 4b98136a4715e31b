"""``output-layers``: δᴸ of the four pairs against central finite differences of the cost
(float64), the saturation line against closed forms, and conclusions that follow the numbers."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import pytest
import torch

from gradprobe.costs import get_cost
from gradprobe.errors import ConfigError
from gradprobe.experiments import get_experiment
from gradprobe.experiments.output_layers import PAIRS, Config, book_delta, conclude
from gradprobe.report.figures import draw_figures
from gradprobe.results import read_result


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    exp = get_experiment("output-layers")
    out = tmp_path_factory.mktemp("output-layers")
    return exp.run(exp.quick_config(), out_dir=out), out


@pytest.mark.parametrize(("cost", "output", "formula"), PAIRS)
def test_book_formula_against_finite_differences(cost: str, output: str, formula: str) -> None:
    g = torch.Generator().manual_seed(3)
    z = torch.randn(6, 5, generator=g, dtype=torch.float64) * 2
    y = torch.nn.functional.one_hot(torch.randint(5, (6,), generator=g), 5).double()
    c = get_cost(cost, output)
    h = 1e-6
    fd = torch.zeros_like(z)
    for i in range(z.shape[1]):
        e = torch.zeros_like(z)
        e[:, i] = h
        fd[:, i] = (c.per_example(c.output_fn(z + e), y) - c.per_example(c.output_fn(z - e), y)) / (
            2 * h
        )
    assert torch.allclose(book_delta(z, y, cost, output), fd, rtol=1e-6, atol=1e-8)


def test_every_check_is_an_identity_and_passes(run: tuple[Any, Path]) -> None:
    result, out = run
    assert {c.kind for c in result.comparisons} == {"identity"}
    assert len(result.comparisons) == 8
    assert all(c.verdict == "agrees" for c in result.comparisons)
    pairs = {(p["cost"], p["output"]): p for p in result.data["pairs"]}
    assert pairs[("quadratic", "sigmoid")]["vs_a_minus_y"] > 0.5  # the σ′ factor is there
    for f in ("output_layers.csv", "output_layers_saturation.csv"):
        assert (out / f).is_file()
    assert get_experiment("output-layers").order == 120 and result.quick_note


def test_saturation_against_closed_forms(run: tuple[Any, Path]) -> None:
    s = run[0].data["saturation"]
    for z, q, ce in zip(s["z"], s["quadratic"], s["cross_entropy"]):
        a = 1 / (1 + math.exp(-z))
        assert q == pytest.approx(a * a * (1 - a), rel=1e-10)  # |(a − 0)σ′(z)|
        assert ce == pytest.approx(a, rel=1e-12)
    assert [m["z"] for m in s["marks"]] == [1.5, 4.0]
    # 1/σ′(z) = e^z + 2 + e^−z: the fitted log-slope beyond z = 4 is 1 up to the e^−z terms.
    assert s["log_ratio_slope"] == pytest.approx(1.0, abs=0.01)


def test_conclusions_change_when_the_data_contradict_the_book(run: tuple[Any, Path]) -> None:
    result = run[0]
    assert "equals the book's formula for all 4 pairs" in result.conclusions[0]
    bad = copy.deepcopy(result.data)
    for p in bad["pairs"]:
        if p["cost"] == "quadratic" and p["output"] == "sigmoid":
            p["vs_book_formula"] = 0.3
            p["vs_a_minus_y"] = 0.0  # as if the σ′ factor were missing
    bad["saturation"]["log_ratio_slope"] = 0.5
    text = " ".join(conclude(bad))
    assert "differs from the book's formula for quadratic + sigmoid" in text
    assert "factor the book describes is missing" in text
    assert "not the e^z" in text


def test_bad_configs_are_config_errors(tmp_path: Path) -> None:
    exp = get_experiment("output-layers")
    for cfg in (Config(samples=0), Config(n_out=1), Config(z_std=0.0)):
        with pytest.raises(ConfigError):
            exp.run(cfg, out_dir=tmp_path)


@pytest.mark.slow  # matplotlib: several seconds on a busy 2-core machine
def test_figure_is_drawn_from_the_result_alone(run: tuple[Any, Path], tmp_path: Path) -> None:
    files = draw_figures(read_result(run[1] / "result.json"), tmp_path)
    assert [f.stem for f in files] == ["output_layers_saturation"]
    assert (tmp_path / files[0].png).stat().st_size > 0
    assert (tmp_path / files[0].svg).stat().st_size > 0
