"""The page of a sweep: heatmaps (two config keys → a metric, with its seed spread) and a table
of every run that sorts by any column — one self-contained HTML file, no script, no fetches.

Input is what `gradprobe sweep` writes (`gradprobe.sweep.gather`): ``DIR/sweep.json``,
``DIR/results.parquet`` (one row per run × metric × seed) and ``DIR/runs.parquet``. This module
reads those files only (it does not import `gradprobe.sweep`).

Heatmaps are HTML tables whose cells are coloured server-side (viridis; a log scale when the
values are positive and span two decades or more — gradients that vanish do). A cell shows the
median over the values that fall in it and, below, their 10–90 % range and how many there are:
the metric's per-seed values when the experiment gives them, otherwise each run's median; keys
other than the two axes are pooled, and the caption says which.

Sorting needs no JavaScript: the table is rendered once per column and direction, and each
header links to its ordering (``#sort-<col>-asc``); CSS shows the ``:target``-ed copy, else
the default one. The Content-Security-Policy forbids every fetch and every script.
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError
from ..results import BAND_QUANTILES, ResultError, atomic_write_text, load_json_limited
from ._css import CSS

_CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; "
    "form-action 'none'"
)
#: At most this many heatmaps by default, and this many table cells across all sort views.
MAX_HEATMAPS = 12
MAX_SORT_CELLS = 60_000

_SWEEP_CSS = """
.heat { border-collapse: separate; border-spacing: 3px; min-width: 0; }
.heat th, .heat td { border: 0; text-align: center; }
.heat th { font-size: .8rem; color: var(--muted); font-weight: 600; text-transform: none; }
.heat td { min-width: 5.5rem; border-radius: 6px; padding: .4rem .5rem; line-height: 1.25;
  font-variant-numeric: tabular-nums; }
.heat td b { display: block; font-size: .95rem; }
.heat td small { display: block; font-size: .72rem; opacity: .9; }
.heat td.empty { background: var(--soft); color: var(--na); }
.heat .axis { color: var(--ink); }
.scale { display: flex; align-items: center; gap: .5rem; font-size: .8rem; color: var(--muted);
  margin: .4rem 0 1.2rem; }
.scale i { display: inline-block; width: 10rem; height: .7rem; border-radius: 4px; }
.sortviews > .sortview { display: none; }
.sortviews > .sortview.default { display: block; }
.sortviews > .sortview:target { display: block; }
.sortviews > .sortview:target ~ .sortview.default { display: none; }
.sortview { overflow-x: auto; }
.sortview th a { color: inherit; }
.sortview th a.on { color: var(--accent); }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.failed td { background: var(--bad-bg); }
"""

# viridis at 0, .25, .5, .75, 1
_VIRIDIS = [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)]


def esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


def fmt(v: Any) -> str:
    """A number for a cell: 4 significant digits, scientific when tiny or huge."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v)).lower()
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if f != 0 and (abs(f) < 1e-3 or abs(f) >= 1e5):
            return f"{f:.3e}"
        return f"{f:.4g}"
    return str(v)


def colour(t: float) -> tuple[str, str]:
    """(background, text colour) for a position ``t`` in [0, 1] of the scale."""
    t = min(1.0, max(0.0, t)) * (len(_VIRIDIS) - 1)
    i = min(int(t), len(_VIRIDIS) - 2)
    a, b, f = _VIRIDIS[i], _VIRIDIS[i + 1], t - i
    r, g, bl = (round(a[k] + (b[k] - a[k]) * f) for k in range(3))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * bl
    return f"rgb({r},{g},{bl})", ("#111" if luminance > 140 else "#fff")


@dataclass
class Heatmap:
    metric: str
    x: str
    y: str | None
    html: str


@dataclass
class SweepReportInfo:
    """What `write_sweep_report` wrote."""

    path: Path
    heatmaps: list[tuple[str, str, str | None]] = field(default_factory=list)
    runs: int = 0
    warnings: list[str] = field(default_factory=list)


def _read(root: Path) -> tuple[dict[str, Any], Any, Any]:
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is a dependency
        raise DataError("the sweep page needs pandas") from None
    try:
        manifest = load_json_limited(root / "sweep.json")
    except ResultError as e:
        raise DataError(f"{root} holds no sweep: {e}") from None
    if not isinstance(manifest, dict):
        raise DataError(f"{root / 'sweep.json'} is not a sweep manifest")
    try:
        results = pd.read_parquet(root / "results.parquet")
        runs = pd.read_parquet(root / "runs.parquet")
    except (OSError, ValueError, ImportError) as e:
        raise DataError(f"cannot read the sweep's tables in {root} ({e}); run "
                        f"`gradprobe sweep-report {root}` to gather them") from None  # fmt: skip
    return manifest, results, runs


