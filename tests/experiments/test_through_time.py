"""``through-time``: a tiny run end to end; its checks are bounds and predictions (the book prints
none of these numbers); conclusions follow the data, including data that contradict theory.

The per-timestep norms themselves are checked against hand-stepped cells in
tests/test_recurrent.py.
"""

from __future__ import annotations

import copy
import dataclasses
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
    train_lengths=(5, 8),
    memory_lengths=(6,),
    hidden=8,
    seeds=2,
    steps=3,
    memory_steps=3,
    eval_every=2,
    skip_after_failure=False,
    processes=1,
    test_size=64,
    radii=(0.5, 0.9, 1.5),
    radius_length=12,
    clip_steps=4,
    clip_length=8,
    profile_layers=2,
    profile_every=2,
    stacked_length=6,
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
    assert set(r0["profiles"]) == {"0", "2", "3"} and r0["steps"] == 3 and not r0["solved"]
    assert [p[0] for p in r0["val_loss"]] == [2, 3] and len(r0["train_loss"]) == 2
    assert {(s["cell"], s["T"]) for s in back.data["init"]} == {
        (c, T) for c in tt.CELLS for T in (5, 8)
    }
    assert back.data["skipped"] == []
    assert len(r0["profiles"]["0"]["norms"]["layer 0"]) == r0["T"]
    stacked = next(s for s in back.data["stacked"] if s["cell"] == "lstm")
    assert list(stacked["norms"]) == ["layer 0", "layer 1"]
    # stacked training: every cell with a stacked form, every seed, profiled per layer
    st = back.data["stacked_runs"]
    assert [(r["cell"], r["seed"]) for r in st] == [
        (c, s) for c in ("rnn-tanh", "lstm", "lstm-fb1", "gru") for s in (0, 1)
    ]
    assert all(r["T"] == 6 and r["layers"] == 2 and set(r["profiles"]) == {"0", "2", "3"}
               for r in st)  # fmt: skip
    assert all(
        list(p["norms"]) == ["layer 0", "layer 1"] for r in st for p in r["profiles"].values()
    )
    assert len(result.tables) == 5 and result.conclusions
    during = result.tables[-1]
    assert during.columns[4:] == ["init", "step 2", "end", "median steps", "learnt"]
    assert len(during.rows) == 5 + 4 * 2
    assert any(
        c.startswith("In the 2-layer LSTM (default) trained at T = 6") for c in result.conclusions
    )
    csv = (out / "through_time_profiles.csv").read_text()
    assert "training-stacked,adding,gru,6,1,2,layer 1," in csv
    drawn = draw_figures(back, out)
    assert {f.stem for f in drawn} == {
        "through_time_profiles",
        "through_time_training",
        "through_time_radius",
        "through_time_clipping",
        "through_time_outcome",
        "through_time_learning",
        "through_time_during",
        "through_time_stacked",
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
    for s in data["init"]:
        if s["cell"] == "rnn-tanh":
            s["analysis"]["layer 0"]["decay"] = 0.5  # halving every step
    text = " ".join(tt.conclude(data))
    assert "Against Pascanu et al.'s condition" in text
    assert "LSTM (default) learns the adding problem at every length trained, up to T = 8" in text
    assert "RNN tanh learns the adding problem at T ∈ [5] and fails from T = 8 (0/2 seeds" in text
    assert (
        "In short: the tanh RNN's gradient at init is halving every 1 steps; it fails beyond "
        "T ≈ 5; the LSTM (default) learns T = 8 (within 3 Adam steps)" in text
    )
    assert "GRU learn the adding problem at no length trained (T ∈ [5, 8])" in text
    o = tt.outcome(data, "adding", "lstm", 8)
    assert o is not None and o["beats"] and o["below"] == 2
    # The other way round: the gradient does not vanish, the LSTM fails, the RNN learns all.
    for s in data["init"]:
        s["analysis"]["layer 0"]["decay"] = 1.05
    for r in data["runs"]:
        if r["task"] == "adding":
            good = r["cell"] == "rnn-tanh"
            r["test_loss"] = (0.01 if good else 2.0) * r["baseline"]
    text = " ".join(tt.conclude(data))
    assert "RNN tanh 1.05 (not vanishing)" in text
    assert "RNN tanh learns the adding problem at every length trained, up to T = 8" in text
    assert "In short" not in text  # the tanh RNN fails nowhere
    assert "LSTM (default), LSTM forget bias 1, GRU learn the adding problem at no length" in text
    assert "does not show learning" not in text


def test_bad_configs() -> None:
    exp = get_experiment("through-time")
    for bad in (
        dict(cells=("lstm", "nope")),
        dict(lengths=(1,)),
        dict(hidden=0),
        dict(lr=-1.0),
        dict(seeds=0),
        dict(test_size=10),
        dict(train_lengths=()),
        dict(train_lengths=(1,)),
        dict(memory_lengths=(0,)),
        dict(stop_fraction=0.0),
        dict(stop_fraction=1.5),
        dict(train_clip=-1.0),
        dict(eval_every=0),
        dict(memory_steps=0),
        dict(processes=-1),
        dict(profile_every=-1),
        dict(stacked_length=1),
    ):
        with pytest.raises(ConfigError):
            exp.validate(tt.Config(**bad))  # type: ignore[arg-type]


@pytest.mark.slow
def test_quick_mode(tmp_path: Path) -> None:
    exp = get_experiment("through-time")
    result = exp.run(exp.quick_config(), out_dir=tmp_path)
    assert result.quick and result.quick_note
    assert "Learning is not shown" in result.quick_note
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
    assert (
        "RNN tanh, RNN sigmoid, LSTM (default), LSTM forget bias 1, GRU learn the adding "
        "problem at no length trained (T ∈ [5, 8]) within 3 Adam steps" in text
    )
    assert "No cell learnt within the step budget (3 Adam steps" in text
    assert "In short" not in text
    assert "diverges (non-finite loss) in 1 of 2 seeds" in text
    assert "the last-10-step loss is 0.05 (median over 2 finite seed(s)), below" in text
    base = next(c for c in tt.compare(data) if "constant-prediction" in c.quantity)
    by_T = {r["T"]: r["baseline"] for r in data["runs"] if r["task"] == "adding"}
    assert base.ours == pytest.approx(float(np.median(list(by_T.values()))))


def _fake_run(learns: dict[str, int], partly: dict[str, int]) -> Any:
    """A stand-in for `train_run`: every seed of ``cell`` beats the baseline up to
    T = learns[cell], only seed 0 at T = partly[cell], none elsewhere."""

    def fake(
        cfg: tt.Config, task: str, cell: str, T: int, seed: int, layers: int = 1
    ) -> dict[str, Any]:
        ok = learns.get(cell, 0) >= T or (partly.get(cell) == T and seed == 0)
        return {
            "task": task,
            "cell": cell,
            "T": T,
            "seed": seed,
            "test_loss": 0.01 if ok else 0.2,
            "baseline": 0.17,
            "accuracy": None,
            "steps": 5 if ok else cfg.steps,
            "solved": ok,
            "eval_every": cfg.eval_every,
            "val_loss": [[5, 0.01 if ok else 0.2]],
            "train_loss": [0.1],
            "profiles": {
                str(k): {"norms": {}, "analysis": {"layer 0": {"decay": d, "ratio": d**4}}}
                for k, d in ((0, 0.5), (5 if ok else cfg.steps, 0.9))
            },
        }

    return fake


FAKE = tt.Config(
    cells=("rnn-tanh", "lstm", "gru"),
    lengths=(4,),
    train_lengths=(8, 4, 16),
    memory_lengths=(),
    hidden=4,
    seeds=3,
    steps=7,
    radii=(0.5,),
    radius_length=4,
    clip_steps=1,
    clip_length=4,
    profile_layers=1,
    test_size=64,
    processes=1,
)


@pytest.fixture()
def fake_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tt, "train_run", _fake_run({"rnn-tanh": 4, "lstm": 8}, {"lstm": 16}))
    monkeypatch.setattr(tt, "init_profiles", lambda cfg, T: [])
    monkeypatch.setattr(tt, "stacked_profiles", lambda cfg, T: [])
    monkeypatch.setattr(tt, "radius_sweep", lambda cfg: [])
    monkeypatch.setattr(tt, "clipping_runs", lambda cfg: [])


