"""Safe, atomic file output: JSON, CSV, text and tensors (safetensors, never pickle).

The rule every writer here follows (the same as `gradprobe.results.atomic_write_text`):

* only a *regular file* is ever replaced: an existing device (``/dev/null``), FIFO, socket,
  folder or symbolic link at the target is refused with `OutputError`, never replaced,
  truncated or followed;
* the bytes go to a temporary file beside the target (``.NAME.PID-RANDOM.tmp``, created
  exclusively, never through a link), are flushed to disk, and the temporary file is moved over
  the target with `os.replace`, so a reader sees the old file or the new one, never half;
* the temporary file is removed on every error path (an `OSError` such as a full disk,
  Ctrl-C, SIGTERM once the CLI has turned it into `Terminated`), and the temporary files of a
  process that no longer exists (a ``kill -9``) are removed by the next write of that target;
* an `OSError` becomes an `OutputError` naming the file and the reason (one line for the CLI).

`check_output_dir` / `check_output_file` validate an output path *before* any work starts.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import math
import os
import secrets
import stat
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import torch

from .errors import ConfigError, DataError, OutputError

MIN_FREE_BYTES = 1 << 20  # an output folder with less free space than this is "full"
STALE_ANONYMOUS_S = 15 * 60  # a temporary file without a PID in its name is stale after this
MAX_TENSOR_FILE_BYTES = 8 << 30  # a checkpoint larger than this is not one of ours


# -- paths ---------------------------------------------------------------------------------------
def expand_path(text: str | os.PathLike[str], what: str = "path") -> Path:
    """``~`` and ``~user`` expanded; `ConfigError` for an empty path or an unknown user
    (where `Path.expanduser` raises a bare RuntimeError)."""
    raw = os.fspath(text)
    if isinstance(raw, bytes) or raw == "" or raw.strip() == "":
        raise ConfigError(f"{what}: empty path")
    if "\x00" in raw:
        raise ConfigError(f"{what}: a path cannot contain a NUL character")
    if raw.startswith("~"):
        expanded = os.path.expanduser(raw)
        if expanded.startswith("~"):
            user = raw[1:].split(os.sep, 1)[0]
            who = f"user {user!r}" if user else "the current user (HOME is not set)"
            raise ConfigError(f"{what} {raw!r}: cannot expand ~: no home folder for {who}")
        raw = expanded
    return Path(raw)


def _describe(mode: int) -> str:
    if stat.S_ISREG(mode):
        return "a file"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _checked_target(path: Path) -> Path:
    """``path`` if it is absent or a regular file (not a link); `OutputError` otherwise."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return path
    except NotADirectoryError:
        raise OutputError(f"cannot write {path}: a parent of it is not a folder") from None
    except OSError as e:
        raise OutputError(f"cannot write {path}: {e.strerror or e}") from None
    if not stat.S_ISREG(st.st_mode):
        raise OutputError(f"{path} exists and is {_describe(st.st_mode)}; not replacing it")
    return path


def _nearest_existing(path: Path) -> Path:
    """The deepest existing ancestor of ``path`` (``path`` itself if it exists)."""
    p = path.absolute()
    while not os.path.lexists(p) and p != p.parent:
        p = p.parent
    return p


def _probe_folder(folder: Path, target: Path) -> None:
    """Prove ``folder`` takes a new file (permissions, read-only file system) and has room."""
    try:
        free = os.statvfs(folder)
    except OSError:
        free = None
    if free is not None and free.f_bavail * free.f_frsize < MIN_FREE_BYTES:
        raise OutputError(
            f"cannot write {target}: the disk holding {folder} is full "
            f"(less than {MIN_FREE_BYTES >> 20} MiB free)"
        )
    probe = folder / f".gradprobe-probe.{os.getpid()}-{secrets.token_hex(4)}.tmp"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600)
        try:
            _write_all(fd, b"gradprobe")
        finally:
            os.close(fd)
    except OSError as e:
        raise OutputError(f"cannot write {target}: {folder} is not writable ({_why(e)})") from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(probe)


def check_output_dir(path: str | os.PathLike[str], what: str = "output folder") -> Path:
    """Validate an output folder before any work: it is a folder (or can be created: its nearest
    existing ancestor is a writable folder), writable, and its disk is not full. Creates
    nothing (a probe file is written and removed). Returns the expanded path."""
    p = expand_path(path, what)
    existing = _nearest_existing(p)
    try:
        st = os.stat(existing)  # follows links: a link to a folder is a folder the user chose
    except OSError as e:
        raise OutputError(f"{what} {p}: cannot use {existing} ({_why(e)})") from None
    if not stat.S_ISDIR(st.st_mode):
        where = "exists and" if existing == p.absolute() else f"cannot be created: {existing}"
        raise OutputError(f"{what} {p} {where} is {_describe(st.st_mode)}, not a folder")
    _probe_folder(existing, p)
    return p


def check_output_file(
    path: str | os.PathLike[str], what: str = "output file", *, folder_ok: bool = False
) -> Path:
    """Validate an output file before any work: absent or a regular file (never a device,
    FIFO, socket or link), in a folder that exists or can be created and is writable. With
    ``folder_ok`` an existing folder is accepted too (the caller writes a file inside it)."""
    p = expand_path(path, what)
    try:
        st = os.lstat(p)
    except OSError:
        st = None
    if st is not None:
        if folder_ok and stat.S_ISDIR(st.st_mode):
            return check_output_dir(p, what)
        if not stat.S_ISREG(st.st_mode):
            raise OutputError(f"{what} {p} exists and is {_describe(st.st_mode)}; not replacing it")
    check_output_dir(p.parent if str(p.parent) else Path("."), f"folder of {what} {p}")
    return p


