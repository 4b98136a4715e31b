"""The report's parts on their own: SVG sanitising, numbers, band strips, warning lines."""

from __future__ import annotations

import pytest

from gradprobe.report._band import band_svg
from gradprobe.report._figures import FigureError, sanitize_svg
from gradprobe.report._format import duration, num, paragraphs
from gradprobe.report._load import one_line

HOSTILE_SVG = """<?xml version="1.0"?>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"
     onload="alert(1)" width="10" height="10">
 <script>alert(2)</script>
 <style>@import url(https://evil.example/x.css); rect { fill: red }</style>
 <style>path { stroke: blue }</style>
 <foreignObject><div xmlns="http://www.w3.org/1999/xhtml">hi</div></foreignObject>
 <a xlink:href="javascript:alert(3)"><rect width="5" height="5" onclick="alert(4)"/></a>
 <image href="https://evil.example/pixel.png"/>
 <use xlink:href="#keep"/>
 <rect id="keep" style="fill: url(https://evil.example/p)" width="1" height="1"/>
</svg>"""


def test_sanitize_svg_removes_everything_active_or_external() -> None:
    clean = sanitize_svg(HOSTILE_SVG)
    lowered = clean.lower()
    for gone in ("alert", "<script", "foreignobject", "@import", "evil.example", "javascript:"):
        assert gone not in lowered, gone
    assert "path { stroke: blue }" in clean
    assert 'href="#keep"' in clean
    assert clean.startswith("<svg")


@pytest.mark.parametrize(
    "text",
    [
        "<html><body/></html>",
        "not xml at all",
        '<!DOCTYPE svg [<!ENTITY x "y">]><svg xmlns="http://www.w3.org/2000/svg">&x;</svg>',
    ],
)
def test_sanitize_svg_rejects_non_svg(text: str) -> None:
    with pytest.raises(FigureError):
        sanitize_svg(text)


def test_numbers_read_well() -> None:
    assert num(None) == "—"
    assert num(0.0581234) == "0.05812"
    assert num(95.4) == "95.4"
    assert num(1.5e-7) == "1.5×10⁻⁷"
    assert num(1e-7) == "10⁻⁷"
    assert num(-2.5e6) == "−2.5×10⁶"
    assert num(0.000186) == "1.86×10⁻⁴" and num(3.34e-5) == "3.34×10⁻⁵"
    assert num(12_345) == "12\u2009345"
    assert num(float("nan")) == "NaN" and num(float("inf")) == "∞"
    assert duration(12.34) == "12.3 s" and duration(245) == "4 min 05 s"
    assert duration(3725) == "1 h 02 min"


def test_paragraphs_escape_and_structure() -> None:
    out = paragraphs("a <b>\nline two\n\n- one\n- <two>\n\n")
    assert out == "<p>a &lt;b&gt; line two</p>\n<ul><li>one</li><li>&lt;two&gt;</li></ul>"


def test_band_strip() -> None:
    svg = band_svg(0.058, 0.041, 0.079, 0.07)
    assert svg.count("<rect") == 1 and svg.count("<circle") == 1 and 'class="book"' in svg
    assert "log scale" in band_svg(1e-5, 1e-6, 1e-4, 0.5)
    assert band_svg(1.0, None, None, None) == ""
    assert band_svg(None, 0.1, 0.2, 0.3) == ""
    assert band_svg(float("nan"), 0.1, 0.2, 0.3) == ""
    assert band_svg(1e308, -1e308, 1e308, 0.5) == ""  # a span beyond float range
    assert "nan" not in band_svg(5e-324, 5e-324, 1e308, 1.0)


def test_warning_lines_are_one_line_and_bounded() -> None:
    assert one_line("a\nb\x1b[31mc") == "a\\nb\\x1b[31mc"
    long = one_line("x" * 10_000)
    assert len(long) == 400 and long.endswith("…")
    assert one_line("σ′ δˡ") == "σ′ δˡ"


def test_huge_svg_gives_way_to_png(tmp_path, monkeypatch) -> None:
    from gradprobe.report import _figures

    (tmp_path / "f.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>', "utf-8")
    (tmp_path / "f.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 16)
    uri, problems = _figures.figure_uri(tmp_path, "f.svg", "f.png")
    assert uri is not None and uri.startswith("data:image/svg+xml") and problems == []
    monkeypatch.setattr(_figures, "_PREFER_PNG_BYTES", 10)
    uri, problems = _figures.figure_uri(tmp_path, "f.svg", "f.png")
    assert uri is not None and uri.startswith("data:image/png") and problems == []
