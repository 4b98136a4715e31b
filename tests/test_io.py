"""gradprobe.io: only regular files are replaced, temporaries never outlive a write, paths and
tensor files from users are checked."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from gradprobe import io as gio
from gradprobe.errors import ConfigError, DataError, OutputError


@contextlib.contextmanager
def within(seconds: float) -> Iterator[None]:
    """Fail (instead of hanging) when the block takes longer than ``seconds``."""

    def alarm(signum: int, frame: object) -> None:
        raise TimeoutError(f"still blocked after {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.parametrize("write", ["text", "bytes", "json", "csv", "tensors"])
def test_a_fifo_is_never_replaced(tmp_path: Path, write: str) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    writers = {
        "text": lambda p: gio.atomic_write_text(p, "x"),
        "bytes": lambda p: gio.atomic_write_bytes(p, b"x"),
        "json": lambda p: gio.write_json(p, {"a": 1}),
        "csv": lambda p: gio.write_csv(p, ["a"], [[1]]),
        "tensors": lambda p: gio.save_tensors(p, {"w": torch.zeros(2)}, {}),
    }
    with pytest.raises(OutputError, match="FIFO"):
        writers[write](fifo)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert leftovers(tmp_path) == []


def test_dev_null_is_refused_before_anything_happens(monkeypatch: pytest.MonkeyPatch) -> None:
    """The severe case of issue 10: `report --out /dev/null` replaced the device."""
    replaced: list[str] = []

    def no_replace(src: str, dst: str) -> None:  # old code would have replaced /dev/null here
        replaced.append(str(dst))
        raise AssertionError(f"os.replace over {dst}")

    monkeypatch.setattr(os, "replace", no_replace)
    with pytest.raises(OutputError, match="/dev/null exists and is a device"):
        gio.atomic_write_text("/dev/null", "<html>")
    assert replaced == []
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_symlink_is_not_followed_or_replaced(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("keep")
    out = tmp_path / "out"
    out.mkdir()
    (out / "result.json").symlink_to(outside)
    with pytest.raises(OutputError, match="symbolic link"):
        gio.write_json(out / "result.json", {"a": 1})
    assert outside.read_text() == "keep" and (out / "result.json").is_symlink()


def test_a_folder_is_not_replaced(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    with pytest.raises(OutputError, match="is a folder"):
        gio.atomic_write_text(tmp_path / "d", "x")
    assert (tmp_path / "d").is_dir()


def test_a_regular_file_is_replaced_with_the_umask_mode(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "r.txt"
    gio.atomic_write_text(target, "one")
    gio.atomic_write_text(target, "two")
    assert target.read_text() == "two" and leftovers(target.parent) == []
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask


def test_disk_full_is_one_clear_error_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "r.json"
    target.write_text("old")

    def full(fd: int, data: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(gio, "_write_all", full)
    with pytest.raises(OutputError, match=r"cannot write .*r.json: the disk is full"):
        gio.write_json(target, {"a": 1})
    assert target.read_text() == "old" and leftovers(tmp_path) == []


def test_interrupt_during_write_leaves_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(fd: int, data: bytes) -> None:
        os.write(fd, data[:1])
        raise KeyboardInterrupt

    monkeypatch.setattr(gio, "_write_all", interrupted)
    with pytest.raises(KeyboardInterrupt):
        gio.save_tensors(tmp_path / "c.safetensors", {"w": torch.ones(3)}, {"k": "v"})
    assert list(tmp_path.iterdir()) == []


def test_stale_temporaries_of_a_killed_writer_are_removed(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    pid = int(dead.stdout)
    stale = tmp_path / f".checkpoint.safetensors.{pid}-deadbeef.tmp"
    stale.write_bytes(b"")  # the 0-byte file a kill -9 leaves
    mine = tmp_path / f".checkpoint.safetensors.{os.getpid()}-cafecafe.tmp"
    mine.write_bytes(b"")  # a live writer's: kept
    other = tmp_path / f".other.json.{pid}-deadbeef.tmp"
    other.write_bytes(b"")  # another target's: not ours to judge now
    gio.save_tensors(tmp_path / "checkpoint.safetensors", {"w": torch.ones(1)}, {})
    assert not stale.exists() and mine.exists() and other.exists()


def test_expand_path() -> None:
    assert gio.expand_path("~/x") == Path(os.path.expanduser("~/x"))
    with pytest.raises(ConfigError, match="no home folder for user 'nosuchuser9'"):
        gio.expand_path("~nosuchuser9/x", "--out")
    for bad in ("", "  ", "a\x00b"):
        with pytest.raises(ConfigError):
            gio.expand_path(bad)


def test_check_output_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "file").write_text("x")
    assert gio.check_output_dir(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    assert not (tmp_path / "new").exists()  # creates nothing
    with pytest.raises(OutputError, match="exists and is a file, not a folder"):
        gio.check_output_dir(tmp_path / "file")
    with pytest.raises(OutputError, match="cannot be created"):
        gio.check_output_dir(tmp_path / "file" / "sub")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]  # the probe is gone

    class Full:
        f_bavail, f_frsize = 3, 4096

    monkeypatch.setattr(os, "statvfs", lambda p: Full())
    with pytest.raises(OutputError, match="full"):
        gio.check_output_dir(tmp_path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_check_output_dir_not_writable(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(OutputError, match="not writable"):
            gio.check_output_dir(ro / "run")
    finally:
        ro.chmod(0o700)


def test_check_output_file(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(OutputError, match="FIFO"):
        gio.check_output_file(tmp_path / "fifo")
    with pytest.raises(OutputError, match="device"):
        gio.check_output_file("/dev/null")
    with pytest.raises(OutputError, match="folder"):
        gio.check_output_file(tmp_path)
    assert gio.check_output_file(tmp_path, folder_ok=True) == tmp_path
    assert gio.check_output_file(tmp_path / "a" / "r.html") == tmp_path / "a" / "r.html"


def test_load_tensors_round_trip_and_refusals(tmp_path: Path) -> None:
    p = gio.save_tensors(tmp_path / "t.safetensors", {"w": torch.arange(4.0)}, {"k": "v"})
    tensors, meta = gio.load_tensors(p)
    assert torch.equal(tensors["w"], torch.arange(4.0)) and meta == {"k": "v"}
    raw = p.read_bytes()
    for name, content in {
        "empty": b"",
        "cut": raw[: len(raw) // 2],
        "huge-header": (2**62).to_bytes(8, "little") + b"{}",
        "not-json": (4).to_bytes(8, "little") + b"\xff\xfe\x00\x01",
    }.items():
        bad = tmp_path / f"{name}.safetensors"
        bad.write_bytes(content)
        with pytest.raises(DataError, match=name):
            gio.load_tensors(bad)
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(DataError, match="FIFO"):  # safe_open blocked forever on it (GIL held)
        gio.load_tensors(tmp_path / "fifo")
    with pytest.raises(DataError, match="no such file"):
        gio.load_tensors(tmp_path / "absent")


def test_read_json_limits(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 10_000 + "]" * 10_000)
    with pytest.raises(DataError, match=r"deep\.json"):
        gio.read_json(deep)
    big = tmp_path / "big.json"
    big.write_text("1" + "0" * 400)
    with pytest.raises(DataError):
        gio.read_json(big)
    ok = tmp_path / "ok.json"
    gio.write_json(ok, {"x": float("nan"), "t": torch.tensor([1.0, 2.0])})
    assert gio.read_json(ok) == {"x": None, "t": [1.0, 2.0]}
