"""The HTML report: drawn from result files alone, in the results' own order, with an honest
scoreboard; escaping, self-containment, atomic writes, invalid files named."""

from __future__ import annotations

import json
import os
import re
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from gradprobe.errors import GradprobeError
from gradprobe.report import generate_report, load_results, write_report
from gradprobe.report.html import is_numeric_text
from gradprobe.results import Comparison, Table
from report.conftest import HOSTILE, write
from report.toy_experiment import NAME, make_result


class _Parse(HTMLParser):
    """Start tags with attributes, and the text of every <th>."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.th: list[str] = []
        self._in_th = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_th = tag == "th" or self._in_th
        if tag == "th":
            self.th.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "th":
            self._in_th = False

    def handle_data(self, data: str) -> None:
        if self._in_th:
            self.th[-1] += data


def parse(page: str) -> _Parse:
    p = _Parse()
    p.feed(page)
    return p


def section_ids(page: str) -> list[str]:
    return [a["id"] or "" for t, a in parse(page).tags if t == "section"]


def section(page: str, sid: str) -> str:
    start = page.index(f'<section id="{sid}"')
    return page[start : page.index("</section>", start)]


def test_sections_follow_the_results_own_order(results_dir: Path) -> None:
    info = generate_report(results_dir)
    page = info.path.read_text("utf-8")
    assert info.experiments == ["zeta", NAME, "alpha"]  # by `order`, not folder or name
    assert section_ids(page) == ["intro", "zeta", NAME, "alpha"]
    assert 'id="scoreboard"' in page and 'id="top"' in page


def test_results_without_order_come_last_by_name(tmp_path: Path) -> None:
    write(tmp_path, "x", name="b-none", order=None)
    write(tmp_path, "y", name="a-none", order=None)
    write(tmp_path, "z", name="late", order=900.0)
    assert [r.name for r in load_results(tmp_path)] == ["late", "a-none", "b-none"]


def test_headline_counts_only_reproductions(results_dir: Path) -> None:
    page = generate_report(results_dir).path.read_text("utf-8")
    # per result: 4 reproductions, of which 1 inside, 2 outside, 1 not judged (3 seeds);
    # 1 identity and 1 bound (checks), 1 prediction. Three results:
    headline = re.search(r'<p class="headline">(.*?)</p>', page)
    assert headline is not None
    assert headline.group(1) == (
        "3 of 9 numbers the book prints lie inside our seed band "
        "(3 more not judged: too few seeds or no measurement)"
    )
    assert "<strong>6 of 6</strong> passed" in page  # checks, listed apart
    assert "<strong>3 of 3</strong> predictions" in page


def test_every_row_names_its_band_kind_and_verdict(results_dir: Path) -> None:
    page = section(generate_report(results_dir).path.read_text("utf-8"), NAME)
    rows = re.findall(r'<tr class="[^"]*" data-kind="(\w+)" data-verdict="([\w ]+)">(.*?)</tr>',
                      page)  # fmt: skip
    assert [k for k, _, _ in rows] == [c.kind for c in make_result().comparisons]
    assert [v for _, v, _ in rows] == [c.verdict for c in make_result().comparisons]
    for _, _, row in rows:
        assert '<span class="bandnote">' in row
    assert "10–90 % of single runs, 6 seeds" in page and "3 seeds: no band" in page
    for kind in ("reproduction", "check", "prediction"):
        assert f'<table class="cmp kind-{kind}">' in page
    assert "✓ passed" in page and "✗ outside" in page and "– not judged" in page


def test_a_why_for_every_disagreeing_reproduction(results_dir: Path) -> None:
    page = section(generate_report(results_dir).path.read_text("utf-8"), NAME)
    disagreeing = [c for c in make_result().comparisons
                   if c.kind == "reproduction" and c.verdict == "disagrees"]  # fmt: skip
    whys = re.findall(r'<tr class="why outside"><td colspan="6">(.*?)</td>', page)
    assert len(whys) == len(disagreeing) == 2
    assert "the book used one seed" in whys  # the experiment's own note
    assert any("not explained by the experiment" in w and "above our band" in w for w in whys)


def test_no_reproduction_is_never_zero_of_zero(tmp_path: Path) -> None:
    checks = [c for c in make_result().comparisons if c.kind == "identity"]
    write(tmp_path, "c", comparisons=checks, seeds=0)
    page = section(write_report(tmp_path).read_text("utf-8"), NAME)
    assert "0 of 0" not in page and "No number the book prints is compared here" in page
    assert "0 seeds" not in page


def test_quick_card_conclusions_tables_facts(results_dir: Path) -> None:
    page = generate_report(results_dir).path.read_text("utf-8")
    alpha, zeta = section(page, "alpha"), section(page, "zeta")
    assert '<div class="quick-card"><b>Quick run.</b> Quick: 5 seeds.</div>' in alpha
    assert page.count('<span class="qn">Quick: 5 seeds.</span>') == 1  # on its scoreboard card
    assert "quick-card" not in zeta
    assert '<ul class="conclusions"><li>First sentence about σ′.</li>' in zeta
    assert '<td class="n">1</td><td class="n">95.1 ± 0.2</td>' in zeta  # numeric text aligned
    assert "<dt>sizes</dt><dd>[784, 30, 10]</dd>" in zeta


def test_greek_headers_are_never_uppercased(tmp_path: Path) -> None:
    from gradprobe.report._css import CSS

    assert "uppercase" not in CSS.lower()
    write(tmp_path, "g", tables=[Table("t", ["σ′(z)", "δˡ", "‖∂C/∂bˡ‖"], [[1, 2, 3]])])
    heads = parse(write_report(tmp_path).read_text("utf-8")).th
    assert {"σ′(z)", "δˡ", "‖∂C/∂bˡ‖"} <= set(heads)


def test_figures_are_redrawn_from_the_data(results_dir: Path) -> None:
    folder = results_dir / "a-toy"
    page = generate_report(results_dir).path.read_text("utf-8")
    svg = (folder / "toy-curve.svg").read_bytes()
    png = (folder / "toy-curve.png").read_bytes()
    assert section(page, NAME).count('<img src="data:image/svg+xml;base64,') == 1
    (folder / "toy-curve.svg").unlink()
    (folder / "toy-curve.png").unlink()
    again = generate_report(results_dir).path.read_text("utf-8")
    assert (folder / "toy-curve.svg").read_bytes() == svg  # same figures, from result.json
    assert (folder / "toy-curve.png").read_bytes() == png
    assert section(again, NAME) == section(page, NAME)


def test_report_shows_exactly_the_results_in_the_folder(results_dir: Path) -> None:
    import shutil

    (results_dir / "a-toy" / "stale-figure-from-an-old-run.svg").write_text("<svg/>", "utf-8")
    page = generate_report(results_dir).path.read_text("utf-8")
    assert "stale-figure" not in page
    shutil.rmtree(results_dir / "b-alpha")
    write(results_dir, "c-zeta", name="zeta", order=1.0, conclusions=["A new conclusion."])
    page = generate_report(results_dir).path.read_text("utf-8")
    assert section_ids(page) == ["intro", "zeta", NAME]
    assert "A new conclusion." in page and "First sentence" not in section(page, "zeta")


def test_old_schema_and_hostile_files_are_named_while_others_report(results_dir: Path) -> None:
    bad = {
        "old": '{"schema": "gradprobe.result/1", "name": "x"}',
        "huge-int": '{"schema": "gradprobe.result/2", "name": "x", "seeds": 1' + "0" * 400 + "}",
        "nan": '{"schema": "gradprobe.result/2", "name": "x", "seconds": NaN}',
        "deep": "[" * 10_000 + "]" * 10_000,
        "types": '{"schema": "gradprobe.result/2", "name": 3}',
        "notjson": "{",
        "bigfloat": '{"schema": "gradprobe.result/2", "name": "x", "seconds": 1e400}',
    }
    for folder, text in bad.items():
        (results_dir / folder).mkdir()
        (results_dir / folder / "result.json").write_text(text, "utf-8")
    info = generate_report(results_dir)
    assert info.experiments == ["zeta", NAME, "alpha"]
    assert len(info.warnings) == len(bad)
    for folder in bad:
        assert any(w.startswith(f"{folder}/result.json is invalid") for w in info.warnings)
    old = next(w for w in info.warnings if w.startswith("old/"))
    assert "older gradprobe (schema gradprobe.result/1)" in old and "reproduce" in old
    page = info.path.read_text("utf-8")
    assert section_ids(page)[:2] == ["intro", "warnings"]
    assert "old/result.json is invalid" in section(page, "warnings")


def test_a_figure_module_that_fails_is_a_warning(
    results_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    def broken(result: Any) -> list[Any]:
        raise KeyError("curve")

    monkeypatch.setattr(sys.modules["gradprobe.report.plots.toy_exp"], "draw", broken)
    info = generate_report(results_dir)
    assert info.experiments == ["zeta", NAME, "alpha"]
    assert info.warnings == ["a-toy/result.json: figures could not be drawn (KeyError: 'curve')"]


def test_hostile_text_is_escaped_everywhere(tmp_path: Path) -> None:
    root = tmp_path / "<img src=x onerror=alert(1)>"  # a hostile path, shown in the header
    write(
        root,
        "h",
        name='h"><script>alert(1)</script>',
        title=HOSTILE,
        book_ref=HOSTILE,
        explanation=f"{HOSTILE}\n\n- {HOSTILE}",
        quick=True,
        quick_note=HOSTILE,
        created=HOSTILE,
        versions={HOSTILE: HOSTILE},
        config={HOSTILE: HOSTILE, "nested": {"x": HOSTILE}},
        conclusions=[HOSTILE],
        tables=[Table(HOSTILE, [HOSTILE], [[HOSTILE, 1.0]])],
        comparisons=[
            Comparison(HOSTILE, "reproduction", 1.0, 3.0, HOSTILE, 0.5, 2.0, HOSTILE, note=HOSTILE)
        ],
    )
    (root / "broken").mkdir()
    (root / "broken" / "result.json").write_text(HOSTILE, "utf-8")  # echoed in a warning
    info = generate_report(root, title=HOSTILE)
    page = info.path.read_text("utf-8")
    assert "<script" not in page.lower() and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    for tag, attrs in parse(page).tags:
        assert tag not in {"script", "iframe"}
        assert not [k for k in attrs if k.startswith("on")], (tag, attrs)
    assert all(re.fullmatch(r"[A-Za-z0-9_-]+", i) for i in section_ids(page))
    assert len(info.warnings) == 1


@pytest.mark.parametrize(
    "text",
    [
        " " * 3000,
        "1" + " " * 3000 + "x",
        "1" + " " * 3000 + "±" + " " * 3000 + "x",
        "~" + " " * 3000 + "1" + " " * 3000,
        "1" * 100_000 + "x",
        "1,1," * 30_000 + "x",
        "1e" + "1" * 50_000 + "x",
    ],
)
def test_numeric_text_is_linear_time(text: str) -> None:
    t0 = time.perf_counter()
    assert is_numeric_text(text) is False
    assert time.perf_counter() - t0 < 0.05  # the old regex took 33 s on 3000 spaces


def test_numeric_text_recognises_numbers() -> None:
    for yes in ("95.1 ± 0.2", "−3.2 %", "1.2e-5", "≈ 0.5", "3×10⁻⁴", "12\u2009345", ".5", "7"):
        assert is_numeric_text(yes), yes
    for no in ("", "abc", "1.2.3", "1e", "± 1", "1 ± 2 ± 3", "×10⁻⁴", "1×10", "e5", "1-2"):
        assert not is_numeric_text(no), no


def test_a_page_of_hostile_long_text_renders_quickly(tmp_path: Path) -> None:
    long = " " * 3000 + "\n \n" * 2000 + "x" * 5000
    write(
        tmp_path,
        "long",
        conclusions=[long] * 20,
        explanation=long,
        tables=[Table(long, [long], [[" " * 3000] * 3] * 200)],
    )
    t0 = time.perf_counter()
    write_report(tmp_path)
    assert time.perf_counter() - t0 < 5.0  # ~0.1 s unloaded; generous for a busy CI machine


def test_out_path_file_folder_and_non_regular_targets(results_dir: Path, tmp_path: Path) -> None:
    assert write_report(results_dir, tmp_path / "x.html") == tmp_path / "x.html"
    (tmp_path / "folder").mkdir()
    assert write_report(results_dir, tmp_path / "folder") == tmp_path / "folder" / "report.html"
    os.symlink(tmp_path / "x.html", tmp_path / "link.html")
    for target in (Path("/dev/null"), tmp_path / "link.html"):
        with pytest.raises(GradprobeError, match="not a regular file"):
            write_report(results_dir, target)
    assert Path("/dev/null").is_char_device()
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "fifo")
        with pytest.raises(GradprobeError, match="not a regular file"):
            write_report(results_dir, tmp_path / "fifo")


def test_failed_write_keeps_the_old_report(
    results_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = results_dir / "report.html"
    target.write_text("old report", "utf-8")

    def failing_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(GradprobeError, match="No space left"):
        write_report(results_dir)
    assert target.read_text("utf-8") == "old report"
    assert not [p for p in results_dir.iterdir() if p.name.startswith(".report.html")]


def test_nothing_to_report_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(GradprobeError, match="does not exist"):
        write_report(tmp_path / "missing")
    with pytest.raises(GradprobeError, match="no results in"):
        write_report(tmp_path)
    (tmp_path / "result.json").write_text("{}", "utf-8")
    with pytest.raises(GradprobeError, match="pass its parent"):
        write_report(tmp_path)
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "result.json").write_text(json.dumps([]), "utf-8")
    with pytest.raises(GradprobeError, match=r"no valid results.*x/result\.json is invalid"):
        write_report(tmp_path)
    assert not (tmp_path / "report.html").exists()
