"""`gradprobe sweep` and `gradprobe sweep-report` from the command line (in this process)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gradprobe.cli.main import main

TOY = "sweep_toys:Toy"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--grid", "z=1"], "has no field 'z'"),
        (["--grid", "x=one"], "x: expected an integer, got 'one'"),
        (["--grid", "x=1", "mode=q"], "toy: mode must be a or b"),
        (["--grid", "x"], "write KEY=VALUES"),
        (["--seed", "3"], "--seed seeds --random"),
        (["--backend", "ray", "--retries", "-1"], "expected an integer ≥ 0"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code = None
    try:
        code = main(["sweep", TOY, "--out", str(tmp_path / "s"), *args])
    except SystemExit as e:  # argparse's own errors
        code = e.code
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "s" / "runs").exists()


def test_unknown_experiment(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sweep", "no-such", "--out", str(tmp_path)]) == 2
    assert "unknown experiment 'no-such'" in capsys.readouterr().err


def test_dry_run_lists_runs_and_their_state(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "s"
    argv = ["sweep", TOY, "--grid", "x=1..2", "mode=a,b", "--out", str(out)]
    assert main([*argv, "--dry-run", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [(r["x"], r["mode"], r["state"]) for r in doc["runs"]] == [
        (1, "a", "pending"), (1, "b", "pending"), (2, "a", "pending"), (2, "b", "pending"),
    ]  # fmt: skip
    assert not out.exists()  # a dry run writes nothing
    assert main([*argv[:3], "x=1", "--out", str(out), "--jobs", "1", "--json"]) == 0
    ran = json.loads(capsys.readouterr().out)
    assert (ran["runs"], ran["done"], ran["failed"]) == (1, 1, [])
    assert main([*argv, "--dry-run"]) == 0
    text = capsys.readouterr().out
    assert "4 runs (1 finished, 0 failed before, 3 new)" in text
    assert text.count("finished") == 2  # the header and the one finished run


def test_toml_config_random_and_exit_1_on_failures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    toml = tmp_path / "sweep.toml"
    toml.write_text(
        '[grid]\nx = [1, 2, 3, 4]\nfail = "false,true"\n[random]\nn = 4\nseed = 2\n', "utf-8"
    )
    out = tmp_path / "s"
    code = main(["sweep", TOY, "--config", str(toml), "--out", str(out), "--jobs", "1",
                 "--json"])  # fmt: skip
    doc = json.loads(capsys.readouterr().out)
    assert doc["runs"] == len(list((out / "runs").iterdir())) <= 4
    assert code == (1 if doc["failed"] else 0)
    assert doc["done"] + len(doc["failed"]) == doc["runs"]
    log = (out / "sweep.log").read_text("utf-8")
    assert f"{doc['runs']}/{doc['runs']}]" in log and "sweep ended" in log

    assert main(["sweep-report", str(out), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert Path(rep["report"]).is_file() and rep["runs"] == doc["runs"]


def test_sweep_report_on_a_folder_without_a_sweep(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sweep-report", str(tmp_path)]) == 2
    assert "holds no sweep" in capsys.readouterr().err
