"""The ``mean-field`` experiment in quick mode, and its figures drawn from the result alone."""

from __future__ import annotations

import pytest

from gradprobe.experiments import get_experiment
from gradprobe.report.figures import draw_figures
from gradprobe.results import read_result


@pytest.mark.slow
def test_mean_field_quick(tmp_path) -> None:
    e = get_experiment("mean-field")
    r = e.run(e.quick_config(), out_dir=tmp_path, data="bundled")
    assert all(c.kind == "prediction" for c in r.comparisons)
    assert len(r.comparisons) == 6 * 3
    back = read_result(tmp_path / "result.json")
    stems = {f.stem for f in draw_figures(back, tmp_path)}
    assert stems == {"mean_field_phase", "mean_field_jacobian"}
    sig = next(p for p in back.data["pairs"] if p["init"] == "default")
    assert all(0.18 < v < 0.23 for v in sig["predicted_ratios"])
