"""``depth-accuracy``: quick run end to end, statistics over seeds, resuming finished depths."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gradprobe.book import DEPTH_ACCURACY
from gradprobe.errors import ConfigError
from gradprobe.experiments import get_experiment


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    exp = get_experiment("depth-accuracy")
    out = tmp_path_factory.mktemp("depth-accuracy")
    return exp.run(exp.quick_config(), data="bundled", out_dir=out), out


def test_writes_result_csvs_and_figures(run: tuple[Any, Path]) -> None:
    result, out = run
    doc = json.loads((out / "result.json").read_text())
    assert doc["schema"] == "gradprobe.result/1" and doc["name"] == "depth-accuracy"
    assert doc["data"]["evaluated_on"] == "test"  # the bundled subset has no validation split
    fig = doc["figures"][0]
    assert (out / fig["png"]).stat().st_size > 0 and (out / fig["svg"]).stat().st_size > 0
    lines = (out / "depth_accuracy.csv").read_text().splitlines()
    S, E = result.config["seeds"], result.config["epochs"]
    assert lines[0] == "sizes,seed,epoch,accuracy_percent" and len(lines) - 1 == 4 * S * E
    assert (out / "depth_accuracy_summary.csv").exists()
    assert [t.title for t in result.tables][1].startswith("adding a hidden layer")


def test_statistics_over_seeds(run: tuple[Any, Path]) -> None:
    result = run[0]
    S, E = result.config["seeds"], result.config["epochs"]
    books = list(DEPTH_ACCURACY.values())
    for i, d in enumerate(result.data["depths"].values()):
        acc = np.asarray(d["accuracy"])
        assert acc.shape == (S, E) and np.all((acc >= 0) & (acc <= 100))
        assert d["best"]["mean"] == pytest.approx(acc.max(1).mean())
        assert d["final"]["std"] == pytest.approx(acc[:, -1].std(ddof=1))
        assert result.comparisons[i].book == books[i]
        assert result.comparisons[i].inside is None  # quick mode is not judged
    assert len(result.data["differences"]) == 3


def test_finished_depths_are_reused(run: tuple[Any, Path]) -> None:
    result, out = run
    exp = get_experiment("depth-accuracy")
    lines: list[str] = []
    again = exp.run(exp.quick_config(), data="bundled", out_dir=out, progress=lines.append)
    assert sum("earlier run" in line for line in lines) == 4
    assert again.data["depths"]["2"]["accuracy"] == result.data["depths"]["2"]["accuracy"]


def test_other_settings_start_afresh(tmp_path: Path) -> None:
    exp = get_experiment("depth-accuracy")
    config = dataclasses.replace(exp.quick_config(), epochs=1, depths=(1,), train_size=200)
    exp.run(config, data="bundled", out_dir=tmp_path)
    lines: list[str] = []
    changed = dataclasses.replace(config, seeds=3)
    result = exp.run(changed, data="bundled", out_dir=tmp_path, progress=lines.append)
    assert not any("earlier run" in line for line in lines)
    assert np.asarray(result.data["depths"]["1"]["accuracy"]).shape == (3, 1)
    assert not list((tmp_path / "partial").glob("*.safetensors"))


def test_bad_settings_are_config_errors(tmp_path: Path) -> None:
    exp = get_experiment("depth-accuracy")
    with pytest.raises(ConfigError):
        exp.run(dataclasses.replace(exp.quick_config(), evaluate="train"), data="bundled",
                out_dir=tmp_path)  # fmt: skip
    with pytest.raises(ConfigError):
        exp.run(dataclasses.replace(exp.quick_config(), train_size=5000), data="bundled",
                out_dir=tmp_path)  # fmt: skip