def test_a_cell_is_not_trained_beyond_a_length_no_seed_learnt(
    fake_jobs: None, tmp_path: Path
) -> None:
    from gradprobe.experiments.base import RunContext

    seen: list[str] = []
    ctx = RunContext(out_dir=tmp_path, progress_fn=lambda what, d, t: seen.append(what))
    out = tt.run_jobs(FAKE, ctx)
    got = {(r["cell"], r["T"]) for r in out["runs"]}
    # rnn-tanh learns T = 4, no seed T = 8 → 16 skipped; the LSTM: one seed learns T = 16, so
    # nothing is skipped; the GRU fails at 4 → 8, 16 skipped.
    assert got == {("rnn-tanh", 4), ("rnn-tanh", 8), ("lstm", 4), ("lstm", 8), ("lstm", 16),
                   ("gru", 4)}  # fmt: skip
    assert len(out["runs"]) == 6 * 3
    assert sorted((s["cell"], s["T"], s["after"]) for s in out["skipped"]) == [
        ("gru", 8, 4),
        ("gru", 16, 4),
        ("rnn-tanh", 16, 8),
    ]
    assert [r["T"] for r in out["runs"]] == sorted(r["T"] for r in out["runs"])
    assert "adding T = 16: LSTM (default), seed 2" in seen
    # Without skipping every length is trained.
    out2 = tt.run_jobs(dataclasses.replace(FAKE, skip_after_failure=False), ctx)
    assert len(out2["runs"]) == 3 * 3 * 3 and out2["skipped"] == []


