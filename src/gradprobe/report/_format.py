"""Small formatters: escaped text, readable numbers, durations, dates, plain-text paragraphs.

Everything that comes from a result file passes through `esc` (or a function here that calls
it) before it reaches the page; nothing in a result file is ever treated as HTML.
"""

from __future__ import annotations

import html
import json
import math
import re
from datetime import datetime, timezone
from typing import Any

_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
_BULLET = re.compile(r"^\s*[-•*]\s+")


def esc(value: Any) -> str:
    """HTML-escape any value (quotes included, so it is safe inside attributes too)."""
    return html.escape("" if value is None else str(value), quote=True)


def num(x: Any) -> str:
    """A number as a person would write it: 4 significant digits, ×10ⁿ for tiny or huge ones."""
    if x is None:
        return "—"
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return str(x)
    if isinstance(x, int):
        return f"{x:,}".replace(",", "\u2009") if abs(x) >= 10_000 else str(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    if x == 0:
        return "0"
    if 1e-3 <= abs(x) < 1e5:
        return f"{x:.4g}".replace("-", "−")
    mantissa, exponent = f"{x:.2e}".split("e")
    power = "10" + str(int(exponent)).translate(_SUPERSCRIPT)
    mantissa = mantissa.rstrip("0").rstrip(".").replace("-", "−")
    return power if mantissa == "1" else f"{mantissa}×{power}"


def cell(x: Any) -> str:
    """A table cell: numbers formatted, strings kept, anything else as compact JSON; escaped."""
    if x is None:
        return "—"
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return esc(num(x))
    if isinstance(x, str):
        return esc(x)
    return esc(json.dumps(x, ensure_ascii=False))


def duration(seconds: float | None) -> str:
    """12.3 s, 4 min 05 s, 1 h 02 min."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def when(stamp: str) -> str:
    """An ISO timestamp as 'YYYY-MM-DD HH:MM UTC'; anything unparseable is returned as is."""
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return stamp
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def paragraphs(text: str) -> str:
    """Plain text to escaped HTML: blank lines split paragraphs, '- ' lines become a list.

    Single newlines inside a paragraph are wrapping, not breaks (the experiments hard-wrap).
    """
    blocks = [b.strip("\n") for b in re.split(r"\n\s*\n", text.strip()) if b.strip()]
    out = []
    for block in blocks:
        lines = [line for line in block.splitlines() if line.strip()]
        if all(_BULLET.match(line) for line in lines):
            items = "".join(f"<li>{esc(_BULLET.sub('', line))}</li>" for line in lines)
            out.append(f"<ul>{items}</ul>")
        else:
            out.append("<p>" + " ".join(esc(line.strip()) for line in lines) + "</p>")
    return "\n".join(out)


def config_value(value: Any) -> str:
    """A config value, compact JSON for anything but plain strings; escaped."""
    if isinstance(value, str):
        return esc(value)
    return esc(json.dumps(value, ensure_ascii=False))
