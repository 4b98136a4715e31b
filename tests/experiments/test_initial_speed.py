"""``initial-speed``: per-seed speeds against torch.autograd in float64, comparisons against the
numbers the book prints, bands against NumPy's quantiles, conclusions that follow the data."""

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
from gradprobe.experiments.initial_speed import (
    InitialSpeedConfig,
    conclusions,
    ratio_predictions,
)
from gradprobe.nets import Network
from gradprobe.report.figures import draw_figures
from gradprobe.results import Comparison, read_result
from mnist_reference import speeds

# What chapter 5 prints ("0.07 and 0.31", "0.012, 0.060, and 0.283", "0.003, 0.017, 0.070, and
# 0.285"), typed in from the book, not taken from gradprobe.book.
PRINTED = {2: [0.07, 0.31], 3: [0.012, 0.060, 0.283], 4: [0.003, 0.017, 0.070, 0.285]}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    exp = get_experiment("initial-speed")
    out = tmp_path_factory.mktemp("initial-speed")
    seen: list[tuple[str, float, float]] = []
    result = exp.run(
        exp.quick_config(), data="bundled", out_dir=out, progress=lambda *a: seen.append(a)
    )
    assert seen, "no progress"
    return result, out


def test_writes_result_csvs_and_figures(run: tuple[Any, Path], tmp_path: Path) -> None:
    result, out = run
    doc = json.loads((out / "result.json").read_text())
    assert doc["schema"] == "gradprobe.result/2" and doc["name"] == "initial-speed"
    assert doc["quick"] is True and doc["quick_note"] and "σ′" in doc["explanation"]
    rows = list(csv.reader((out / "initial_speed.csv").open()))
    assert rows[0] == ["sizes", "seed", "hidden_layer", "speed"]
    assert len(rows) - 1 == result.config["seeds"] * (2 + 3 + 4)
    assert (out / "initial_speed_summary.csv").exists()
    figures = draw_figures(read_result(out / "result.json"), tmp_path)
    assert [f.stem for f in figures] == ["initial_speed"]
    for f in figures:
        assert (tmp_path / f.png).stat().st_size > 0 and (tmp_path / f.svg).stat().st_size > 0


def test_per_seed_speeds_match_autograd_float64(run: tuple[Any, Path]) -> None:
    result = run[0]
    split = load_data("bundled").training
    for h in (2, 4):
        net = Network((784, *[30] * h, 10), seeds=result.config["seeds"], seed=0)
        ours = np.asarray(result.data["depths"][str(h)]["per_seed"])
        for s in (0, 7):
            # float32 forward pass against float64 autograd: relative 1e-4 is ample.
            np.testing.assert_allclose(
                ours[s], speeds(net, s, split.images, split.labels), rtol=1e-4
            )


def test_every_reproduction_is_a_printed_number_with_a_seed_band(run: tuple[Any, Path]) -> None:
    result = run[0]
    rows = [c for c in result.comparisons if c.kind == "reproduction"]
    assert [c.reference for c in rows] == [v for h in (2, 3, 4) for v in PRINTED[h]]
    i = 0
    for h in (2, 3, 4):
        per_seed = np.asarray(result.data["depths"][str(h)]["per_seed"])
        for l in range(h):
            c = rows[i]
            i += 1
            assert c.source.startswith("ch. 5")
            assert c.band == f"10–90 % of single runs, {result.config['seeds']} seeds"
            assert c.low == pytest.approx(np.quantile(per_seed[:, l], 0.1), rel=1e-12)
            assert c.high == pytest.approx(np.quantile(per_seed[:, l], 0.9), rel=1e-12)
            assert c.verdict == ("agrees" if c.low <= c.reference <= c.high else "disagrees")
    assert {c.kind for c in result.comparisons} == {"reproduction", "prediction"}


def test_the_book_is_inside_our_band_with_100_networks(tmp_path: Path) -> None:
    """The book's nine printed speeds (one network each) against 100 networks per depth on
    the same 1000 images: a claim about the reproduction, which could fail."""
    exp = get_experiment("initial-speed")
    result = exp.run(exp.default_config(), data="bundled", out_dir=tmp_path)
    verdicts = [c.verdict for c in result.comparisons]
    assert verdicts.count("agrees") >= 8, [(c.quantity, c.low, c.high) for c in result.comparisons]


