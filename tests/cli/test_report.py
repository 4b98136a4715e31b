"""`gradprobe report DIR`, driven in-process through `gradprobe.cli.main.main`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from gradprobe.cli.main import build_parser, main
from report.toy_experiment import make_result


@pytest.fixture
def results(tmp_path: Path) -> Path:
    root = tmp_path / "results"
    make_result("second-toy", order=50.0).write(root / "second-toy")
    make_result("first-toy", order=20.0).write(root / "first-toy")
    return root


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_writes_report_prints_headline_and_path(
    results: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(results)]) == 0
    out, err = capsys.readouterr()
    headline, path = out.strip().splitlines()
    assert headline.startswith("2 of 6 numbers the book prints lie inside our seed band")
    assert path == str(results / "report.html") and err == ""
    page = (results / "report.html").read_text("utf-8")
    assert page.index('id="first-toy"') < page.index('id="second-toy"')


def test_out_title_and_json(results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    target = tmp_path / "page.html"
    assert main(["report", str(results), "--out", str(target), "--title", "T", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["report"] == str(target) and doc["warnings"] == []
    assert doc["experiments"] == ["first-toy", "second-toy"]
    board = doc["scoreboard"]
    assert (board["reproductions_inside"], board["reproductions_judged"]) == (2, 6)
    assert (board["checks_passed"], board["checks"]) == (4, 4)
    assert board["headline"].startswith("2 of 6 numbers the book prints")
    assert "<title>T</title>" in target.read_text("utf-8")


def test_invalid_files_go_to_stderr_and_the_rest_is_reported(
    results: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for folder, text in {"old": '{"schema": "gradprobe.result/1", "name": "x"}',
                         "deep": "[" * 100_000}.items():  # fmt: skip
        (results / folder).mkdir()
        (results / folder / "result.json").write_text(text, "utf-8")
    assert main(["report", str(results)]) == 0
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 2 and "Traceback" not in err
    assert lines[0].startswith("gradprobe report: warning: deep/result.json is invalid")
    assert "nested more than" in lines[0]
    assert lines[1].startswith("gradprobe report: warning: old/result.json is invalid")
    assert "older gradprobe (schema gradprobe.result/1)" in lines[1]
    assert out.strip().endswith("report.html")


def test_only_old_results_is_one_clear_line(tmp_path: Path, capsys) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "result.json").write_text('{"schema": "gradprobe.result/1"}', "utf-8")
    assert main(["report", str(tmp_path)]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "no valid results" in line and "schema gradprobe.result/1" in line


def test_never_replaces_a_device_or_a_link(results: Path, tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:  # refused when parsed (c.output_file_or_dir)
        main(["report", str(results), "--out", "/dev/null"])
    assert exit_.value.code == 2
    line = _one_error_line(capsys.readouterr().err)
    assert line.startswith("gradprobe report: error: argument --out: --out /dev/null exists")
    assert "a device; not replacing it" in line
    assert Path("/dev/null").is_char_device()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep", "utf-8")
    os.symlink(victim, tmp_path / "link.html")
    with pytest.raises(SystemExit) as exit_:
        main(["report", str(results), "--out", str(tmp_path / "link.html")])
    assert exit_.value.code == 2
    _one_error_line(capsys.readouterr().err)
    assert victim.read_text("utf-8") == "keep"


@pytest.mark.parametrize("make", ["missing", "empty", "emptystring", "file"])
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, make: str, capsys: pytest.CaptureFixture[str]
) -> None:
    target = {"missing": tmp_path / "nope", "empty": tmp_path, "file": tmp_path / "f"}.get(make)
    if make == "file":
        (tmp_path / "f").write_text("x", "utf-8")
    arg = "" if target is None else str(target)
    try:
        code = main(["report", arg])
    except SystemExit as e:  # a DIR that is not a folder is refused when parsed
        code = e.code
    assert code == 2
    assert _one_error_line(capsys.readouterr().err).startswith("gradprobe report: error:")


def test_help_has_examples_inside_the_package(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["report", "--help"])
    out = capsys.readouterr().out
    assert "examples:" in out and "gradprobe report quick-results" in out
    assert "../" not in out and "shared" not in out
