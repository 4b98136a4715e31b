"""A tiny inline SVG per comparison row: our band, our value (dot) and the book's (diamond).

Only numbers reach this SVG (plus the escaped accessible label), and its colours come from the
page's CSS classes, so it follows the light/dark theme.
"""

from __future__ import annotations

import math

from ._format import esc, num

WIDTH, HEIGHT, PAD = 168.0, 22.0, 9.0


def band_svg(ours: float | None, low: float | None, high: float | None, book: float | None) -> str:
    """The strip for one row, or '' when there is nothing to place beside our number."""
    has_band = low is not None and high is not None
    values = [v for v in (ours, low, high, book) if v is not None]
    if ours is None or not (has_band or book is not None):
        return ""
    if not all(math.isfinite(v) for v in values):
        return ""
    lo, hi = min(values), max(values)
    use_log = lo > 0 and hi / lo > 30
    tf = math.log10 if use_log else (lambda v: v)
    t_lo, t_hi = tf(lo), tf(hi)
    span = (t_hi - t_lo) or (abs(t_lo) or 1.0)
    t_lo, t_hi = t_lo - 0.08 * span, t_hi + 0.08 * span
    if not (math.isfinite(span) and math.isfinite(t_lo) and math.isfinite(t_hi)):
        return ""  # values near the float limits (a hostile file): no strip rather than NaNs

    def x(v: float) -> float:
        return PAD + (WIDTH - 2 * PAD) * (tf(v) - t_lo) / (t_hi - t_lo)

    mid = HEIGHT / 2
    parts = [f'<line class="axis" x1="{PAD}" x2="{WIDTH - PAD}" y1="{mid}" y2="{mid}"/>']
    if has_band:
        assert low is not None and high is not None
        x0, x1 = sorted((x(low), x(high)))
        parts.append(
            f'<rect class="band" x="{x0:.1f}" y="{mid - 6}" width="{max(x1 - x0, 2):.1f}"'
            f' height="12" rx="3"/>'
        )
    if book is not None:
        bx = x(book)
        parts.append(
            f'<path class="book" d="M{bx:.1f} {mid - 6}l6 6l-6 6l-6-6z"><title>book</title></path>'
        )
    parts.append(f'<circle class="ours" cx="{x(ours):.1f}" cy="{mid}" r="4.2"/>')
    label = f"ours {num(ours)}"
    if has_band:
        label += f", band {num(low)} to {num(high)}"
    if book is not None:
        label += f", book {num(book)}"
    if use_log:
        label += " (log scale)"
    return (
        f'<svg class="strip" viewBox="0 0 {WIDTH:g} {HEIGHT:g}" width="{WIDTH:g}"'
        f' height="{HEIGHT:g}" role="img" aria-label="{esc(label)}">'
        f"<title>{esc(label)}</title>{''.join(parts)}</svg>"
    )
