"""Split and MNIST containers."""

from __future__ import annotations

import pytest
import torch

from gradprobe.data import Split
from gradprobe.errors import ConfigError


def make_split(n: int = 5) -> Split:
    return Split(torch.rand(n, 784), torch.arange(n) % 10)


def test_len_one_hot_subset() -> None:
    split = make_split()
    assert len(split) == 5
    hot = split.one_hot()
    assert hot.shape == (5, 10) and hot.dtype == torch.float32
    assert torch.equal(hot.argmax(dim=1), split.labels) and torch.equal(hot.sum(1), torch.ones(5))
    sub = split.subset(3)
    assert len(sub) == 3 and torch.equal(sub.images, split.images[:3])
    assert sub.images.data_ptr() == split.images.data_ptr()  # a view, not a copy
    assert len(split.subset(0)) == 0 and len(split.subset(5)) == 5


@pytest.mark.parametrize("n", [-1, 6])
def test_subset_out_of_range(n: int) -> None:
    with pytest.raises(ConfigError, match="subset"):
        make_split().subset(n)


def test_to_casts_images_only() -> None:
    moved = make_split().to("cpu", torch.float64)
    assert moved.images.dtype == torch.float64 and moved.labels.dtype == torch.int64
    assert moved.one_hot().dtype == torch.float64
    with pytest.raises(ConfigError, match="floating"):
        make_split().to(dtype=torch.int32)


def test_shapes_are_checked() -> None:
    with pytest.raises(ConfigError, match="labels"):
        Split(torch.rand(5, 784), torch.zeros(4, dtype=torch.int64))
    with pytest.raises(ConfigError, match="784"):
        Split(torch.rand(5, 28, 28), torch.zeros(5, dtype=torch.int64))


def test_frozen() -> None:
    with pytest.raises(AttributeError):
        make_split().images = torch.zeros(1, 784)  # type: ignore[misc]
