"""IDX files (LeCun's MNIST format): a strict reader and a writer, NumPy only, no pickles.

An IDX file is a 4-byte magic number ``00 00 <dtype> <ndim>``, then ``ndim`` big-endian
uint32 sizes, then the values in C order. MNIST uses dtype 0x08 (unsigned byte): images
have magic 2051 (3 dims: n × rows × cols), labels 2049 (1 dim: n).
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import zlib
from pathlib import Path

import numpy as np

from gradprobe.errors import DataError

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049
_UBYTE = 0x08
_GZIP_MAGIC = b"\x1f\x8b"


def sha256_hex(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def gunzip(raw: bytes, name: str) -> bytes:
    """Decompress gzip bytes, turning every failure into a `DataError` naming ``name``."""
    if not raw.startswith(_GZIP_MAGIC):
        raise DataError(f"{name}: not a gzip file (it does not start with the gzip magic 1f 8b)")
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{name}: corrupt gzip data ({exc})") from exc


def parse_idx(data: bytes, name: str, *, magic: int) -> np.ndarray:
    """Parse uncompressed IDX bytes into a read-only uint8 array of the declared shape.

    ``magic`` is the expected magic number (`IMAGES_MAGIC` or `LABELS_MAGIC`); it fixes the
    number of dimensions. The file must be exactly as long as its header says.
    """
    if len(data) < 4:
        raise DataError(f"{name}: truncated: {len(data)} bytes, shorter than the 4-byte magic")
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        hint = " (it looks gzip-compressed; name it *.gz)" if data.startswith(_GZIP_MAGIC) else ""
        raise DataError(
            f"{name}: wrong magic number {found} (0x{found:08x}), expected {magic} "
            f"(0x{magic:08x}: unsigned bytes, {magic & 0xFF} dimensions){hint}"
        )
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(
            f"{name}: truncated: {len(data)} bytes, shorter than its {header}-byte header"
        )
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    count = math.prod(shape)
    expected = header + count
    if len(data) < expected:
        raise DataError(
            f"{name}: truncated: {len(data)} bytes, but its header declares shape {shape} "
            f"({expected} bytes)"
        )
    if len(data) > expected:
        raise DataError(
            f"{name}: {len(data) - expected} unexpected trailing bytes after shape {shape} "
            f"({expected} bytes expected)"
        )
    return np.frombuffer(data, dtype=np.uint8, count=count, offset=header).reshape(shape)


def load_idx(raw: bytes, name: str, *, magic: int, sha256: str | None = None) -> np.ndarray:
    """Decode one IDX file given its bytes: gunzip when ``name`` ends in ``.gz``, parse, and,
    when ``sha256`` is given, compare it with the hash of the *uncompressed* bytes.

    Structure is checked before the hash so that a damaged file gets the more specific message.
    """
    data = gunzip(raw, name) if name.endswith(".gz") else raw
    array = parse_idx(data, name, magic=magic)
    if sha256 is not None:
        actual = sha256_hex(data)
        if actual != sha256:
            raise DataError(
                f"{name}: checksum mismatch: SHA-256 of the uncompressed bytes is {actual}, "
                f"expected {sha256}"
            )
    return array


def read_idx(path: str | os.PathLike[str], *, magic: int, sha256: str | None = None) -> np.ndarray:
    """`load_idx` on a file; a missing or unreadable file is a `DataError` too."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise DataError(f"{path}: missing file") from exc
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    return load_idx(raw, str(path), magic=magic, sha256=sha256)


def encode_idx(array: np.ndarray) -> bytes:
    """IDX bytes (uncompressed) of a uint8 array with 1 or 3 dimensions (labels or images)."""
    if array.dtype != np.uint8 or array.ndim not in (1, 3):
        raise ValueError(
            f"encode_idx takes uint8 arrays of 1 or 3 dims, not {array.dtype} {array.shape}"
        )
    magic = (_UBYTE << 8) | array.ndim
    header = magic.to_bytes(4, "big") + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return header + np.ascontiguousarray(array).tobytes()


def gzip_bytes(data: bytes) -> bytes:
    """Deterministic gzip (level 9, mtime 0, no file name) so regenerated files are identical."""
    return gzip.compress(data, compresslevel=9, mtime=0)
