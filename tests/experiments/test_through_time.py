"""``through-time``: a tiny run end to end; its checks are bounds and predictions (the book prints
none of these numbers); conclusions follow the data, including data that contradict theory.

The per-timestep norms themselves are checked against hand-stepped cells in
tests/test_recurrent.py.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gradprobe.errors import ConfigError
from gradprobe.experiments import get_experiment
from gradprobe.experiments import through_time as tt
from gradprobe.experiments.base import torch_threads
from gradprobe.report.figures import draw_figures
from gradprobe.results import read_result

TINY = tt.Config(
    lengths=(5, 8),
    memory_lengths=(6,),
    hidden=8,
    seeds=2,
    steps=3,
    test_size=64,
    radii=(0.5, 0.9, 1.5),
    radius_length=12,
    clip_steps=4,
    clip_length=8,
    profile_layers=2,
)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    exp = get_experiment("through-time")
    out = tmp_path_factory.mktemp("through_time")
    return exp.run(TINY, out_dir=out), out


@pytest.mark.slow
def test_run_writes_everything_and_checks_are_bounds(run: tuple[Any, Path]) -> None:
    result, out = run
    assert {c.kind for c in result.comparisons} == {"bound", "prediction"}
    assert result.scoreboard.reproductions == 0
    bounds = [c for c in result.comparisons if c.kind == "bound"]
    assert len(bounds) == 3 and all(c.verdict == "agrees" for c in bounds)
    for name in ("result.json", "through_time_profiles.csv", "through_time_outcome.csv"):
        assert (out / name).is_file()
    back = read_result(out / "result.json")
    assert len(back.data["runs"]) == 5 * 3 * 2
    r0 = back.data["runs"][0]
    assert set(r0["profiles"]) == {"0", "1", "3"}
    assert len(r0["profiles"]["0"]["norms"]["layer 0"]) == r0["T"]
    stacked = next(s for s in back.data["stacked"] if s["cell"] == "lstm")
    assert list(stacked["norms"]) == ["layer 0", "layer 1"]
    assert len(result.tables) == 4 and result.conclusions
    drawn = draw_figures(back, out)
    assert {f.stem for f in drawn} == {
        "through_time_profiles",
        "through_time_training",
        "through_time_radius",
        "through_time_clipping",
        "through_time_outcome",
    }
    assert get_experiment("through-time").order == 230


@pytest.mark.slow
def test_resumes_from_partial_results(
    run: tuple[Any, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    result, out = run

    def boom(*_a: Any, **_k: Any) -> None:
        raise AssertionError("should have been loaded from partial results")

    monkeypatch.setattr(tt, "train_run", boom)
    again = get_experiment("through-time").run(TINY, out_dir=out)
    assert again.data["runs"] == result.data["runs"]


@pytest.mark.slow
def test_same_seed_same_run() -> None:
    with torch_threads(1):
        a = tt.train_run(TINY, "adding", "gru", 6, 1)
        b = tt.train_run(TINY, "adding", "gru", 6, 1)
        c = tt.train_run(TINY, "adding", "gru", 6, 2)
    assert a == b
    assert c["train_loss"] != a["train_loss"]


def test_forget_bias_model_differs_only_in_the_forget_gate() -> None:
    a, b = tt.make_model("lstm", 2, 4, 1, 1, 0), tt.make_model("lstm-fb1", 2, 4, 1, 1, 0)
    pa, pb = dict(a.named_parameters()), dict(b.named_parameters())
    for k in pa:
        if k.startswith("rnn.bias"):
            assert not pa[k][4:8].equal(pb[k][4:8])
            assert pa[k][:4].equal(pb[k][:4]) and pa[k][8:].equal(pb[k][8:])
        else:
            assert pa[k].equal(pb[k])


@pytest.mark.slow
def test_conclusions_follow_contradicting_data(run: tuple[Any, Path]) -> None:
    data = copy.deepcopy(run[0].data)
    for row in data["sweep"]:
        row["decay"] = 1.2  # as if the gradient grew below the condition
    for r in data["runs"]:
        if r["task"] == "adding" and r["cell"] == "lstm":
            r["test_loss"] = 0.01 * r["baseline"]
        elif r["task"] == "adding" and r["cell"] == "rnn-tanh":
            r["test_loss"] = 0.01 * r["baseline"] if r["T"] == 5 else r["baseline"]
    text = " ".join(tt.conclude(data))
    assert "Against Pascanu et al.'s condition" in text
    assert (
        "LSTM (default) beats half the constant baseline at every length tried, up to T = 8" in text
    )
    assert "RNN tanh beats half the constant baseline at T ∈ [5] and fails first at T = 8" in text
    o = tt.outcome(data, "adding", "lstm", 8)
    assert o["beats"] and o["below"] == 2


def test_bad_configs() -> None:
    exp = get_experiment("through-time")
    for bad in (
        dict(cells=("lstm", "nope")),
        dict(lengths=(1,)),
        dict(hidden=0),
        dict(lr=-1.0),
        dict(seeds=0),
        dict(test_size=10),
    ):
        with pytest.raises(ConfigError):
            exp.validate(tt.Config(**bad))  # type: ignore[arg-type]


@pytest.mark.slow
def test_quick_mode(tmp_path: Path) -> None:
    exp = get_experiment("through-time")
    result = exp.run(exp.quick_config(), out_dir=tmp_path)
    assert result.quick and result.quick_note
    assert all(c.verdict == "agrees" for c in result.comparisons if c.kind == "bound")


@pytest.mark.slow
def test_conclusions_count_divergence_and_group_cells_that_never_learn(
    run: tuple[Any, Path],
) -> None:
    data = copy.deepcopy(run[0].data)
    for r in data["runs"]:
        r["test_loss"] = r["baseline"]  # no cell learns anywhere
    raw = [r for r in data["clipping"] if r["clip"] is None]
    raw[0]["loss"] = [1.0, None]  # seed 0 diverged
    raw[1]["loss"] = [2.0] * 12
    for r in data["clipping"]:
        if r["clip"] is not None:
            r["loss"] = [0.05] * 12
    text = " ".join(tt.conclude(data))
    assert "beat half the constant baseline at no length tried (T ∈ [5, 8]) within 3" in text
    assert "diverges (non-finite loss) in 1 of 2 seeds" in text
    assert "the last-10-step loss is 0.05 (median over 2 finite seed(s)), below" in text
    base = next(c for c in tt.compare(data) if "constant-prediction" in c.quantity)
    by_T = {r["T"]: r["baseline"] for r in data["runs"] if r["task"] == "adding"}
    assert base.ours == pytest.approx(float(np.median(list(by_T.values()))))
