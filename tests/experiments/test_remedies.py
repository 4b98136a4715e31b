"""``remedies``: tiny nets on the bundled images — the numbers it records, its resumable
partials, its sentences (which must follow the data, also when the data contradict the usual
story) and its figures.

The first/last ratio at initialisation is checked against an independent computation:
torch.autograd of the mean cost in float64 (the engine measures in float32; rtol 1e-4). The
advice validation's rank correlation is checked against Spearman's formula
1 − 6Σd²/(n(n²−1)) on hand-ranked data (no ties; rel 1e-12).
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
    remedies=("baseline", "relu-he", "fewer", "softmax", "sigmoid-large", "batchnorm"),
    width=8,
    train_samples=100,
    test_samples=100,
    speed_samples=100,
    epochs=2,
    predict=False,
    advice_steps=3,
    jobs=1,
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
            "sigmoid-large@2",
            "sigmoid-large@3",
            "batchnorm@2",
            "batchnorm@3",
        ]
    )
    assert cells["batchnorm@3"]["predicted_ratio"] is None  # no theory for batch norm
    adv = result.data["advice"]
    # advice for the un-remedied nets whose remedies the grid trains, every depth
    assert sorted(adv["configs"]) == ["baseline@2", "baseline@3", "sigmoid-large@2",
                                      "sigmoid-large@3"]  # fmt: skip
    for a in adv["configs"].values():
        assert a["seeds"] == TINY.seeds and 0 <= a["sick_seeds"] <= TINY.seeds
    for row in adv["rows"]:
        assert adv["configs"][row["sick"]]["sick"]
        acc = lambda k: rem.summary(cells[k])["accuracy"]  # noqa: E731
        assert row["gain"] == pytest.approx(acc(row["remedied"]) - acc(row["sick"]))
    assert len(result.tables) == 2 and len(result.tables[1].rows) == len(adv["rows"])
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
    monkeypatch.setattr(rem, "run_advice", boom)
    again = exp.run(TINY, out_dir=out, data="bundled")
    strip = lambda cells: {  # noqa: E731
        k: {**v, "seconds": 0, "cpu_seconds": 0} for k, v in cells.items()
    }
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
    cfg = dataclasses.replace(TINY, eta_relu=1e4, seeds=2)
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
    stems = ["remedies_table", "remedies_speeds"]
    assert [f.stem for f in files] == stems + (["remedies_advice"] if
                                               result.data["advice"]["rows"] else [])  # fmt: skip
    assert all((tmp_path / f.png).stat().st_size > 1000 for f in files)


def _advice(sick: bool, verdict: str, predicted: float) -> dict[str, Any]:
    return {
        "remedy": "baseline", "hidden": 20, "sick": sick, "findings": {"vanishing": 3},
        "changes": {
            "relu+he-init": {"improvement": predicted, "verdict": verdict},
            "leaky-relu+he-init": {"improvement": predicted / 2, "verdict": verdict},
        },
    }  # fmt: skip


def test_advice_validation_counts_wrong_advice_and_ranks() -> None:
    from gradprobe.experiments._remedies.advice import validate

    adv = {"baseline@20": _advice(True, "helps", 2.0), "baseline@4": _advice(False, "helps", 1.0)}
    acc = {"baseline@20": 0.10, "relu-he@20": 0.80, "leaky-he@20": 0.12,
           "baseline@4": 0.9, "relu-he@4": 0.1, "leaky-he@4": 0.1}  # fmt: skip
    v = validate(adv, acc, 0.05)
    assert [r["sick"] for r in v["rows"]] == ["baseline@20", "baseline@20"]  # healthy skipped
    relu, leaky = v["rows"]
    assert relu["gain"] == pytest.approx(0.70) and not relu["wrong"]
    assert leaky["gain"] == pytest.approx(0.02) and leaky["wrong"]  # "helps", +2 points
    assert v["wrong"] == 1 and v["spearman"] is None  # 2 pairs: no correlation
    # a remedied net whose seeds all diverged counts as chance (0.1)
    v2 = validate({"baseline@20": _advice(True, "neutral", 0.0)},
                  {"baseline@20": 0.5, "relu-he@20": None, "leaky-he@20": 0.9}, 0.05)  # fmt: skip
    assert v2["rows"][0]["gain"] == pytest.approx(-0.4) and not v2["rows"][0]["wrong"]
    assert v2["rows"][1]["wrong"] and "neutral" in v2["rows"][1]["why"]


def test_spearman_matches_the_formula() -> None:
    from gradprobe.experiments._remedies.advice import validate

    preds = [0.5, 2.0, 1.0, 3.0, 0.1]
    gains = [0.30, 0.50, 0.04, 0.20, 0.00]
    adv, acc = {}, {}
    for i, (p, g) in enumerate(zip(preds, gains)):
        adv[f"quadratic@{i + 2}"] = {
            "remedy": "quadratic", "hidden": i + 2, "sick": True, "findings": {},
            "changes": {"cross-entropy": {"improvement": p, "verdict": "helps"}},
        }  # fmt: skip
        acc[f"quadratic@{i + 2}"] = 0.1
        acc[f"baseline@{i + 2}"] = 0.1 + g
    v = validate(adv, acc, 0.05)
    rp = [2, 4, 3, 5, 1]  # ranks of preds
    rg = [4, 5, 2, 3, 1]  # ranks of gains
    n = 5
    expect = 1 - 6 * sum((a - b) ** 2 for a, b in zip(rp, rg)) / (n * (n * n - 1))
    assert v["spearman"] == pytest.approx(expect, rel=1e-12) and v["n"] == 5
    assert v["wrong"] == 2  # gains 0.04 and 0.00 are not above the threshold
    data = {"advice": {"configs": adv, **v}}
    text = " ".join(rem.advice_sentences(data))
    assert f"ρ = {expect:.2f}" in text and "wrong in 2 of 5 cases" in text


@pytest.mark.slow
def test_pool_gives_the_same_numbers(run: tuple[Any, Path], tmp_path: Path) -> None:
    result, _ = run
    cfg = dataclasses.replace(TINY, depths=(2,), remedies=("baseline", "batchnorm"), jobs=2,
                              advice=False)  # fmt: skip
    r2 = get_experiment("remedies").run(cfg, out_dir=tmp_path, data="bundled")
    for key in ("baseline@2", "batchnorm@2"):
        a, b = r2.data["cells"][key], result.data["cells"][key]
        assert a["accuracy"] == b["accuracy"] and a["speed_init"] == b["speed_init"]
        assert a["speed_final"] == b["speed_final"]
