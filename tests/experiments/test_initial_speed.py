"""``initial-speed``: quick run end to end; per-seed speeds are `learning_speed`'s; full MNIST
reproduces the book's numbers."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from gradprobe.book import INITIAL_SPEED
from gradprobe.data import load_data
from gradprobe.experiments import get_experiment
from gradprobe.experiments._legacy_base import one_thread
from gradprobe.experiments._mnist import sizes_for
from gradprobe.nets import Network
from gradprobe.speed import learning_speed


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    exp = get_experiment("initial-speed")
    out = tmp_path_factory.mktemp("initial-speed")
    lines: list[str] = []
    result = exp.run(exp.quick_config(), data="bundled", out_dir=out, progress=lines.append)
    assert lines, "no progress lines"
    return result, out


def test_writes_result_csv_and_figures(run: tuple[Any, Path]) -> None:
    result, out = run
    doc = json.loads((out / "result.json").read_text())
    assert doc["schema"] == "gradprobe.result/1" and doc["name"] == "initial-speed"
    assert doc["quick"] is True and doc["summary"] and "σ′" in doc["explanation"]
    for fig in doc["figures"]:
        assert (out / fig["png"]).read_bytes()[:4] == b"\x89PNG"
        assert "<svg" in (out / fig["svg"]).read_text()
    rows = list(csv.reader((out / "initial_speed.csv").open()))
    assert rows[0] == ["sizes", "seed", "hidden_layer", "speed"]
    assert len(rows) - 1 == result.config["seeds"] * (2 + 3 + 4)
    assert (out / "initial_speed_summary.csv").exists()


def test_comparisons_use_the_book(run: tuple[Any, Path]) -> None:
    result = run[0]
    books = [c.book for c in result.comparisons]
    assert books == [v for h in (2, 3, 4) for v in INITIAL_SPEED[sizes_for(h)]]
    for c in result.comparisons:
        assert c.low <= c.ours <= c.high and c.band.startswith("10–90 %")
        assert c.inside is not None and (c.inside or c.note)


def test_per_seed_equals_learning_speed(run: tuple[Any, Path]) -> None:
    result = run[0]
    split = load_data("bundled").training.subset(1000)
    for h in (2, 3, 4):
        net = Network(sizes_for(h), seeds=result.config["seeds"], seed=result.config["seed"])
        with one_thread():
            direct = learning_speed(net, split.images, split.labels).speed.double()
        ours = torch.tensor(result.data["hidden_layers"][str(h)]["per_seed"], dtype=torch.float64)
        assert ours.shape == (result.config["seeds"], h)
        torch.testing.assert_close(ours, direct)


def test_seed_override_changes_the_run(tmp_path: Path) -> None:
    exp = get_experiment("initial-speed")
    config = dataclasses.replace(exp.quick_config(), seeds=3, depths=(2,))
    result = exp.run(config, data="bundled", out_dir=tmp_path)
    assert np.asarray(result.data["hidden_layers"]["2"]["per_seed"]).shape == (3, 2)
    assert len(result.comparisons) == 2


@pytest.mark.full_mnist
def test_full_mnist_reproduces_the_book(mnist_dir: Path, tmp_path: Path) -> None:
    exp = get_experiment("initial-speed")
    config = dataclasses.replace(exp.default_config(), seeds=50)
    result = exp.run(config, data=str(mnist_dir), out_dir=tmp_path)
    expected = {2: (0.058, 0.284), 4: (0.0024, 0.012, 0.058, 0.286)}
    for h, ref in expected.items():
        d = result.data["hidden_layers"][str(h)]
        np.testing.assert_allclose(d["median"], ref, rtol=0.15)
    for h in (2, 3, 4):
        d = result.data["hidden_layers"][str(h)]
        for lo, hi, book in zip(d["q05"], d["q95"], INITIAL_SPEED[sizes_for(h)]):
            assert lo <= book <= hi
