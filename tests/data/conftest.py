"""Fixtures for the data tests: no network, an isolated cache, and tiny valid MNIST files."""

from __future__ import annotations

import io
import urllib.error
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from gradprobe.data import download, mnist
from gradprobe.data.download import IdxFile
from gradprobe.data.idx import encode_idx, gzip_bytes, sha256_hex

N_TRAIN, N_TEST = 12, 6


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Every data test: empty private cache, no GRADPROBE_DATA, and network access fails."""
    cache_root = tmp_path / "cache-root"
    monkeypatch.setenv("GRADPROBE_CACHE", str(cache_root))
    monkeypatch.delenv("GRADPROBE_DATA", raising=False)

    def no_network(url: str, timeout: float) -> None:
        raise AssertionError(f"test tried to reach the network: {url}")

    monkeypatch.setattr(download, "_urlopen", no_network)
    return cache_root / "mnist"


@dataclass
class Tiny:
    """A small valid MNIST (12 training, 6 test images) as uncompressed IDX bytes by file name."""

    files: dict[str, bytes]
    n_train: int = N_TRAIN
    n_test: int = N_TEST

    def gz(self, name: str) -> bytes:
        return gzip_bytes(self.files[name])

    def write(
        self, folder: Path, *, gz: bool = True, replace: dict[str, bytes] | None = None
    ) -> Path:
        """Write the four files (``replace`` gives raw file contents for some of them)."""
        folder.mkdir(parents=True, exist_ok=True)
        for name in self.files:
            filename = name + ".gz" if gz else name
            content = self.gz(name) if gz else self.files[name]
            (folder / filename).write_bytes((replace or {}).get(filename, content))
        return folder


def tiny_arrays(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    images[0, 0, 0] = 255  # so the maximum pixel is known
    return images, (np.arange(n) % 10).astype(np.uint8)


@pytest.fixture
def tiny(monkeypatch: pytest.MonkeyPatch) -> Tiny:
    """Tiny MNIST files, with the expected checksums patched to theirs."""
    train_x, train_y = tiny_arrays(N_TRAIN, 0)
    test_x, test_y = tiny_arrays(N_TEST, 1)
    arrays = [train_x, train_y, test_x, test_y]
    files = {spec.name: encode_idx(a) for spec, a in zip(download.MNIST_FILES, arrays, strict=True)}
    specs = tuple(
        IdxFile(
            s.name,
            s.magic,
            sha256_hex(files[s.name]),
            len(files[s.name]),
            ((len(gzip_bytes(files[s.name])), sha256_hex(gzip_bytes(files[s.name]))),),
        )
        for s in download.MNIST_FILES
    )
    monkeypatch.setattr(download, "MNIST_FILES", specs)
    monkeypatch.setattr(mnist, "MNIST_FILES", specs)
    return Tiny(files)


class FakeResponse(io.BytesIO):
    """What urlopen returns, as far as download_mnist cares."""

    def __init__(self, data: bytes, fail_after: int | None = None) -> None:
        super().__init__(data)
        self.headers = {"Content-Length": str(len(data))}
        self.fail_after = fail_after

    def read(self, size: int | None = -1) -> bytes:
        if self.fail_after is not None and self.tell() >= self.fail_after:
            raise KeyboardInterrupt  # the user pressing Ctrl-C mid-download
        return super().read(size)

    def read1(self, size: int | None = -1) -> bytes:
        return self.read(size)


Route = bytes | BaseException | FakeResponse


class FakeWeb:
    """An opener: ``routes`` maps URL → bytes to serve, an exception to raise, or a ready
    `FakeResponse` (``FakeWeb.Response``). Unknown URLs fail like an unreachable host."""

    Response = FakeResponse

    def __init__(self, routes: dict[str, Route]) -> None:
        self.routes = routes
        self.calls: list[str] = []

    def __call__(self, url: str, timeout: float) -> FakeResponse:
        assert timeout > 0
        self.calls.append(url)
        served = self.routes.get(url, urllib.error.URLError("no route in FakeWeb"))
        if isinstance(served, BaseException):
            raise served
        return served if isinstance(served, FakeResponse) else FakeResponse(served)


@pytest.fixture
def fake_web() -> type[FakeWeb]:
    return FakeWeb
