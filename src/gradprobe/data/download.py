"""Fetching the four MNIST files from public mirrors into the user cache, each one verified.

A file is written to a temporary name in the destination folder and moved into place with
`os.replace` only once its uncompressed SHA-256 matches, so a failed, corrupt or interrupted
download never leaves a partial file behind.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any, NamedTuple

import platformdirs

from gradprobe.data.idx import IMAGES_MAGIC, LABELS_MAGIC, load_idx
from gradprobe.errors import DataError


class IdxFile(NamedTuple):
    """One IDX file: its name without ``.gz``, its magic number, the SHA-256 of its bytes."""

    name: str
    magic: int
    sha256: str


# The standard files; hashes of the uncompressed bytes, so any gzip wrapper is accepted.
MNIST_FILES: tuple[IdxFile, ...] = (
    IdxFile(
        "train-images-idx3-ubyte",
        IMAGES_MAGIC,
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    ),
    IdxFile(
        "train-labels-idx1-ubyte",
        LABELS_MAGIC,
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    ),
    IdxFile(
        "t10k-images-idx3-ubyte",
        IMAGES_MAGIC,
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    ),
    IdxFile(
        "t10k-labels-idx1-ubyte",
        LABELS_MAGIC,
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    ),
)

MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",  # plain http is fine: the hash is checked
)

TIMEOUT_S = 30.0
_MAX_BYTES = 64 * 2**20  # the largest file is ~10 MB; stop a runaway response early
_CHUNK = 2**16

OFFLINE_HELP = (
    "To use MNIST offline, put the four files "
    + ", ".join(f.name + ".gz" for f in MNIST_FILES)
    + " (or the same names without .gz, uncompressed) in a folder and pass --data DIR "
    "or set GRADPROBE_DATA=DIR; or pass --data bundled for the built-in 1000-image subset."
)

Opener = Callable[..., Any]  # urlopen-like: opener(url, timeout=...) -> context-managed response


def _urlopen(url: str, timeout: float) -> Any:
    """The real network access; tests replace this module attribute so they never go online."""
    return urllib.request.urlopen(url, timeout=timeout)


def cache_dir() -> Path:
    """Where downloaded MNIST lives: ``$GRADPROBE_CACHE/mnist`` when that variable is set,
    else ``platformdirs.user_cache_dir("gradprobe")/mnist``."""
    root = os.environ.get("GRADPROBE_CACHE") or platformdirs.user_cache_dir("gradprobe")
    return Path(root).expanduser() / "mnist"


def download_mnist(
    dest: str | os.PathLike[str] | None = None,
    *,
    mirrors: Sequence[str] | None = None,
    progress: bool = True,
    timeout: float = TIMEOUT_S,
    opener: Opener | None = None,
) -> Path:
    """Download the four gzip MNIST files into ``dest`` (default: `cache_dir()`) and return it.

    Files already there and intact are kept. For each missing file the ``mirrors`` (base URLs,
    default `MIRRORS`) are tried in turn until one serves bytes whose uncompressed SHA-256 is
    right. ``opener(url, timeout=...)`` defaults to `urllib.request.urlopen`. Raises one
    `DataError` listing what each mirror did, plus how to supply the files offline.
    """
    folder = Path(dest).expanduser() if dest is not None else cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"{folder}: cannot create the download folder ({exc})") from exc
    bases = tuple(mirrors) if mirrors is not None else MIRRORS
    fetch = opener if opener is not None else _urlopen
    missing = [spec for spec in MNIST_FILES if not _intact(folder / (spec.name + ".gz"), spec)]
    if not missing:
        return folder
    with _reporter(progress) as report:
        report.say(f"Downloading MNIST into {folder}")
        for spec in missing:
            good = _download_one(folder / (spec.name + ".gz"), spec, bases, fetch, timeout, report)
            bases = (good, *(b for b in bases if b != good))  # a dead mirror costs one timeout
    return folder


def _download_one(
    target: Path,
    spec: IdxFile,
    bases: Sequence[str],
    fetch: Opener,
    timeout: float,
    report: _Report,
) -> str:
    """Fetch one file from the first mirror that serves it intact; return that mirror."""
    failures = []
    for base in bases:
        url = base.rstrip("/") + "/" + target.name
        try:
            _fetch(url, target, spec, fetch, timeout, report)
            return base
        except (OSError, ValueError, http.client.HTTPException, DataError) as exc:
            failures.append(_reason(url, exc))
            report.say(failures[-1], style="yellow")
    tried = "; ".join(failures) or "no mirrors given"
    raise DataError(f"could not download {target.name} ({tried}). {OFFLINE_HELP}")


def _intact(path: Path, spec: IdxFile) -> bool:
    if not path.is_file():
        return False
    try:
        load_idx(path.read_bytes(), str(path), magic=spec.magic, sha256=spec.sha256)
    except (OSError, DataError):
        return False
    return True


def _fetch(
    url: str, target: Path, spec: IdxFile, fetch: Opener, timeout: float, report: _Report
) -> None:
    """Stream ``url`` to a temporary file beside ``target``; verify; then move it into place."""
    # A unique hidden name in the same folder, so os.replace is atomic; "xb" honours the umask.
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part")
    try:
        with open(tmp, "xb") as out, fetch(url, timeout=timeout) as response:
            _copy(response, out, url, report)
        load_idx(tmp.read_bytes(), url, magic=spec.magic, sha256=spec.sha256)
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _copy(response: IO[bytes], out: IO[bytes], url: str, report: _Report) -> None:
    headers = getattr(response, "headers", None)
    length = headers.get("Content-Length") if headers is not None else None
    total = int(length) if length and str(length).isdigit() else None
    task = report.start(total, url)
    done = 0
    while chunk := response.read(_CHUNK):
        done += len(chunk)
        if done > _MAX_BYTES:
            raise DataError(f"{url}: response larger than {_MAX_BYTES} bytes, not an MNIST file")
        out.write(chunk)
        report.advance(task, len(chunk))


def _reason(url: str, exc: BaseException) -> str:
    if isinstance(exc, DataError):
        return str(exc)  # already starts with the URL
    if isinstance(exc, urllib.error.HTTPError):
        return f"{url}: HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return f"{url}: {exc.reason}"
    return f"{url}: {type(exc).__name__}: {exc}"


class _Report:
    """Progress sink: a rich progress bar on stderr, or nothing."""

    def __init__(self, bar: Any = None) -> None:
        self._bar = bar

    def start(self, total: int | None, description: str) -> Any:
        return self._bar.add_task(description, total=total) if self._bar is not None else None

    def advance(self, task: Any, n: int) -> None:
        if self._bar is not None:
            self._bar.advance(task, n)

    def say(self, message: str, style: str | None = None) -> None:
        if self._bar is not None:
            self._bar.console.print(message, markup=False, style=style)


@contextlib.contextmanager
def _reporter(enabled: bool) -> Iterator[_Report]:
    if not enabled:
        yield _Report()
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True)) as bar:
        yield _Report(bar)
