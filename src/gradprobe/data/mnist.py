"""MNIST as tensors: where the files are found, how they are checked, and the book's split.

Tensors are cached in-process and shared between the `Split` objects returned by repeated
calls, so they must not be modified in place (use ``.clone()`` first).
"""

from __future__ import annotations

import functools
import importlib.resources
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from gradprobe.data.download import (
    MNIST_FILES,
    OFFLINE_HELP,
    IdxFile,
    cache_dir,
    download_mnist,
)
from gradprobe.data.idx import IMAGES_MAGIC, LABELS_MAGIC, MAX_IDX_BYTES, load_idx, read_idx
from gradprobe.errors import ConfigError, DataError
from gradprobe.io import expand_path

BUNDLED_SIZE = 1000
BUNDLED_SOURCE = "bundled subset (first 1000 training / 1000 test images)"
NUM_CLASSES = 10
IMAGE_SIDE = 28

# Regenerate with scripts/make_bundled_subset.py; hashes of the uncompressed IDX bytes.
BUNDLED_FILES: tuple[IdxFile, ...] = (
    IdxFile(
        "train-images-1k-idx3-ubyte",
        IMAGES_MAGIC,
        "386bb018796babeaca208787b77c1b9db39532c4098951ea35f4694e744eb4b7",
    ),
    IdxFile(
        "train-labels-1k-idx1-ubyte",
        LABELS_MAGIC,
        "895f65588e45d05babf0b5fa7aee2a0d782d8143b40b5764e596df91bc9dddeb",
    ),
    IdxFile(
        "t10k-images-1k-idx3-ubyte",
        IMAGES_MAGIC,
        "de7c252b04f05e1f8309634180ccdf286dc6dbac8c579b74e76e02ae0331ca52",
    ),
    IdxFile(
        "t10k-labels-1k-idx1-ubyte",
        LABELS_MAGIC,
        "832c0d20f0dc42e575488c75a83a970787d4c8d4d05831b2ef03701b4a478a90",
    ),
)


@dataclass(frozen=True, eq=False)  # tensors: identity, not elementwise ==
class Split:
    """A set of examples: ``images`` [n, 784] floating (pixel p stored as p/256, so in
    [0, 0.99609375]) and ``labels`` [n] int64 digits 0-9. Tensors may be shared: do not
    modify them in place."""

    images: torch.Tensor
    labels: torch.Tensor

    def __post_init__(self) -> None:
        if self.images.dim() != 2 or self.labels.dim() != 1:
            raise ConfigError(
                f"Split wants images [n, 784] and labels [n], got {tuple(self.images.shape)} "
                f"and {tuple(self.labels.shape)}"
            )
        if self.images.shape[0] != self.labels.shape[0]:
            raise ConfigError(
                f"Split has {self.images.shape[0]} images but {self.labels.shape[0]} labels"
            )

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def one_hot(self) -> torch.Tensor:
        """[n, 10] one-hot targets in the images' dtype and device."""
        return torch.nn.functional.one_hot(self.labels, NUM_CLASSES).to(self.images.dtype)

    def subset(self, n: int) -> Split:
        """The first ``n`` examples (views, no copy); ``0 <= n <= len(self)``."""
        if not 0 <= n <= len(self):
            raise ConfigError(f"subset({n}) of a split with {len(self)} examples")
        return Split(self.images[:n], self.labels[:n])

    def to(
        self, device: torch.device | str | None = None, dtype: torch.dtype | None = None
    ) -> Split:
        """Move to ``device``; cast images to floating ``dtype``. Labels stay int64."""
        if dtype is not None:
            _check_dtype(dtype)
        return Split(self.images.to(device=device, dtype=dtype), self.labels.to(device=device))


@dataclass(frozen=True, eq=False)  # tensors: identity, not elementwise ==
class MNIST:
    """The book's split: ``training`` 50 000, ``validation`` 10 000 (last 10 000 training
    images), ``test`` 10 000 (t10k). The bundled subset has 1000 / None / 1000.
    ``source`` says where the data came from, for logs and reports."""

    training: Split
    validation: Split | None
    test: Split
    source: str


def find_mnist(path: str | os.PathLike[str] | None = None) -> Path | None:
    """The folder holding the four MNIST files, without downloading: ``path`` if given, else
    ``$GRADPROBE_DATA``, else the cache (`cache_dir()`); None when the cache lacks them.

    A folder named explicitly (argument or variable) must be complete: `DataError` otherwise.
    Each file may be gzip-compressed (``*.gz``, preferred when both exist) or not.
    """
    if path is not None:
        return _complete(_expand(path, "MNIST folder"), "folder")
    env = os.environ.get("GRADPROBE_DATA")
    if env:
        return _complete(_expand(env, "GRADPROBE_DATA"), "GRADPROBE_DATA folder")
    cache = cache_dir()
    return cache if all(_locate(cache, f) for f in MNIST_FILES) else None


def load_mnist(
    path: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
    verify: bool = True,
    dtype: torch.dtype = torch.float32,
) -> MNIST:
    """Load full MNIST found by `find_mnist`, downloading it into the cache if nowhere else.

    ``verify`` checks the SHA-256 of local files (downloads are always checked). Images are
    [n, 784] ``dtype``, labels [n] int64; training/validation are the first 5/6 and last 1/6
    of the training file (50 000 / 10 000 for MNIST), test is t10k.
    """
    _check_dtype(dtype)
    from_cache = path is None and not os.environ.get("GRADPROBE_DATA")
    folder = find_mnist(path)
    if folder is None:
        if not download:
            raise DataError(
                f"MNIST not found: no folder given, GRADPROBE_DATA unset, and the cache "
                f"{cache_dir()} is incomplete (download disabled). {OFFLINE_HELP}"
            )
        folder = download_mnist()
    try:
        return _load_folder(folder, verify, dtype)
    except DataError:
        if not (from_cache and download):
            raise
        download_mnist(folder)  # a damaged cached copy is replaced, not reported
        return _load_folder(folder, verify, dtype)


