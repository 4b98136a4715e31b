"""Sweeps in this process (--jobs 1): run folders, skipping, failures, the tidy tables, the page.

Expected values are computed here independently of the sweep: the toy's per-seed score is
x·y (+1 in mode b) + N(0, 0.1²) noise from ``numpy.random.default_rng(seed)`` (float64; the
sweep must store exactly these numbers, compared with a 1e-12 tolerance).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gradprobe.errors import ConfigError
from gradprobe.sweep import gather, plan_sweep, run_hash, run_sweep

TOY = "sweep_toys:Toy"


def expected_score(x: int, y: float, mode: str, seed: int) -> float:
    return x * y + (1.0 if mode == "b" else 0.0) + float(np.random.default_rng(seed).normal(0, 0.1))


def sweep(out: Path, grid: dict[str, Any], **kw: Any) -> Any:
    plan = plan_sweep(TOY, grid, out)
    return plan, run_sweep(plan, jobs=1, show="none", **kw)


def test_runs_are_content_addressed_and_a_rerun_skips_them(tmp_path: Path) -> None:
    out = tmp_path / "s"
    plan, summary = sweep(out, {"x": "1..3", "mode": "a,b"})
    assert (summary.total, summary.done, summary.skipped, summary.failed) == (6, 6, 0, {})
    from sweep_toys import Toy, ToyConfig

    for r in plan.runs:
        config = ToyConfig(x=r.point["x"], mode=r.point["mode"])
        assert r.hash == run_hash("toy", config)  # the default fields are part of the address
        assert (out / "runs" / r.hash / "result.json").is_file()
        assert json.loads((out / "runs" / r.hash / "config.json").read_text())["config"]["y"] == 0.5
    stamps = {p: p.stat().st_mtime_ns for p in out.glob("runs/*/result.json")}
    # the same runs, asked for differently (explicit default y, another order): all skipped
    plan2, again = sweep(out, {"mode": "b,a", "x": "3,2,1", "y": "0.5"})
    assert {r.hash for r in plan2.runs} == {r.hash for r in plan.runs}
    assert all(r.state == "finished" for r in plan2.runs)
    assert (again.done, again.skipped) == (0, 6)
    assert stamps == {p: p.stat().st_mtime_ns for p in out.glob("runs/*/result.json")}
    assert Toy  # imported for the hash above


def test_a_failed_run_is_recorded_does_not_stop_the_sweep_and_is_retried(tmp_path: Path) -> None:
    out = tmp_path / "s"
    _, summary = sweep(out, {"x": "1,2,3", "fail": "false,true"})
    assert summary.done == 3 and len(summary.failed) == 3
    for h, err in summary.failed.items():
        assert err.startswith("RuntimeError: toy failure at x=")
        doc = json.loads((out / "runs" / h / "error.json").read_text())
        assert "Traceback" in doc["traceback"] and not (out / "runs" / h / "result.json").exists()
    runs = __import__("pandas").read_parquet(out / "runs.parquet")
    assert sorted(runs["status"]) == ["done"] * 3 + ["failed"] * 3
    assert set(runs.loc[runs["status"] == "failed", "error"]) == {
        f"RuntimeError: toy failure at x={x}" for x in (1, 2, 3)
    }
    plan2 = plan_sweep(TOY, {"x": "1,2,3", "fail": "false,true"}, out)
    assert sorted(r.state for r in plan2.runs) == ["failed"] * 3 + ["finished"] * 3
    again = run_sweep(plan2, jobs=1, show="none")  # failed runs are tried again, and fail again
    assert again.skipped == 3 and len(again.failed) == 3


def test_validation_happens_before_anything_runs(tmp_path: Path) -> None:
    out = tmp_path / "s"
    with pytest.raises(ConfigError, match=r"run x=1 mode=c: toy: mode must be a or b"):
        plan_sweep(TOY, {"x": "1,2", "mode": "a,c"}, out)
    with pytest.raises(ConfigError, match="no field 'z'"):
        plan_sweep(TOY, {"z": "1"}, out)
    with pytest.raises(ConfigError, match="is not an Experiment"):
        plan_sweep("sweep_toys:score", {}, out)
    assert not out.exists()


def test_another_experiment_in_the_same_folder_is_refused(tmp_path: Path) -> None:
    sweep(tmp_path, {"x": "1"})
    doc = json.loads((tmp_path / "sweep.json").read_text())
    doc["name"] = "other"
    (tmp_path / "sweep.json").write_text(json.dumps(doc))
    with pytest.raises(ConfigError, match="holds a sweep of 'other'"):
        plan_sweep(TOY, {"x": "1"}, tmp_path)


def test_the_tidy_table_reads_alike_in_pandas_polars_and_duckdb(tmp_path: Path) -> None:
    out = tmp_path / "s"
    sweep(out, {"x": "1,2", "y": "0.5,2", "seed": "0,10"})
    import duckdb
    import pandas as pd
    import polars as pl

    df = pd.read_parquet(out / "results.parquet")
    seeds = df[df["source"] == "per-seed"]
    # 8 runs × 3 seeds per-seed rows + 8 runs × 2 comparison rows
    assert len(seeds) == 24 and len(df) == 24 + 16
    for rec in seeds.itertuples():
        want = expected_score(rec.x, rec.y, rec.mode, int(rec.value_seed))
        assert abs(rec.value - want) <= 1e-12
        assert rec.seed <= rec.value_seed < rec.seed + 3
    assert list(df.columns[:3]) == ["run", "experiment", "x"]
    assert set(df["sizes"]) == {"[3,2]"}  # tuples as compact JSON text
    cmp = df[(df["source"] == "comparison") & (df["metric"] == "score")]
    assert set(cmp["kind"]) == {"prediction"} and cmp["value_seed"].isna().all()
    for rec in cmp.itertuples():  # the comparison's value is the median over the run's seeds
        vals = [expected_score(rec.x, rec.y, rec.mode, rec.seed + i) for i in range(3)]
        assert abs(rec.value - float(np.median(vals))) <= 1e-12

    pl_df = pl.read_parquet(out / "results.parquet")
    assert pl_df.shape == df.shape and pl_df.columns == list(df.columns)
    assert pl_df.schema["value_seed"] == pl.Int64 and pl_df.schema["x"] == pl.Int64
    q = duckdb.sql(
        f"select x, y, median(value) as m, count(*) as n from '{out / 'results.parquet'}' "
        "where source = 'per-seed' group by x, y order by x, y"
    ).fetchall()
    assert [(x, y, n) for x, y, _, n in q] == [(1, 0.5, 6), (1, 2.0, 6), (2, 0.5, 6), (2, 2.0, 6)]
    for x, y, m, _ in q:
        vals = [expected_score(x, y, "a", s0 + i) for s0 in (0, 10) for i in range(3)]
        assert abs(m - float(np.median(vals))) <= 1e-12
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == 8 and set(runs["status"]) == {"done"}


def test_gather_is_stable_and_notices_pending_runs(tmp_path: Path) -> None:
    out = tmp_path / "s"
    plan, _ = sweep(out, {"x": "1,2"})
    first = (out / "results.parquet").read_bytes()
    info = gather(out)
    assert (info.done, info.pending, info.failed) == (2, 0, 0)
    assert (out / "results.parquet").read_bytes() == first
    os.remove(plan.runs[0].run_dir / "result.json")
    info = gather(out)
    assert (info.done, info.pending) == (1, 1)


def test_the_sweep_page_maps_two_keys_with_the_seed_spread(tmp_path: Path) -> None:
    out = tmp_path / "s"
    sweep(out, {"x": "1,2,3", "mode": "a,b", "seed": "0,3"})
    from gradprobe.report.sweep import write_sweep_report

    info = write_sweep_report(out, title="<script>alert(1)</script>")
    page = info.path.read_text("utf-8")
    assert info.heatmaps == [("score", "x", "mode")]  # identity checks are not mapped
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "Content-Security-Policy" in page and "pooled over seed" in page
    # the cell x=2, mode=b: median over 2 runs × 3 seeds, computed independently
    vals = [expected_score(2, 0.5, "b", s0 + i) for s0 in (0, 3) for i in range(3)]
    med = float(np.median(vals))
    lo, hi = np.quantile(vals, 0.1), np.quantile(vals, 0.9)
    cell = f'title="score at x=2, mode=b"><b>{med:.4g}</b><small>{lo:.4g} – {hi:.4g} · n=6'
    assert cell in page
    # one table per sortable column and direction, plus the default order, last
    # (columns run, x, mode, seed, status, score, seconds; "error" is not sorted by)
    assert page.count('class="sortview"') == 2 * 7
    assert page.count('class="sortview default"') == 1
    assert 'id="sort-score-desc"' in page and page.rindex("sort-default") > page.rindex(
        "sort-score-desc"
    )
    from gradprobe.errors import DataError

    with pytest.raises(DataError, match="no metric 'nope'"):
        write_sweep_report(out, metrics=["nope"])
    with pytest.raises(DataError, match="not a config key"):
        write_sweep_report(out, x="nope")


def test_a_real_experiment_sweeps(tmp_path: Path) -> None:
    """The chain of single neurons (ch. 5), quick: two depths, through the same machinery."""
    plan = plan_sweep("chain", {"depth": "3,4"}, tmp_path / "s", quick=True)
    summary = run_sweep(plan, jobs=1, show="none")
    assert summary.done == 2 and not summary.failed
    import pandas as pd

    df = pd.read_parquet(tmp_path / "s" / "results.parquet")
    assert set(df["depth"]) == {3, 4} and (df["source"] == "comparison").any()
    from gradprobe.report.sweep import write_sweep_report

    assert write_sweep_report(tmp_path / "s").path.is_file()