def test_skipped_lengths_in_table_and_conclusions(fake_jobs: None, tmp_path: Path) -> None:
    from gradprobe.experiments.base import RunContext

    data = tt.run_jobs(FAKE, RunContext(out_dir=tmp_path))
    data.update(gamma={"tanh": 1.0, "sigmoid": 0.25}, stop_fraction=0.05, steps=7,
                memory_steps=7, profile_length=4)  # fmt: skip
    data["init"] = [
        {"cell": c, "T": 4, "seed": 0, "analysis": {"layer 0": {"decay": 0.5}}} for c in FAKE.cells
    ]
    table = tt.tables({**data, "stacked": [{"cell": c, "analysis": {}} for c in FAKE.cells]})[0]
    assert table.columns == ["cell", "T = 4", "T = 8", "T = 16"]
    gru = next(r for r in table.rows if r[0] == "GRU")
    assert gru[2] == gru[3] == "not trained (no seed learnt T = 4)"
    lstm = next(r for r in table.rows if r[0] == "LSTM (default)")
    assert lstm[2] == "0.01; 3/3 below; 5 steps" and lstm[3] == "0.2; 1/3 below; 7 steps"
    text = " ".join(
        s for s in tt.conclude({**data, "sweep": [{"radius": 0.5, "decay": 0.4}], "clipping": []})
    )
    assert "RNN tanh learns the adding problem at T ∈ [4] and fails from T = 8" in text
    assert "Not trained at T ∈ [16] (after no seed learnt a shorter length)" in text
    assert "it fails beyond T ≈ 4; the LSTM (default) learns T = 8" in text
    assert "LSTM (default) learns the adding problem at T ∈ [4, 8] and fails from T = 16" in text
    assert "GRU learns the adding problem at no length trained (T ∈ [4, 8, 16])" in text


def test_partial_results_ignore_the_worker_count(fake_jobs: None, tmp_path: Path) -> None:
    from gradprobe.experiments.base import RunContext

    ctx = RunContext(out_dir=tmp_path)
    first = tt.run_jobs(FAKE, ctx)

    def boom(*_a: Any, **_k: Any) -> None:
        raise AssertionError("should have been loaded from partial results")

    tt_train = tt.train_run
    try:
        tt.train_run = boom  # type: ignore[assignment]
        again = tt.run_jobs(dataclasses.replace(FAKE, processes=3), ctx)
    finally:
        tt.train_run = tt_train  # type: ignore[assignment]
    assert again["runs"] == first["runs"]


