"""``training-speed``: per_seed is [seed][epoch][layer] with epoch 0 = autograd's speeds at
initialisation; the book's numbers are its published curves (checked by hash here); the
comparisons and conclusions follow the data, including where they disagree with the book."""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gradprobe.data import load_data
from gradprobe.experiments import get_experiment
from gradprobe.experiments.training_speed import (
    TrainingSpeedConfig,
    conclusions,
    curve_shares,
)
from gradprobe.nets import Network
from gradprobe.report.figures import draw_figures
from gradprobe.results import read_result
from mnist_reference import speeds

# SHA-256 of the book's files as published (README of the book data), typed in here.
SHA = {
    2: "2c8fd42dafd55dd150ae0a919529924ede5c3c971594a9fd6be2a08657202879",
    3: "d22c118eb1ee8490e5fbdf1c655c5218eef267bea8ec62e8fdadb74dd7a05007",
    4: "5194bd4aef8f9d3350716dc7393ef0cc468297bd34d2c7d64aa5901fc70d61d2",
}
CONFIG = TrainingSpeedConfig(seeds=5, epochs=6, depths=(2, 3), quick=True)


def book_curve(hidden: int) -> np.ndarray:
    """The book's curve read straight from the shipped file, after checking its hash."""
    raw = (
        resources.files("gradprobe.bookdata")
        .joinpath(f"norms_during_training_{hidden}_layers.json")
        .read_bytes()
    )
    assert hashlib.sha256(raw).hexdigest() == SHA[hidden]
    return np.asarray(json.loads(raw), dtype=np.float64)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    exp = get_experiment("training-speed")
    out = tmp_path_factory.mktemp("training-speed")
    return exp.run(CONFIG, data="bundled", out_dir=out), out


def test_writes_result_csv_and_figures(run: tuple[Any, Path], tmp_path: Path) -> None:
    out = run[1]
    doc = json.loads((out / "result.json").read_text())
    assert doc["schema"] == "gradprobe.result/2" and doc["name"] == "training-speed"
    lines = (out / "training_speed.csv").read_text().splitlines()
    S, E = CONFIG.seeds, CONFIG.epochs
    assert lines[0] == "sizes,seed,epoch,hidden_layer,speed"
    assert len(lines) - 1 == S * (E + 1) * (2 + 3)
    figures = draw_figures(read_result(out / "result.json"), tmp_path)
    assert [f.stem for f in figures] == ["training_speed"]
    assert (tmp_path / "training_speed.png").stat().st_size > 0
    assert (tmp_path / "training_speed.svg").stat().st_size > 0


def test_epoch_zero_is_the_initial_speed_by_autograd(run: tuple[Any, Path]) -> None:
    result = run[0]
    split = load_data("bundled").training
    for h in (2, 3):
        per_seed = np.asarray(result.data["depths"][str(h)]["per_seed"])
        assert per_seed.shape == (CONFIG.seeds, CONFIG.epochs + 1, h) and np.all(per_seed > 0)
        net = Network((784, *[30] * h, 10), seeds=CONFIG.seeds)
        for s in (0, 4):
            np.testing.assert_allclose(
                per_seed[s, 0], speeds(net, s, split.images, split.labels), rtol=1e-4
            )
        # Training moves the speeds: later epochs differ from the first.
        assert not np.allclose(per_seed[:, -1], per_seed[:, 0])


def test_book_numbers_are_the_books_curves_at_the_same_epoch(run: tuple[Any, Path]) -> None:
    result = run[0]
    E = CONFIG.epochs
    rows = result.comparisons
    assert rows and all(c.kind == "reproduction" for c in rows)
    assert all("norms_during_training" in c.source for c in rows)
    for h in (2, 3):
        book = book_curve(h)
        assert result.data["depths"][str(h)]["book"] == book[: E + 1].tolist()
        ours = np.asarray(result.data["depths"][str(h)]["per_seed"])
        mine = [c for c in rows if c.quantity.startswith(f"784-{'30-' * h}10:")]
        last = [c for c in mine if "after" in c.quantity and "/" not in c.quantity]
        assert [c.reference for c in last] == book[E].tolist()
        for l, c in enumerate(last):
            assert c.low == pytest.approx(np.quantile(ours[:, E, l], 0.1), rel=1e-12)
        ratio = [c for c in mine if "/" in c.quantity]
        assert len(ratio) == 1 and ratio[0].reference == pytest.approx(book[E, -1] / book[E, 0])
        share = [c for c in mine if "share" in c.quantity]
        lo, hi = np.quantile(ours[:, :, 0], [0.1, 0.9], axis=0)
        expected = float(np.mean((book[: E + 1, 0] >= lo) & (book[: E + 1, 0] <= hi)))
        assert share[0].ours == pytest.approx(expected)
        assert share[0].verdict == ("agrees" if expected >= 0.5 else "disagrees")


