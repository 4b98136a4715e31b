"""The HTML report: structure, escaping, self-containment, atomic write, warnings."""

from __future__ import annotations

import base64
import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from gradprobe.errors import GradprobeError
from gradprobe.report import EXPERIMENTS, generate_report, load_results, write_report

HOSTILE = "<script>alert(1)</script>"


class _Tags(HTMLParser):
    """Every start tag with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags(page: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(page)
    return parser.tags


def test_writes_one_section_per_experiment_in_book_order(results_dir: Path) -> None:
    path = write_report(results_dir)
    assert path == results_dir / "report.html"
    page = path.read_text("utf-8")
    ids = [a["id"] for t, a in tags(page) if t == "section"]
    assert ids == ["intro", "initial-speed", "chain", "slowdown"]
    for name in ("initial-speed", "chain", "slowdown"):
        assert f'href="#{name}"' in page  # nav and scoreboard link to it
    # the intro names what this run lacks
    for name in set(EXPERIMENTS) - {"initial-speed", "chain", "slowdown"}:
        assert f"<code>{name}</code>" in page
    assert "∂C/∂b₁ = σ′(z₁) · w₂σ′(z₂)" in page and "δ<sup>L</sup> = a − y" in page


def test_out_path_file_and_folder(results_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "elsewhere" / "r.html"
    assert write_report(results_dir, out, title="My title") == out
    assert "<title>My title</title>" in out.read_text("utf-8")
    folder = tmp_path / "folder"
    folder.mkdir()
    assert write_report(results_dir, folder) == folder / "report.html"
    assert oct(out.stat().st_mode & 0o077) != "0o0"  # not left with mkstemp's 0600


def test_figures_embedded_and_self_contained(results_dir: Path) -> None:
    page = write_report(results_dir).read_text("utf-8")
    images = [a for t, a in tags(page) if t == "img"]
    assert len(images) == 4
    for attrs in images:
        assert (attrs["src"] or "").startswith("data:image/svg+xml;base64,")
        svg = base64.b64decode((attrs["src"] or "").split(",", 1)[1]).decode("utf-8")
        assert svg.startswith("<svg") and "<path" in svg
    for tag, attrs in tags(page):
        for key in ("src", "href", "srcset", "action", "poster", "data"):
            value = attrs.get(key)
            assert value is None or value.startswith(("#", "data:")), (tag, key, value[:80])
        assert tag not in {"script", "link", "iframe", "object", "embed", "base"}
    for needle in ("http://", "https://", "@import", "url(", "cdn", "fonts.g"):
        assert needle not in page.lower()
    assert "Content-Security-Policy" in page and "default-src 'none'" in page


def test_comparisons_flag_outside_and_show_why(results_dir: Path) -> None:
    page = write_report(results_dir).read_text("utf-8")
    section = page.split('id="initial-speed"', 1)[1].split("</section>", 1)[0]
    assert section.count('class="verdict in"') == 1
    assert section.count('class="verdict out"') == 1
    assert '<tr class="outside has-why">' in section
    assert '<tr class="why outside"><td colspan="6">our initialisation differs</td></tr>' in section
    assert "1.5×10⁻⁷" in section  # tiny numbers written readably
    # the scoreboard: 1 of the 2 judged book numbers inside the band, per experiment
    assert page.count("1<small> / 2 inside</small>") == 3
    assert "<strong>3 of 6</strong> book numbers inside our bands (3 outside)" in page


def test_tables_config_timing_explanation(results_dir: Path) -> None:
    page = write_report(results_dir).read_text("utf-8")
    assert "<caption>Accuracy per depth</caption>" in page
    assert '<td>784-30-10</td><td class="n">95.1 ± 0.2</td><td class="n">95.4</td>' in page
    assert "<dt>sizes</dt><dd>[784, 30, 30, 10]</dd>" in page
    assert "12.3 s" in page and "2026-11-21 12:00 UTC" in page
    assert "<p>First paragraph, with σ′(z) ≤ 1/4.</p>\n<p>Second paragraph.</p>" in page


def test_hostile_text_is_escaped_everywhere(
    tmp_path: Path, figure_stem: Path, write_result: Any
) -> None:
    root = tmp_path / "<img src=x onerror=alert(1)>"  # a hostile path, shown in the header
    doc_text = {
        "title": HOSTILE,
        "book_ref": HOSTILE,
        "summary": HOSTILE,
        "explanation": f"{HOSTILE}\n\n- {HOSTILE}",
        "created": HOSTILE,
        "gradprobe_version": HOSTILE,
        "config": {HOSTILE: HOSTILE, "nested": {"x": HOSTILE}},
        "tables": [{"title": HOSTILE, "columns": [HOSTILE], "rows": [[HOSTILE, {"a": HOSTILE}]]}],
        "comparisons": [
            {
                "quantity": HOSTILE,
                "ours": 1.0,
                "low": 0.5,
                "high": 2.0,
                "band": HOSTILE,
                "book": 3.0,
                "inside": False,
                "note": HOSTILE,
            }
        ],
        "figures": [{"svg": "initial-speed.svg", "png": None, "caption": HOSTILE}],
    }
    write_result(root, "initial-speed", figure=figure_stem, **doc_text)
    write_result(root, "chain", figure=figure_stem, name='chain"><script>alert(1)</script>')
    (root / "broken").mkdir()
    (root / "broken" / "result.json").write_text(HOSTILE, "utf-8")  # echoed in a warning
    info = generate_report(root, title=HOSTILE)
    page = info.path.read_text("utf-8")
    assert "<script" not in page.lower()
    assert "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    for tag, attrs in tags(page):
        assert tag not in {"script", "iframe"}
        assert not [k for k in attrs if k.startswith("on")], (tag, attrs)
    ids = [a["id"] for t, a in tags(page) if t == "section"]
    assert all(re.fullmatch(r"[A-Za-z0-9_-]+", i or "") for i in ids), ids
    assert len(info.warnings) == 2  # the broken file, and the unknown experiment name


def test_broken_and_unknown_schema_become_warnings(results_dir: Path, write_result: Any) -> None:
    (results_dir / "bad").mkdir()
    (results_dir / "bad" / "result.json").write_text("{not json", "utf-8")
    write_result(results_dir, "old", schema="gradprobe.result/0")
    write_result(results_dir, "nocmp", comparisons="oops")
    info = generate_report(results_dir)
    assert info.experiments == ["initial-speed", "chain", "slowdown"]
    assert len(info.warnings) == 3
    assert any(w.startswith("bad/result.json: not readable JSON") for w in info.warnings)
    assert any("unknown schema 'gradprobe.result/0'" in w for w in info.warnings)
    assert any("comparisons must be a list" in w for w in info.warnings)
    page = info.path.read_text("utf-8")
    assert '<section id="warnings">' in page and 'href="#warnings"' in page
    assert "bad/result.json" in page


def test_bad_figures_warn_and_fall_back(
    tmp_path: Path, figure_stem: Path, write_result: Any
) -> None:
    root = tmp_path / "r"
    write_result(root, "chain", figure=figure_stem)
    (root / "chain" / "chain.svg").unlink()  # SVG missing: the PNG is used
    write_result(
        root,
        "exploding",
        figures=[
            {"svg": "../chain/chain.png", "png": "/etc/passwd", "caption": "escape"},
            {"svg": None, "png": "nothing.png", "caption": ""},
        ],
    )
    info = generate_report(root)
    page = info.path.read_text("utf-8")
    srcs = [a["src"] or "" for t, a in tags(page) if t == "img"]
    assert len(srcs) == 1 and srcs[0].startswith("data:image/png;base64,")
    assert page.count('class="nofig"') == 2
    assert "root:" not in page
    assert sum("outside the experiment folder" in w for w in info.warnings) == 2
    assert any("'nothing.png' not found" in w for w in info.warnings)
    assert any("'chain.svg' not found" in w for w in info.warnings)


def test_atomic_write_leaves_old_report_on_failure(
    results_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = results_dir / "report.html"
    target.write_text("old report", "utf-8")
    calls: list[tuple[str, str]] = []

    def failing_replace(src: str, dst: str) -> None:
        calls.append((str(src), str(dst)))
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        write_report(results_dir)
    assert target.read_text("utf-8") == "old report"
    assert [Path(d) for _, d in calls] == [target]
    assert Path(calls[0][0]).parent == results_dir  # temp file beside the target
    assert sorted(p.name for p in results_dir.iterdir() if p.is_file()) == ["report.html"]


def test_nothing_to_report_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(GradprobeError, match="does not exist"):
        write_report(tmp_path / "missing")
    with pytest.raises(GradprobeError, match="no results in"):
        write_report(tmp_path)
    (tmp_path / "result.json").write_text("{}", "utf-8")
    with pytest.raises(GradprobeError, match="pass its parent"):
        write_report(tmp_path)
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "result.json").write_text("[]", "utf-8")
    with pytest.raises(GradprobeError, match="no valid results"):
        write_report(tmp_path)
    assert not (tmp_path / "report.html").exists()


def test_load_results_order_and_defaults(tmp_path: Path, write_result: Any) -> None:
    write_result(tmp_path, "output-layers")
    write_result(tmp_path, "depth-accuracy", config=None, seconds=None, comparisons=None)
    doc = json.loads((tmp_path / "output-layers" / "result.json").read_text("utf-8"))
    del doc["explanation"], doc["tables"]
    (tmp_path / "output-layers" / "result.json").write_text(json.dumps(doc), "utf-8")
    results = load_results(tmp_path)
    assert [r["name"] for r in results] == ["depth-accuracy", "output-layers"]
    assert results[0]["config"] == {} and results[0]["comparisons"] == []
    assert results[1]["explanation"] == "" and results[1]["tables"] == []
    assert results[1]["_dir"] == tmp_path / "output-layers"
    write_report(tmp_path)  # renders with every optional part missing
