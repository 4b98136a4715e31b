"""Render the experiments' results as one self-contained HTML page, drawn from the data alone.

`generate_report(DIR)` reads every ``DIR/*/result.json`` (`_load.scan`), redraws each result's
figures from its data (`gradprobe.report.figures.draw_figures`, into the result's folder), and
writes ``DIR/report.html``. Nothing is recomputed and nothing stale is shown: the page holds
exactly the valid results in DIR and the figures just drawn from them.

The page needs no network: CSS is inline, figures are ``data:`` URIs, there is no script, and a
Content-Security-Policy tells the browser to fetch nothing at all. Every string that comes from
a result file (or from the file system) is escaped; see `_format.esc`. Text from result files is
handled in linear time (no backtracking regular expression sees it).

Page structure (element ids): ``top`` (header with ``scoreboard``: the headline that counts only
reproductions, the checks and theory tallies, one card per experiment), ``intro``, ``warnings``
(only when some file was invalid or a figure failed), then one ``section.experiment`` per result
with ``id`` = the experiment's name (cleaned), in the results' own order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import GradprobeError
from ..results import Comparison, ResultError, Scoreboard, Table, atomic_write_text, scoreboard
from ._band import band_svg
from ._css import CSS
from ._figures import figure_uri
from ._format import cell, config_value, duration, esc, num, paragraphs, when
from ._intro import INTRO_HTML
from ._load import Loaded, load_results, one_line, scan
from .figures import FigureFile, draw_figures

__all__ = [
    "ReportInfo",
    "check_target",
    "generate_report",
    "is_numeric_text",
    "load_results",
    "render_html",
    "write_report",
]

DEFAULT_TITLE = "Vanishing gradients, reproduced"
# No fetches of any kind; inline styles and data: images only.
_CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; "
    "form-action 'none'"
)
_RESERVED_IDS = {"intro", "warnings", "top", "scoreboard"}


@dataclass(frozen=True)
class ReportInfo:
    """What `generate_report` wrote: the file, the experiments in it (in page order), the
    warnings shown, and the overall scoreboard."""

    path: Path
    experiments: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    board: Scoreboard = field(default_factory=Scoreboard)


# -- numbers in text cells, recognised in linear time ----------------------------------------
_PREFIXES = "~≈<>≤≥"
_SUPERSCRIPT_DIGITS = set("⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
_MAX_NUMERIC_CHARS = 80


def _is_number_token(s: str) -> bool:
    """``[-+−]? (digits[digits , thin-space]* [. digits*] | . digits+) [e±digits | ×10ⁿ]``,
    checked by one left-to-right scan."""
    i, n = 0, len(s)
    if i < n and s[i] in "-+−":
        i += 1
    if i < n and s[i].isdigit() and s[i].isascii():
        while i < n and ((s[i].isascii() and s[i].isdigit()) or s[i] in ",\u2009"):
            i += 1
        if i < n and s[i] == ".":
            i += 1
            while i < n and s[i].isascii() and s[i].isdigit():
                i += 1
    elif i + 1 < n and s[i] == "." and s[i + 1].isascii() and s[i + 1].isdigit():
        i += 1
        while i < n and s[i].isascii() and s[i].isdigit():
            i += 1
    else:
        return False
    if i == n:
        return True
    rest = s[i:]
    if rest[0] in "eE":
        exponent = rest[1:]
        if exponent[:1] in ("-", "+"):
            exponent = exponent[1:]
        return _ascii_digits(exponent)
    if rest.startswith("×10"):
        sup = rest[3:]
        return bool(sup) and all(ch in _SUPERSCRIPT_DIGITS for ch in sup)
    return False


def _ascii_digits(s: str) -> bool:
    return bool(s) and all(ch.isascii() and ch.isdigit() for ch in s)


def is_numeric_text(text: str) -> bool:
    """Whether a text cell reads as a number ("95.1 ± 0.2", "−3.2 %", "≈ 1.2e-5", "3×10⁻⁴"),
    so that its column is right-aligned. Linear in the length of ``text`` (no backtracking);
    texts longer than a number could be are not numbers."""
    s = text.strip()
    if not s or len(s) > _MAX_NUMERIC_CHARS:
        return False
    if s[0] in _PREFIXES:
        s = s[1:].strip()
    if s.endswith("%"):
        s = s[:-1].strip()
    parts = s.split("±")
    if len(parts) > 2:
        return False
    return all(_is_number_token(p.strip()) for p in parts)


def _numeric(x: Any) -> bool:
    if isinstance(x, str):
        return is_numeric_text(x)
    return isinstance(x, (int, float)) and not isinstance(x, bool)


# -- pieces of the page ----------------------------------------------------------------------
def _slug(name: str, taken: set[str]) -> str:
    """An element id: the experiment name when it is already a clean one (the normal case)."""
    base = re.sub(r"[^A-Za-z0-9_-]+", "-", name[:80]).strip("-") or "experiment"
    if base in _RESERVED_IDS:
        base = f"x-{base}"
    slug, i = base, 2
    while slug in taken:
        slug, i = f"{base}-{i}", i + 1
    taken.add(slug)
    return slug


_VERDICTS: dict[str, dict[str, tuple[str, str, str]]] = {
    # kind → verdict → (css class, text, tooltip)
    "reproduction": {
        "agrees": ("in", "✓ inside", "the book's number lies inside our band"),
        "disagrees": ("out", "✗ outside", "the book's number lies outside our band"),
        "not judged": ("na", "– not judged", "no band (too few seeds) or no measurement"),
    },
    "check": {
        "agrees": ("in", "✓ passed", "the check holds"),
        "disagrees": ("out", "✗ failed", "the check fails"),
        "not judged": ("na", "– not judged", "no value to check"),
    },
    "prediction": {
        "agrees": ("in", "✓ inside", "the prediction lies inside our band"),
        "disagrees": ("out", "✗ outside", "the prediction lies outside our band"),
        "not judged": ("na", "– not judged", "no band (too few seeds) or no measurement"),
    },
}


def _group(kind: str) -> str:
    return "check" if kind in ("identity", "bound") else kind


def _verdict(c: Comparison) -> str:
    cls, text, tip = _VERDICTS[_group(c.kind)][c.verdict]
    return f'<span class="verdict {cls}" title="{tip}">{text}</span>'


def _reference(c: Comparison) -> str:
    ref = esc(num(c.reference))
    if c.relation in ("<=", ">="):
        return ("≤ " if c.relation == "<=" else "≥ ") + ref
    if c.relation == "==" and c.tolerance:
        return f"{ref} <small>± {esc(num(c.tolerance))}</small>"
    return ref


def _band_text(c: Comparison) -> str:
    if c.low is not None and c.high is not None:
        text = f"{esc(num(c.low))} – {esc(num(c.high))}"
    elif c.kind in ("identity", "bound"):
        text = "exact" if c.relation == "==" else "one-sided"
    else:
        text = '<span class="na">no band</span>'
    label = c.band or ("exact value" if c.kind == "identity" else "no band")
    if label == text:  # "exact" once, not twice
        label = "exact value"
    return f'{text}<span class="bandnote">{esc(label)}</span>'


def _why(c: Comparison) -> str:
    """Why a reproduction disagrees: the experiment's note, or the plain fact when it gave
    none (the report never invents a reason)."""
    if c.note:
        return c.note
    side = ""
    if c.reference is not None and c.low is not None and c.high is not None:
        side = "above" if c.reference > c.high else "below"
    where = f" lies {side} our band" if side else " lies outside our band"
    return f"not explained by the experiment; the book's {num(c.reference)}{where}."


_HEADS = {
    "reproduction": ("Numbers the book prints", "Book"),
    "check": ("Checks: identities and bounds (true by construction; not agreement)", "Expected"),
    "prediction": ("Theory: predictions", "Predicted"),
}


def _comparison_table(kind: str, rows: list[Comparison]) -> str:
    if not rows:
        return ""
    title, ref_head = _HEADS[kind]
    body = []
    for c in rows:
        out = c.verdict == "disagrees"
        why = out and kind == "reproduction"
        src = f'<span class="src">{esc(c.source)}</span>' if c.source else ""
        note = f'<span class="note">{esc(c.note)}</span>' if c.note and not why else ""
        classes = " ".join(k for k, on in (("outside", out), ("has-why", why)) if on)
        strip = band_svg(c.ours, c.low, c.high, c.reference) if kind != "check" else ""
        body.append(
            f'<tr class="{classes}" data-kind="{esc(c.kind)}" data-verdict="{esc(c.verdict)}">'
            f'<td class="q">{esc(c.quantity)}{src}{note}</td>'
            f'<td class="n ours{" na" if c.ours is None else ""}">{esc(num(c.ours))}</td>'
            f'<td class="n band">{_band_text(c)}</td>'
            f'<td class="n book{" na" if c.reference is None else ""}">{_reference(c)}</td>'
            f"<td>{strip}</td><td>{_verdict(c)}</td></tr>"
        )
        if why:
            body.append(f'<tr class="why outside"><td colspan="6">{esc(_why(c))}</td></tr>')
    return (
        f'<h3 class="kind-{kind}">{esc(title)}</h3>'
        f'<div class="scroll"><table class="cmp kind-{kind}"><thead><tr><th>Quantity</th>'
        f'<th class="n">Ours</th><th class="n">Our band</th><th class="n">{ref_head}</th>'
        "<th>Where</th><th>Verdict</th></tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _comparisons(comparisons: list[Comparison]) -> str:
    groups: dict[str, list[Comparison]] = {"reproduction": [], "check": [], "prediction": []}
    for c in comparisons:
        groups[_group(c.kind)].append(c)
    html = "".join(_comparison_table(k, rows) for k, rows in groups.items())
    if not html:
        return ""
    return (
        html + '<p class="legend"><span><i class="o"></i>ours</span><span><i class="r"></i>our '
        'band</span><span><i class="b"></i>book or theory</span></p>'
    )


def _table(table: Table) -> str:
    columns = table.columns
    width = max([len(columns), *(len(r) for r in table.rows)], default=0)
    if width == 0:
        return ""
    rows = [list(r) + [None] * (width - len(r)) for r in table.rows]
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
    caption = f"<caption>{esc(table.title)}</caption>" if table.title else ""
    return (
        f'<div class="scroll"><table class="data">{caption}<thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def _figures(item: Loaded, warnings: list[str]) -> str:
    r = item.result
    figs = []
    for i, f in enumerate(item.figures, 1):
        uri, problems = figure_uri(item.folder, f.svg, f.png)
        for p in problems:
            warnings.append(one_line(f"{r.name}: figure {i}: {p}"))
        caption = f"<figcaption>{esc(f.caption)}</figcaption>" if f.caption else ""
        alt = esc(f.caption or f"{r.title}, figure {i}")
        if uri is None:
            img = f'<div class="nofig">Figure {i} could not be embedded.</div>'
        else:
            img = f'<img src="{uri}" alt="{alt}" loading="eager" decoding="async">'
        figs.append(f'<figure data-stem="{esc(f.stem)}">{img}{caption}</figure>')
    return f'<div class="figures">{"".join(figs)}</div>' if figs else ""


def _kv(pairs: list[tuple[str, str]]) -> str:
    items = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in pairs)
    return f'<dl class="kv">{items}</dl>'


def _facts(item: Loaded) -> str:
    r = item.result
    config = [(esc(k), config_value(v)) for k, v in r.config.items()]
    run = [
        ("time", esc(duration(r.seconds))),
        ("mode", "quick (reduced settings)" if r.quick else "full"),
        ("seeds", esc(r.seeds)),
        ("created", esc(when(r.created)) if r.created else "—"),
        *[(esc(k), esc(v)) for k, v in sorted(r.versions.items())],
        ("source", esc(item.source)),
    ]
    parts = [f"<details open><summary>Run</summary>{_kv(run)}</details>"]
    if config:
        parts.insert(0, f"<details open><summary>Configuration</summary>{_kv(config)}</details>")
    return f'<div class="facts">{"".join(parts)}</div>'


def _section(item: Loaded, sid: str, warnings: list[str]) -> str:
    r = item.result
    before = len(warnings)
    figures = _figures(item, warnings)
    fig_warn = "".join(f'<p class="fig-warn">⚠ {esc(w)}</p>' for w in warnings[before:])
    meta = [f"<li>{esc(duration(r.seconds))}</li>"]
    if r.seeds:
        meta.append(f"<li>{esc(r.seeds)} seed{'s' if r.seeds != 1 else ''}</li>")
    quick = ""
    if r.quick:
        meta.insert(0, '<li class="quick">quick run</li>')
        note = r.quick_note or "Reduced settings; the numbers are indicative only."
        quick = f'<div class="quick-card"><b>Quick run.</b> {esc(note)}</div>'
    board = r.scoreboard
    conclusions = ""
    if r.conclusions:
        items = "".join(f"<li>{esc(s)}</li>" for s in r.conclusions)
        conclusions = f'<h3>What we found</h3><ul class="conclusions">{items}</ul>'
    tables = "".join(_table(t) for t in r.tables)
    explanation = (
        f'<h3>What it means</h3><div class="prose">{paragraphs(r.explanation)}</div>'
        if r.explanation.strip()
        else ""
    )
    ref = f'<span class="ref">{esc(r.book_ref)}</span>' if r.book_ref else ""
    tally = (
        f'<p class="tally-line">{esc(board_line(board))}'
        + (f"; checks {board.checks_passed} of {board.checks} passed" if board.checks else "")
        + (
            f"; theory {board.predictions_inside} of {board.predictions} inside our band"
            if board.predictions
            else ""
        )
        + ".</p>"
    )
    return (
        f'<section id="{sid}" class="experiment" data-name="{esc(r.name)}">'
        f"<header><h2>{esc(r.title)}</h2>{ref}</header>"
        f'<ul class="meta"><li class="mono">{esc(r.name)}</li>{"".join(meta)}</ul>'
        + quick
        + tally
        + conclusions
        + figures
        + fig_warn
        + _comparisons(r.comparisons)
        + (f"<h3>Tables</h3>{tables}" if tables else "")
        + explanation
        + _facts(item)
        + "</section>"
    )


def board_line(board: Scoreboard) -> str:
    """The headline of one experiment, or a plain statement when it compares no number the
    book prints (never "0 of 0")."""
    if board.reproductions == 0:
        return "No number the book prints is compared here"
    return board.headline


def _card(item: Loaded, sid: str) -> str:
    r = item.result
    b = r.scoreboard
    if b.reproductions_judged == 0:
        cls = ""
        big = '<span class="big"><small>no book number judged</small></span>'
    else:
        inside, judged = b.reproductions_inside, b.reproductions_judged
        cls = "all" if inside == judged else ("none" if inside == 0 else "some")
        big = f'<span class="big">{inside}<small> of {judged} book numbers inside</small></span>'
    checks = f"checks {b.checks_passed}/{b.checks} passed" if b.checks else ""
    dots = "".join(
        f'<i class="dot {"in" if c.verdict == "agrees" else "out"}" title="{esc(c.quantity)}"></i>'
        for c in r.comparisons
        if c.kind == "reproduction" and c.verdict != "not judged"
    )
    quick = " · quick" if r.quick else ""
    return (
        f'<li><a class="score {cls}" href="#{sid}">'
        f'<span class="t">{esc(r.title)}</span>'
        f'<span class="n">{esc(r.name)}{quick}</span>'
        f'<span class="row">{big}<span class="dots">{dots}</span></span>'
        + (f'<span class="c">{checks}</span>' if checks else "")
        + (f'<span class="qn">{esc(r.quick_note)}</span>' if r.quick and r.quick_note else "")
        + "</a></li>"
    )


def _board(loaded: list[Loaded], ids: dict[str, str]) -> tuple[str, Scoreboard]:
    board = scoreboard(c for item in loaded for c in item.result.comparisons)
    tally = []
    if board.checks:
        tally.append(
            f"<li>Checks (identities and bounds, true by construction — not agreement with the "
            f"book): <strong>{board.checks_passed} of {board.checks}</strong> passed</li>"
        )
    if board.predictions:
        tally.append(
            f"<li>Theory: <strong>{board.predictions_inside} of {board.predictions}</strong> "
            "predictions lie inside our seed band</li>"
        )
    cards = "".join(_card(item, ids[item.result.name]) for item in loaded)
    html = (
        '<div id="scoreboard">'
        f'<p class="headline">{esc(board_line(board))}</p>'
        + (f'<ul class="tally">{"".join(tally)}</ul>' if tally else "")
        + f'<ul class="scoreboard">{cards}</ul></div>'
    )
    return html, board


def render_html(
    loaded: list[Loaded],
    warnings: list[str],
    *,
    title: str | None = None,
    source: str = "",
) -> tuple[str, Scoreboard]:
    """The whole page and its overall scoreboard. ``warnings`` gains any figure problems met
    while rendering."""
    title = title or DEFAULT_TITLE
    taken: set[str] = set()
    ids = {item.result.name: _slug(item.result.name, taken) for item in loaded}
    sections = [_section(item, ids[item.result.name], warnings) for item in loaded]
    board_html, board = _board(loaded, ids)

    quick = sum(item.result.quick for item in loaded)
    n = len(loaded)
    lede = [f"<strong>{n}</strong> experiment{'s' if n != 1 else ''}"]
    if quick:
        lede.append(f"{quick} quick run{'s' if quick > 1 else ''}")
    lede.append("generated " + datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))
    if source:
        lede.append(f"from <code>{esc(one_line(source))}</code>")

    nav = ['<li><a href="#intro">Introduction</a></li>']
    if warnings:
        nav.append(f'<li><a class="warn" href="#warnings">⚠ Warnings ({len(warnings)})</a></li>')
    nav += [
        f'<li><a href="#{ids[item.result.name]}" title="{esc(item.result.title)}">'
        f"{esc(item.result.name.replace('-', ' '))}</a></li>"
        for item in loaded
    ]
    warn_html = ""
    if warnings:
        items = "".join(f"<li>{esc(w)}</li>" for w in warnings)
        warn_html = (
            '<section id="warnings"><header><h2>⚠ Warnings</h2></header>'
            "<p>Some result files are invalid or could not be shown in full; everything else "
            f"is reported.</p><ul>{items}</ul></section>"
        )
    versions = sorted({i.result.versions.get("gradprobe", "") for i in loaded} - {""})
    made_by = "gradprobe " + ", ".join(esc(v) for v in versions) if versions else "gradprobe"
    page = f"""<!DOCTYPE html>
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
{board_html}
</div></header>
<nav class="toc" aria-label="Sections"><ol>{"".join(nav)}</ol></nav>
<main class="wrap">
<section id="intro"><header><h2>Why deep networks learn unevenly</h2></header>
{INTRO_HTML}
</section>
{warn_html}
{"".join(sections)}
</main>
<footer class="wrap">Made by {made_by} from {n} result file{"s" if n != 1 else ""}; every
figure was drawn from its result's data. Figures are embedded; this page works offline.
<a href="#top">Back to top</a></footer>
</body>
</html>
"""
    return page, board


# -- writing -----------------------------------------------------------------------------------
def report_path(results_dir: str | Path, out_path: str | Path | None) -> Path:
    """Where the page goes: ``out_path`` (a folder gets ``report.html``), default
    ``results_dir/report.html``."""
    out = Path(out_path) if out_path is not None else Path(results_dir) / "report.html"
    if out.is_dir() and not out.is_symlink():
        out = out / "report.html"
    return out


def check_target(path: Path) -> None:
    """Refuse, before any work, to replace anything but a regular file (a device such as
    /dev/null, a FIFO, a socket, a folder, a symbolic link): `GradprobeError`, one line."""
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise GradprobeError(
            f"refusing to write the report to {one_line(str(path))}: it exists and is not a "
            "regular file"
        )


def generate_report(
    results_dir: str | Path,
    out_path: str | Path | None = None,
    *,
    title: str | None = None,
    drawn: Mapping[str, Sequence[FigureFile]] | None = None,
) -> ReportInfo:
    """Read ``results_dir/*/result.json``, redraw every result's figures from its data, write
    the report, and say what went into it.

    ``drawn``: figures the caller has just drawn from the same results (experiment name →
    files), which are not drawn again. Raises `GradprobeError` when ``results_dir`` holds no
    valid result or the target is not a regular file. Invalid files and figures that could not
    be drawn or embedded become warnings, listed in the report and in the returned info."""
    out = report_path(results_dir, out_path)
    check_target(out)
    loaded, warnings = scan(results_dir)
    for item in loaded:
        name = item.result.name
        if drawn is not None and name in drawn:
            item.figures = list(drawn[name])
            continue
        try:
            item.figures = draw_figures(item.result, item.folder)
        except Exception as e:  # a plot module meeting data it cannot draw: report the rest
            warnings.append(
                one_line(f"{item.source}: figures could not be drawn ({type(e).__name__}: {e})")
            )
    page, board = render_html(loaded, warnings, title=title, source=str(results_dir))
    try:
        atomic_write_text(out, page)
    except ResultError as e:
        raise GradprobeError(one_line(str(e))) from None
    except OSError as e:
        raise GradprobeError(
            f"cannot write the report to {one_line(str(out))}: {e.strerror or e}"
        ) from None
    return ReportInfo(
        path=out,
        experiments=[item.result.name for item in loaded],
        warnings=warnings,
        board=board,
    )


def write_report(
    results_dir: str | Path, out_path: str | Path | None = None, *, title: str | None = None
) -> Path:
    """Write the self-contained HTML report of ``results_dir`` (default:
    ``results_dir/report.html``); returns its path."""
    return generate_report(results_dir, out_path, title=title).path
