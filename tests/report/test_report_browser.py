"""The report in a real headless Chromium: no errors, every section and figure visible, Greek
letters intact in every header, and no table clipped at 1280 px or 390 px wide.

Needs Debian's `chromium` (/usr/bin/chromium, or $GRADPROBE_CHROMIUM) and the `playwright`
Python package; the browser is never downloaded (`playwright install` is not used), and the
test skips cleanly without them. Leaves full-page screenshots in test-output/ for a person.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from gradprobe.results import Table
from report.conftest import write
from report.toy_experiment import NAME

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("GRADPROBE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output"
GREEK = ["σ′(z)", "δˡ", "‖∂C/∂bˡ‖", "η·clip", "ρ over seeds"]


@pytest.fixture(scope="module")
def browser() -> Any:
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip install playwright)"
    )
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def report(results_dir: Path) -> Path:
    wide = Table("A wide table", [*GREEK, *(f"column {i} with a long name" for i in range(9))],
                 [[f"{0.1 * i:.3f} ± 0.01" for i in range(14)]] * 4)  # fmt: skip
    write(results_dir, "d-wide", name="wide", order=30.0, tables=[wide],
          conclusions=["x" * 400])  # an unbroken word must wrap, not widen the page  # fmt: skip
    (results_dir / "broken").mkdir()
    (results_dir / "broken" / "result.json").write_text("{", "utf-8")
    from gradprobe.report import write_report

    return write_report(results_dir, title="<script>alert(1)</script> report")


def _open(browser: Any, path: Path, width: int, scheme: str) -> tuple[Any, list[str], list[str]]:
    """Load `path`; collect console errors, page errors, dialogs and any non-file request."""
    page = browser.new_page(viewport={"width": width, "height": 900}, color_scheme=scheme)
    problems: list[str] = []
    requests: list[str] = []
    page.on(
        "console",
        lambda m: (
            problems.append(f"console {m.type}: {m.text}")
            if m.type in {"error", "warning"}
            else None
        ),
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri(), wait_until="load")
    page.wait_for_function("Array.from(document.images).every(i => i.complete)")
    return page, problems, [u for u in requests if not u.startswith(("file:", "data:"))]


LAYOUT = """() => {
  const vw = document.documentElement.clientWidth;
  const out = {page: document.documentElement.scrollWidth, vw, boxes: []};
  for (const box of document.querySelectorAll('.scroll')) {
    const table = box.querySelector('table');
    const sec = box.closest('section').getBoundingClientRect();
    const r = box.getBoundingClientRect();
    out.boxes.push({
      right: r.right, secRight: sec.right, overflowX: getComputedStyle(box).overflowX,
      tableWidth: table.scrollWidth, boxWidth: box.clientWidth,
    });
  }
  return out;
}"""


@pytest.mark.parametrize(("width", "scheme"), [(1280, "light"), (1280, "dark"), (390, "light")])
def test_report_renders_cleanly(browser: Any, report: Path, width: int, scheme: str) -> None:
    page, problems, requests = _open(browser, report, width, scheme)
    try:
        assert problems == [] and requests == []
        ids = page.eval_on_selector_all("section", "s => s.map(e => e.id)")
        assert ids == ["intro", "warnings", "zeta", NAME, "alpha", "wide"]
        for sid in ids:
            box = page.locator(f"section#{sid}").bounding_box()
            assert box is not None and box["width"] > 250 and box["height"] > 50, sid
        figures = page.eval_on_selector_all(
            "figure img",
            "els => els.map(e => ({w: e.getBoundingClientRect().width, n: e.naturalWidth}))",
        )
        assert len(figures) == 1 and figures[0]["w"] > 100 and figures[0]["n"] > 0
        assert page.title() == "<script>alert(1)</script> report"
        # Greek survives in every header: what is shown is what was written
        heads = page.eval_on_selector_all(
            "th, h1, h2, h3, caption", "els => els.map(e => [e.innerText, e.textContent])"
        )
        assert heads and all(shown.strip() == text.strip() for shown, text in heads), heads
        shown = {h[0].strip() for h in heads}
        assert set(GREEK) <= shown and not {g.upper() for g in GREEK} & shown
        # nothing widens the page; a table wider than its section scrolls in its own box
        layout = page.evaluate(LAYOUT)
        assert layout["page"] <= layout["vw"], layout
        for b in layout["boxes"]:
            assert b["right"] <= b["secRight"] + 0.5, b
            if b["tableWidth"] > b["boxWidth"] + 1:
                assert b["overflowX"] in ("auto", "scroll"), b
        if width == 390:  # the wide table really is wider than the phone: it scrolls
            assert any(b["tableWidth"] > b["boxWidth"] + 1 for b in layout["boxes"])
        SCREENSHOTS.mkdir(exist_ok=True)
        shot = SCREENSHOTS / f"report-{width}-{scheme}.png"
        page.screenshot(path=str(shot), full_page=True)
    finally:
        page.close()
