"""load_mnist on tiny generated files: the split, the scaling, the checks, the cache."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from gradprobe.data import load_mnist
from gradprobe.data.idx import encode_idx, gzip_bytes
from gradprobe.errors import ConfigError, DataError


def test_good_folder(tmp_path: Path, tiny) -> None:
    data = load_mnist(tiny.write(tmp_path / "m"))
    assert data.source == str(tmp_path / "m")
    # The last sixth of the training file is validation (10 000 of 60 000 for MNIST).
    assert (len(data.training), len(data.validation or []), len(data.test)) == (10, 2, tiny.n_test)
    images = data.training.images
    assert images.shape == (10, 784) and images.dtype == torch.float32
    assert data.training.labels.dtype == torch.int64
    assert data.training.labels.tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    assert images.max().item() == 255 / 256 == 0.99609375
    assert torch.equal(images * 256, (images * 256).round())  # exactly p/256
    assert data.training.one_hot().shape == (10, 10)


def test_uncompressed_names_accepted(tmp_path: Path, tiny) -> None:
    data = load_mnist(tiny.write(tmp_path, gz=False))
    assert len(data.training) + len(data.validation or []) == tiny.n_train


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16])
def test_other_dtypes_are_exact(tmp_path: Path, tiny, dtype: torch.dtype) -> None:
    folder = tiny.write(tmp_path)
    reference = load_mnist(folder).test.images
    images = load_mnist(folder, dtype=dtype).test.images
    assert images.dtype == dtype and torch.equal(images.float(), reference)


def test_integer_dtype_refused(tmp_path: Path, tiny) -> None:
    with pytest.raises(ConfigError, match="floating"):
        load_mnist(tiny.write(tmp_path), dtype=torch.uint8)


def test_count_mismatch(tmp_path: Path, tiny) -> None:
    labels = gzip_bytes(encode_idx(np.zeros(tiny.n_test - 1, dtype=np.uint8)))
    folder = tiny.write(tmp_path, replace={"t10k-labels-idx1-ubyte.gz": labels})
    with pytest.raises(DataError, match="count mismatch") as info:
        load_mnist(folder, verify=False)
    assert "t10k-images-idx3-ubyte.gz" in str(info.value)
    assert "t10k-labels-idx1-ubyte.gz" in str(info.value)


def test_checksum_mismatch_and_verify_false(tmp_path: Path, tiny) -> None:
    other = np.frombuffer(tiny.files["train-labels-idx1-ubyte"], np.uint8)[8:][::-1].copy()
    folder = tiny.write(
        tmp_path, replace={"train-labels-idx1-ubyte.gz": gzip_bytes(encode_idx(other))}
    )
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte\.gz: checksum mismatch"):
        load_mnist(folder)
    assert load_mnist(folder, verify=False).training.labels[0].item() == other[0]


@pytest.mark.parametrize(
    ("content", "fault"),
    [
        (b"\x1f\x8b\x08\x00garbage", "corrupt gzip"),
        (b"plain text", "not a gzip file"),
        (gzip_bytes(encode_idx(np.zeros(3, np.uint8))), "wrong magic number"),
        (gzip_bytes(encode_idx(np.zeros((2, 28, 28), np.uint8))[:-5]), "truncated"),
    ],
)
def test_damaged_file_is_named(tmp_path: Path, tiny, content: bytes, fault: str) -> None:
    folder = tiny.write(tmp_path, replace={"t10k-images-idx3-ubyte.gz": content})
    with pytest.raises(DataError, match=rf"t10k-images-idx3-ubyte\.gz: {fault}"):
        load_mnist(folder, verify=False)


def test_wrong_image_size(tmp_path: Path, tiny) -> None:
    small = gzip_bytes(encode_idx(np.zeros((tiny.n_test, 14, 14), np.uint8)))
    folder = tiny.write(tmp_path, replace={"t10k-images-idx3-ubyte.gz": small})
    with pytest.raises(DataError, match="14×14, expected 28×28"):
        load_mnist(folder, verify=False)


def test_label_out_of_range(tmp_path: Path, tiny) -> None:
    labels = gzip_bytes(encode_idx(np.full(tiny.n_test, 10, np.uint8)))
    folder = tiny.write(tmp_path, replace={"t10k-labels-idx1-ubyte.gz": labels})
    with pytest.raises(DataError, match="label 10 out of range"):
        load_mnist(folder, verify=False)


def test_tensors_are_cached_but_splits_are_fresh(tmp_path: Path, tiny) -> None:
    folder = tiny.write(tmp_path)
    first, second = load_mnist(folder), load_mnist(folder)
    assert first.training is not second.training
    assert first.training.images.data_ptr() == second.training.images.data_ptr()


def test_replaced_file_is_read_again(tmp_path: Path, tiny) -> None:
    folder = tiny.write(tmp_path)
    assert load_mnist(folder).test.labels[0].item() == 0
    labels = gzip_bytes(encode_idx(np.full(tiny.n_test, 7, np.uint8)))
    path = folder / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(labels)
    os.utime(path, ns=(1, 1))  # a different mtime even on coarse-clock file systems
    assert load_mnist(folder, verify=False).test.labels[0].item() == 7
