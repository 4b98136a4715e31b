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
import stat
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


MAX_IDX_BYTES = 64 * 2**20  # uncompressed: MNIST's largest file is 47 040 016 bytes
MAX_IDX_FILE_BYTES = 2 * MAX_IDX_BYTES  # a file on disk larger than this is not read


def gunzip(raw: bytes, name: str, *, max_size: int = MAX_IDX_BYTES) -> bytes:
    """Decompress gzip bytes (one or more members), streaming, and stop with a `DataError` as
    soon as the output would exceed ``max_size`` bytes: a gzip bomb costs at most that much
    memory. Every other failure is a `DataError` naming ``name`` too."""
    if not raw.startswith(_GZIP_MAGIC):
        raise DataError(f"{name}: not a gzip file (it does not start with the gzip magic 1f 8b)")
    out = bytearray()
    rest = raw
    try:
        while rest:
            d = zlib.decompressobj(wbits=31)  # 31: gzip header and trailer, checked
            chunk = d.decompress(rest, max_size + 1 - len(out))
            out += chunk
            if len(out) > max_size:
                raise DataError(
                    f"{name}: decompresses to more than {max_size} bytes, larger than the "
                    "file can be (a damaged file or a gzip bomb); stopped"
                )
            if not d.eof:
                if d.unconsumed_tail:  # only happens when max_length stopped it
                    raise DataError(f"{name}: decompresses to more than {max_size} bytes; stopped")
                raise DataError(f"{name}: corrupt gzip data (truncated: no end of stream)")
            rest = d.unused_data
            if rest and not rest.startswith(_GZIP_MAGIC):
                if rest.strip(b"\0"):
                    raise DataError(f"{name}: corrupt gzip data (trailing garbage)")
                break  # zero padding after the last member, as gzip(1) allows
    except zlib.error as exc:
        raise DataError(f"{name}: corrupt gzip data ({exc})") from exc
    return bytes(out)


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


def load_idx(
    raw: bytes,
    name: str,
    *,
    magic: int,
    sha256: str | None = None,
    max_size: int = MAX_IDX_BYTES,
) -> np.ndarray:
    """Decode one IDX file given its bytes: gunzip (at most ``max_size`` bytes out) when
    ``name`` ends in ``.gz``, parse, and, when ``sha256`` is given, compare it with the hash of
    the *uncompressed* bytes.

    Structure is checked before the hash so that a damaged file gets the more specific message.
    """
    data = gunzip(raw, name, max_size=max_size) if name.endswith(".gz") else raw
    array = parse_idx(data, name, magic=magic)
    if sha256 is not None:
        actual = sha256_hex(data)
        if actual != sha256:
            raise DataError(
                f"{name}: checksum mismatch: SHA-256 of the uncompressed bytes is {actual}, "
                f"expected {sha256}"
            )
    return array


def read_idx(
    path: str | os.PathLike[str],
    *,
    magic: int,
    sha256: str | None = None,
    max_size: int = MAX_IDX_BYTES,
) -> np.ndarray:
    """`load_idx` on a file; a missing, unreadable, non-regular (FIFO, device) or oversized
    file is a `DataError` too."""
    path = Path(path)
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            raise DataError(f"{path}: not a regular file")
        if st.st_size > max(max_size, MAX_IDX_FILE_BYTES):
            raise DataError(f"{path}: {st.st_size} bytes, too large for an MNIST IDX file")
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise DataError(f"{path}: missing file") from exc
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    return load_idx(raw, str(path), magic=magic, sha256=sha256, max_size=max_size)


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