def _column(name: str, columns: Any) -> str:
    """The table column of config key ``name`` (see `gather.config_column`)."""
    return name if name in columns and f"config_{name}" not in columns else f"config_{name}"


def choose_axes(manifest: dict[str, Any], runs: Any) -> list[str]:
    """Swept keys that take more than one value, in the sweep's order; ``seed`` last (the
    spread of a cell is over seeds, so it is a poor axis)."""
    keys = [k for k in manifest.get("keys", []) if isinstance(k, str)]
    varied = [k for k in keys if _column(k, runs.columns) in runs.columns
              and runs[_column(k, runs.columns)].nunique(dropna=False) > 1]  # fmt: skip
    return [k for k in varied if k != "seed"] + [k for k in varied if k == "seed"]


def choose_metrics(results: Any) -> list[str]:
    """Metrics in order of first appearance, without identity checks (true by construction)."""
    out: list[str] = []
    for metric, kind in zip(results["metric"], results["kind"]):
        if kind == "identity" or metric in out:
            continue
        out.append(metric)
    identities = set(results.loc[results["kind"] == "identity", "metric"])
    per_seed = set(results.loc[results["source"] == "per-seed", "metric"])
    return [m for m in out if m not in identities or m in per_seed]


def _values(results: Any, metric: str) -> Any:
    rows = results[results["metric"] == metric]
    seed_rows = rows[rows["source"] == "per-seed"]
    return (seed_rows if len(seed_rows) else rows[rows["source"] == "comparison"]), bool(
        len(seed_rows)
    )


def _order(values: list[Any]) -> list[Any]:
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=str)


def heatmap(results: Any, metric: str, x: str, y: str | None, pooled: list[str]) -> Heatmap:
    """The heatmap of ``metric`` over config keys ``x`` (columns) and ``y`` (rows)."""
    rows, per_seed = _values(results, metric)
    xc = _column(x, results.columns)
    yc = _column(y, results.columns) if y else None
    xs = _order(list(rows[xc].drop_duplicates()))
    ys = _order(list(rows[yc].drop_duplicates())) if yc else [None]
    cells: dict[tuple[Any, Any], np.ndarray] = {}
    for xv in xs:
        for yv in ys:
            sel = rows[rows[xc] == xv] if xv is not None else rows[rows[xc].isna()]
            if yc:
                sel = sel[sel[yc] == yv] if yv is not None else sel[sel[yc].isna()]
            vals = np.asarray(sel["value"].dropna(), dtype=float)
            cells[(xv, yv)] = vals
    medians = [float(np.median(v)) for v in cells.values() if v.size]
    finite = [m for m in medians if math.isfinite(m)]
    log = bool(finite) and min(finite) > 0 and max(finite) / min(finite) >= 100

    def pos(v: float) -> float:
        if not finite:
            return 0.5
        lo, hi = min(finite), max(finite)
        if log:
            lo, hi, v = math.log10(lo), math.log10(hi), math.log10(v)
        return 0.5 if hi == lo else (v - lo) / (hi - lo)

    head = "".join(f'<th scope="col">{esc(fmt(xv))}</th>' for xv in xs)
    body = []
    for yv in ys:
        tds = []
        for xv in xs:
            vals = cells[(xv, yv)]
            if vals.size == 0:
                tds.append('<td class="empty">—</td>')
                continue
            med = float(np.median(vals))
            bg, ink = colour(pos(med))
            if vals.size >= 2:
                lo, hi = (float(np.quantile(vals, q)) for q in BAND_QUANTILES)
                spread = f"{fmt(lo)} – {fmt(hi)} · n={vals.size}"
            else:
                spread = "n=1"
            title = f"{metric} at {x}={fmt(xv)}" + (f", {y}={fmt(yv)}" if y else "")
            tds.append(
                f'<td style="background:{bg};color:{ink}" title="{esc(title)}">'
                f"<b>{esc(fmt(med))}</b><small>{esc(spread)}</small></td>"
            )
        label = f'<th scope="row" class="axis">{esc(fmt(yv))}</th>' if y else "<th></th>"
        body.append(f"<tr>{label}{''.join(tds)}</tr>")
    what = "per-seed values" if per_seed else "each run's median"
    q = "–".join(f"{round(100 * v)}" for v in BAND_QUANTILES)
    pooled_text = f"; pooled over {', '.join(pooled)}" if pooled else ""
    lo_t, hi_t = (fmt(min(finite)), fmt(max(finite))) if finite else ("—", "—")
    stops = ", ".join(f"rgb{c}" for c in _VIRIDIS)
    corner = f"{esc(y)} ↓ · {esc(x)} →" if y else f"{esc(x)} →"
    table = (
        f'<div class="table-wrap"><table class="heat" aria-label="{esc(metric)}">'
        f'<thead><tr><th class="axis">{corner}</th>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
        f'<p class="scale">{esc(lo_t)} <i style="background:linear-gradient(90deg,{stops})"></i>'
        f" {esc(hi_t)} ({'log' if log else 'linear'} scale)</p>"
        f'<p class="caption">Median of {what} in each cell; below it the {q} % range and the '
        f"number of values{esc(pooled_text)}.</p>"
    )
    return Heatmap(metric, x, y, f"<h3>{esc(metric)}</h3>{table}")


