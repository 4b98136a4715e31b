"""``output-layers``: δᴸ = a − y except quadratic + sigmoid, where it is (a − y)σ′(z)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gradprobe.experiments import get_experiment


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    exp = get_experiment("output-layers")
    out = tmp_path_factory.mktemp("output-layers")
    return exp.run(exp.quick_config(), data=None, out_dir=out), out


def test_deltas(run: tuple[Any, Path]) -> None:
    pairs = {(p["cost"], p["output"]): p for p in run[0].data["pairs"]}
    assert len(pairs) == 4
    quad = pairs[("quadratic", "sigmoid")]
    assert quad["vs_a_minus_y_sigma_prime"] < 1e-12
    assert quad["vs_a_minus_y"] > 0.5
    for key in [
        ("cross-entropy", "sigmoid"),
        ("log-likelihood", "softmax"),
        ("quadratic", "linear"),
    ]:
        assert pairs[key]["vs_a_minus_y"] < 1e-12
    for p in pairs.values():
        assert p["vs_engine_bp1"] < 1e-12 and p["vs_network_bp"] < 1e-12


def test_files_and_saturation_curve(run: tuple[Any, Path]) -> None:
    result, out = run
    doc = json.loads((out / "result.json").read_text())
    assert all(c["inside"] for c in doc["comparisons"] if c["book"] is not None)
    for fig in doc["figures"]:
        assert (out / fig["png"]).is_file() and (out / fig["svg"]).is_file()
    curve = result.data["saturation"]
    # Far in saturation quadratic's δᴸ has collapsed while cross-entropy's is ≈ 1.
    assert curve["quadratic"][-1] < 1e-4 and curve["cross_entropy"][-1] > 0.99
    assert (out / "output_layers.csv").is_file()
