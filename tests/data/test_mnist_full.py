"""The full MNIST files (skipped when absent): sizes, class counts, the bundled subset."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

from gradprobe.data import download_mnist, load_bundled, load_mnist
from gradprobe.data.idx import gunzip

pytestmark = pytest.mark.full_mnist

REPO = Path(__file__).resolve().parents[2]
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_sizes_and_class_counts(mnist_dir: Path) -> None:
    data = load_mnist(mnist_dir)
    assert data.validation is not None
    assert (len(data.training), len(data.validation), len(data.test)) == (50000, 10000, 10000)
    train_and_val = torch.cat([data.training.labels, data.validation.labels])
    assert torch.bincount(train_and_val).tolist() == TRAIN_COUNTS
    assert torch.bincount(data.test.labels).tolist() == TEST_COUNTS
    assert data.training.labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert data.training.images.max().item() == 0.99609375


def test_bundled_is_the_first_thousand(mnist_dir: Path) -> None:
    full, small = load_mnist(mnist_dir), load_bundled()
    for big, part in ((full.training, small.training), (full.test, small.test)):
        assert torch.equal(big.images[:1000], part.images)
        assert torch.equal(big.labels[:1000], part.labels)


def test_script_regenerates_the_bundled_files(mnist_dir: Path, tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location(
        "make_bundled", REPO / "scripts/make_bundled_subset.py"
    )
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.main([str(mnist_dir), "--out", str(tmp_path)]) == 0
    bundled = REPO / "src/gradprobe/data/bundled"
    names = sorted(p.name for p in bundled.glob("*.gz"))
    assert names == sorted(p.name for p in tmp_path.iterdir()) and len(names) == 4
    for name in names:  # compare contents: compressed bytes may vary with the zlib version
        made, shipped = (tmp_path / name).read_bytes(), (bundled / name).read_bytes()
        assert gunzip(made, name) == gunzip(shipped, name)


def test_download_path_accepts_the_real_files(mnist_dir: Path, tmp_path: Path, fake_web) -> None:
    files = {p.name: p.read_bytes() for p in mnist_dir.glob("*-ubyte.gz")}
    if len(files) != 4:
        pytest.skip("the full MNIST folder has no .gz files to serve")
    web = fake_web({"http://b/" + name: data for name, data in files.items()})
    download_mnist(tmp_path, mirrors=["http://a/", "http://b/"], progress=False, opener=web)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(files)  # verified on arrival
    assert web.calls[0].startswith("http://a/") and len(web.calls) == 5
