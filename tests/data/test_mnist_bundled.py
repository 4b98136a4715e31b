"""The subset shipped in the package: works offline, always verified."""

from __future__ import annotations

import torch

from gradprobe.data import BUNDLED_SIZE, load_bundled


def test_bundled_subset() -> None:
    data = load_bundled()  # the autouse fixture makes any network access fail
    assert BUNDLED_SIZE == 1000
    assert (len(data.training), len(data.test)) == (1000, 1000) and data.validation is None
    assert data.source == "bundled subset (first 1000 training / 1000 test images)"
    assert data.training.labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert data.test.labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    for split in (data.training, data.test):
        assert split.images.shape == (1000, 784) and split.images.dtype == torch.float32
        assert split.labels.dtype == torch.int64
        assert split.images.min() >= 0 and split.images.max() <= 0.99609375
    assert data.training.one_hot().sum(0).tolist() == torch.bincount(data.training.labels).tolist()


def test_bundled_dtype() -> None:
    images = load_bundled(torch.float64).training.images
    assert images.dtype == torch.float64
    assert torch.equal(images.float(), load_bundled().training.images)
