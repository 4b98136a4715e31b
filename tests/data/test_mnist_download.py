"""download_mnist: mirror fallback, verification, and never a partial file."""

from __future__ import annotations

import functools
import http.server
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from gradprobe.data import download_mnist, load_mnist
from gradprobe.data.idx import gzip_bytes
from gradprobe.errors import DataError

A, B = "http://mirror-a/mnist/", "http://mirror-b/mnist/"


def routes(mirror: str, tiny) -> dict[str, bytes]:
    return {mirror + name + ".gz": tiny.gz(name) for name in tiny.files}


def test_second_mirror_used_when_first_fails(tmp_path: Path, tiny, fake_web) -> None:
    web = fake_web({**routes(B, tiny), A + "train-images-idx3-ubyte.gz": TimeoutError("timed out")})
    assert download_mnist(tmp_path, mirrors=[A, B], progress=False, opener=web) == tmp_path
    assert web.calls[:2] == [A + "train-images-idx3-ubyte.gz", B + "train-images-idx3-ubyte.gz"]
    assert len(web.calls) == 5  # the failing mirror is not retried for the next files
    assert len(load_mnist(tmp_path).test) == tiny.n_test


def test_bad_bytes_fall_through_to_the_next_mirror(tmp_path: Path, tiny, fake_web) -> None:
    bad = {url: b"\x1f\x8b garbage" for url in routes(A, tiny)}
    download_mnist(
        tmp_path, mirrors=[A, B], progress=False, opener=fake_web({**bad, **routes(B, tiny)})
    )
    assert len(load_mnist(tmp_path).test) == tiny.n_test


@pytest.mark.parametrize(
    ("served", "fault"),
    [
        ("other", "checksum mismatch"),
        ("html", "checksum mismatch: the compressed file has 18 bytes"),
        ("cut", "checksum mismatch: the compressed file"),
        ("404", "HTTP 404 Not Found"),
    ],
)
def test_failure_leaves_no_file(tmp_path: Path, tiny, fake_web, served: str, fault: str) -> None:
    good = tiny.files["train-images-idx3-ubyte"]
    body = {
        "other": gzip_bytes(good[:-1] + bytes([good[-1] ^ 1])),  # well-formed, other pixels
        "html": b"<html>moved</html>",
        "cut": tiny.gz("train-images-idx3-ubyte")[:-20],
        "404": urllib.error.HTTPError(A, 404, "Not Found", None, None),  # type: ignore[arg-type]
    }[served]
    web = fake_web({A + "train-images-idx3-ubyte.gz": body})
    with pytest.raises(DataError, match=f"train-images-idx3-ubyte.gz: {fault}") as info:
        download_mnist(tmp_path, mirrors=[A], progress=False, opener=web)
    assert "GRADPROBE_DATA" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_interrupted_download_leaves_no_file(tmp_path: Path, tiny, fake_web) -> None:
    data = tiny.gz("train-images-idx3-ubyte")
    web = fake_web({A + "train-images-idx3-ubyte.gz": fake_web.Response(data, fail_after=1)})
    with pytest.raises(KeyboardInterrupt):
        download_mnist(tmp_path, mirrors=[A], progress=False, opener=web)
    assert list(tmp_path.iterdir()) == []


def test_intact_files_are_not_fetched_again(tmp_path: Path, tiny, fake_web) -> None:
    tiny.write(tmp_path)
    web = fake_web({})
    download_mnist(tmp_path, mirrors=[A], progress=False, opener=web)
    assert web.calls == []


def test_progress_bar_goes_to_stderr(tmp_path: Path, tiny, fake_web, capsys) -> None:
    web = fake_web({**routes(B, tiny)})
    download_mnist(tmp_path, mirrors=[A, B], progress=True, opener=web)
    captured = capsys.readouterr()
    assert captured.out == "" and "mirror-a" in captured.err


@pytest.fixture
def local_server(tmp_path: Path, tiny) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 serving the tiny files under /mnist/."""
    root = tmp_path / "www"
    tiny.write(root / "mnist")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(root))
    )
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_real_urllib_against_local_server(tmp_path: Path, local_server: str, monkeypatch) -> None:
    for var in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    dest = tmp_path / "dest"
    mirrors = [local_server + "/absent/", local_server + "/mnist/"]  # 404, then the files
    download_mnist(dest, mirrors=mirrors, progress=False, opener=urllib.request.urlopen)
    assert sorted(p.name for p in dest.iterdir()) == sorted(
        p.name for p in (tmp_path / "www" / "mnist").iterdir()
    )
