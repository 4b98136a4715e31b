"""``slowdown``: every epoch against gradient descent written out here in plain floats; the
book's printed numbers (initial outputs 0.82, 0.98; final output "about 0.09")."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import pytest

from gradprobe.errors import ConfigError
from gradprobe.experiments import get_experiment
from gradprobe.experiments.slowdown import Config, compare, conclude, find
from gradprobe.report.figures import draw_figures
from gradprobe.results import read_result

#: What the book prints (ch. 3, "The cross-entropy cost function"), typed in here.
BOOK_INITIAL = {(0.6, 0.9): 0.82, (2.0, 2.0): 0.98}
BOOK_FINAL_FROM_06_09 = 0.09


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    exp = get_experiment("slowdown")
    out = tmp_path_factory.mktemp("slowdown")
    return exp.run(exp.quick_config(), out_dir=out), out


def _descend(w: float, b: float, cost: str, eta: float, epochs: int) -> list[float]:
    """The neuron's output per epoch, x = 1, y = 0, by the book's gradients in plain floats."""
    outs = []
    for _ in range(epochs + 1):
        a = 1 / (1 + math.exp(-(w + b)))
        outs.append(a)
        d = a * a * (1 - a) if cost == "quadratic" else a  # ∂C/∂b = ∂C/∂w (x = 1, y = 0)
        w, b = w - eta * d, b - eta * d
    return outs


def test_every_epoch_matches_plain_float_gradient_descent(run: tuple[Any, Path]) -> None:
    runs = run[0].data["runs"]
    assert len(runs) == 6
    for r in runs:
        expect = _descend(r["w0"], r["b0"], r["cost"], r["eta"], 301)
        assert r["output"] == pytest.approx(expect[:301], rel=1e-12, abs=1e-15)
        assert r["output_after_extra_update"] == pytest.approx(expect[301], rel=1e-12)


def test_the_books_printed_numbers(run: tuple[Any, Path]) -> None:
    result = run[0]
    runs = result.data["runs"]
    for start, printed in BOOK_INITIAL.items():
        assert round(find(runs, start, "quadratic")["output"][0], 2) == printed  # type: ignore[index]
    final = find(runs, (0.6, 0.9), "quadratic", 0.15)["output"][-1]  # type: ignore[index]
    assert abs(final - BOOK_FINAL_FROM_06_09) <= 0.005  # "about 0.09", two decimals
    repro = [c for c in result.comparisons if c.kind == "reproduction"]
    assert len(repro) == 1 and repro[0].reference == BOOK_FINAL_FROM_06_09
    assert repro[0].verdict == "agrees"
    # The initial outputs are identities (σ(1.5), σ(4)), not reproductions; no 0.20 from (2, 2).
    ident = [c for c in result.comparisons if c.kind == "identity"]
    assert len(ident) == 6 and all(c.verdict == "agrees" for c in ident)
    assert not any(c.reference == 0.20 for c in result.comparisons)
    assert result.scoreboard.reproductions == result.scoreboard.reproductions_inside == 1


def test_the_books_plateau_and_cross_entropy_claims_hold(run: tuple[Any, Path]) -> None:
    text = " ".join(run[0].conclusions)
    assert "As the book says, from (2, 2)" in text
    assert "learns faster, as the book says" in text
    assert "the book's “about 0.09”" in text
    runs = run[0].data["runs"]
    bad = find(runs, (2.0, 2.0), "quadratic")
    assert bad is not None and bad["output"][0] - bad["output"][150] < 0.1  # barely moves


def test_conclusions_change_when_the_data_contradict_the_book(run: tuple[Any, Path]) -> None:
    data = copy.deepcopy(run[0].data)
    good = find(data["runs"], (0.6, 0.9), "quadratic", 0.15)
    bad = find(data["runs"], (2.0, 2.0), "quadratic", 0.15)
    assert good is not None and bad is not None
    good["output"][-1] = 0.2  # the book says about 0.09
    bad["w"], bad["b"] = good["w"], good["b"]  # no plateau from (2, 2)
    for r in data["runs"]:  # at the book's η = 0.005 the worse start learns more slowly
        if r["cost"] == "cross-entropy" and r["eta"] == 0.005 and r["w0"] == 2.0:
            r["cost_values"][10] = r["cost_values"][0]
    text = " ".join(conclude(data))
    assert "not the book's “about 0.09”" in text
    assert "Unlike the book's plateau" in text
    assert "does NOT learn faster, unlike the book" in text
    row = next(c for c in compare(data) if c.kind == "reproduction")
    assert row.verdict == "disagrees"


def test_other_epochs_have_no_book_number(tmp_path: Path) -> None:
    result = get_experiment("slowdown").run(Config(epochs=40), out_dir=tmp_path)
    assert result.scoreboard.reproductions == 0
    assert all(c.verdict == "agrees" for c in result.comparisons)


def test_bad_configs_are_config_errors(tmp_path: Path) -> None:
    exp = get_experiment("slowdown")
    for cfg in (
        Config(epochs=0),
        Config(runs=(("hinge", 0.1),)),
        Config(runs=(("quadratic", -1.0),)),
    ):
        with pytest.raises(ConfigError):
            exp.run(cfg, out_dir=tmp_path)


@pytest.mark.slow  # matplotlib: several seconds on a busy 2-core machine
def test_figures_are_drawn_from_the_result_alone(run: tuple[Any, Path], tmp_path: Path) -> None:
    files = draw_figures(read_result(run[1] / "result.json"), tmp_path)
    assert [f.stem for f in files] == ["slowdown_output", "slowdown_cost"]
    for f in files:
        assert (tmp_path / f.png).stat().st_size > 0 and (tmp_path / f.svg).stat().st_size > 0
    assert get_experiment("slowdown").order == 110
