"""``neuron-bars``: the bars are ∂C/∂bˡⱼ by autograd in float64; the book's numbers are its own
bar data (initial_gradient.json), not its whole-layer speeds; conclusions follow the data."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gradprobe.data import load_data
from gradprobe.experiments import get_experiment
from gradprobe.experiments.neuron_bars import SIZES, NeuronBarsConfig, conclusions
from gradprobe.nets import Network
from gradprobe.report.figures import draw_figures
from gradprobe.results import Comparison, read_result
from mnist_reference import bias_grads

# The book's bars (fig/initial_gradient.json of the book's repository), typed in here.
BOOK_L1 = [
    -0.003970677333144113,
    -0.0031684316985881185,
    0.008103235909196014,
    0.012598010584130365,
    -0.026465907331998335,
    0.0017583319323150341,
]
BOOK_L2 = [
    0.04152906589960523,
    0.044025552524932406,
    -0.009669682279354514,
    0.046736871369353235,
    0.03877302528270452,
    0.012336459551975156,
]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    exp = get_experiment("neuron-bars")
    out = tmp_path_factory.mktemp("neuron-bars")
    return exp.run(exp.quick_config(), data="bundled", out_dir=out), out


def test_writes_result_csv_and_figures(run: tuple[Any, Path], tmp_path: Path) -> None:
    result, out = run
    doc = json.loads((out / "result.json").read_text())
    assert doc["schema"] == "gradprobe.result/2" and doc["name"] == "neuron-bars"
    rows = list(csv.reader((out / "neuron_bars.csv").open()))
    assert rows[0] == ["seed", "hidden_layer", "neuron", "dC_db"]
    assert len(rows) - 1 == result.config["seeds"] * 2 * 6
    figures = draw_figures(read_result(out / "result.json"), tmp_path)
    assert [f.stem for f in figures] == ["neuron_bars", "neuron_bars_stats"]
    for f in figures:
        assert (tmp_path / f.png).stat().st_size > 0 and (tmp_path / f.svg).stat().st_size > 0


def test_bars_are_the_bias_gradients_by_autograd(run: tuple[Any, Path]) -> None:
    result = run[0]
    grads = np.asarray(result.data["per_seed"])  # [seed][layer][neuron]
    S = result.config["seeds"]
    assert grads.shape == (S, 2, 6)
    split = load_data("bundled").training
    net = Network(SIZES, seeds=S)
    for s in (0, S - 1):
        ref = bias_grads(net, s, split.images, split.labels)
        for l in range(2):
            np.testing.assert_allclose(grads[s, l], ref[l][:6], rtol=1e-4, atol=1e-7)
            assert result.data["layer_speed"][s][l] == pytest.approx(
                np.linalg.norm(ref[l]), rel=1e-4
            )


def test_book_numbers_are_its_bar_data(run: tuple[Any, Path]) -> None:
    rows = run[0].comparisons
    assert [c.kind for c in rows] == ["reproduction"] * 3
    n1, n2 = math.hypot(*BOOK_L1), math.hypot(*BOOK_L2)
    assert rows[0].reference == pytest.approx(n1, rel=1e-12)
    assert rows[1].reference == pytest.approx(n2, rel=1e-12)
    assert rows[2].reference == pytest.approx(n2 / n1, rel=1e-12)
    assert rows[2].reference == pytest.approx(2.82, abs=0.005)  # not 0.31 / 0.07 = 4.43
    assert all("initial_gradient.json" in c.source for c in rows)
    assert run[0].data["book_bars"] == [BOOK_L1, BOOK_L2]


def test_other_neuron_counts_have_no_book_numbers(tmp_path: Path) -> None:
    exp = get_experiment("neuron-bars")
    result = exp.run(NeuronBarsConfig(seeds=5, neurons=4), data="bundled", out_dir=tmp_path)
    assert result.comparisons == [] and result.data["book_bars"] is None
    assert any("No book numbers" in s for s in result.conclusions)
    assert len(draw_figures(result, tmp_path)) == 2


def _data(grads: np.ndarray) -> dict[str, Any]:
    return {"per_seed": grads.tolist(), "neurons": grads.shape[2], "seed": 0}


def test_conclusions_follow_the_numbers() -> None:
    rng = np.random.default_rng(1)
    g = rng.normal(size=(20, 2, 6)) * np.array([0.005, 0.03])[None, :, None]
    text = " ".join(conclusions(_data(g), []))
    assert "starts learning faster, as in the book" in text
    # Contradicting data: the first layer's bars are the longer ones.
    text = " ".join(conclusions(_data(g[:, ::-1]), []))
    assert "disagrees with the book" in text and "shorter in layer 2" in text
    c = Comparison.reproduction("ratio", [5.0, 6.0, 7.0, 8.0, 9.0], 2.82, "book figure data")
    text = " ".join(conclusions(_data(g), [c]))
    assert "0 of the book's 1" in text and "below our band" in text
