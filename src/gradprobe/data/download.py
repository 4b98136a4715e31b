"""Fetching the four MNIST files from public mirrors into the user cache, each one verified.

What a download trusts: a list of mirrors (`MIRRORS`, or ``$GRADPROBE_MIRRORS``) and nothing
they say, only the bytes they send. Those bytes are streamed to a temporary file beside the
target, counted and hashed as they arrive: more bytes than the file has stops the transfer at
once, and the size and SHA-256 of the *compressed* file must equal a known copy's
(`IdxFile.gz`) before anything is decompressed. Decompression is then streamed with a hard cap
at the file's known size, and the IDX structure and the SHA-256 of the uncompressed bytes are
checked too. Only then is the file moved into place with `os.replace`.

Every read waits at most ``timeout`` seconds and each file has an overall ``deadline``
(options, or ``$GRADPROBE_DOWNLOAD_TIMEOUT`` / ``$GRADPROBE_DOWNLOAD_DEADLINE``), so a mirror
that drips a byte a second cannot hang the program. Ctrl-C and SIGTERM remove the partial file
(`download_mnist` turns SIGTERM into `gradprobe.errors.Terminated` while it runs, unless the
program already handles the signal), and partial files of a killed process are removed on the
next download. When every mirror fails, one `DataError` says what each one did.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import math
import os
import signal
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any, NamedTuple

import platformdirs

from gradprobe.data.idx import IMAGES_MAGIC, LABELS_MAGIC, load_idx
from gradprobe.errors import ConfigError, DataError, Terminated
from gradprobe.io import clean_stale_temporaries, expand_path, temporary_beside


class IdxFile(NamedTuple):
    """One IDX file: its name without ``.gz``, its magic number, the SHA-256 of its
    uncompressed bytes, their length ``size``, and ``gz``: the (size, SHA-256) of each known
    gzip copy of it (a download must match one before it is decompressed)."""

    name: str
    magic: int
    sha256: str
    size: int | None = None
    gz: tuple[tuple[int, str], ...] = ()


# The standard files. Uncompressed: length and SHA-256 of the IDX bytes. Compressed: the files
# the mirrors serve (sizes and SHA-256 as published by the TensorFlow Datasets checksums and
# torchvision), and the re-compressed copies of the project's offline data folder
# (shared/data/mnist, computed from those files; same uncompressed bytes).
MNIST_FILES: tuple[IdxFile, ...] = (
    IdxFile(
        "train-images-idx3-ubyte",
        IMAGES_MAGIC,
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        47_040_016,
        (
            (9_912_422, "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
            (9_630_634, "db8f937d487057fb14a9f0fbe97f0bc8d311ab41b750d41e1ff37c43b9e55e19"),
        ),
    ),
    IdxFile(
        "train-labels-idx1-ubyte",
        LABELS_MAGIC,
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        60_008,
        (
            (28_881, "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
            (28_902, "51fc562b6747b666fbf6e84ce29d43c3cb5f9c388c664d43b33f02095313405a"),
        ),
    ),
    IdxFile(
        "t10k-images-idx3-ubyte",
        IMAGES_MAGIC,
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        7_840_016,
        (
            (1_648_877, "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
            (1_602_073, "cfeddb84311ecf044fc6a5b0f6ee8a24d265d4e83e388400186eb114082f4209"),
        ),
    ),
    IdxFile(
        "t10k-labels-idx1-ubyte",
        LABELS_MAGIC,
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        10_008,
        (
            (4_542, "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
            (4_540, "e41c74e484045d39b462a7790a4af51301bd9b0b24f0154798d713ec68c45920"),
        ),
    ),
)

MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",  # plain http is fine: the hash is checked
)

TIMEOUT_S = 30.0  # one read (and the connection) may wait this long
DEADLINE_S = 600.0  # one whole file may take this long
_MAX_BYTES = 64 * 2**20  # without a known size: stop a runaway response here
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
    try:
        return expand_path(root, "GRADPROBE_CACHE") / "mnist"
    except ConfigError as e:
        raise DataError(str(e)) from None


def _env_seconds(name: str, default: float) -> float:
    text = os.environ.get(name)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 < value <= 86_400):
        raise ConfigError(f"{name}={text[:40]!r}: expected seconds, a number in (0, 86400]")
    return value


def _env_mirrors() -> tuple[str, ...] | None:
    text = os.environ.get("GRADPROBE_MIRRORS")
    if not text:
        return None
    bases = tuple(b.strip() for b in text.split(",") if b.strip())
    bad = [b for b in bases if not b.startswith(("http://", "https://"))]
    if bad or not bases:
        raise ConfigError(
            f"GRADPROBE_MIRRORS: expected http(s) URLs, comma-separated; got {text[:200]!r}"
        )
    return bases


def download_mnist(
    dest: str | os.PathLike[str] | None = None,
    *,
    mirrors: Sequence[str] | None = None,
    progress: bool = True,
    timeout: float | None = None,
    deadline: float | None = None,
    opener: Opener | None = None,
) -> Path:
    """Download the four gzip MNIST files into ``dest`` (default: `cache_dir()`) and return it.

    Files already there and intact are kept. For each missing file the ``mirrors`` (base URLs;
    default ``$GRADPROBE_MIRRORS``, comma-separated, else `MIRRORS`) are tried in turn until one
    serves the right bytes (see the module's docstring). ``timeout``: seconds one read may wait
    (default ``$GRADPROBE_DOWNLOAD_TIMEOUT`` or 30); ``deadline``: seconds one file may take
    from one mirror (default ``$GRADPROBE_DOWNLOAD_DEADLINE`` or 600).
    ``opener(url, timeout=...)`` defaults to `urllib.request.urlopen`. Raises one `DataError`
    listing what each mirror did, plus how to supply the files offline.
    """
    if timeout is None:
        timeout = _env_seconds("GRADPROBE_DOWNLOAD_TIMEOUT", TIMEOUT_S)
    if deadline is None:
        deadline = _env_seconds("GRADPROBE_DOWNLOAD_DEADLINE", DEADLINE_S)
    for what, value in (("timeout", timeout), ("deadline", deadline)):
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            raise ConfigError(f"download {what} must be a positive number of seconds, not {value}")
    if dest is not None:
        try:
            folder = expand_path(dest, "download folder")
        except ConfigError as e:
            raise DataError(str(e)) from None
    else:
        folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"{folder}: cannot create the download folder ({exc})") from exc
    bases = tuple(mirrors) if mirrors is not None else _env_mirrors() or MIRRORS
    fetch = opener if opener is not None else _urlopen
    missing = [spec for spec in MNIST_FILES if not _intact(folder / (spec.name + ".gz"), spec)]
    if not missing:
        return folder
    with _sigterm_raises(), _reporter(progress) as report:
        report.say(f"Downloading MNIST into {folder}")
        for spec in missing:
            target = folder / (spec.name + ".gz")
            clean_stale_temporaries(target, suffix=".part")
            good = _download_one(target, spec, bases, fetch, timeout, deadline, report)
            bases = (good, *(b for b in bases if b != good))  # a dead mirror costs one timeout
    return folder


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    """SIGTERM raises `Terminated` (so partial files are removed) while downloading, when the
    signal still has its default action and this is the main thread; otherwise nothing."""
    if threading.current_thread() is not threading.main_thread() or (
        signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    ):
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise Terminated(f"signal {signum}")

    signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _download_one(
    target: Path,
    spec: IdxFile,
    bases: Sequence[str],
    fetch: Opener,
    timeout: float,
    deadline: float,
    report: _Report,
) -> str:
    """Fetch one file from the first mirror that serves it intact; return that mirror."""
    failures = []
    for base in bases:
        url = base.rstrip("/") + "/" + target.name
        try:
            _fetch(url, target, spec, fetch, timeout, deadline, report)
            return base
        except (OSError, ValueError, http.client.HTTPException, DataError) as exc:
            failures.append(_reason(url, exc))
            report.say(failures[-1], style="yellow")
    tried = "; ".join(failures) or "no mirrors given"
    raise DataError(f"could not download {target.name} ({tried}). {OFFLINE_HELP}")


def _intact(path: Path, spec: IdxFile) -> bool:
    try:
        if not path.is_file() or path.is_symlink():
            return False
        load_idx(
            path.read_bytes(),
            str(path),
            magic=spec.magic,
            sha256=spec.sha256,
            max_size=spec.size or _MAX_BYTES,
        )
    except (OSError, DataError):
        return False
    return True


def _fetch(
    url: str,
    target: Path,
    spec: IdxFile,
    fetch: Opener,
    timeout: float,
    deadline: float,
    report: _Report,
) -> None:
    """Stream ``url`` to a temporary file beside ``target``; verify; then move it into place."""
    tmp = temporary_beside(target, ".part")  # same folder, so os.replace is atomic
    limit = max((size for size, _ in spec.gz), default=_MAX_BYTES)
    try:
        end = time.monotonic() + deadline
        with open(tmp, "xb") as out, fetch(url, timeout=min(timeout, deadline)) as response:
            size, digest = _copy(response, out, url, report, limit=limit, end=end)
        if spec.gz and (size, digest) not in spec.gz:
            sizes = " or ".join(str(n) for n, _ in spec.gz)
            raise DataError(
                f"{url}: checksum mismatch: the compressed file has {size} bytes and SHA-256 "
                f"{digest}, no known copy of {target.name} ({sizes} bytes); not decompressed"
            )
        load_idx(
            tmp.read_bytes(), url, magic=spec.magic, sha256=spec.sha256, max_size=spec.size or limit
        )
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _copy(
    response: IO[bytes], out: IO[bytes], url: str, report: _Report, *, limit: int, end: float
) -> tuple[int, str]:
    """Copy the body, hashing it; stop past ``limit`` bytes or the monotonic time ``end``.
    Returns (bytes, SHA-256 hex)."""
    headers = getattr(response, "headers", None)
    length = headers.get("Content-Length") if headers is not None else None
    total = int(length) if length and str(length).isdigit() and len(str(length)) < 19 else None
    if total is not None and total > limit:
        raise DataError(f"{url}: announces {total} bytes, more than the file has ({limit})")
    # read1 returns what one read of the socket gives, so a dripping server cannot keep a
    # single call busy past the deadline (read(n) would wait for all n bytes).
    read = getattr(response, "read1", None) or response.read
    task = report.start(total, url)
    h = hashlib.sha256()
    done = 0
    while True:
        if time.monotonic() > end:
            raise DataError(f"{url}: too slow: the file took longer than its deadline; stopped")
        chunk = read(_CHUNK)
        if not chunk:
            break
        done += len(chunk)
        if done > limit:
            raise DataError(f"{url}: response larger than {limit} bytes, not this MNIST file")
        h.update(chunk)
        out.write(chunk)
        report.advance(task, len(chunk))
    return done, h.hexdigest()


def _reason(url: str, exc: BaseException) -> str:
    if isinstance(exc, DataError):
        return str(exc)  # already starts with the URL
    if isinstance(exc, urllib.error.HTTPError):
        return f"{url}: HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return f"{url}: {exc.reason}"
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return f"{url}: no data for the read timeout ({exc or 'timed out'})"
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
