"""``gradprobe reproduce``: --list, one experiment as a table or JSON, errors, and ``all``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import gradprobe.experiments as experiments
from gradprobe.cli.main import main


def test_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reproduce", "--list"]) == 0
    out = capsys.readouterr().out
    assert "depth-accuracy" in out and "training-speed" in out
    assert main(["reproduce", "--list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["experiments"]
    assert [r["name"] for r in rows] == experiments.available()
    assert all(r["title"] for r in rows)


def test_one_experiment_as_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["reproduce", "neuron-bars", "--quick", "--seeds", "4", "--out", str(tmp_path),
                 "--json"])  # fmt: skip
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc == json.loads((tmp_path / "neuron-bars" / "result.json").read_text())
    assert doc["config"]["seeds"] == 4 and doc["quick"] is True


def test_one_experiment_as_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reproduce", "initial-speed", "--quick", "--seeds", "5", "--out",
                 str(tmp_path)]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "ours" in out and "book" in out and "inside?" in out and "0.07" in out
    assert (tmp_path / "initial-speed" / "initial_speed.png").exists()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["reproduce", "nope"], "unknown experiment"),
        (["reproduce"], "name an experiment"),
        (["reproduce", "slowdown", "--seeds", "3"], "no seeds"),
    ],
)
def test_errors_are_one_line_exit_2(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_all_runs_each_experiment_then_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two fast experiments stand in for all eight (the real `all --quick` is the slow test).
    monkeypatch.setattr(experiments, "available", lambda: ["initial-speed", "neuron-bars"])
    assert main(["reproduce", "all", "--quick", "--out", str(tmp_path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert list(doc["experiments"]) == ["initial-speed", "neuron-bars"]
    assert Path(doc["report"]) == tmp_path / "report.html" and Path(doc["report"]).exists()


@pytest.mark.slow
def test_all_quick_for_real(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reproduce", "all", "--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "report" in out
    for name in experiments.available():
        assert (tmp_path / name / "result.json").exists()
    assert (tmp_path / "report.html").exists()
