"""``slowdown``: the book's initial outputs, the quadratic plateau from (2, 2), the JSON runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gradprobe.experiments import get_experiment


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    exp = get_experiment("slowdown")
    out = tmp_path_factory.mktemp("slowdown")
    return exp.run(exp.quick_config(), data=None, out_dir=out), out


def _get(runs: list[dict[str, Any]], w: float, cost: str, eta: float) -> dict[str, Any]:
    return next(r for r in runs if r["w"] == w and r["cost"] == cost and r["eta"] == eta)


def test_json_runs(run: tuple[Any, Path]) -> None:
    result, out = run
    doc = json.loads((out / "result.json").read_text())
    runs = doc["data"]["runs"]
    assert len(runs) == 6
    for r in runs:
        assert {"w", "b", "cost", "eta", "output"} <= set(r)
        assert len(r["output"]) == result.config["epochs"] + 1
    assert {r["eta"] for r in runs if r["cost"] == "cross-entropy"} == {0.005, 0.15}
    for fig in doc["figures"]:
        assert (out / fig["png"]).is_file() and (out / fig["svg"]).is_file()
    assert (out / "slowdown.csv").is_file()


def test_initial_outputs_match_book(run: tuple[Any, Path]) -> None:
    runs = run[0].data["runs"]
    assert _get(runs, 0.6, "quadratic", 0.15)["output"][0] == pytest.approx(0.8176, abs=5e-5)
    assert _get(runs, 2.0, "quadratic", 0.15)["output"][0] == pytest.approx(0.9820, abs=5e-5)
    assert all(c.inside for c in run[0].comparisons if c.book is not None)


def test_quadratic_plateau_from_2_2_is_longer(run: tuple[Any, Path]) -> None:
    runs = run[0].data["runs"]
    good, bad = _get(runs, 0.6, "quadratic", 0.15), _get(runs, 2.0, "quadratic", 0.15)
    assert bad["epochs_to_half_cost"] > 3 * good["epochs_to_half_cost"]
    assert bad["output"][0] - bad["output"][150] < 0.06  # barely moves for ~150 epochs
    assert good["output"][-1] == pytest.approx(0.094, abs=1e-3)
    assert bad["output"][-1] == pytest.approx(0.203, abs=1e-3)
    # Cross-entropy at the same η: the bad start is no longer much slower.
    ce_good, ce_bad = _get(runs, 0.6, "cross-entropy", 0.15), _get(runs, 2.0, "cross-entropy", 0.15)
    assert ce_bad["epochs_to_output_below_0.2"] < 2 * ce_good["epochs_to_output_below_0.2"]
