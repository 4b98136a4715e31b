"""Synthetic results folders for the report tests: valid result.json files plus real figures."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gradprobe.report import style

HOSTILE = "<script>alert(1)</script>"
TITLES = {
    "initial-speed": "Learning speed at initialisation",
    "chain": "The chain of single neurons",
    "exploding": "Exploding gradients with large weights",
    "slowdown": "Learning slowdown: quadratic vs cross-entropy",
}


def result_doc(name: str, /, **overrides: Any) -> dict[str, Any]:
    """A valid "gradprobe.result/1" document for `name`; `overrides` replace top-level keys."""
    doc: dict[str, Any] = {
        "schema": "gradprobe.result/1",
        "name": name,
        "title": TITLES.get(name, f"Experiment {name}"),
        "book_ref": "Chapter 5, 'The vanishing gradient problem'",
        "config": {"seeds": 3, "samples": 1000, "sizes": [784, 30, 30, 10]},
        "quick": False,
        "seconds": 12.3,
        "created": "2026-11-21T12:00:00+00:00",
        "gradprobe_version": "0.1.0",
        "summary": f"What {name} found.",
        "explanation": "First paragraph, with σ′(z) ≤ 1/4.\n\nSecond paragraph.",
        "comparisons": [
            {
                "quantity": "hidden layer 1",
                "ours": 0.058,
                "low": 0.041,
                "high": 0.079,
                "band": "10–90 % over 3 seeds",
                "book": 0.07,
                "inside": True,
                "note": "",
            },
            {
                "quantity": "hidden layer 2",
                "ours": 0.29,
                "low": 0.2,
                "high": 0.35,
                "band": "10–90 % over 3 seeds",
                "book": 0.5,
                "inside": False,
                "note": "our initialisation differs",
            },
            {
                "quantity": "no book number",
                "ours": 1.5e-7,
                "low": None,
                "high": None,
                "band": "",
                "book": None,
                "inside": None,
                "note": "",
            },
        ],
        "tables": [
            {
                "title": "Accuracy per depth",
                "columns": ["sizes", "final %", "best %"],
                "rows": [["784-30-10", "95.1 ± 0.2", 95.4], ["784-30-30-10", "95.6 ± 0.1", 96.0]],
            }
        ],
        "figures": [{"svg": f"{name}.svg", "png": f"{name}.png", "caption": f"{name} figure"}],
        "data": {"ignored": [1, 2, 3]},
    }
    doc.update(overrides)
    return doc


def write_result(root: Path, name: str, /, *, figure: Path | None = None, **overrides: Any) -> Path:
    """Write `root/name/result.json` (and copy `figure`'s .png/.svg there under `name`)."""
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    if figure is not None:
        for suffix in (".png", ".svg"):
            shutil.copy(figure.with_suffix(suffix), folder / f"{name}{suffix}")
    path = folder / "result.json"
    path.write_text(json.dumps(result_doc(name, **overrides), ensure_ascii=False), "utf-8")
    return path


@pytest.fixture(name="write_result")
def write_result_fixture() -> Any:
    """`write_result(root, name, figure=None, **overrides)`, for tests that build their own."""
    return write_result


@pytest.fixture(name="hostile")
def hostile_fixture() -> str:
    return HOSTILE


@pytest.fixture(scope="session")
def figure_stem(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One small real figure, drawn with the shared style and saved by `style.save_figure`."""
    fig, ax = style.subplots(figsize=(5, 3))
    x = np.arange(1, 31)
    for i, speed in enumerate((0.02, 0.06, 0.2)):
        ax.plot(x, speed * np.sqrt(x), label=f"layer {i + 1}")
    style.mark_book(ax, 0.5)
    ax.set(title="Speed of learning", xlabel="epoch", ylabel="‖δ‖")
    ax.legend()
    png, _ = style.save_figure(fig, tmp_path_factory.mktemp("fig") / "speed")
    return png.with_suffix("")


@pytest.fixture
def results_dir(tmp_path: Path, figure_stem: Path) -> Path:
    """Three experiments (out of book order on disk), each with a figure and comparisons."""
    root = tmp_path / "results"
    for name in ("slowdown", "initial-speed"):
        write_result(root, name, figure=figure_stem)
    # two figures side by side
    write_result(root, "chain", figure=figure_stem)
    shutil.copy(root / "chain" / "chain.svg", root / "chain" / "chain-2.svg")
    figures = result_doc("chain")["figures"]
    figures.append({"svg": "chain-2.svg", "png": None, "caption": "the same, again"})
    write_result(root, "chain", figures=figures)
    return root
