"""Turn an experiment's figure files into `data:` URIs the report can embed.

SVGs are parsed and sanitised first (no scripts, event handlers, foreign objects or outside
references) and embedded as images, where browsers never run scripts or fetch anything anyway;
a PNG is the fallback when the SVG is missing or unreadable. Paths must stay inside the
experiment's folder, so a hostile result.json cannot pull arbitrary files into the report.
"""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from pathlib import Path

_MAX_BYTES = 20 * 1024 * 1024
_PREFER_PNG_BYTES = 3 * 1024 * 1024
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_DROP_TAGS = {"script", "foreignobject", "iframe", "object", "embed", "audio", "video", "metadata"}
_HREF = re.compile(r"(?:\{[^}]*\})?href$")
_SAFE_HREF = re.compile(r"^(#|data:image/(png|jpeg|gif|webp);)", re.IGNORECASE)
_OUTSIDE_URL = re.compile(r"url\(\s*['\"]?(?!#)|@import|expression\(", re.IGNORECASE)


def _bigger_than(path: Path, limit: int) -> bool:
    try:
        return path.stat().st_size > limit
    except OSError:
        return False


class FigureError(ValueError):
    """A figure file is missing, outside its folder, too large or not what it claims to be."""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()


def _inside(base: Path, rel: str) -> Path:
    path = (base / rel).resolve()
    if not path.is_relative_to(base.resolve()):
        raise FigureError(f"{rel!r} points outside the experiment folder")
    if not path.is_file():
        raise FigureError(f"{rel!r} not found")
    if path.stat().st_size > _MAX_BYTES:
        raise FigureError(f"{rel!r} is larger than {_MAX_BYTES // 2**20} MiB")
    return path


def sanitize_svg(text: str) -> str:
    """The SVG without anything active or external; raises FigureError if it isn't SVG."""
    if "<!ENTITY" in text or "<!DOCTYPE" in text.upper().replace("<!DOCTYPE SVG", ""):
        raise FigureError("SVG declares entities or an unusual DOCTYPE")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise FigureError(f"not well-formed SVG ({exc})") from exc
    if _local(root.tag) != "svg":
        raise FigureError(f"root element is <{_local(root.tag)}>, not <svg>")
    for parent in list(root.iter()):
        for child in list(parent):
            tag = _local(child.tag) if isinstance(child.tag, str) else ""
            if tag in _DROP_TAGS or (tag == "style" and _OUTSIDE_URL.search(child.text or "")):
                parent.remove(child)
    for el in root.iter():
        for attr in list(el.attrib):
            name = _local(attr)
            value = el.attrib[attr]
            if (
                name.startswith("on")
                or (_HREF.search(name) and not _SAFE_HREF.match(value.strip()))
                or _OUTSIDE_URL.search(value)
            ):
                del el.attrib[attr]
    ET.register_namespace("", "http://www.w3.org/2000/svg")
    ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")
    return ET.tostring(root, encoding="unicode")


def svg_data_uri(base: Path, rel: str) -> str:
    """Read, sanitise and encode `base/rel` as an SVG data URI."""
    path = _inside(base, rel)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FigureError(f"{rel!r} unreadable ({exc})") from exc
    clean = sanitize_svg(text)
    return "data:image/svg+xml;base64," + base64.b64encode(clean.encode("utf-8")).decode("ascii")


def png_data_uri(base: Path, rel: str) -> str:
    """Read and encode `base/rel` as a PNG data URI, checking it really is a PNG."""
    path = _inside(base, rel)
    data = path.read_bytes()
    if not data.startswith(_PNG_MAGIC):
        raise FigureError(f"{rel!r} is not a PNG file")
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def figure_uri(base: Path, svg: str | None, png: str | None) -> tuple[str | None, list[str]]:
    """The best embeddable image for one figure (SVG, else PNG) and the problems met on the way."""
    problems: list[str] = []
    order = [(svg, svg_data_uri), (png, png_data_uri)]
    if svg is not None and png is not None and _bigger_than(base / svg, _PREFER_PNG_BYTES):
        order.reverse()  # a huge SVG (say, many scatter points) would bloat the page
    for rel, encode in order:
        if rel is None:
            continue
        try:
            return encode(base, rel), problems
        except (FigureError, OSError) as exc:
            problems.append(str(exc))
    return None, problems
