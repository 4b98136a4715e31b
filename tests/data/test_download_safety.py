"""Issue 10, download safety, against real HTTP servers on 127.0.0.1: the compressed bytes are
checked before any decompression (a gzip bomb costs nothing), a dripping mirror hits the
deadline, SIGTERM and Ctrl-C leave no partial file, and every mirror's failure is reported."""

from __future__ import annotations

import contextlib
import functools
import gzip
import http.server
import os
import signal
import subprocess
import sys
import threading
import time
import tracemalloc
import urllib.request
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gradprobe.data import download, download_mnist
from gradprobe.data.download import MNIST_FILES
from gradprobe.data.idx import IMAGES_MAGIC, read_idx, sha256_hex
from gradprobe.errors import ConfigError, DataError

SRC = Path(download.__file__).resolve().parents[2]
Handler = Callable[[http.server.BaseHTTPRequestHandler], None]


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[dict[str, Handler]], str]]:
    """serve({path: handler}) → base URL of a real HTTP server on 127.0.0.1 (404 elsewhere)."""
    for var in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(routes: dict[str, Handler]) -> str:
        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                route = routes.get(self.path)
                if route is None:
                    self.send_error(404, "Not Found")
                    return
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    route(self)

            def log_message(self, *args: object) -> None:
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def body(data: bytes, length: int | None = None) -> Handler:
    def send(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", str(len(data) if length is None else length))
        h.end_headers()
        h.wfile.write(data)

    return send


def drip(data: bytes, every: float = 0.05) -> Handler:
    def send(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        for i in range(len(data)):
            h.wfile.write(data[i : i + 1])
            h.wfile.flush()
            time.sleep(every)

    return send


def gzip_bomb(n_bytes: int) -> bytes:
    """A valid gzip of n_bytes zeros (about n_bytes / 1000 compressed)."""
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(2**20)
    parts = [c.compress(zeros) for _ in range(n_bytes // len(zeros))]
    return b"".join(parts) + c.flush()


@functools.lru_cache(maxsize=1)
def bomb() -> bytes:
    return gzip_bomb(256 * 2**20)  # 256 MiB of zeros in ~250 kB


TRAIN_IMAGES = "train-images-idx3-ubyte.gz"


def test_gzip_bomb_from_a_mirror_is_never_decompressed(tmp_path: Path, serve) -> None:
    base = serve({"/" + TRAIN_IMAGES: body(bomb())})
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        with pytest.raises(DataError, match="checksum mismatch: the compressed file") as info:
            download_mnist(tmp_path, mirrors=[base], progress=False, opener=urllib.request.urlopen)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "not decompressed" in str(info.value)
    assert peak < 16 * 2**20, f"{peak} bytes allocated: something decompressed the bomb"
    assert time.perf_counter() - t0 < 10
    assert list(tmp_path.iterdir()) == []


def test_gzip_bomb_on_disk_is_stopped_at_the_cap(tmp_path: Path) -> None:
    """A bomb placed in a --data folder (or the cache): bounded decompression, DataError."""
    (tmp_path / TRAIN_IMAGES).write_bytes(bomb())
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match="decompresses to more than"):
            read_idx(tmp_path / TRAIN_IMAGES, magic=IMAGES_MAGIC, max_size=47_040_016)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 3 * 47_040_016


def test_a_huge_announced_length_is_refused_before_reading(tmp_path: Path, serve) -> None:
    base = serve({"/" + TRAIN_IMAGES: body(b"\x1f\x8b", length=10**12)})
    with pytest.raises(DataError, match="announces 1000000000000 bytes"):
        download_mnist(tmp_path, mirrors=[base], progress=False, opener=urllib.request.urlopen)
    assert list(tmp_path.iterdir()) == []


def test_a_dripping_mirror_hits_the_deadline(tmp_path: Path, serve) -> None:
    base = serve({"/" + TRAIN_IMAGES: drip(bytes(1000), every=0.05)})
    t0 = time.perf_counter()
    with pytest.raises(DataError, match="too slow"):
        download_mnist(
            tmp_path,
            mirrors=[base],
            progress=False,
            opener=urllib.request.urlopen,
            timeout=5,
            deadline=1,
        )
    assert time.perf_counter() - t0 < 4  # deadline + at most one read's wait
    assert list(tmp_path.iterdir()) == []


def test_a_silent_mirror_hits_the_read_timeout(tmp_path: Path, serve) -> None:
    def silent(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", "1000")
        h.end_headers()
        h.wfile.flush()
        time.sleep(3)

    base = serve({"/" + TRAIN_IMAGES: silent})
    t0 = time.perf_counter()
    with pytest.raises(DataError, match=r"timed out|read timeout"):
        download_mnist(
            tmp_path, mirrors=[base], progress=False, opener=urllib.request.urlopen, timeout=0.5
        )
    assert time.perf_counter() - t0 < 2.5
    assert list(tmp_path.iterdir()) == []


def test_every_mirror_failing_is_one_message_naming_each(tmp_path: Path, serve) -> None:
    wrong = serve({"/" + TRAIN_IMAGES: body(gzip.compress(b"not mnist"))})
    missing = serve({})
    dead = "http://127.0.0.1:9/"  # the discard port: nothing listens
    with pytest.raises(DataError) as info:
        download_mnist(
            tmp_path,
            mirrors=[wrong, missing, dead],
            progress=False,
            opener=urllib.request.urlopen,
            timeout=2,
        )
    message = str(info.value)
    assert "\n" not in message
    assert f"{wrong}{TRAIN_IMAGES}: checksum mismatch" in message
    assert f"{missing}{TRAIN_IMAGES}: HTTP 404" in message
    assert f"{dead}{TRAIN_IMAGES}: " in message
    assert list(tmp_path.iterdir()) == []


def test_stale_partial_files_of_a_killed_download_are_removed(tmp_path: Path, tiny, fake_web):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    stale = tmp_path / f".{TRAIN_IMAGES}.{int(dead.stdout)}-0badc0de.part"
    stale.write_bytes(b"\x1f\x8b half")
    routes = {"http://m/" + n + ".gz": tiny.gz(n) for n in tiny.files}
    download_mnist(tmp_path, mirrors=["http://m/"], progress=False, opener=fake_web(routes))
    assert not stale.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(n + ".gz" for n in tiny.files)


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("GRADPROBE_DOWNLOAD_DEADLINE", "soon"),
        ("GRADPROBE_DOWNLOAD_TIMEOUT", "-1"),
        ("GRADPROBE_DOWNLOAD_TIMEOUT", "inf"),
        ("GRADPROBE_MIRRORS", "ftp://x/"),
    ],
)
def test_bad_download_settings_are_config_errors(tmp_path, monkeypatch, var, value) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError, match=var):
        download_mnist(tmp_path, progress=False)


def test_options_come_from_the_environment(tmp_path, monkeypatch, tiny, fake_web) -> None:
    monkeypatch.setenv("GRADPROBE_MIRRORS", "http://env-mirror/")
    monkeypatch.setenv("GRADPROBE_DOWNLOAD_TIMEOUT", "7")
    seen: list[float] = []
    web = fake_web({"http://env-mirror/" + n + ".gz": tiny.gz(n) for n in tiny.files})

    def opener(url: str, timeout: float):
        seen.append(timeout)
        return web(url, timeout)

    download_mnist(tmp_path, progress=False, opener=opener)
    assert web.calls[0].startswith("http://env-mirror/") and set(seen) == {7.0}


_KILL_SCRIPT = """
import sys
from gradprobe.cli.main import main
sys.exit(main(["train", "--epochs", "1"]))
"""


@pytest.mark.slow  # two subprocesses that import torch: ~10 s each on a loaded machine
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_download_removes_the_partial_file(tmp_path: Path, serve, sig) -> None:
    base = serve({"/" + TRAIN_IMAGES: drip(bytes(5000), every=0.02)})
    cache = tmp_path / "cache"
    env = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "GRADPROBE_CACHE": str(cache),
        "GRADPROBE_MIRRORS": base,
    }
    env.pop("GRADPROBE_DATA", None)
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILL_SCRIPT],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        t0 = time.monotonic()
        while not list((cache / "mnist").glob("*.part")):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() - t0 < 60, "no partial file appeared"
            time.sleep(0.05)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == {signal.SIGTERM: 143, signal.SIGINT: 130}[sig]
    assert "Traceback" not in err and ("terminated" in err or "interrupted" in err)
    assert list((cache / "mnist").iterdir()) == []


def test_the_recorded_compressed_hashes_match_the_shared_copies(mnist_dir: Path) -> None:
    for spec in MNIST_FILES:
        raw = (mnist_dir / (spec.name + ".gz")).read_bytes()
        assert (len(raw), sha256_hex(raw)) in spec.gz
        assert len(gzip.decompress(raw)) == spec.size


def test_download_of_the_real_files_from_a_local_mirror(tmp_path: Path, serve, mnist_dir) -> None:
    routes = {"/" + s.name + ".gz": body((mnist_dir / (s.name + ".gz")).read_bytes())
              for s in MNIST_FILES}  # fmt: skip
    base = serve(routes)
    download_mnist(tmp_path, mirrors=[base], progress=False, opener=urllib.request.urlopen)
    for spec in MNIST_FILES:
        assert (tmp_path / (spec.name + ".gz")).read_bytes() == (
            mnist_dir / (spec.name + ".gz")
        ).read_bytes()