# -- atomic writing ------------------------------------------------------------------------------
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def _why(e: OSError) -> str:
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        return "the disk is full"
    return e.strerror or str(e)


def _default_mode() -> int:
    """0666 less the process umask: the mode `open()` would have given a new file."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def clean_stale_temporaries(path: str | os.PathLike[str], suffix: str = ".tmp") -> list[Path]:
    """Remove the temporary files a killed process left beside ``path``: ``.NAME.PID-X<suffix>``
    whose PID no longer runs, and PID-less ``.NAME.X<suffix>`` older than 15 minutes. Only
    regular files are removed; errors are ignored. Returns what was removed."""
    path = Path(path)
    prefix = f".{path.name}."
    removed: list[Path] = []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        name = entry.name
        if not (name.startswith(prefix) and name.endswith(suffix)):
            continue
        middle = name[len(prefix) : -len(suffix)]
        pid_text, dash, _ = middle.partition("-")
        try:
            st = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(st.st_mode):
                continue
            if dash and pid_text.isdigit():
                stale = not _pid_alive(int(pid_text))
            else:
                stale = now - st.st_mtime > STALE_ANONYMOUS_S
            if stale:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


def temporary_beside(path: Path, suffix: str = ".tmp") -> Path:
    """A fresh temporary name in ``path``'s folder: ``.NAME.PID-RANDOM<suffix>``."""
    return path.parent / f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}{suffix}"


def _write_atomic(path: str | os.PathLike[str], write: Callable[[int], None]) -> Path:
    """Common body: check the target, write through ``write(fd)`` to a temporary, replace."""
    path = _checked_target(expand_path(path, "output file"))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"cannot create the folder of {path}: {_why(e)}") from None
    clean_stale_temporaries(path)
    tmp = temporary_beside(path)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600)
        try:
            write(fd)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(tmp, _default_mode())  # results are meant to be shared
        _checked_target(path)  # again, just before the replace
        os.replace(tmp, path)
    except OSError as e:
        _unlink_quietly(tmp)
        raise OutputError(f"cannot write {path}: {_why(e)}") from None
    except BaseException:
        _unlink_quietly(tmp)
        raise
    return path


def _unlink_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see the module's rule); `OutputError` when the
    target is not a regular file or the write fails."""
    return _write_atomic(path, lambda fd: _write_all(fd, bytes(data)))


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """`atomic_write_bytes` of ``text`` in UTF-8."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def _plain(obj: Any) -> Any:
    """Tensors/arrays → lists, paths → str, non-finite floats → None (JSON has no NaN)."""
    if isinstance(obj, torch.Tensor) or hasattr(obj, "tolist"):
        obj = obj.tolist()
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    return obj


def to_json(obj: Any, *, indent: int | None = 2) -> str:
    """JSON text; tensors and NumPy arrays become lists, NaN and ±Inf become null."""
    import json

    return json.dumps(_plain(obj), indent=indent, ensure_ascii=False, allow_nan=False)


def write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    return atomic_write_text(path, to_json(obj) + "\n")


def read_json(path: str | os.PathLike[str]) -> Any:
    """Parse a JSON file with the limits of `gradprobe.results.load_json_limited` (size,
    nesting, no NaN, no huge integers); `DataError` on anything wrong."""
    from .results import ResultError, load_json_limited

    try:
        return load_json_limited(Path(path))
    except (ResultError, RecursionError) as e:
        raise DataError(f"cannot read JSON file {path}: {e}") from None


def write_csv(
    path: str | os.PathLike[str], header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> Path:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return atomic_write_text(path, buf.getvalue())


def save_tensors(
    path: str | os.PathLike[str], tensors: dict[str, torch.Tensor], metadata: dict[str, str]
) -> Path:
    """safetensors file, written atomically. ``metadata`` values must be strings."""
    from safetensors.torch import save

    data = save({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, metadata)
    return atomic_write_bytes(path, data)


def load_tensors(
    path: str | os.PathLike[str], *, max_bytes: int = MAX_TENSOR_FILE_BYTES
) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Tensors and metadata of a safetensors file (no pickle involved). Only a regular file of
    at most ``max_bytes`` is read; anything wrong with it is a `DataError` naming the file."""
    from safetensors.torch import load

    try:
        p = expand_path(path, "tensor file")
    except ConfigError as e:
        raise DataError(str(e)) from None
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise DataError(f"no such file: {p}") from None
    except OSError as e:
        raise DataError(f"cannot read {p}: {e.strerror or e}") from None
    if not stat.S_ISREG(st.st_mode):
        raise DataError(f"cannot read tensors from {p}: it is {_describe(st.st_mode)}")
    if st.st_size > max_bytes:
        raise DataError(f"cannot read tensors from {p}: {st.st_size} bytes is too large")
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise DataError(f"cannot read {p}: {e.strerror or e}") from None
    try:
        tensors = load(raw)
        meta = _safetensors_metadata(raw)
    except Exception as e:  # safetensors raises its own error types for corrupt headers
        raise DataError(f"cannot read tensors from {p}: {e}") from None
    return tensors, meta


def _safetensors_metadata(raw: bytes) -> dict[str, str]:
    """The ``__metadata__`` of a safetensors file's JSON header (already validated by load)."""
    import json

    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + n])
    meta = header.get("__metadata__") or {}
    if not isinstance(meta, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in meta.items()
    ):
        raise ValueError("__metadata__ is not a string → string mapping")
    return dict(meta)
