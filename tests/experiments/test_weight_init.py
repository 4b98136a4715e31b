"""``weight-init``: a tiny real run on the bundled images, and compare/conclude on made-up data
that agrees or contradicts the book (numbers below are the book's printed ones, ch. 3)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from gradprobe.errors import ConfigError
from gradprobe.experiments import get_experiment
from gradprobe.experiments.weight_init import (
    WeightInitConfig,
    compare,
    conclude,
    curve_share,
    epochs_to_reach,
)
from gradprobe.results import read_result

TINY = WeightInitConfig(seeds=5, epochs=1, hidden=(30,), ce_hidden=(30,), jobs=1)
BOOK_DATA = Path("/work/shared/book-data/weight_initialization_30.json")


def test_tiny_run_on_bundled_images_resumes_identically(tmp_path: Path) -> None:
    exp = get_experiment("weight-init")
    said: list[str] = []
    r = exp.run(TINY, out_dir=tmp_path, data="bundled", progress=lambda w, d, t: said.append(w))
    runs = r.data["runs"]
    assert [(x["init"], x["role"]) for x in runs] == [
        ("large", "figure"), ("default", "figure"), ("large", "cross-entropy")
    ]  # fmt: skip
    for x in runs:
        acc = np.asarray(x["accuracy"])
        assert acc.shape == (5, 1) and np.all((acc >= 0) & (acc <= 100))
        assert x["evaluated_on"] == "test"  # the bundled data has no validation split
    # Bundled data is not the book's setting: nothing is judged, and the conclusions say so.
    assert r.comparisons and all(c.verdict == "not judged" for c in r.comparisons)
    assert any("No book number is judged" in s for s in r.conclusions)
    assert read_result(tmp_path / "result.json").data["runs"] == json.loads(json.dumps(runs))
    assert (tmp_path / "weight_init.csv").read_text().count("\n") == 1 + 3 * 5 * 1
    # A second run in the same folder reuses every finished run, with identical numbers.
    said.clear()
    r2 = exp.run(TINY, out_dir=tmp_path, data="bundled", progress=lambda w, d, t: said.append(w))
    assert sum("reused" in s for s in said) == 3
    assert r2.data["runs"] == r.data["runs"]
    # Same seed in a fresh folder: the same accuracies (trained again, not reused).
    cfg = dataclasses.replace(TINY, inits=("default",), ce_hidden=())
    fresh = exp.run(cfg, out_dir=tmp_path / "fresh", data="bundled").data["runs"]
    assert fresh[0]["accuracy"] == runs[1]["accuracy"]


@pytest.mark.parametrize(
    "change",
    [{"seeds": 0}, {"epochs": 0}, {"eta": -1.0}, {"lmbda": float("nan")}, {"inits": ("huge",)},
     {"hidden": (), "ce_hidden": ()}, {"hidden": (0,)}, {"train_size": 0}, {"jobs": 0},
     {"jobs": True}],
)  # fmt: skip
def test_bad_config_is_a_config_error(change: dict, tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        get_experiment("weight-init").run(
            dataclasses.replace(TINY, **change), out_dir=tmp_path, data="bundled"
        )


# -- compare / conclude on made-up data ------------------------------------------------------------
FULL = WeightInitConfig(seeds=5, hidden=(30,), ce_hidden=(30,))


def _curve(start: float, end: float, spread: float = 0.1, epochs: int = 30) -> list[list[float]]:
    """Five seeds rising from ``start`` to ``end`` (%), seed s offset by (s − 2)·spread."""
    base = np.linspace(start, end, epochs)
    return [(base + (s - 2) * spread).tolist() for s in range(5)]


def _runs(h: int, large: list[list[float]], default: list[list[float]], ce_end: float) -> list:
    def run(init: str, role: str, acc: list[list[float]], ev: str, eta: float) -> dict:
        return {
            "net": f"784-{h}-10", "hidden": h, "init": init, "eta": eta,
            "lmbda": 5.0 if role == "figure" else 0.0, "role": role, "evaluated_on": ev,
            "accuracy": acc, "train_seconds": 1.0,
        }  # fmt: skip

    return [
        run("large", "figure", large, "validation", 0.1),
        run("default", "figure", default, "validation", 0.1),
        run("large", "cross-entropy", _curve(90.0, ce_end), "test", 0.5),
    ]


Wide = tuple[list[list[float]], list[list[float]], float]


def _data(
    large: list[list[float]],
    default: list[list[float]],
    ce_end: float,
    curves: dict[str, list[float]] | None = None,
    wide: Wide | None = None,
) -> dict:
    """Made-up results of 784-30-10 (and of 784-100-10 when ``wide`` is given)."""
    runs = _runs(30, large, default, ce_end)
    if wide is not None:
        runs += _runs(100, *wide)
    return {
        "runs": runs,
        "seeds": 5,
        "epochs": 30,
        "training_images": 50_000,
        "source": "test",
        "book_curves": curves,
    }


def _book_curves() -> dict[str, list[float]]:
    if not BOOK_DATA.exists():
        pytest.skip("the book's figure data is not on this machine")
    doc = json.loads(BOOK_DATA.read_text())
    return {
        i: [v / 100 for v in doc[f"{i}_weight_initialization"][1]] for i in ("large", "default")
    }


def _five_seeds_around(curves: dict[str, list[float]]) -> tuple[list, list]:
    """Five seeds' curves spread 0.2 points apart around the book's own (N(0,1), N(0,1/n_in))."""

    def spread(curve: list[float]) -> list[list[float]]:
        return [[v + (s - 2) * 0.2 for v in curve] for s in range(5)]

    return spread(curves["large"]), spread(curves["default"])


def _by(rows: list, text: str) -> list:
    return [c for c in rows if text in c.quantity]


def test_agreeing_data_agrees_with_the_book() -> None:
    curves = _book_curves()
    # Bands built around the book's own curves: every book point is inside.
    large, default = _five_seeds_around(curves)
    data = _data(large, default, ce_end=95.49, curves=curves)
    rows = compare(FULL, data)
    assert all(c.verdict == "agrees" for c in rows), [(c.quantity, c.verdict) for c in rows]
    assert [c.reference for c in rows if c.kind == "bound"] == [87.0, 96.0, 93.0, 96.0]
    ce = _by(rows, "η = 0.5")
    assert len(ce) == 1 and ce[0].reference == 95.49 and ce[0].kind == "reproduction"
    assert {c.reference for c in _by(rows, "epoch 1 (%)") if c.kind == "reproduction"} == {
        86.43,
        92.70,
    }  # the book's curve: 8643 and 9270 of 10 000 after the first epoch
    text = " ".join(conclude(FULL, data, rows))
    assert "inside our 10–90 % band at 30 of 30 epochs" in text
    assert "catches up" in text and "Disagrees" not in text
    # Our medians are the book's curves here: its N(0, 1) curve (8643, 9044, 9141, 9231, 9299 of
    # 10 000) first reaches the N(0, 1/n_in) first epoch (9270) at epoch 5.
    assert "needs 5 epochs" in text


def test_contradicting_data_disagrees_and_says_so() -> None:
    curves = _book_curves()
    # Old init starts at 90 % (the book: under 87), both end at 95 % (the book: over 96), the
    # cross-entropy run ends at 97 % (the book: 95.49), old init never catches up.
    large = _curve(90.0, 92.0)
    default = _curve(93.0, 95.0)
    data = _data(large, default, ce_end=97.0, curves=curves)
    rows = compare(FULL, data)
    bad = [c for c in rows if c.verdict == "disagrees"]
    assert _by(rows, "N(0, 1): validation accuracy after epoch 1")[0].verdict == "disagrees"
    assert all(c.verdict == "disagrees" for c in _by(rows, "after epoch 30") if c.kind == "bound")
    assert _by(rows, "η = 0.5")[0].verdict == "disagrees"
    text = " ".join(conclude(FULL, data, rows))
    assert "does not reach 93.00 % within 30 epochs" in text
    assert "has not caught up" in text
    assert text.count("Disagrees with the book") == len(bad)
    # a bound is named as a bound, a printed number as lying outside the band
    assert "the book's bound (at most 87) fails for our median" in text
    assert "the book's 95.49 lies outside our band" in text
    assert "(reproduction, inside)" not in text


def test_outside_the_books_settings_nothing_is_judged() -> None:
    data = _data(_curve(90.0, 92.0), _curve(93.0, 95.0), ce_end=97.0)
    data["epochs"], data["training_images"] = 30, 1000
    rows = compare(FULL, data)
    assert rows and all(c.verdict == "not judged" for c in rows)


def test_epochs_to_reach_and_curve_share_by_hand() -> None:
    assert epochs_to_reach(np.array([80.0, 85.0, 90.0, 91.0]), 90.0) == 3
    assert epochs_to_reach(np.array([80.0, 85.0]), 90.0) is None
    ours = np.array([[1.0, 2.0, 3.0]] * 4 + [[2.0, 4.0, 6.0]])  # 10–90 % band: [1, 1.4]… by hand
    lo = np.quantile(ours, 0.1, axis=0)
    hi = np.quantile(ours, 0.9, axis=0)
    np.testing.assert_allclose(hi, [1.6, 3.2, 4.8], rtol=1e-12)  # 1 + 0.6·(2 − 1), …
    assert lo.tolist() == [1.0, 2.0, 3.0]
    assert curve_share(ours, [1.5, 5.0, 3.0]) == (2, 3)


# -- both widths: 784-30-10 and 784-100-10 ---------------------------------------------------------
BOTH = WeightInitConfig(seeds=5, hidden=(30, 100), ce_hidden=(30, 100))


def test_both_widths_agreeing_with_the_book() -> None:
    curves = _book_curves()
    large, default = _five_seeds_around(curves)
    # 784-100-10: N(0, 1) rises 88 → 96, N(0, 1/n_in) 94 → 97.5; the last-epoch bands (± 0.16)
    # stay apart, as the book's curves "don't quite meet"; the cross-entropy run ends at 96.82.
    wide = (_curve(88.0, 96.0), _curve(94.0, 97.5), 96.82)
    data = _data(large, default, ce_end=95.49, curves=curves, wide=wide)
    rows = compare(BOTH, data)
    assert rows and all(c.verdict == "agrees" for c in rows), [
        (c.quantity, c.verdict) for c in rows
    ]
    # The book prints no number for its 784-100-10 figure: only the cross-entropy row is 100-wide.
    wide_rows = [c for c in rows if c.quantity.startswith("784-100-10")]
    assert [(c.kind, c.reference) for c in wide_rows] == [("reproduction", 96.82)]
    text = conclude(BOTH, data, rows)
    joined = " ".join(text)
    # By hand: 88 + i·8/29 ≥ 94 first at i = 22 (93.79 at i = 21), i.e. epoch 23.
    assert "784-100-10: with N(0, 1/n_in) weights the median run reaches 94.00 %" in joined
    assert "needs 23 epochs to reach it (22 more)" in joined
    s100 = next(t for t in text if t.startswith("784-100-10: after 30 epochs"))
    assert "has not caught up" in s100 and "as the book says" in s100
    assert "don't quite meet" in s100
    s30 = next(t for t in text if t.startswith("784-30-10: after 30 epochs"))
    assert "catches up" in s30 and "as the book says" in s30
    assert "the book's 96.82 %" in joined and "lies inside our band" in joined
    assert "Disagrees" not in joined and "unlike the book" not in joined


def test_both_widths_contradicting_the_book() -> None:
    curves = _book_curves()
    large, default = _five_seeds_around(curves)
    # 784-100-10 meets (bands overlap at the end) where the book's curves do not, and the
    # cross-entropy run ends at 98 % against the book's 96.82 %.
    wide = (_curve(93.0, 97.5), _curve(94.0, 97.5), 98.0)
    data = _data(large, default, ce_end=95.49, curves=curves, wide=wide)
    rows = compare(BOTH, data)
    bad = [c for c in rows if c.verdict == "disagrees"]
    assert [c.reference for c in bad] == [96.82]
    text = conclude(BOTH, data, rows)
    s100 = next(t for t in text if t.startswith("784-100-10: after 30 epochs"))
    assert "catches up" in s100 and "unlike the book" in s100 and "don't quite meet" in s100
    joined = " ".join(text)
    assert "the book's 96.82 %" in joined and "lies below our band" in joined
    assert joined.count("Disagrees with the book") == 1


def test_other_learning_rate_judges_only_the_cross_entropy_runs() -> None:
    data = _data(_curve(80.0, 96.5), _curve(92.5, 96.5), ce_end=95.49, wide=(
        _curve(88.0, 96.0), _curve(94.0, 97.5), 96.82))  # fmt: skip
    rows = compare(dataclasses.replace(BOTH, eta=0.5), data)
    judged = [c for c in rows if c.verdict != "not judged"]
    assert [c.reference for c in judged] == [95.49, 96.82]
    assert all("η = 0.5, λ = 5" in c.note for c in rows if c.verdict == "not judged")
    text = " ".join(conclude(dataclasses.replace(BOTH, eta=0.5), data, rows))
    assert "not the book's settings, so not compared with it" in text
    assert "as the book says" not in text and "unlike the book" not in text


def test_plan_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    from gradprobe.experiments import weight_init as wi

    assert wi.plan_jobs(dataclasses.replace(BOTH, jobs=3), pending=2) == 2
    assert wi.plan_jobs(dataclasses.replace(BOTH, jobs=1), pending=6) == 1
    assert wi.plan_jobs(BOTH, pending=0) == 1
    # Inside a child process (a sweep worker) the default is one process: no nested pools.
    monkeypatch.setattr(wi.multiprocessing, "parent_process", lambda: object())
    assert wi.plan_jobs(BOTH, pending=6) == 1


@pytest.mark.slow
def test_two_processes_give_the_same_numbers_and_pass_errors_on(tmp_path: Path) -> None:
    exp = get_experiment("weight-init")
    cfg = dataclasses.replace(TINY, seeds=2, ce_hidden=())
    one = exp.run(cfg, out_dir=tmp_path / "one", data="bundled")
    ticks: list[tuple[str, float, float]] = []
    two = exp.run(dataclasses.replace(cfg, jobs=2), out_dir=tmp_path / "two", data="bundled",
                  progress=lambda w, d, t: ticks.append((w, d, t)))  # fmt: skip
    assert one.data["jobs"] == 1 and two.data["jobs"] == 2
    assert [r["accuracy"] for r in two.data["runs"]] == [r["accuracy"] for r in one.data["runs"]]
    assert sorted(d for w, d, t in ticks if "epoch" in w) == [1, 2]  # both workers' epochs
    # A failure in a worker reaches the caller as its own type.
    from gradprobe.errors import NonFiniteError

    with pytest.raises(NonFiniteError, match="eta"):
        exp.run(dataclasses.replace(cfg, jobs=2, eta=1e38), out_dir=tmp_path / "bad",
                data="bundled")  # fmt: skip
