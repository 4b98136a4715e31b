"""The IDX reader: every kind of damage is a DataError naming the file and the fault."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gradprobe.data.idx import (
    IMAGES_MAGIC,
    LABELS_MAGIC,
    encode_idx,
    gzip_bytes,
    load_idx,
    parse_idx,
    read_idx,
    sha256_hex,
)
from gradprobe.errors import DataError

IMAGES = np.arange(2 * 28 * 28, dtype=np.int64).reshape(2, 28, 28).astype(np.uint8)
LABELS = np.array([5, 0, 4], dtype=np.uint8)


def test_round_trip_images_and_labels() -> None:
    images = parse_idx(encode_idx(IMAGES), "x", magic=IMAGES_MAGIC)
    labels = parse_idx(encode_idx(LABELS), "y", magic=LABELS_MAGIC)
    assert images.shape == (2, 28, 28) and images.dtype == np.uint8
    np.testing.assert_array_equal(images, IMAGES)
    np.testing.assert_array_equal(labels, LABELS)


def test_header_bytes_are_the_standard_ones() -> None:
    assert encode_idx(LABELS)[:8] == bytes([0, 0, 8, 1, 0, 0, 0, 3])
    assert int.from_bytes(encode_idx(IMAGES)[:4], "big") == IMAGES_MAGIC == 2051


def test_read_gz_and_plain_files(tmp_path: Path) -> None:
    (tmp_path / "l.gz").write_bytes(gzip_bytes(encode_idx(LABELS)))
    (tmp_path / "l").write_bytes(encode_idx(LABELS))
    for name in ("l.gz", "l"):
        np.testing.assert_array_equal(read_idx(tmp_path / name, magic=LABELS_MAGIC), LABELS)


def test_gzip_is_deterministic() -> None:
    assert gzip_bytes(encode_idx(IMAGES)) == gzip_bytes(encode_idx(IMAGES))


@pytest.mark.parametrize(
    ("data", "magic", "fault"),
    [
        (encode_idx(LABELS), IMAGES_MAGIC, "wrong magic number 2049"),
        (bytes([0, 0, 0x0D, 1]) + encode_idx(LABELS)[4:], LABELS_MAGIC, "wrong magic number"),
        (encode_idx(LABELS)[:-1], LABELS_MAGIC, "truncated"),
        (encode_idx(IMAGES)[:10], IMAGES_MAGIC, "truncated"),
        (b"\0\0", LABELS_MAGIC, "truncated"),
        (encode_idx(LABELS) + b"\0", LABELS_MAGIC, "1 unexpected trailing bytes"),
    ],
    ids=[
        "labels-as-images",
        "float-dtype",
        "short-data",
        "short-header",
        "short-magic",
        "overlong",
    ],
)
def test_structural_faults(data: bytes, magic: int, fault: str) -> None:
    with pytest.raises(DataError, match=f"^some-file: {fault}"):
        parse_idx(data, "some-file", magic=magic)


def test_gzip_data_in_a_plain_name_gets_a_hint() -> None:
    with pytest.raises(DataError, match="looks gzip-compressed"):
        load_idx(gzip_bytes(encode_idx(LABELS)), "labels", magic=LABELS_MAGIC)


def test_not_gzip(tmp_path: Path) -> None:
    path = tmp_path / "labels.gz"
    path.write_bytes(b"<html>Not Found</html>")
    with pytest.raises(DataError, match=r"labels\.gz: not a gzip file"):
        read_idx(path, magic=LABELS_MAGIC)


@pytest.mark.parametrize("damage", ["cut", "flip"])
def test_corrupt_gzip(tmp_path: Path, damage: str) -> None:
    packed = bytearray(gzip_bytes(encode_idx(IMAGES)))
    if damage == "cut":
        packed = packed[: len(packed) // 2]
    else:
        packed[-6] ^= 0xFF  # inside the CRC-32 / size trailer
    path = tmp_path / "images.gz"
    path.write_bytes(bytes(packed))
    with pytest.raises(DataError, match=r"images\.gz: corrupt gzip data"):
        read_idx(path, magic=IMAGES_MAGIC)


def test_checksum_mismatch_names_both_hashes(tmp_path: Path) -> None:
    path = tmp_path / "labels"
    path.write_bytes(encode_idx(LABELS))
    actual = sha256_hex(encode_idx(LABELS))
    with pytest.raises(DataError) as info:
        read_idx(path, magic=LABELS_MAGIC, sha256="0" * 64)
    message = str(info.value)
    assert str(path) in message and "checksum mismatch" in message
    assert actual in message and "0" * 64 in message
    read_idx(path, magic=LABELS_MAGIC, sha256=actual)  # the right hash passes


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope\.gz: missing file"):
        read_idx(tmp_path / "nope.gz", magic=LABELS_MAGIC)


def test_encode_rejects_other_dtypes() -> None:
    with pytest.raises(ValueError, match="uint8"):
        encode_idx(LABELS.astype(np.int32))
