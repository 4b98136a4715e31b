"""The command line as a whole: discovery, --help, one-line errors with exit code 2."""

import pytest

from gradprobe.cli.main import build_parser, main


def test_every_command_has_help_with_examples(capsys):
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert {"train", "speed"} <= set(sub.choices)
    for name, parser in sub.choices.items():
        assert parser.epilog and "gradprobe" in parser.epilog, f"{name} --help has no examples"
        with pytest.raises(SystemExit) as e:
            main([name, "--help"])
        assert e.value.code == 0
    assert "examples" in capsys.readouterr().out


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().out


def test_unknown_command_is_one_line(capsys):
    with pytest.raises(SystemExit) as e:
        main(["fly"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "invalid choice" in err


# --- issue 10: nothing a user types ends in a traceback ------------------------------------------
import argparse  # noqa: E402
import os  # noqa: E402
from pathlib import Path  # noqa: E402

from gradprobe.cli import _common as c  # noqa: E402
from gradprobe.cli import main as cli_main  # noqa: E402


def run_cli(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["train", "--sizes", "784,,10"], "empty item"),
        (["train", "--sizes", "784,30,10,"], "empty item"),
        (["train", "--sizes", "784," + "9" * 5000 + ",10"], "not a layer size"),
        (["train", "--sizes", "784,100000,100000,10"], "weights in one network"),
        (["train", "--seed", "9" * 30], "seed from 0 to"),
        (["train", "--seed", "-1"], "seed from 0 to"),
        (["train", "--seeds", "9" * 30], "seeds from 1 to 100000"),
        (["train", "--eta", "1e308"], "learning rate η in (0, 1000]"),
        (["train", "--eta", "nan"], "finite"),
        (["train", "--lmbda=-inf"], "finite"),
        (["train", "--epochs", "0"], "epochs from 1 to"),
        (["train", "--out", "~nosuchuser9/x"], "nosuchuser9"),
        (["train", "--data", "~nosuchuser9/x"], "nosuchuser9"),
        (["train", "--data", ""], "non-empty"),
        (["report", ""], "non-empty"),
        (["diagnose", ""], "non-empty"),
        (["reproduce", "--out", ""], "non-empty"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(argv, says, capsys) -> None:
    code, _, err = run_cli(argv, capsys)
    assert code == 2, (code, err)
    assert says in err and err.count("\n") == 1 and "Traceback" not in err


def test_every_value_option_is_guarded_against_empty_text() -> None:
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    for parser in sub.choices.values():
        for action in parser._actions:
            takes_text = action.nargs != 0 and isinstance(action, argparse._StoreAction)
            if takes_text and action.choices is None:
                with pytest.raises(argparse.ArgumentTypeError):
                    action.type("")  # type: ignore[misc]


class _Boom:
    NAME = "boom"

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def run(self, args) -> int:
        raise self.exc


@pytest.mark.parametrize(
    ("exc", "code", "says"),
    [
        (FileExistsError(17, "File exists", "/x/out"), 2, "/x/out: File exists"),
        (PermissionError(13, "Permission denied", "/root/x"), 2, "Permission denied"),
        (OSError(28, "No space left on device"), 2, "No space left"),
        (MemoryError(), 2, "not enough memory"),
        (RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried"), 2, "memory"),
        (ValueError("multi\nline\nbug"), 70, "internal error: ValueError: multi line bug"),
        (KeyboardInterrupt(), 130, "interrupted"),
    ],
)
def test_errors_from_a_command_are_one_line(monkeypatch, capsys, exc, code, says) -> None:
    boom = _Boom(exc)
    real = cli_main.build_parser

    def parser_with_boom():
        p = real()
        sub = next(a for a in p._actions if a.dest == "command")
        sub.choices["train"].set_defaults(_run=boom.run)
        return p

    monkeypatch.setattr(cli_main, "build_parser", parser_with_boom)
    monkeypatch.delenv("GRADPROBE_DEBUG", raising=False)
    got, _, err = run_cli(["train"], capsys)
    assert got == code and says in err and err.count("\n") == 1 and "Traceback" not in err


def test_output_validators(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(argparse.ArgumentTypeError, match="is a file, not a folder"):
        c.output_dir(str(tmp_path / "file"))
    with pytest.raises(argparse.ArgumentTypeError, match="cannot be created"):
        c.output_dir(str(tmp_path / "file" / "run"))
    with pytest.raises(argparse.ArgumentTypeError, match="device"):
        c.output_file("/dev/null")
    with pytest.raises(argparse.ArgumentTypeError, match="FIFO"):
        c.output_file_or_dir(str(tmp_path / "fifo"))
    assert c.output_dir(str(tmp_path / "new")) == tmp_path / "new"
    assert c.output_file_or_dir(str(tmp_path)) == tmp_path
    with pytest.raises(argparse.ArgumentTypeError, match="not a regular file"):
        c.existing_file(str(tmp_path / "fifo"))  # reading a FIFO would hang
    assert c.data_source("bundled") == "bundled"


def test_median_is_numpy_s_and_inside_its_band() -> None:
    import numpy as np
    import torch

    values = torch.tensor([[1.0], [2.0], [10.0], [11.0]])  # even count: torch.median says 2
    mid, lo, hi = c.median_and_band(values)
    assert mid[0] == 6.0 == np.median(values.numpy()) and lo[0] <= mid[0] <= hi[0]


@pytest.mark.parametrize(
    ("sizes", "says"), [((784, 30, 5), "last size must be 10"), ((100, 10), "first size")]
)
def test_sizes_against_the_data(sizes, says) -> None:
    from gradprobe.errors import ConfigError

    with pytest.raises(ConfigError, match=says):
        c.check_sizes_for_data(sizes)
    c.check_sizes_for_data((784, 30, 10))
    with pytest.raises(ConfigError, match="seeds"):
        c.check_model_size((784, 1000, 10), 10_000)
