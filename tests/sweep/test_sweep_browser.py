"""The sweep page in a real headless Chromium: no errors, no fetches, heatmap cells visible, and
the table sorts when a column's name is clicked (CSS :target, no script).

Needs Debian's `chromium` (or $GRADPROBE_CHROMIUM) and the `playwright` package; the browser is
never downloaded. Leaves test-output/sweep.png for a person to look at.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from gradprobe.sweep import plan_sweep, run_sweep

pytestmark = pytest.mark.browser
CHROMIUM = os.environ.get("GRADPROBE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output"


@pytest.fixture(scope="module")
def browser() -> Any:
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip install playwright)"
    )
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            headless=True,
        )
        yield b
        b.close()


def visible_scores(page: Any) -> list[float]:
    """The score column of the table copy the page shows now."""
    return page.evaluate(
        """() => {
          const view = [...document.querySelectorAll('.sortview')]
            .find(v => getComputedStyle(v).display !== 'none');
          const heads = [...view.querySelectorAll('thead th')].map(th => th.textContent.trim());
          const i = heads.findIndex(h => h.startsWith('score'));
          return [...view.querySelectorAll('tbody tr')]
            .map(tr => parseFloat(tr.children[i].textContent));
        }"""
    )


def test_sweep_page_renders_and_sorts(browser: Any, tmp_path: Path) -> None:
    out = tmp_path / "s"
    plan = plan_sweep("sweep_toys:Toy", {"x": "1..3", "mode": "a,b", "fail": "false,true"}, out)
    run_sweep(plan, jobs=1, show="none")
    from gradprobe.report.sweep import write_sweep_report

    path = write_sweep_report(out, title="<script>alert(1)</script> sweep").path
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    problems: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type in {"error", "warning"} else 0)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("dialog", lambda d: (problems.append(d.message), d.dismiss()))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri(), wait_until="load")
    try:
        assert problems == []
        assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
        cells = page.locator("table.heat td:not(.empty)")
        assert cells.count() == 6 and cells.first.is_visible()
        assert page.locator("#failed li").count() == 6
        default = visible_scores(page)
        assert len(default) == 12 and sum(v == v for v in default) == 6  # failed runs: no score
        page.click(".sortview.default th a:text-is('score')")
        asc = visible_scores(page)
        finite = [v for v in asc if v == v]
        assert finite == sorted(finite) and asc[:6] == finite  # failed runs (no value) last
        page.click(".sortview:target th a.on")
        desc = [v for v in visible_scores(page) if v == v]
        assert desc == sorted(finite, reverse=True)
        assert page.url.endswith("#sort-score-desc")
        SCREENSHOTS.mkdir(exist_ok=True)
        page.goto(path.as_uri(), wait_until="load")
        page.screenshot(path=str(SCREENSHOTS / "sweep.png"), full_page=True)
    finally:
        page.close()
