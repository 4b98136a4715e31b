"""`gradprobe train`, in-process, on the bundled data."""

import json

import pytest

from gradprobe.cli.main import main


def test_train_json(capsys, tmp_path):
    code = main(
        [
            "train",
            "--data",
            "bundled",
            "--sizes",
            "784,10,10",
            "--epochs",
            "2",
            "--seeds",
            "3",
            "--eta",
            "0.5",
            "--json",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["sizes"] == [784, 10, 10] and out["seeds"] == [0, 1, 2] and out["epochs"] == 2
    assert len(out["accuracy"]) == 3 and all(len(a) == 2 for a in out["accuracy"])
    assert all(0.5 < a[-1] <= 1 for a in out["accuracy"])  # 10 hidden neurons learn something
    assert out["seconds_per_epoch"] > 0
    assert (tmp_path / "result.json").exists() and (tmp_path / "network.safetensors").exists()


def test_train_table_and_resume(capsys, tmp_path):
    args = [
        "train",
        "--data",
        "bundled",
        "--sizes",
        "784,10,10",
        "--seeds",
        "2",
        "--out",
        str(tmp_path),
    ]
    assert main([*args, "--epochs", "1"]) == 0
    first = capsys.readouterr().out
    assert "epoch" in first and "summary" in first
    assert main([*args, "--epochs", "2", "--resume", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["accuracy"][0]) == 2


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--sizes", "784,abc"], "sizes"),
        (["--sizes", "784"], "sizes"),
        (["--eta", "-1"], "eta"),
        (["--activation", "swish"], "activation"),
        (["--epochs", "0"], "epochs"),
        (["--seeds", "-3"], "seeds"),
        (["--momentum", "1.5"], "momentum"),
        (["--sizes", "100,10,10"], "input"),
        (["--data", "/nonexistent/mnist"], "nonexistent"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, argv, words):
    args = ["train", "--epochs", "1", "--data", "bundled", *argv]
    try:
        code = main(args)
    except SystemExit as e:  # argparse-level errors
        code = e.code
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert words in err and "Traceback" not in err


def test_corrupt_data_dir(capsys, tmp_path):
    for name in (
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ):
        (tmp_path / name).write_bytes(b"garbage")
    assert main(["train", "--data", str(tmp_path), "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