def run_table(
    runs: Any, results: Any, keys: list[str], metrics: list[str]
) -> tuple[list[str], Any]:
    """One row per run: its swept keys, status, each metric's median, seconds."""
    table = runs.copy()
    cols = ["run"] + [_column(k, runs.columns) for k in keys] + ["status"]
    for m in metrics:
        rows, _ = _values(results, m)
        med = rows.groupby("run")["value"].median()
        table[m] = table["run"].map(med)
    cols += [*metrics, "seconds", "error"]
    return cols, table[cols]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "col"


def sortable(cols: list[str], table: Any, default: str) -> str:
    """The table once per column × direction (within `MAX_SORT_CELLS`), default order last."""
    slugs, seen = {}, set()
    for c in cols:
        s = _slug(c)
        while s in seen:
            s += "-"
        seen.add(s)
        slugs[c] = s
    sortable_cols = [c for c in cols if c not in ("error",)]
    per_view = max(1, len(table) * len(cols))
    budget = max(0, MAX_SORT_CELLS // per_view - 1)
    views_cols = sortable_cols[: budget // 2]

    def render(view_id: str, sorted_table: Any, active: tuple[str, str] | None, extra: str) -> str:
        head = []
        for c in cols:
            if c in views_cols:
                asc = active == (c, "asc")
                arrow = " ▲" if asc else (" ▼" if active == (c, "desc") else "")
                target = f"sort-{slugs[c]}-{'desc' if asc else 'asc'}"
                cls = ' class="on"' if arrow else ""
                head.append(f'<th scope="col"><a href="#{target}"{cls}>{esc(c)}{arrow}</a></th>')
            else:
                head.append(f'<th scope="col">{esc(c)}</th>')
        body = []
        for rec in sorted_table.itertuples(index=False):
            tds = []
            for c, v in zip(cols, rec):
                if c == "run":
                    tds.append(f'<td class="mono" title="{esc(v)}">{esc(str(v)[:8])}</td>')
                elif isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(
                    v, (bool, np.bool_)
                ):
                    tds.append(f'<td class="num">{esc(fmt(v))}</td>')
                else:
                    tds.append(f"<td>{esc('' if v is None or v != v else fmt(v))}</td>")
            cls = ' class="failed"' if getattr(rec, "status", "") == "failed" else ""
            body.append(f"<tr{cls}>{''.join(tds)}</tr>")
        return (
            f'<div class="sortview{extra}" id="{view_id}"><table>'
            f"<thead><tr>{''.join(head)}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
        )

    views = []
    for c in views_cols:
        for direction in ("asc", "desc"):
            st = table.sort_values(c, ascending=direction == "asc", na_position="last",
                                   kind="mergesort")  # fmt: skip
            views.append(render(f"sort-{slugs[c]}-{direction}", st, (c, direction), ""))
    views.append(render("sort-default", table, None, " default"))
    note = (
        "Click a column's name to sort by it (again to reverse)."
        if views_cols
        else "Too many runs to offer every ordering; the table is in the sweep's order."
    )
    return f'<p class="caption">{note} Sorted by {esc(default)} at first.</p>' + (
        f'<div class="sortviews">{"".join(views)}</div>'
    )


def render_sweep_html(
    manifest: dict[str, Any],
    results: Any,
    runs: Any,
    *,
    metrics: list[str] | None = None,
    x: str | None = None,
    y: str | None = None,
    title: str | None = None,
) -> tuple[str, list[Heatmap]]:
    """The page, and its heatmaps."""
    name = str(manifest.get("name", "sweep"))
    title = title or f"Sweep of {name}"
    axes = choose_axes(manifest, runs)
    for key in (x, y):
        if key is not None and _column(key, runs.columns) not in runs.columns:
            raise DataError(f"{key!r} is not a config key of this sweep")
    if x is None:
        x = next((k for k in axes if k != y), None)
    if y is None and x is not None:
        y = next((k for k in axes if k != x), None)
    all_metrics = choose_metrics(results)
    if metrics:
        unknown = [m for m in metrics if m not in set(results["metric"])]
        if unknown:
            raise DataError(
                f"no metric {', '.join(map(repr, unknown))} in this sweep; metrics: "
                + ", ".join(all_metrics)
            )
        chosen = list(metrics)
    else:
        chosen = all_metrics[:MAX_HEATMAPS]
    pooled = [k for k in axes if k not in (x, y)]
    maps = [heatmap(results, m, x, y, pooled) for m in chosen] if x is not None else []
    cols, table = run_table(runs, results, [k for k in axes], all_metrics)
    status = runs["status"].value_counts().to_dict()
    counts = " · ".join(
        f"<span>{int(status.get(s, 0))} {s}</span>" for s in ("done", "failed", "pending")
    )
    failed = runs[runs["status"] == "failed"]
    fail_html = ""
    if len(failed):
        items = "".join(
            f"<li><code>{esc(r.run)}</code>: {esc(r.error or 'failed')}</li>"
            for r in failed.itertuples(index=False)
        )
        fail_html = (
            '<section id="failed"><header><h2>Failed runs</h2></header>'
            f"<p>Recorded in <code>runs/&lt;run&gt;/error.json</code>; a rerun retries them.</p>"
            f"<ul>{items}</ul></section>"
        )
    heat_html = "".join(m.html for m in maps) or (
        "<p>No config key takes more than one value: nothing to map.</p>"
    )
    axes_text = f"{esc(x)} across" + (f", {esc(y)} down" if y else "") if x else "none"
    swept = ", ".join(f"<code>{esc(k)}</code>" for k in manifest.get("keys", []))
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<meta name="referrer" content="no-referrer">
<meta name="generator" content="gradprobe sweep-report">
<title>{esc(title)}</title>
<style>{CSS}{_SWEEP_CSS}</style>
</head>
<body>
<header class="hero" id="top"><div class="wrap">
<p class="eyebrow">gradprobe sweep · {esc(name)}</p>
<h1>{esc(title)}</h1>
<p class="lede"><span>{len(runs)} runs</span> · {counts} · <span>swept: {swept}</span></p>
</div></header>
<main class="wrap">
<section id="heatmaps"><header><h2>Heatmaps</h2>
<p class="caption">axes: {axes_text}</p></header>
{heat_html}
</section>
{fail_html}
<section id="runs"><header><h2>Every run</h2></header>
{sortable(cols, table, "the sweep's order")}
</section>
</main>
<footer class="wrap">Made by gradprobe from the tables of a sweep of
<code>{esc(manifest.get("experiment", ""))}</code> (results.parquet, runs.parquet).
This page works offline.
<a href="#top">Back to top</a></footer>
</body>
</html>
"""
    return page, maps


def write_sweep_report(
    sweep_dir: str | Path,
    out: str | Path | None = None,
    *,
    metrics: list[str] | None = None,
    x: str | None = None,
    y: str | None = None,
    title: str | None = None,
) -> SweepReportInfo:
    """Write the sweep's page (default ``DIR/sweep.html``) from its gathered tables."""
    root = Path(sweep_dir)
    manifest, results, runs = _read(root)
    page, maps = render_sweep_html(manifest, results, runs, metrics=metrics, x=x, y=y,
                                   title=title)  # fmt: skip
    path = Path(out) if out is not None else root / "sweep.html"
    if path.is_dir():
        path = path / "sweep.html"
    atomic_write_text(path, page)
    return SweepReportInfo(path, [(m.metric, m.x, m.y) for m in maps], len(runs))
