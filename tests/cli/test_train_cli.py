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
        "--eta",
        "0.5",
        "--out",
        str(tmp_path),
    ]
    assert main([*args, "--epochs", "1"]) == 0
    first = capsys.readouterr().out
    assert "epoch" in first and "summary" in first
    # --resume alone reuses the run's data (bundled), sizes, seeds, η …; --epochs may grow.
    assert main(["train", "--out", str(tmp_path), "--resume", "--epochs", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["accuracy"][0]) == 2 and out["sizes"] == [784, 10, 10]
    assert out["data_spec"] == "bundled" and out["train"]["eta"] == 0.5
    # the same two epochs in one go give the same numbers
    fresh = tmp_path / "fresh"
    assert main([*args[:-1], str(fresh), "--epochs", "2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] == out["accuracy"]


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--sizes", "784,20,10"], "--sizes 784,20,10 (the run has 784,10,10)"),
        (["--eta", "0.1"], "--eta 0.1 (the run has 0.5)"),
        (["--data", "/nonexistent/mnist"], "--data"),
        (["--seeds", "3"], "--seeds 3"),
        (["--epochs", "0"], "epochs"),
    ],
)
def test_resume_refuses_conflicting_options(capsys, tmp_path, argv, words):
    run = ["train", "--data", "bundled", "--sizes", "784,10,10", "--eta", "0.5"]
    assert main([*run, "--epochs", "2", "--out", str(tmp_path), "--json"]) == 0
    capsys.readouterr()
    try:
        code = main(["train", "--out", str(tmp_path), "--resume", *argv])
    except SystemExit as e:
        code = e.code
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err and "Traceback" not in err


def test_resume_to_fewer_epochs_or_from_nothing_is_refused(capsys, tmp_path):
    run = ["train", "--data", "bundled", "--sizes", "784,10,10", "--out", str(tmp_path)]
    assert main([*run, "--epochs", "2", "--json"]) == 0
    capsys.readouterr()
    assert main(["train", "--out", str(tmp_path), "--resume", "--epochs", "1"]) == 2
    assert "already 2 epochs" in capsys.readouterr().err
    assert main(["train", "--out", str(tmp_path / "new"), "--resume"]) == 2
    assert "no run to continue" in capsys.readouterr().err


def test_resume_from_a_damaged_checkpoint_is_exit_2(capsys, tmp_path):
    (tmp_path / "checkpoint.safetensors").write_bytes(b"\x00" * 100)
    assert main(["train", "--out", str(tmp_path), "--resume"]) == 2
    err = capsys.readouterr().err
    assert "checkpoint.safetensors" in err and err.count("\n") == 1


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
        (["--sizes", "784,30"], "10 classes"),
        (["--sizes", "784,30,5"], "the last size must be 10"),
        (["--device", "tpu"], "device"),
        (["--threads", "0"], "threads"),
        (["--out", "/proc/version"], "not a folder"),
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


def test_batch_size_above_the_training_images_is_refused(capsys):
    argv = ["train", "--data", "bundled", "--epochs", "1", "--batch-size", "5000"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--batch-size 5000 exceeds the 1000 training images" in err


def test_resume_in_a_missing_folder_creates_nothing(capsys, tmp_path):
    assert main(["train", "--out", str(tmp_path / "new"), "--resume"]) == 2
    assert "no run to continue" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()