def load_bundled(dtype: torch.dtype = torch.float32) -> MNIST:
    """The first 1000 training and first 1000 test examples, shipped inside the package;
    no validation split. Always verified, never downloads."""
    _check_dtype(dtype)
    train_x, train_y, test_x, test_y = _bundled_tensors(dtype)
    return MNIST(Split(train_x, train_y), None, Split(test_x, test_y), BUNDLED_SOURCE)


def load_data(
    spec: str | os.PathLike[str] | None,
    *,
    dtype: torch.dtype = torch.float32,
    download: bool = True,
) -> MNIST:
    """For the CLI's ``--data``: ``"bundled"`` → `load_bundled`; None → `load_mnist`
    (searching env and cache, downloading if allowed); anything else is a folder
    (write ``./bundled`` for a folder of that name)."""
    if isinstance(spec, str) and spec == "bundled":
        return load_bundled(dtype)
    return load_mnist(spec, download=download, dtype=dtype)


def _check_dtype(dtype: torch.dtype) -> None:
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise ConfigError(f"images need a floating dtype, not {dtype}")


def _expand(path: str | os.PathLike[str], what: str) -> Path:
    """``~user`` expanded; an empty path or unknown user is a `DataError`."""
    try:
        return expand_path(path, what)
    except ConfigError as e:
        raise DataError(str(e)) from None


def _locate(folder: Path, spec: IdxFile) -> Path | None:
    for name in (spec.name + ".gz", spec.name):
        if (folder / name).is_file():
            return folder / name
    return None


def _complete(folder: Path, what: str) -> Path:
    if not folder.is_dir():
        raise DataError(f"MNIST {what} {folder} does not exist or is not a folder. {OFFLINE_HELP}")
    missing = [f.name + ".gz" for f in MNIST_FILES if _locate(folder, f) is None]
    if missing:
        files = "file" if len(missing) == 1 else "files"
        raise DataError(
            f"MNIST {what} {folder}: missing {files} {', '.join(missing)}. {OFFLINE_HELP}"
        )
    return folder


def _load_folder(folder: Path, verify: bool, dtype: torch.dtype) -> MNIST:
    paths = [_locate(_complete(folder, "folder"), f) for f in MNIST_FILES]
    stats = [(p.resolve(), p.stat()) for p in paths if p is not None]
    # Size and mtime in the key: a file replaced on disk is read again.
    stamps = tuple((str(p), st.st_size, st.st_mtime_ns) for p, st in stats)
    train_x, train_y, test_x, test_y = _folder_tensors(stamps, verify, dtype)
    n = len(train_y)
    cut = n - n // 6  # 50 000 of 60 000
    return MNIST(
        training=Split(train_x[:cut], train_y[:cut]),
        validation=Split(train_x[cut:], train_y[cut:]),
        test=Split(test_x, test_y),
        source=str(folder),
    )


_Tensors = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


@functools.lru_cache(maxsize=4)
def _folder_tensors(
    stamps: tuple[tuple[str, int, int], ...], verify: bool, dtype: torch.dtype
) -> _Tensors:
    arrays = [
        read_idx(
            path,
            magic=spec.magic,
            sha256=spec.sha256 if verify else None,
            max_size=spec.size or MAX_IDX_BYTES,
        )
        for (path, _, _), spec in zip(stamps, MNIST_FILES, strict=True)
    ]
    names = [Path(path).name for path, _, _ in stamps]
    return _as_tensors(arrays, names, dtype)


@functools.lru_cache(maxsize=4)
def _bundled_tensors(dtype: torch.dtype) -> _Tensors:
    folder = importlib.resources.files("gradprobe.data").joinpath("bundled")
    arrays, names = [], []
    for spec in BUNDLED_FILES:
        name = spec.name + ".gz"
        resource = folder.joinpath(name)
        try:
            raw = resource.read_bytes()
        except OSError as exc:
            raise DataError(f"bundled {name}: missing from the installed package") from exc
        arrays.append(load_idx(raw, f"bundled {name}", magic=spec.magic, sha256=spec.sha256))
        names.append(name)
    return _as_tensors(arrays, names, dtype)


def _as_tensors(arrays: list[np.ndarray], names: list[str], dtype: torch.dtype) -> _Tensors:
    """(train images, train labels, test images, test labels) after cross-file checks."""
    train_x, train_y = _pair(arrays[0], arrays[1], names[0], names[1], dtype)
    test_x, test_y = _pair(arrays[2], arrays[3], names[2], names[3], dtype)
    return train_x, train_y, test_x, test_y


def _pair(
    images: np.ndarray, labels: np.ndarray, image_name: str, label_name: str, dtype: torch.dtype
) -> tuple[torch.Tensor, torch.Tensor]:
    if images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise DataError(
            f"{image_name}: images are {images.shape[1]}×{images.shape[2]}, expected 28×28"
        )
    if len(images) != len(labels):
        raise DataError(
            f"image/label count mismatch: {image_name} has {len(images)} images but "
            f"{label_name} has {len(labels)} labels"
        )
    if len(labels) and int(labels.max()) >= NUM_CLASSES:
        raise DataError(f"{label_name}: label {int(labels.max())} out of range 0-9")
    # copy() because frombuffer arrays are read-only; scaling by 1/256 is exact in any float.
    pixels = torch.from_numpy(images.reshape(len(images), -1).copy()).to(dtype).mul_(1 / 256)
    return pixels, torch.from_numpy(labels.astype(np.int64))
