"""``training-speed``: quick run end to end; per_seed is [seed][epoch][layer], epoch 0 = init."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gradprobe.data import load_data
from gradprobe.experiments import get_experiment
from gradprobe.experiments._legacy_base import one_thread
from gradprobe.experiments._mnist import sizes_for
from gradprobe.nets import Network
from gradprobe.speed import learning_speed


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    exp = get_experiment("training-speed")
    out = tmp_path_factory.mktemp("training-speed")
    return exp.run(exp.quick_config(), data="bundled", out_dir=out), out


def test_writes_result_csv_and_figures(run: tuple[Any, Path]) -> None:
    result, out = run
    doc = json.loads((out / "result.json").read_text())
    assert doc["schema"] == "gradprobe.result/1" and doc["name"] == "training-speed"
    fig = doc["figures"][0]
    assert (out / fig["png"]).stat().st_size > 0 and (out / fig["svg"]).stat().st_size > 0
    lines = (out / "training_speed.csv").read_text().splitlines()
    S, E = result.config["seeds"], result.config["epochs"]
    assert lines[0] == "sizes,seed,epoch,hidden_layer,speed"
    assert len(lines) - 1 == S * (E + 1) * (2 + 3 + 4)


def test_per_seed_shape_is_seed_epoch_layer(run: tuple[Any, Path]) -> None:
    result, out = run
    doc = json.loads((out / "result.json").read_text())
    S, E = result.config["seeds"], result.config["epochs"]
    for h in (2, 3, 4):
        per_seed = np.asarray(doc["data"]["hidden_layers"][str(h)]["per_seed"])
        assert per_seed.shape == (S, E + 1, h)
        assert np.all(per_seed > 0)
    assert doc["data"]["epochs_measured"] == E + 1


def test_epoch_zero_is_the_initial_speed(run: tuple[Any, Path]) -> None:
    result = run[0]
    split = load_data("bundled").training.subset(1000)
    net = Network(sizes_for(4), seeds=result.config["seeds"])
    with one_thread():
        first = learning_speed(net, split.images, split.labels).speed.double().numpy()
    np.testing.assert_allclose(
        np.asarray(result.data["hidden_layers"]["4"]["per_seed"])[:, 0], first, rtol=1e-6
    )


def test_ratio_row_not_judged_in_quick_mode(run: tuple[Any, Path]) -> None:
    rows = run[0].comparisons
    assert len(rows) == 3 and rows[-1].book == 100.0
    assert rows[-1].inside is None and "quick mode" in rows[-1].note