def test_other_settings_have_no_book_numbers(tmp_path: Path) -> None:
    exp = get_experiment("training-speed")
    result = exp.run(
        TrainingSpeedConfig(seeds=2, epochs=2, eta=0.5, depths=(2,)),
        data="bundled",
        out_dir=tmp_path,
    )
    assert result.comparisons == [] and result.data["depths"]["2"]["book"] is None
    assert any("No book numbers" in s for s in result.conclusions)


def test_curve_shares_need_five_seeds() -> None:
    book = np.ones((3, 2))
    assert curve_shares(np.ones((4, 3, 2)), book) == [None, None]
    ours = np.stack([np.full((3, 2), v) for v in (0.5, 0.8, 1.0, 1.2, 1.5)])
    assert curve_shares(ours, book) == [1.0, 1.0]
    assert curve_shares(ours * 3, book) == [0.0, 0.0]


def _synthetic(ratio_end: np.ndarray, hidden: int = 3, ordered: bool = True) -> dict[str, Any]:
    """Per-seed curves for ``hidden`` layers over the book's 500 points whose last-to-first
    ratio at the end is ``ratio_end`` [S]; the layers in order unless ``ordered`` is False."""
    S, B = len(ratio_end), 500
    base = np.geomspace(1e-1, 1e-3, B)[None, :, None] * np.ones((S, 1, hidden))
    scale = np.linspace(0, 1, hidden)[None, None, :]
    per_seed = base * (ratio_end[:, None, None] ** scale)
    if not ordered:
        per_seed = per_seed[:, :, ::-1]
    return {
        "epochs": B - 1,
        "samples": 1000,
        "depths": {
            str(hidden): {
                "sizes": [784, *[30] * hidden, 10],
                "per_seed": per_seed.tolist(),
                "book": book_curve(hidden).tolist(),
            }
        },
    }


def test_a_ratio_outside_our_band_is_said_to_disagree() -> None:
    """The issue's case: the book's 3-hidden-layer ratio at its last epoch is 14.7, ours
    7.3 with band 5.8–13.9: the comparison and the conclusions must say so."""
    exp = get_experiment("training-speed")
    data = _synthetic(np.array([5.0, 7.0, 7.3, 10.0, 16.5]))
    rows = exp.compare(TrainingSpeedConfig(), data)
    ratio = next(c for c in rows if "/" in c.quantity)
    assert ratio.reference == pytest.approx(14.74, abs=0.01)
    assert ratio.ours == pytest.approx(7.3) and ratio.high == pytest.approx(13.9)
    assert ratio.verdict == "disagrees"
    text = " ".join(conclusions(data, rows))
    assert "14.7 lies above our band 5.8–13.9 (median 7.3) — this disagrees with the book" in text
    inside = _synthetic(np.array([8.0, 12.0, 14.0, 16.0, 20.0]))
    rows = exp.compare(TrainingSpeedConfig(), inside)
    text = " ".join(conclusions(inside, rows))
    assert "14.7 lies inside our band" in text


def test_conclusions_notice_layers_out_of_order() -> None:
    data = _synthetic(np.array([5.0, 7.0, 7.3, 10.0, 16.5]), ordered=False)
    text = " ".join(conclusions(data, []))
    assert "Unlike the book" in text and "order of the layers breaks" in text
    text = " ".join(conclusions(_synthetic(np.array([5.0, 7.0, 7.3, 10.0, 16.5])), []))
    assert "each hidden layer learns slower than the next" in text
