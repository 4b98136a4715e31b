"""The book's figure data ship with the package and are verified by SHA-256 when loaded."""

from __future__ import annotations

import math

import pytest

from gradprobe import book


def test_every_file_loads_and_matches_its_hash() -> None:
    for name in book.FIGURE_DATA_SHA256:
        assert book.figure_data(name) is not None
    l1, l2 = book.initial_gradient()
    assert len(l1) == len(l2) == 6
    # The bars' lengths: ‖layer 2‖ / ‖layer 1‖ ≈ 2.82 (issue 8: not 0.31 / 0.07 = 4.43).
    assert math.hypot(*l2) / math.hypot(*l1) == pytest.approx(2.822, abs=1e-3)
    for h in (2, 3, 4):
        curve = book.norms_during_training(h)
        assert len(curve) == book.TRAINING_SPEED_EPOCHS and all(len(r) == h for r in curve)
    # Epoch 0 is the network whose speeds the text prints, rounded (0.07, 0.31, …).
    for h in (2, 3, 4):
        printed = book.INITIAL_SPEED[(784, *[30] * h, 10)]
        first = book.norms_during_training(h)[0]
        for p, u in zip(printed, first):
            assert float(f"{u:.{len(str(p).split('.')[1])}f}") == pytest.approx(p)
    acc = book.weight_initialization()
    assert set(acc) == {"default_weight_initialization", "large_weight_initialization"}
    assert all(len(v) == 30 for v in acc.values())


def test_an_altered_file_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    book._raw.cache_clear()
    monkeypatch.setitem(book.FIGURE_DATA_SHA256, "initial_gradient.json", "0" * 64)
    with pytest.raises(book.BookDataError, match="SHA-256"):
        book.initial_gradient()
    book._raw.cache_clear()


def test_unknown_names_are_refused() -> None:
    with pytest.raises(book.BookDataError):
        book.figure_data("other.json")
    with pytest.raises(book.BookDataError):
        book.norms_during_training(5)
