"""``neuron-bars``: quick run end to end; the bars are `learning_speed`'s ∂C/∂bˡⱼ."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gradprobe.data import load_data
from gradprobe.experiments import get_experiment
from gradprobe.experiments._legacy_base import one_thread
from gradprobe.experiments.neuron_bars import SIZES
from gradprobe.nets import Network
from gradprobe.speed import learning_speed


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    exp = get_experiment("neuron-bars")
    out = tmp_path_factory.mktemp("neuron-bars")
    return exp.run(exp.quick_config(), data="bundled", out_dir=out), out


def test_writes_result_csv_and_figures(run: tuple[Any, Path]) -> None:
    result, out = run
    doc = json.loads((out / "result.json").read_text())
    assert doc["schema"] == "gradprobe.result/1" and doc["name"] == "neuron-bars"
    assert len(doc["figures"]) == 1
    fig = doc["figures"][0]
    assert (out / fig["png"]).stat().st_size > 0 and (out / fig["svg"]).stat().st_size > 0
    lines = (out / "neuron_bars.csv").read_text().splitlines()
    assert lines[0] == "seed,hidden_layer,neuron,dC_db"
    assert len(lines) - 1 == result.config["seeds"] * 2 * 6


def test_bars_are_the_bias_gradients(run: tuple[Any, Path]) -> None:
    result = run[0]
    grads = np.asarray(result.data["per_seed"])  # [seed][layer][neuron]
    S = result.config["seeds"]
    assert grads.shape == (S, 2, 6)
    split = load_data("bundled").training.subset(1000)
    with one_thread():
        ls = learning_speed(Network(SIZES, seeds=S), split.images, split.labels)
    for l in range(2):
        np.testing.assert_allclose(grads[:, l], ls.bias_grad[l][:, :6].double().numpy())
    np.testing.assert_allclose(result.data["layer_speed"], ls.speed.double().numpy())


def test_second_layer_is_faster_on_the_whole(run: tuple[Any, Path]) -> None:
    ratio = np.asarray(run[0].data["ratio_layer2_to_layer1"])
    assert np.median(ratio) > 2
    ratio_row = run[0].comparisons[2]
    assert ratio_row.book is not None and ratio_row.inside is not None
