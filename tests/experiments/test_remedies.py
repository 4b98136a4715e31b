"""``remedies``: tiny nets on the bundled images — the numbers it records, its resumable
partials, its sentences (which must follow the data, also when the data contradict the usual
story) and its figures.

The first/last ratio at initialisation is checked against an independent computation:
torch.autograd of the mean cost in float64 (the engine measures in float32; rtol 1e-4).
"""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
import torch

from gradprobe.data import load_bundled
from gradprobe.errors import ConfigError
from gradprobe.experiments import get_experiment
from gradprobe.experiments import remedies as rem
from gradprobe.nets import Network
from gradprobe.report.figures import draw_figures
from gradprobe.results import read_result

TINY = rem.RemediesConfig(
    seeds=2,
    depths=(2, 3),
    remedies=("baseline", "relu-he", "fewer", "softmax"),
    width=8,
    train_samples=100,
    test_samples=100,
    speed_samples=100,
    epochs=2,
    predict=False,
    quick=True,
)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    exp = get_experiment("remedies")
    out = tmp_path_factory.mktemp("remedies")
    return exp.run(TINY, out_dir=out, data="bundled"), out


def test_cells_and_tables(run: tuple[Any, Path]) -> None:
    result, out = run
    cells = result.data["cells"]
    # "fewer" has its own depth (2 hidden) and is computed once, not once per depth.
    assert sorted(cells) == sorted(
        [
            "baseline@2",
            "baseline@3",
            "relu-he@2",
            "relu-he@3",
            "fewer@2",
            "softmax@2",
            "softmax@3",
        ]
    )
    assert len(result.tables[0].rows) == len(cells)  # one row per cell
    for c in cells.values():
        assert len(c["accuracy"]) == TINY.seeds and len(c["speed_init"]) == TINY.seeds
        assert all(len(s) == c["hidden"] for s in c["speed_init"])
        for a in c["accuracy"]:
            assert a is None or 0.0 <= a <= 1.0
        assert c["predicted_ratio"] is None  # predict=False
    doc = json.loads((out / "result.json").read_text())
    assert doc["name"] == "remedies" and doc["config"]["seeds"] == 2
    assert (out / "remedies.csv").is_file()


def test_ratio_at_init_matches_autograd(run: tuple[Any, Path]) -> None:
    result, _ = run
    mnist = load_bundled()
    x = mnist.training.images[: TINY.speed_samples].double()
    labels = mnist.training.labels[: TINY.speed_samples]
    for key, act, init in (("baseline@3", "sigmoid", "default"), ("relu-he@3", "relu", "he")):
        net = Network((784, 8, 8, 8, 10), act, init=init, seeds=TINY.seeds, seed=TINY.seed,
                      dtype=torch.float64)  # fmt: skip
        y = torch.nn.functional.one_hot(labels, 10).double()
        cost = net.cost_fn(net(x), y)
        grads = torch.autograd.grad(cost, net.biases[:-1])
        norms = torch.stack([g.norm(dim=-1) for g in grads], dim=-1)  # [S, H]
        expect = (norms[:, 0] / norms[:, -1]).tolist()
        assert result.data["cells"][key]["ratio_init"] == pytest.approx(expect, rel=1e-4)


