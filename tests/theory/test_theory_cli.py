"""`gradprobe theory`, in-process."""

from __future__ import annotations

import json

import pytest

from gradprobe.cli.main import main


def test_theory_json_network2(capsys) -> None:
    argv = ["theory", "--activation", "sigmoid", "--sigma-w2", "1", "--sigma-b2", "1",
            "--depth", "3", "--q0", "0.107", "--json"]  # fmt: skip
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    mf = out["mean_field"]
    assert round(mf["q_star"], 2) == 1.30 and mf["phase"] == "ordered"
    assert len(out["prediction"]["ratios"]) == 2
    assert all(0.18 < r < 0.23 for r in out["prediction"]["ratios"])


@pytest.mark.slow
def test_theory_table_and_plot(capsys, tmp_path) -> None:
    f = tmp_path / "phase.svg"
    argv = ["theory", "--activation", "relu", "--sigma-w2", "2", "--sigma-b2", "0",
            "--depth", "2", "--q0", "0.1", "--plot", str(f)]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "critical" in out and "χ₁" in out
    assert f.is_file() and not (tmp_path / "phase.png").exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["--activation", "swish"],
        ["--sigma-w2", "0"],
        ["--sigma-b2", "-1"],
        ["--depth", "0"],
        ["--sigma-w2", "nan"],
        ["--plot", "out.pdf", "--q0", "0.1"],
    ],
)
def test_theory_bad_input(capsys, argv) -> None:
    try:
        code = main(["theory", *argv])
    except SystemExit as e:
        code = e.code
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
