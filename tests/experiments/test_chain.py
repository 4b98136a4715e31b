"""``chain``: quick run end to end; the three ways to ∂C/∂bⱼ agree; the book's bound holds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gradprobe.errors import ConfigError
from gradprobe.experiments import available, get_experiment
from gradprobe.experiments.chain import BOOK_RATIO_B1_B3, Config


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    exp = get_experiment("chain")
    out = tmp_path_factory.mktemp("chain")
    return exp.run(exp.quick_config(), data=None, out_dir=out), out


def test_writes_result_csv_and_figures(run: tuple[Any, Path]) -> None:
    result, out = run
    doc = json.loads((out / "result.json").read_text())
    assert doc["schema"] == "gradprobe.result/1" and doc["name"] == "chain"
    assert "chain" in available()
    for fig in doc["figures"]:
        assert (out / fig["png"]).stat().st_size > 0 and (out / fig["svg"]).stat().st_size > 0
    assert (out / "chain.csv").read_text().startswith("seed,w1,")
    assert doc["summary"] and "16" in doc["explanation"]
    assert len(doc["data"]["ratio_b1_b3"]) == result.config["seeds"]


def test_three_methods_agree(run: tuple[Any, Path]) -> None:
    data = run[0].data
    assert data["max_rel_disagreement"]["product_vs_bp"] < 1e-12
    assert data["max_rel_disagreement"]["autograd_vs_bp"] < 1e-12


def test_factors_and_ratio(run: tuple[Any, Path]) -> None:
    data = run[0].data
    # |wσ′(z)| < 1/4 whenever |w| < 1, so the share is at least the share with |w| < 1.
    assert data["fraction_factors_below_quarter"] >= data["fraction_abs_w_below_1"]
    assert 0.75 < data["fraction_factors_below_quarter"] < 0.9
    assert data["p_factor_below_quarter_layer1_exact"] == pytest.approx(0.8868, abs=1e-3)
    assert data["ratio_median"] < BOOK_RATIO_B1_B3
    rows = {c.quantity: c for c in run[0].comparisons}
    assert rows["max σ′(z)"].inside is True
    assert rows["chains with |w₂|, |w₃| < 1 whose ratio ≤ 1/16"].ours == 1.0


def test_rejects_too_short_chain(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        get_experiment("chain").run(Config(depth=2, seeds=5), data=None, out_dir=tmp_path)
