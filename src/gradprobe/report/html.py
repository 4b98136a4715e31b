"""Render the experiments' results as one self-contained HTML page.

The page needs no network: CSS is inline, figures are `data:` URIs, there is no script, and a
Content-Security-Policy tells the browser to fetch nothing at all. Every string that comes from
a result file (or from the file system) is escaped; see `_format.esc`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..io import atomic_write_text
from ._band import band_svg
from ._css import CSS
from ._figures import figure_uri
from ._format import cell, config_value, duration, esc, num, paragraphs, when
from ._intro import INTRO_HTML
from ._load import EXPERIMENTS, load_results, scan

__all__ = ["ReportInfo", "generate_report", "load_results", "render_html", "write_report"]

DEFAULT_TITLE = "Vanishing gradients, reproduced"
# Strings that read as numbers ("95.1 ± 0.2", "−3.2 %", "1.2e-5") are right-aligned like numbers.
_NUM = r"[-+−]?(?:\d[\d,\u2009]*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+|×10[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)?"
_NUMERIC_TEXT = re.compile(rf"^\s*[~≈<>≤≥]?\s*{_NUM}\s*(?:±\s*{_NUM})?\s*%?\s*$")
# No fetches of any kind; inline styles and data: images only.
_CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; "
    "form-action 'none'"
)


@dataclass(frozen=True)
class ReportInfo:
    """What `generate_report` wrote: the file, the experiments in it, and the warnings shown."""

    path: Path
    experiments: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _slug(name: str, taken: set[str]) -> str:
    """An element id: the experiment name when it is already a clean one (the normal case)."""
    base = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-") or "experiment"
    if base in {"intro", "warnings", "top"}:
        base = f"x-{base}"
    slug, i = base, 2
    while slug in taken:
        slug, i = f"{base}-{i}", i + 1
    taken.add(slug)
    return slug


def _tally(result: dict[str, Any]) -> tuple[int, int]:
    """(rows whose book number lies inside our band, rows judged at all)."""
    judged = [c["inside"] for c in result["comparisons"] if c["inside"] is not None]
    return sum(judged), len(judged)


def _verdict(inside: bool | None) -> str:
    if inside is True:
        return '<span class="verdict in" title="book value inside our band">✓ inside</span>'
    if inside is False:
        return '<span class="verdict out" title="book value outside our band">✗ outside</span>'
    return '<span class="verdict na" title="not judged">–</span>'


def _scoreboard(results: list[dict[str, Any]], ids: dict[str, str]) -> str:
    cards = []
    for r in results:
        inside, judged = _tally(r)
        if judged == 0:
            cls, big = "", '<span class="big"><small>no book numbers</small></span>'
        else:
            cls = "all" if inside == judged else ("none" if inside == 0 else "some")
            big = f'<span class="big">{inside}<small> / {judged} inside</small></span>'
        dots = "".join(
            f'<i class="dot {"in" if c["inside"] else "out"}" title="{esc(c["quantity"])}"></i>'
            for c in r["comparisons"]
            if c["inside"] is not None
        )
        quick = " · quick" if r["quick"] else ""
        cards.append(
            f'<li><a class="score {cls}" href="#{ids[r["name"]]}">'
            f'<span class="t">{esc(r["title"])}</span>'
            f'<span class="n">{esc(r["name"])}{quick}</span>'
            f'<span class="row">{big}<span class="dots">{dots}</span></span></a></li>'
        )
    return f'<ul class="scoreboard">{"".join(cards)}</ul>'


def _na(x: Any) -> str:
    return " na" if x is None else ""


def _comparisons(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return ""
    body = []
    for c in rows:
        band = '<span class="na">—</span>'
        if c["low"] is not None and c["high"] is not None:
            band = f"{esc(num(c['low']))} – {esc(num(c['high']))}"
        if c["band"]:
            band += f'<span class="bandnote">{esc(c["band"])}</span>'
        outside = c["inside"] is False
        why = outside and bool(c["note"])
        note = "" if outside or not c["note"] else f'<span class="note">{esc(c["note"])}</span>'
        classes = " ".join(k for k, on in (("outside", outside), ("has-why", why)) if on)
        body.append(
            f'<tr class="{classes}"><td class="q">{esc(c["quantity"])}{note}</td>'
            f'<td class="n ours{_na(c["ours"])}">{esc(num(c["ours"]))}</td>'
            f'<td class="n">{band}</td>'
            f'<td class="n book{_na(c["book"])}">{esc(num(c["book"]))}</td>'
            f"<td>{band_svg(c['ours'], c['low'], c['high'], c['book'])}</td>"
            f"<td>{_verdict(c['inside'])}</td></tr>"
        )
        if why:
            body.append(f'<tr class="why outside"><td colspan="6">{esc(c["note"])}</td></tr>')
    return (
        "<h3>Ours beside the book</h3>"
        '<div class="scroll"><table class="cmp"><thead><tr><th>Quantity</th>'
        '<th class="n">Ours</th><th class="n">Our band</th><th class="n">Book</th>'
        "<th>Where</th><th>Book in band?</th></tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table></div>"
        '<p class="legend"><span><i class="o"></i>ours</span><span><i class="r"></i>our band'
        '</span><span><i class="b"></i>book</span></p>'
    )


def _numeric(x: Any) -> bool:
    if isinstance(x, str):
        return bool(_NUMERIC_TEXT.match(x))
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _table(table: dict[str, Any]) -> str:
    columns = table["columns"]
    width = max([len(columns), *(len(r) for r in table["rows"])], default=0)
    if width == 0:
        return ""
    rows = [list(r) + [None] * (width - len(r)) for r in table["rows"]]
    # a column of numbers (None aside) is right-aligned, header included
    right = []
    for j in range(width):
        values = [r[j] for r in rows if r[j] is not None]
        right.append(bool(values) and all(_numeric(x) for x in values))
    cls = [' class="n"' if r else "" for r in right]
    names = [*columns, *([""] * (width - len(columns)))]
    head = "".join(f"<th{cls[j]}>{esc(c)}</th>" for j, c in enumerate(names))
    body = "".join(
        "<tr>" + "".join(f"<td{cls[j]}>{cell(x)}</td>" for j, x in enumerate(r)) + "</tr>"
        for r in rows
    )
    caption = f"<caption>{esc(table['title'])}</caption>" if table["title"] else ""
    return (
        f'<div class="scroll"><table>{caption}<thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def _figures(r: dict[str, Any], warnings: list[str]) -> str:
    figs = []
    for i, f in enumerate(r["figures"], 1):
        uri, problems = figure_uri(r["_dir"], f["svg"], f["png"])
        for p in problems:
            warnings.append(f"{r['name']}: figure {i}: {p}")
        caption = f"<figcaption>{esc(f['caption'])}</figcaption>" if f["caption"] else ""
        alt = esc(f["caption"] or f"{r['title']}, figure {i}")
        if uri is None:
            img = f'<div class="nofig">Figure {i} could not be embedded.</div>'
        else:
            img = f'<img src="{uri}" alt="{alt}" loading="eager" decoding="async">'
        figs.append(f"<figure>{img}{caption}</figure>")
    if not figs:
        return ""
    return f'<div class="figures">{"".join(figs)}</div>'


def _kv(pairs: list[tuple[str, str]]) -> str:
    items = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in pairs)
    return f'<dl class="kv">{items}</dl>'


def _facts(r: dict[str, Any]) -> str:
    config = [(esc(k), config_value(v)) for k, v in r["config"].items()]
    run = [
        ("time", esc(duration(r["seconds"]))),
        ("mode", "quick (smaller settings)" if r["quick"] else "full"),
        ("created", esc(when(r["created"])) if r["created"] else "—"),
        ("gradprobe", esc(r["gradprobe_version"]) or "—"),
        ("source", esc(r["_source"])),
    ]
    parts = [f"<details open><summary>Run</summary>{_kv(run)}</details>"]
    if config:
        parts.insert(0, f"<details open><summary>Configuration</summary>{_kv(config)}</details>")
    return f'<div class="facts">{"".join(parts)}</div>'


def _section(r: dict[str, Any], sid: str, warnings: list[str]) -> str:
    before = len(warnings)
    figures = _figures(r, warnings)
    fig_warn = "".join(f'<p class="fig-warn">⚠ {esc(w)}</p>' for w in warnings[before:])
    meta = [f"<li>{esc(duration(r['seconds']))}</li>"] if r["seconds"] is not None else []
    if r["quick"]:
        meta.insert(0, '<li class="quick">quick run · numbers are indicative</li>')
    tables = "".join(_table(t) for t in r["tables"])
    explanation = (
        f'<h3>What it means</h3><div class="prose">{paragraphs(r["explanation"])}</div>'
        if r["explanation"].strip()
        else ""
    )
    ref = f'<span class="ref">{esc(r["book_ref"])}</span>' if r["book_ref"] else ""
    return (
        f'<section id="{sid}" class="experiment" data-name="{esc(r["name"])}">'
        f"<header><h2>{esc(r['title'])}</h2>{ref}</header>"
        f'<ul class="meta"><li class="mono">{esc(r["name"])}</li>{"".join(meta)}</ul>'
        + (f'<p class="summary">{esc(r["summary"])}</p>' if r["summary"] else "")
        + figures
        + fig_warn
        + _comparisons(r["comparisons"])
        + (f"<h3>Tables</h3>{tables}" if tables else "")
        + explanation
        + _facts(r)
        + "</section>"
    )


def render_html(
    results: list[dict[str, Any]],
    warnings: list[str],
    *,
    title: str | None = None,
    source: str = "",
) -> str:
    """The whole page. `warnings` gains any figure problems met while rendering."""
    title = title or DEFAULT_TITLE
    taken: set[str] = set()
    ids = {r["name"]: _slug(r["name"], taken) for r in results}
    sections = [_section(r, ids[r["name"]], warnings) for r in results]

    present = {r["name"] for r in results}
    missing = [n for n in EXPERIMENTS if n not in present]
    missing_html = (
        '<p class="missing">Not in this run: '
        + ", ".join(f"<code>{esc(n)}</code>" for n in missing)
        + ". Add one with <code>gradprobe reproduce NAME --out DIR</code>"
        " and rebuild the report.</p>"
        if missing
        else '<p class="missing">All eight experiments are in this run.</p>'
    )
    inside = sum(_tally(r)[0] for r in results)
    judged = sum(_tally(r)[1] for r in results)
    quick = sum(r["quick"] for r in results)
    lede = [f"<strong>{len(results)}</strong> of {len(EXPERIMENTS)} experiments"]
    if judged:
        lede.append(
            f"<strong>{inside} of {judged}</strong> book numbers inside our bands"
            + (f" ({judged - inside} outside)" if judged > inside else "")
        )
    if quick:
        lede.append(f"{quick} quick run{'s' if quick > 1 else ''}")
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lede.append(f"generated {stamp}")
    if source:
        lede.append(f"from <code>{esc(source)}</code>")

    nav = ['<li><a href="#intro">Introduction</a></li>']
    if warnings:
        nav.append(f'<li><a class="warn" href="#warnings">⚠ Warnings ({len(warnings)})</a></li>')
    # short labels (the names, spaced) keep all eight on one line; the title is the tooltip
    nav += [
        f'<li><a href="#{ids[r["name"]]}" title="{esc(r["title"])}">'
        f"{esc(r['name'].replace('-', ' '))}</a></li>"
        for r in results
    ]
    warn_html = ""
    if warnings:
        items = "".join(f"<li>{esc(w)}</li>" for w in warnings)
        warn_html = (
            '<section id="warnings"><header><h2>⚠ Warnings</h2></header>'
            "<p>Some results could not be read or shown in full:</p>"
            f"<ul>{items}</ul></section>"
        )
    versions = sorted({r["gradprobe_version"] for r in results if r["gradprobe_version"]})
    plural = "s" if len(results) != 1 else ""
    made_by = "gradprobe " + ", ".join(esc(v) for v in versions) if versions else "gradprobe"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<meta name="referrer" content="no-referrer">
<meta name="generator" content="{made_by}">
<title>{esc(title)}</title>
<style>{CSS}</style>
</head>
<body>
<header class="hero" id="top"><div class="wrap">
<p class="eyebrow">gradprobe report · Nielsen,
<em>Neural Networks and Deep Learning</em>, ch. 3 &amp; 5</p>
<h1>{esc(title)}</h1>
<p class="lede">{" · ".join(f"<span>{part}</span>" for part in lede)}</p>
{_scoreboard(results, ids)}
</div></header>
<nav class="toc" aria-label="Sections"><ol>{"".join(nav)}</ol></nav>
<main class="wrap">
<section id="intro"><header><h2>Why deep networks learn unevenly</h2></header>
{INTRO_HTML}
{missing_html}
</section>
{warn_html}
{"".join(sections)}
</main>
<footer class="wrap">Made by {made_by} from {len(results)} result file{plural}.
Figures are embedded; this page works offline. <a href="#top">Back to top</a></footer>
</body>
</html>
"""


def generate_report(
    results_dir: str | Path, out_path: str | Path | None = None, *, title: str | None = None
) -> ReportInfo:
    """Read `results_dir/*/result.json`, write the report, and say what went into it.

    Raises GradprobeError when `results_dir` holds no valid result. Broken files and
    unembeddable figures become warnings, listed in the report and in the returned info.
    """
    root = Path(results_dir)
    results, warnings = scan(root)
    out = Path(out_path) if out_path is not None else root / "report.html"
    if out.is_dir():
        out = out / "report.html"
    page = render_html(results, warnings, title=title, source=str(root))
    atomic_write_text(out, page)
    return ReportInfo(path=out, experiments=[r["name"] for r in results], warnings=warnings)


def write_report(
    results_dir: str | Path, out_path: str | Path | None = None, *, title: str | None = None
) -> Path:
    """Write the self-contained HTML report of `results_dir` (default: results_dir/report.html)."""
    return generate_report(results_dir, out_path, title=title).path