@pytest.mark.slow
def test_worker_processes_give_the_same_numbers(tmp_path: Path) -> None:
    cfg = dataclasses.replace(
        TINY, cells=("gru", "rnn-sigmoid"), train_lengths=(5,), memory_lengths=(), lengths=(5,)
    )
    exp = get_experiment("through-time")
    one = exp.run(cfg, out_dir=tmp_path / "one")
    two = exp.run(dataclasses.replace(cfg, processes=2), out_dir=tmp_path / "two")
    assert one.data == two.data


@pytest.mark.slow
def test_profiles_during_training_do_not_change_training() -> None:
    """A profile at step 2 of a 4-step run equals the last profile of a 2-step run (same seed),
    and the 4-step run with profiles ends where one without them does (bit for bit)."""
    cfg = dataclasses.replace(TINY, stop_fraction=1e-9, eval_every=1)
    with torch_threads(1):
        a = tt.train_run(
            dataclasses.replace(cfg, steps=4, profile_every=2), "adding", "lstm", 6, 0, 2
        )
        b = tt.train_run(
            dataclasses.replace(cfg, steps=2, profile_every=0), "adding", "lstm", 6, 0, 2
        )
        c = tt.train_run(
            dataclasses.replace(cfg, steps=4, profile_every=0), "adding", "lstm", 6, 0, 2
        )
    assert set(a["profiles"]) == {"0", "2", "4"} and set(c["profiles"]) == {"0", "4"}
    assert a["profiles"]["2"] == b["profiles"]["2"]
    assert a["profiles"]["4"] == c["profiles"]["4"] and a["test_loss"] == c["test_loss"]
    assert a["profiles"]["2"] != a["profiles"]["0"]


@pytest.mark.slow
def test_during_training_sentences_follow_the_data(run: tuple[Any, Path]) -> None:
    data = copy.deepcopy(run[0].data)

    def set_ratio(layer: str, by_step: dict[str, float]) -> None:
        for r in data["stacked_runs"]:
            if r["cell"] == "lstm":
                for k, v in by_step.items():
                    r["profiles"][k]["analysis"][layer]["ratio"] = v

    set_ratio("layer 0", {"0": 1e-11, "2": 2e-5, "3": 1e-3})
    set_ratio("layer 1", {"0": 1e-4, "2": 1e-4, "3": 3e-4})
    text = " ".join(tt.conclude(data))
    assert (
        "In the 2-layer LSTM (default) trained at T = 6 (2 seeds, median 3 Adam steps; 0/2 "
        "learnt it: test loss below 0.5 × baseline), the "
        "gradient reaching t = 0 as a fraction of the one at the last step: the first layer's "
        "rises from 1e-11 at init to 2e-05 at step 2 and 0.001 at the end; the second layer's "
        "stays within a factor of 10 from 0.0001 at init to 0.0001 at step 2 and 0.0003 at the "
        "end." in text
    )
    set_ratio("layer 0", {"0": 1e-3, "2": 2e-5, "3": 1e-11})
    for r in data["stacked_runs"]:
        if r["cell"] == "lstm" and r["seed"] == 0:
            r["test_loss"] = 0.01 * r["baseline"]
    text = " ".join(tt.conclude(data))
    assert "(2 seeds, median 3 Adam steps; 1/2 learnt it" in text
    assert (
        "the first layer's falls from 0.001 at init to 2e-05 at step 2 and 1e-11 at the end" in text
    )
    row = next(r for r in tt.during_table(data).rows if r[0] == "LSTM (default)" and r[1] == 2)
    assert row[3:] == ["layer 0", "0.001", "2e-05", "1e-11", "3", "1/2"]
    # one seed stopped early: it is missing from step 2 on, and the sentence says so
    r1 = next(r for r in data["stacked_runs"] if r["cell"] == "lstm" and r["seed"] == 1)
    r1["profiles"] = {"0": r1["profiles"]["0"], "1": r1["profiles"]["3"]}
    r1["steps"] = 1
    text = " ".join(tt.conclude(data))
    assert "at step 2 (1/2 seeds still training)" in text
