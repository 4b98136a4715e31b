"""Progress of a whole sweep: counts, ETA, plain lines and the rich bar."""

from __future__ import annotations

import io
from pathlib import Path

from gradprobe.sweep import plan_sweep, run_sweep
from gradprobe.sweep.progress import Tracker


def test_tracker_counts_and_eta() -> None:
    t = Tracker(total=10, skipped=2)
    t.started_at -= 4.0  # 4 s ago
    assert t.eta() is None and "ETA ?" in t.summary()
    t.start()
    t.start()
    t.finish("done", "")
    t.finish("failed", "")
    assert (t.finished, t.failed, t.running, t.remaining) == (3, 1, 0, 6)
    eta = t.eta()
    assert eta is not None and 11.9 < eta < 12.5  # 4 s for 2 runs → 6 more take 12 s
    assert t.line("done", "abc").startswith("sweep [ 4/10] done   abc · 0 running · 1 failed")


def test_plain_lines_and_rich_bar(tmp_path: Path) -> None:
    plan = plan_sweep("sweep_toys:Toy", {"x": "1..3", "fail": "false,true"}, tmp_path / "a")
    plain = io.StringIO()
    run_sweep(plan, jobs=1, show="plain", stream=plain)
    lines = plain.getvalue().splitlines()
    assert len(lines) == 6 and lines[-1].startswith("sweep [6/6] ")
    assert sum(" failed " in line.split("·")[0] for line in lines) == 3
    assert "RuntimeError: toy failure at x=" in plain.getvalue()
    bar = io.StringIO()
    plan = plan_sweep("sweep_toys:Toy", {"x": "1..3"}, tmp_path / "b")
    run_sweep(plan, jobs=1, show="rich", stream=bar)
    assert "3/3" in bar.getvalue() and "0 failed" in bar.getvalue()