def test_fewer_than_five_seeds_is_no_band_never_nan(tmp_path: Path) -> None:
    exp = get_experiment("initial-speed")
    result = exp.run(
        InitialSpeedConfig(seeds=3, depths=(2,), quick=True), data="bundled", out_dir=tmp_path
    )
    # 2 book speeds, 1 predicted ratio, 2 predicted speeds: every row without a band
    assert [c.band for c in result.comparisons] == ["3 seeds: no band"] * 5
    assert {c.verdict for c in result.comparisons} == {"not judged"}
    text = (tmp_path / "result.json").read_text()
    assert "NaN" not in text and "nan" not in text.lower().replace("nanmedian", "")
    assert any("not judged" in s for s in result.conclusions)


def test_other_sample_counts_have_no_book_numbers(tmp_path: Path) -> None:
    exp = get_experiment("initial-speed")
    result = exp.run(
        InitialSpeedConfig(seeds=5, samples=500, depths=(2,)), data="bundled", out_dir=tmp_path
    )
    assert [c for c in result.comparisons if c.kind != "prediction"] == []
    assert any("No book numbers" in s for s in result.conclusions)


def _data(per_depth: dict[int, np.ndarray]) -> dict[str, Any]:
    return {
        "samples": 1000,
        "depths": {
            str(h): {"sizes": [784, *[30] * h, 10], "per_seed": v.tolist(), "book": None}
            for h, v in per_depth.items()
        },
    }


def test_conclusions_follow_the_numbers() -> None:
    rng = np.random.default_rng(0)
    like_book = rng.uniform(0.8, 1.2, (10, 3)) * np.array([0.012, 0.06, 0.28])
    text = " ".join(conclusions(_data({3: like_book}), []))
    assert "slower than the next" in text and "Unlike the book" not in text
    # Contradicting data: the speed rises towards the input.
    reversed_ = like_book[:, ::-1]
    text = " ".join(conclusions(_data({3: reversed_}), []))
    assert "Unlike the book" in text and "faster than the last, the opposite of the book" in text
    # A book number outside our band is named and said to disagree.
    c = Comparison.reproduction(
        "784-30-30-10: ‖δ¹‖", [0.01, 0.011, 0.012, 0.013, 0.014], 0.07, "ch. 5"
    )
    text = " ".join(conclusions(_data({3: like_book}), [c]))
    assert "0 of the book's 1" in text and "disagree" in text and "above our band" in text


def test_ratio_predictions_compare_a_theory_with_our_ratios(run: tuple[Any, Path]) -> None:
    result = run[0]
    rows = ratio_predictions(result.data, {2: [4.5]}, "test theory")
    per_seed = np.asarray(result.data["depths"]["2"]["per_seed"])
    ratio = per_seed[:, 1] / per_seed[:, 0]
    assert len(rows) == 1 and rows[0].kind == "prediction" and rows[0].reference == 4.5
    assert rows[0].ours == pytest.approx(float(np.median(ratio)))
    assert not math.isnan(rows[0].low or math.nan)


def test_mean_field_predictions_are_predictions_never_reproductions(tmp_path):
    """The theory's numbers stand beside ours as kind "prediction"; the scoreboard's
    reproduction count is the book's nine printed speeds alone."""
    from gradprobe.experiments import get_experiment
    from gradprobe.results import scoreboard

    exp = get_experiment("initial-speed")
    config = exp.quick_config()
    result = exp.run(config, out_dir=tmp_path)
    preds = [c for c in result.comparisons if c.kind == "prediction"]
    assert len(preds) == 2 * 3 + 9  # 6 neighbouring-layer ratios, 9 per-layer speeds
    assert all("mean-field" in c.source and c.reference and c.reference > 0 for c in preds)
    board = scoreboard(result.comparisons)
    assert board.reproductions == 9 and board.predictions == len(preds)
    assert any("mean-field predictions" in s for s in result.conclusions)
