"""``exploding``: ∂C/∂bⱼ grows by exactly 25 per layer; steps saturate unless tiny."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gradprobe.experiments import get_experiment
from gradprobe.experiments.exploding import Config, exact_gradients


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    exp = get_experiment("exploding")
    out = tmp_path_factory.mktemp("exploding")
    return exp.run(exp.quick_config(), data=None, out_dir=out), out


def test_json_has_bias_gradients(run: tuple[Any, Path]) -> None:
    result, out = run
    doc = json.loads((out / "result.json").read_text())
    g = doc["data"]["bias_gradients"]
    assert len(g) == result.config["depth"]
    assert abs(g[0]) > abs(g[-1])
    for name in ("exploding_gradients.csv", "exploding_steps.csv"):
        assert (out / name).is_file()
    for fig in doc["figures"]:
        assert (out / fig["png"]).is_file() and (out / fig["svg"]).is_file()
    assert all(c["inside"] for c in doc["comparisons"])


@pytest.mark.parametrize("depth", [2, 4, 7])
def test_ratio_is_exactly_25(depth: int) -> None:
    g = exact_gradients(Config(depth=depth))
    for r in g["ratios"]:
        assert r == pytest.approx(25.0, rel=1e-14)
    assert g["factors"] == [25.0] * depth
    assert g["max_rel_disagreement"] < 1e-14


def test_steps_saturate_without_clipping_and_stay_bounded_with_it(run: tuple[Any, Path]) -> None:
    runs = {(r["eta"], r["clip_norm"]): r for r in run[0].data["runs"]}
    plain = runs[(0.1, None)]
    assert plain["grad_norm"][0] > 1000  # exploded
    assert plain["max_abs_z"][1] > 50 and plain["grad_norm"][-1] < 1e-6  # saturated, stuck
    tiny = runs[(0.1, 1e-4)]
    assert max(tiny["step_norm"]) <= 1e-5 * (1 + 1e-12)
    assert max(tiny["max_abs_z"]) < 20
    assert abs(tiny["output"][-1] - 0.7) < 0.1