def test_same_seed_same_numbers_and_resume(
    run: tuple[Any, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    result, out = run
    exp = get_experiment("remedies")

    def boom(*_a: Any, **_k: Any) -> None:
        raise AssertionError("recomputed a cell that had a partial result")

    monkeypatch.setattr(rem, "run_cell", boom)
    again = exp.run(TINY, out_dir=out, data="bundled")
    strip = lambda cells: {k: {**v, "seconds": 0} for k, v in cells.items()}  # noqa: E731
    assert strip(again.data["cells"]) == strip(result.data["cells"])


def test_fresh_run_is_deterministic(run: tuple[Any, Path], tmp_path: Path) -> None:
    result, _ = run
    cfg = dataclasses.replace(TINY, depths=(2,), remedies=("baseline",))
    r2 = get_experiment("remedies").run(cfg, out_dir=tmp_path, data="bundled")
    a, b = r2.data["cells"]["baseline@2"], result.data["cells"]["baseline@2"]
    assert a["accuracy"] == b["accuracy"] and a["speed_init"] == b["speed_init"]


def test_diverged_seeds_are_recorded_not_raised() -> None:
    mnist = load_bundled()
    train = mnist.training.subset(100)
    cfg = dataclasses.replace(TINY, eta=1e4, seeds=2)
    cell = rem.run_cell(cfg, "relu-he", 3, train, mnist.test.subset(50), train)
    assert cell["diverged"] == 2
    assert cell["accuracy"] == [None, None] and cell["ratio_final"] == [None, None]
    assert all(r is not None and r > 0 for r in cell["ratio_init"])  # measured before training
    json.dumps(cell, allow_nan=False)  # no NaN reaches the result


def test_prediction_is_wired_for_sigmoid() -> None:
    mnist = load_bundled()
    sx = mnist.training.subset(100)
    r = rem.predicted_ratio((784, 8, 8, 8, 10), "sigmoid", "default", "cross-entropy", None, sx)
    assert r is not None and 0 < r < 1  # the first layer learns slower
    assert rem.predicted_ratio((784, 8, 8, 10), "sigmoid", "default", "log-likelihood",
                               "softmax", sx) is None  # fmt: skip


def test_bad_config_is_a_config_error() -> None:
    exp = get_experiment("remedies")
    with pytest.raises(ConfigError, match="unknown remedies"):
        exp.validate(dataclasses.replace(TINY, remedies=("magic",)))
    with pytest.raises(ConfigError, match="depths"):
        exp.validate(dataclasses.replace(TINY, depths=(1,)))
    with pytest.raises(ConfigError, match="train_samples"):
        exp.validate(dataclasses.replace(TINY, train_samples=0))


def _synthetic(base_acc: float, remedy_acc: float | None, diverged: int = 0) -> dict[str, Any]:
    def cell(remedy: str, acc: float | None, ratio: float, div: int) -> dict[str, Any]:
        return {
            "remedy": remedy, "label": remedy, "hidden": 20, "seeds": [0, 1, 2],
            "accuracy": [acc] * 3, "ratio_init": [None if div else ratio] * 3,
            "ratio_final": [None if div else ratio] * 3, "epochs_to_target": [None] * 3,
            "diverged": div, "seconds": 1.0,
        }  # fmt: skip

    return {
        "depths": [20],
        "remedies": [
            {"key": "baseline", "label": "baseline"},
            {"key": "relu-he", "label": "ReLU + He init"},
        ],
        "cells": {
            "baseline@20": cell("baseline", base_acc, 1e-12, 0),
            "relu-he@20": cell("relu-he", remedy_acc, 0.5, diverged),
        },
    }


def test_conclusions_follow_the_numbers() -> None:
    usual = rem.conclude(_synthetic(0.10, 0.80))
    assert "does not learn" in usual[0] and "1e+12× slower" in usual[0]
    assert "ReLU + He init at 20 hidden layers keeps the first layer within 2×" in usual[1]
    assert "it helped" in usual[1]
    # Contradicting data: the baseline learns and the remedy is worse — the text must say so.
    contra = rem.conclude(_synthetic(0.90, 0.15))
    assert "learns" in contra[0] and "does not learn" not in contra[0]
    assert "made things worse" in contra[1] and "it helped" not in contra[1]
    assert any("Even at 20 hidden layers the baseline stays at 10.0 %" in t for t in usual)
    assert not any("Even at" in t for t in contra)
    same = rem.conclude(_synthetic(0.50, 0.52))
    assert "did not help" in same[1]
    div = rem.conclude(_synthetic(0.10, None, diverged=3))
    assert "every seed diverged" in div[1]


def test_figures_draw_from_data(run: tuple[Any, Path], tmp_path: Path) -> None:
    _, out = run
    result = read_result(out / "result.json")
    # One drawing (figures are slow on a loaded machine), with one cell made fully diverged
    # (accuracy None for every seed): it must still draw, beside the measured cells.
    broken = copy.deepcopy(result)
    c = broken.data["cells"]["relu-he@3"]
    c["accuracy"] = [None] * TINY.seeds
    c["diverged"] = TINY.seeds
    files = draw_figures(broken, tmp_path)
    assert [f.stem for f in files] == ["remedies_table", "remedies_speeds"]
    assert all((tmp_path / f.png).stat().st_size > 1000 for f in files)
