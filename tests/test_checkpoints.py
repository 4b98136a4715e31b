"""Training checkpoints: versioned, hashed, refused with a clear message when damaged, foreign or
of another run; a kill while writing never leaves a broken checkpoint or a lasting temp file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from gradprobe import ConfigError, Network, TrainConfig, save_network, train
from gradprobe.checkpoints import (
    FORMAT,
    KEY,
    CheckpointError,
    clean_stale_temporaries,
    read_checkpoint,
    write_checkpoint,
)
from gradprobe.errors import DataError

SRC = Path(__file__).resolve().parents[1] / "src"


def _data(n=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 6, generator=g, dtype=torch.float64), torch.randint(
        0, 3, (n,), generator=g
    )


def _net(sizes=(6, 5, 3), **kw):
    return Network(list(sizes), seeds=2, dtype=torch.float64, **kw)


CFG = TrainConfig(epochs=1, batch_size=10, eta=0.3, momentum=0.5)


@pytest.fixture()
def ckpt(tmp_path):
    path = tmp_path / "ck.safetensors"
    train(_net(), _data(), CFG, checkpoint=path, run_config={"data": "bundled"})
    return path


def _resume(path, net=None, data=None, cfg=None, run_config=None):
    return train(
        net or _net(),
        data or _data(),
        cfg or TrainConfig(epochs=2, batch_size=10, eta=0.3, momentum=0.5),
        checkpoint=path,
        resume=True,
        run_config={"data": "bundled"} if run_config is None else run_config,
    )


def test_checkpoint_has_version_config_and_hash(ckpt):
    meta = read_checkpoint(ckpt).meta
    assert meta["format"] == FORMAT and len(meta["sha256"]) == 64
    assert meta["net"]["sizes"] == [6, 5, 3] and meta["train"]["eta"] == 0.3
    assert meta["run"] == {"data": "bundled"} and meta["data"]["n"] == 40
    assert _resume(ckpt).epochs == 2


def test_flipped_byte_is_refused(ckpt):
    raw = bytearray(ckpt.read_bytes())
    raw[-5] ^= 0xFF  # inside the last tensor's data
    ckpt.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match=r"ck\.safetensors.*SHA-256"):
        _resume(ckpt)


def test_truncated_file_is_refused(ckpt):
    ckpt.write_bytes(ckpt.read_bytes()[: ckpt.stat().st_size // 2])
    with pytest.raises(CheckpointError, match=r"ck\.safetensors.*damaged or truncated"):
        _resume(ckpt)


@pytest.mark.parametrize("content", [b"", b"garbage", b"\xff" * 64])
def test_foreign_bytes_are_refused(ckpt, content):
    ckpt.write_bytes(content)
    with pytest.raises(CheckpointError, match=r"ck\.safetensors"):
        _resume(ckpt)


def test_network_file_and_foreign_safetensors_are_refused(tmp_path):
    net_file = tmp_path / "net.safetensors"
    save_network(_net(), net_file)
    with pytest.raises(CheckpointError, match="saved network"):
        _resume(net_file)
    other = tmp_path / "other.safetensors"
    save_file({"x": torch.zeros(2)}, str(other), {"model": "bert"})
    with pytest.raises(CheckpointError, match="foreign"):
        _resume(other)


def test_old_and_future_formats_are_refused(ckpt, tmp_path):
    old = tmp_path / "old.safetensors"
    save_file({"x": torch.zeros(2)}, str(old), {"gradprobe.train": "{}"})
    with pytest.raises(CheckpointError, match="old format"):
        _resume(old)
    ck = read_checkpoint(ckpt)
    future = tmp_path / "future.safetensors"
    save_file(ck.tensors, str(future), {KEY: json.dumps({**ck.meta, "format": 99})})
    with pytest.raises(CheckpointError, match="format 99"):
        _resume(future)
    bad_json = tmp_path / "badjson.safetensors"
    save_file(ck.tensors, str(bad_json), {KEY: "{not json"})
    with pytest.raises(CheckpointError, match="not JSON"):
        _resume(bad_json)


def test_checkpoint_errors_are_data_errors(ckpt):
    """The CLI turns DataError into one line and exit code 2."""
    ckpt.write_bytes(b"x")
    with pytest.raises(DataError):
        _resume(ckpt)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (dict(net=_net(sizes=(6, 4, 3))), "sizes"),
        (dict(net=_net(activation="tanh")), "activation"),
        (dict(net=_net(seed=5)), "seed"),
        (dict(data=_data(seed=1)), "other contents"),
        (dict(data=_data(n=30)), "30 now"),
        (dict(cfg=TrainConfig(epochs=2, batch_size=5, eta=0.3, momentum=0.5)), "batch_size"),
        (dict(run_config={"data": "/some/folder"}), "data"),
    ],
)
def test_other_run_is_refused_naming_what_differs(ckpt, change, words):
    with pytest.raises(ConfigError, match=words) as e:
        _resume(ckpt, **change)
    assert "ck.safetensors" in str(e.value)


def test_fewer_epochs_than_done_is_refused(tmp_path):
    path = tmp_path / "ck.safetensors"
    train(_net(), _data(), TrainConfig(epochs=2, batch_size=10), checkpoint=path)
    with pytest.raises(ConfigError, match="already 2 epochs"):
        train(_net(), _data(), TrainConfig(epochs=1, batch_size=10), checkpoint=path, resume=True)


def test_stale_temporaries_are_removed_by_the_next_run(tmp_path):
    path = tmp_path / "ck.safetensors"
    stale = tmp_path / ".ck.safetensors.abc123.tmp"
    stale.write_bytes(b"")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    fresh = tmp_path / ".ck.safetensors.new.tmp"  # a concurrent writer's: younger than us
    fresh.write_bytes(b"")
    unrelated = tmp_path / ".other.tmp"
    unrelated.write_bytes(b"")
    os.utime(unrelated, (time.time() - 3600, time.time() - 3600))
    train(_net(), _data(), CFG, checkpoint=path)
    assert not stale.exists() and fresh.exists() and unrelated.exists()
    assert clean_stale_temporaries(path, older_than=time.time() + 10) == [fresh]


def test_checkpoint_path_that_is_not_a_regular_file_is_not_replaced(tmp_path):
    target = tmp_path / "keep.txt"
    target.write_text("precious")
    link = tmp_path / "ck.safetensors"
    link.symlink_to(target)
    with pytest.raises(CheckpointError, match="not a regular file"):
        train(_net(), _data(), CFG, checkpoint=link)
    assert target.read_text() == "precious" and link.is_symlink()


_WRITER = """
import sys, torch
sys.path.insert(0, {src!r})
from gradprobe.checkpoints import write_checkpoint
meta = dict(net={{}}, train={{}}, run={{}}, data={{}}, epoch=0, step=0, accuracy=[], seconds=[])
t = {{"w": torch.zeros(300_000)}}
i = 0
while True:
    i += 1
    t["w"].fill_(i)
    write_checkpoint({path!r}, t, {{**meta, "step": i}})
    if i == 1:
        print("wrote", flush=True)
