"""Where load_mnist looks: explicit path > GRADPROBE_DATA > cache > download > one clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from gradprobe.data import cache_dir, download_mnist, find_mnist, load_data, load_mnist
from gradprobe.data.download import MIRRORS
from gradprobe.errors import DataError

OFFLINE_HINTS = (
    "train-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
    "--data DIR",
    "GRADPROBE_DATA",
)


def serve_from(mirror: str, tiny) -> dict[str, bytes]:
    return {mirror + name + ".gz": tiny.gz(name) for name in tiny.files}


def test_cache_dir_follows_gradprobe_cache(offline: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert cache_dir() == offline
    monkeypatch.delenv("GRADPROBE_CACHE")
    assert cache_dir().name == "mnist" and "gradprobe" in str(cache_dir()).lower()


def test_explicit_beats_env_beats_cache(tmp_path: Path, offline: Path, tiny, monkeypatch) -> None:
    explicit, env = tiny.write(tmp_path / "explicit"), tiny.write(tmp_path / "env")
    tiny.write(offline)
    assert find_mnist() == offline
    monkeypatch.setenv("GRADPROBE_DATA", str(env))
    assert find_mnist() == env and load_mnist().source == str(env)
    assert find_mnist(explicit) == explicit and load_mnist(explicit).source == str(explicit)


def test_cache_used_without_network(offline: Path, tiny) -> None:
    tiny.write(offline)
    assert load_mnist().source == str(offline)


def test_incomplete_explicit_folder_is_an_error_not_a_fallback(tmp_path: Path, tiny) -> None:
    folder = tiny.write(tmp_path)
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match=r"missing file t10k-labels-idx1-ubyte\.gz"):
        load_mnist(folder)
    with pytest.raises(DataError, match="not a folder"):
        find_mnist(tmp_path / "absent")


def test_incomplete_env_folder_is_an_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("GRADPROBE_DATA", str(tmp_path))
    with pytest.raises(DataError, match=r"GRADPROBE_DATA folder .* missing files train-images"):
        load_mnist()


def test_nothing_found_and_no_download(offline: Path) -> None:
    assert find_mnist() is None
    with pytest.raises(DataError) as info:
        load_mnist(download=False)
    assert all(hint in str(info.value) for hint in OFFLINE_HINTS)
    assert "\n" not in str(info.value)  # the CLI prints it as one line


def test_download_into_cache(offline: Path, tiny, fake_web, monkeypatch) -> None:
    web = fake_web(serve_from(MIRRORS[0], tiny))
    monkeypatch.setattr("gradprobe.data.download._urlopen", web)
    data = load_mnist()
    assert data.source == str(offline) and len(data.test) == tiny.n_test
    assert sorted(p.name for p in offline.iterdir()) == sorted(n + ".gz" for n in tiny.files)
    assert len(web.calls) == 4
    load_mnist()  # now from the cache
    assert len(web.calls) == 4


def test_all_mirrors_down_is_one_clear_error(offline: Path, tiny, fake_web, monkeypatch) -> None:
    monkeypatch.setattr("gradprobe.data.download._urlopen", fake_web({}))
    with pytest.raises(DataError) as info:
        load_mnist()
    message = str(info.value)
    assert message.startswith("could not download train-images-idx3-ubyte.gz")
    assert all(m in message for m in MIRRORS) and all(h in message for h in OFFLINE_HINTS)
    assert not any(offline.iterdir())


def test_damaged_cache_copy_is_replaced(offline: Path, tiny, fake_web, monkeypatch) -> None:
    tiny.write(offline, replace={"train-labels-idx1-ubyte.gz": b"junk"})
    web = fake_web(serve_from(MIRRORS[0], tiny))
    monkeypatch.setattr("gradprobe.data.download._urlopen", web)
    assert len(load_mnist().training) == 10
    assert web.calls == [MIRRORS[0] + "train-labels-idx1-ubyte.gz"]
    with pytest.raises(DataError, match="not a gzip"):  # but a user's folder is only reported
        load_mnist(
            tiny.write(offline.parent / "mine", replace={"train-labels-idx1-ubyte.gz": b"junk"})
        )


def test_load_data_specs(tmp_path: Path, tiny) -> None:
    assert load_data("bundled").validation is None
    assert load_data(tiny.write(tmp_path)).source == str(tmp_path)
    assert load_data(str(tmp_path)).source == str(tmp_path)
    with pytest.raises(DataError, match="download disabled"):
        load_data(None, download=False)


def test_download_mnist_default_destination(offline: Path, tiny, fake_web) -> None:
    web = fake_web(serve_from("http://m/", tiny))
    assert download_mnist(mirrors=["http://m"], progress=False, opener=web) == offline


def test_unknown_home_folder_is_a_data_error(monkeypatch) -> None:
    """Issue 10: `~nosuchuser/x` ended in a RuntimeError traceback."""
    from gradprobe.data import find_mnist
    from gradprobe.errors import DataError

    with pytest.raises(DataError, match="nosuchuser"):
        find_mnist("~nosuchuser/mnist")
    monkeypatch.setenv("GRADPROBE_DATA", "~nosuchuser/mnist")
    with pytest.raises(DataError, match="nosuchuser"):
        find_mnist()
