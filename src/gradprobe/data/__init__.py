"""MNIST for the laboratory: a strict IDX reader, verified download and cache, and a bundled
1000-example subset that works offline.

    >>> data = load_data("bundled")            # or load_mnist() / load_data(None)
    >>> data.training.images.shape, data.training.labels.shape
    (torch.Size([1000, 784]), torch.Size([1000]))

Returned tensors are cached and shared between calls: do not modify them in place.
"""

from gradprobe.data.download import MIRRORS, cache_dir, download_mnist
from gradprobe.data.mnist import (
    BUNDLED_SIZE,
    MNIST,
    Split,
    find_mnist,
    load_bundled,
    load_data,
    load_mnist,
)

__all__ = [
    "BUNDLED_SIZE",
    "MIRRORS",
    "MNIST",
    "Split",
    "cache_dir",
    "download_mnist",
    "find_mnist",
    "load_bundled",
    "load_data",
    "load_mnist",
]