"""


@pytest.mark.slow
def test_kill_during_checkpointing_leaves_a_valid_checkpoint(tmp_path):
    """kill -9 at varied moments of a loop of checkpoint writes (another process): the
    checkpoint is always complete and verifies, and what the kills left behind is removed by
    the next run."""
    path = tmp_path / "ck.safetensors"
    code = _WRITER.format(src=str(SRC), path=str(path))
    for k in range(3):
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"wrote"
        time.sleep(0.05 + 0.04 * k)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        ck = read_checkpoint(path)
        assert float(ck.tensors["w"][0]) == ck.meta["step"] >= 1
    clean_stale_temporaries(path, older_than=time.time() + 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck.safetensors"]


def test_interrupted_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    """An exception (Ctrl-C) during the write: the previous checkpoint is intact and no
    temporary file is left."""
    import gradprobe.io

    path = tmp_path / "ck.safetensors"
    meta = dict(net={}, train={}, run={}, data={}, epoch=0, step=1, accuracy=[], seconds=[])
    write_checkpoint(path, {"w": torch.ones(10)}, meta)

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(gradprobe.io.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_checkpoint(path, {"w": torch.zeros(10)}, {**meta, "step": 2})
    monkeypatch.undo()
    ck = read_checkpoint(path)
    assert ck.meta["step"] == 1 and float(ck.tensors["w"][0]) == 1.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck.safetensors"]
