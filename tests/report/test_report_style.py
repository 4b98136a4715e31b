"""The shared figure style: Agg-backed figures, atomic PNG+SVG saving, closing."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pytest

from gradprobe.report import style


def _figure() -> style.Figure:
    fig, ax = style.subplots(figsize=(3, 2))
    ax.plot([0, 1, 2], [1, 0.5, 0.7], color=style.OURS, label="ours")
    style.mark_book(ax, 0.6)
    ax.legend()
    return fig


def test_save_figure_writes_png_and_svg(tmp_path: Path) -> None:
    png, svg = style.save_figure(_figure(), tmp_path / "new" / "speed.svg")  # suffix ignored
    assert (png, svg) == (tmp_path / "new" / "speed.png", tmp_path / "new" / "speed.svg")
    assert png.read_bytes().startswith(b"\x89PNG")
    assert "<svg" in svg.read_text("utf-8")
    assert sorted(p.name for p in png.parent.iterdir()) == ["speed.png", "speed.svg"]


def test_svg_is_reproducible(tmp_path: Path) -> None:
    _, a = style.save_figure(_figure(), tmp_path / "a")
    _, b = style.save_figure(_figure(), tmp_path / "b")
    assert a.read_bytes() == b.read_bytes()


def test_figures_are_not_pyplot_managed_and_get_closed(tmp_path: Path) -> None:
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    fig = _figure()
    assert plt.get_fignums() == before
    style.save_figure(fig, tmp_path / "x")
    assert not fig.axes  # cleared
    pyfig = plt.figure()
    pyfig.add_subplot().plot([1, 2])
    style.save_figure(pyfig, tmp_path / "y")
    assert plt.get_fignums() == before


def test_failed_save_leaves_no_partial_file(tmp_path: Path, monkeypatch) -> None:
    fig = _figure()

    def broken(*args, **kwargs):
        raise RuntimeError("renderer exploded")

    monkeypatch.setattr(fig, "savefig", broken)
    with pytest.raises(RuntimeError):
        style.save_figure(fig, tmp_path / "z")
    assert list(tmp_path.iterdir()) == []


def test_style_is_applied_and_backend_untouched() -> None:
    backend = matplotlib.get_backend()
    fig, axes = style.subplots(1, 2)
    assert len(axes) == 2 and not axes[0].spines["top"].get_visible()
    assert matplotlib.get_backend() == backend
    with style.styled():
        assert matplotlib.rcParams["svg.hashsalt"] == "gradprobe"
    style.close(fig)


def _rc_snapshot() -> dict[str, str]:
    return {k: repr(v) for k, v in matplotlib.rcParams.items()}


def test_drawing_never_changes_global_rcparams(tmp_path: Path) -> None:
    import gradprobe.report.figures as figures
    from report.toy_experiment import draw, make_result

    before = _rc_snapshot()
    fig = _figure()
    style.save_figure(fig, tmp_path / "a")
    drawn = draw(make_result())
    assert drawn and _rc_snapshot() == before
    for d in drawn:
        style.close(d.fig)
    module = type(figures)("gradprobe.report.plots.toy_exp")
    module.draw = draw  # type: ignore[attr-defined]
    import sys

    sys.modules[module.__name__] = module
    try:
        files = figures.draw_figures(make_result(), tmp_path / "toy")
    finally:
        del sys.modules[module.__name__]
    assert [f.svg for f in files] == ["toy-curve.svg"]
    assert _rc_snapshot() == before
    assert not hasattr(style, "apply_style")


def test_figures_are_styled_inside_draw_figures(tmp_path: Path) -> None:
    fig, ax = style.subplots()
    (line,) = ax.plot([0, 1])  # the axes' colour cycle was bound when it was made
    assert line.get_color() == style.PALETTE[0]
    assert not ax.spines["top"].get_visible()
    assert matplotlib.rcParams["axes.spines.top"] is True  # only inside the context
    style.close(fig)
