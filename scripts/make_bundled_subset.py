"""Regenerate the bundled MNIST subset (src/gradprobe/data/bundled/*.gz) from a full copy.

    python scripts/make_bundled_subset.py /path/to/mnist [--out DIR] [--size 1000]

Takes the first N training and first N test examples of the verified full files and writes
them as IDX with deterministic gzip (level 9, mtime 0), so reruns give identical files.
Prints the SHA-256 of the uncompressed bytes to paste into `BUNDLED_FILES` in
src/gradprobe/data/mnist.py.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))  # work from a checkout without installing

from gradprobe.data.download import MNIST_FILES  # noqa: E402
from gradprobe.data.idx import encode_idx, gzip_bytes, read_idx, sha256_hex  # noqa: E402
from gradprobe.data.mnist import BUNDLED_FILES, BUNDLED_SIZE, find_mnist  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="folder with the four full MNIST files")
    parser.add_argument("--out", type=Path, default=REPO / "src/gradprobe/data/bundled")
    parser.add_argument("--size", type=int, default=BUNDLED_SIZE)
    args = parser.parse_args(argv)

    source = find_mnist(args.source)
    assert source is not None  # find_mnist raises for an incomplete explicit folder
    args.out.mkdir(parents=True, exist_ok=True)
    for full, small in zip(MNIST_FILES, BUNDLED_FILES, strict=True):
        path = source / (full.name + ".gz")
        if not path.exists():
            path = source / full.name
        array = read_idx(path, magic=full.magic, sha256=full.sha256)
        data = encode_idx(array[: args.size])
        target = args.out / (small.name + ".gz")
        target.write_bytes(gzip_bytes(data))
        print(f"{target.name}: {target.stat().st_size} bytes, sha256 {sha256_hex(data)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
