"""The report in a real headless Chromium: no errors, every section and figure visible.

Needs Debian's `chromium` (/usr/bin/chromium, or $GRADPROBE_CHROMIUM) and the `playwright`
Python package; the browser is never downloaded (`playwright install` is not used).
Leaves a full-page screenshot at test-output/report.png for a person to look at.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

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


def _open(browser: Any, path: Path, scheme: str) -> tuple[Any, list[str], list[str]]:
    """Load `path`; collect console errors, page errors, dialogs and any non-file request."""
    page = browser.new_page(viewport={"width": 1280, "height": 900}, color_scheme=scheme)
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


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_report_renders_cleanly(
    browser: Any, results_dir: Path, write_result: Any, figure_stem: Path, scheme: str
) -> None:
    write_result(results_dir, "exploding", figure=figure_stem, quick=True)
    (results_dir / "broken").mkdir()
    (results_dir / "broken" / "result.json").write_text("{", "utf-8")
    report = results_dir / "report.html"
    from gradprobe.report import write_report

    write_report(results_dir, report, title="<script>alert(1)</script> report")
    page, problems, requests = _open(browser, report, scheme)
    try:
        assert problems == []
        assert requests == []
        ids = page.eval_on_selector_all("section", "s => s.map(e => e.id)")
        assert ids == ["intro", "warnings", "initial-speed", "chain", "exploding", "slowdown"]
        for sid in ids:
            box = page.locator(f"section#{sid}").bounding_box()
            assert box is not None and box["width"] > 300 and box["height"] > 50, sid
        figures = page.eval_on_selector_all(
            "figure img, figure svg",
            """els => els.map(e => {
                const r = e.getBoundingClientRect();
                return {w: r.width, h: r.height, natural: e.naturalWidth ?? 1};
            })""",
        )
        assert len(figures) == 5
        for fig in figures:
            assert fig["w"] > 100 and fig["h"] > 50 and fig["natural"] > 0, fig
        # the strips beside the comparison rows render too
        assert page.locator("section#chain svg.strip").count() == 2
        assert page.title() == "<script>alert(1)</script> report"
        SCREENSHOTS.mkdir(exist_ok=True)
        suffix = "" if scheme == "light" else "-dark"
        page.screenshot(path=str(SCREENSHOTS / f"report{suffix}.png"), full_page=True)
    finally:
        page.close()
