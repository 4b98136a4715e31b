"""``chain``: checked against closed forms computed here in plain floats, and the book's bound.

The book prints no measured number for the chain: its σ′ ≤ 1/4 and "ratio ≤ 1/16 when
|w₂|, |w₃| < 1" are identities, "usually a factor of 16 (or more)" is a bound.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gradprobe.errors import ConfigError
from gradprobe.experiments import get_experiment
from gradprobe.experiments.chain import Config, compare, conclude
from gradprobe.report.figures import draw_figures
from gradprobe.results import read_result


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    exp = get_experiment("chain")
    out = tmp_path_factory.mktemp("chain")
    return exp.run(exp.quick_config(), out_dir=out), out


def _sig(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def _closed_form(w: list[float], b: list[float], x: float, y: float) -> list[float]:
    """∂C/∂bⱼ of one chain, quadratic cost, by the chain rule in plain floats (float64)."""
    a, zs = x, []
    for wj, bj in zip(w, b):
        z = wj * a + bj
        zs.append(z)
        a = _sig(z)
    delta = (a - y) * _sig(zs[-1]) * (1 - _sig(zs[-1]))
    out = [delta]
    for j in range(len(w) - 1, 0, -1):
        s = _sig(zs[j - 1])
        delta = delta * w[j] * s * (1 - s)
        out.append(delta)
    return out[::-1]


def test_result_file_csv_and_order(run: tuple[Any, Path]) -> None:
    result, out = run
    doc = json.loads((out / "result.json").read_text())
    assert doc["schema"] == "gradprobe.result/2" and doc["name"] == "chain"
    back = read_result(out / "result.json")
    assert [c.verdict for c in back.comparisons] == [c.verdict for c in result.comparisons]
    assert (out / "chain.csv").read_text().startswith("seed,w1,")
    assert len(result.data["ratio_b1_b3"]) == result.config["seeds"] == 200
    assert result.quick and result.quick_note and result.conclusions
    assert get_experiment("chain").order == 50


def test_gradients_match_the_chain_rule_in_plain_floats(run: tuple[Any, Path]) -> None:
    d = run[0].data
    for s in range(0, d["chains"], 17):
        expect = _closed_form(d["w"][s], d["b"][s], 1.0, 0.0)
        assert d["dC_db"][s] == pytest.approx(expect, rel=1e-12, abs=1e-300)
        assert d["ratio_b1_b3"][s] == pytest.approx(abs(expect[0] / expect[2]), rel=1e-12)


def test_shares_against_independent_numbers(run: tuple[Any, Path]) -> None:
    d = run[0].data
    w = np.asarray(d["w"])
    f = np.abs(np.asarray(d["factors"]))
    assert d["share_abs_w_below_1"] == np.mean(np.abs(w) < 1)
    assert d["share_factors_below_quarter"] == np.mean(f < 0.25)
    # The first layer's exact share (quadrature) against a large Monte Carlo sample here.
    rng = np.random.default_rng(7)
    w1, b1 = rng.standard_normal(2_000_000), rng.standard_normal(2_000_000)
    s = 1 / (1 + np.exp(-(w1 + b1)))
    mc = float(np.mean(np.abs(w1 * s * (1 - s)) < 0.25))
    assert d["p_layer1_factor_below_quarter"] == pytest.approx(mc, abs=2e-3)
    assert d["p_abs_w_below_1"] == pytest.approx(0.682689492, abs=1e-9)


def test_scoreboard_has_no_reproductions_only_checks(run: tuple[Any, Path]) -> None:
    result = run[0]
    kinds = {c.quantity: c.kind for c in result.comparisons}
    assert "reproduction" not in kinds.values()
    assert list(kinds.values()).count("bound") == 1
    assert all(c.verdict == "agrees" for c in result.comparisons)
    assert result.scoreboard.reproductions == 0
    sp = next(c for c in result.comparisons if c.quantity.startswith("max σ′"))
    assert sp.kind == "identity" and sp.ours == 0.25


def test_conclusions_change_when_the_data_contradict_the_book(run: tuple[Any, Path]) -> None:
    result = run[0]
    config = Config(**{k: v for k, v in result.config.items()})
    assert any(s.startswith("As the book says") for s in result.conclusions)
    bad = copy.deepcopy(result.data)
    bad["ratio_b1_b3"] = [0.5] * bad["chains"]  # every chain far above 1/16
    bad["share_ratio_within_bound"] = 0.0
    bad["small_weight_chains_within_bound"] = bad["small_weight_chains"] - 3
    text = " ".join(conclude(config, bad))
    assert "Unlike the book" in text and "As the book says" not in text
    assert "3 of" in text and "a bug" in text
    rows = {c.kind: c for c in compare(bad) if c.kind == "bound"}
    assert rows["bound"].verdict == "disagrees"


def test_bad_configs_are_config_errors(tmp_path: Path) -> None:
    exp = get_experiment("chain")
    for cfg in (Config(depth=2, seeds=5), Config(seeds=0), Config(cost="hinge", seeds=5)):
        with pytest.raises(ConfigError):
            exp.run(cfg, out_dir=tmp_path)


@pytest.mark.slow  # matplotlib: several seconds on a busy 2-core machine
def test_figures_are_drawn_from_the_result_alone(run: tuple[Any, Path], tmp_path: Path) -> None:
    result = read_result(run[1] / "result.json")
    files = draw_figures(result, tmp_path)
    assert [f.stem for f in files] == ["chain_sigmoid", "chain_factors"]
    for f in files:
        assert (tmp_path / f.png).stat().st_size > 0 and (tmp_path / f.svg).stat().st_size > 0
