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
