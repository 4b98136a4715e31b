"""`gradprobe report DIR`, driven in-process through `gradprobe.cli.main.main`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gradprobe.cli.main import main


def _result(root: Path, name: str) -> None:
    folder = root / name
    folder.mkdir(parents=True)
    doc = {
        "schema": "gradprobe.result/1",
        "name": name,
        "title": f"Title of {name}",
        "summary": "Found it.",
        "explanation": "Because.",
        "comparisons": [
            {"quantity": "q", "ours": 1.0, "low": 0.5, "high": 2, "book": 1.2, "inside": True}
        ],
    }
    (folder / "result.json").write_text(json.dumps(doc), "utf-8")


@pytest.fixture
def results(tmp_path: Path) -> Path:
    root = tmp_path / "results"
    _result(root, "chain")
    _result(root, "initial-speed")
    return root


def test_writes_report_and_prints_its_path(results: Path, capsys: pytest.CaptureFixture[str]):
    assert main(["report", str(results)]) == 0
    out = capsys.readouterr().out
    assert out.strip() == str(results / "report.html")
    page = (results / "report.html").read_text("utf-8")
    assert '<section id="initial-speed"' in page and '<section id="chain"' in page


def test_out_title_and_json(results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    (results / "broken").mkdir()
    (results / "broken" / "result.json").write_text("nope", "utf-8")
    out = tmp_path / "site" / "index.html"
    code = main(["report", str(results), "--out", str(out), "--title", "Ch. 5", "--json"])
    assert code == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["report"] == str(out)
    assert payload["experiments"] == ["initial-speed", "chain"]
    assert len(payload["warnings"]) == 1 and "broken/result.json" in payload["warnings"][0]
    assert "<title>Ch. 5</title>" in out.read_text("utf-8")


def test_warnings_go_to_stderr(results: Path, capsys: pytest.CaptureFixture[str]):
    (results / "old").mkdir()
    (results / "old" / "result.json").write_text('{"schema": "x"}', "utf-8")
    assert main(["report", str(results)]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == str(results / "report.html")
    assert captured.err.startswith("warning: old/result.json: unknown schema 'x'")


@pytest.mark.parametrize("make", ["missing", "empty"])
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, make: str, capsys: pytest.CaptureFixture[str]
):
    target = tmp_path / "nothing-here"
    if make == "empty":
        target.mkdir()
    assert main(["report", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gradprobe report: error: ") and err.count("\n") == 1


def test_help_has_examples(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as e:
        main(["report", "--help"])
    assert e.value.code == 0
    text = capsys.readouterr().out
    assert "gradprobe report results/" in text and "--json" in text
