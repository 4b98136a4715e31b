"""Training checkpoints: a safetensors file with a format version, the run's configuration and a
content hash, written atomically and refused with a clear message when damaged or foreign.

Layout (format 2): tensors (parameters, momentum buffers, shuffle generators' states) plus one
metadata entry ``gradprobe.checkpoint`` holding JSON::

    {"format": 2, "net": NetConfig, "train": TrainConfig, "run": {...caller's settings...},
     "data": {"n": …, "sha256": …}, "epoch": …, "step": …, "accuracy": […], "seconds": […],
     "sha256": hex digest of every tensor (name, dtype, shape, bytes) and of this JSON without
     the digest}

Reading checks, in order: the file is a readable safetensors file (else *damaged or
truncated*), it is a gradprobe training checkpoint (else *foreign*, or *a network file*), of a
format this version reads, with an intact digest. Every failure is a `CheckpointError` naming
the file and what is wrong. No pickle is involved.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .errors import DataError
from .io import atomic_write_bytes, load_tensors

FORMAT = 2
KEY = "gradprobe.checkpoint"
_OLD_KEY = "gradprobe.train"  # format 1: no version, no digest


class CheckpointError(DataError):
    """A checkpoint file is damaged, truncated, foreign, of an unknown format or fails its
    content hash. (A checkpoint of *another configuration* raises `ConfigError` instead.)"""


@dataclass
class Checkpoint:
    """A checkpoint as read: ``meta`` is the JSON described in the module docstring."""

    path: Path
    meta: dict[str, Any]
    tensors: dict[str, torch.Tensor]


def _digest(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> str:
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        h.update(f"{name}\0{t.dtype}\0{tuple(t.shape)}\0".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    body = {k: v for k, v in meta.items() if k != "sha256"}
    h.update(json.dumps(body, sort_keys=True, separators=(",", ":")).encode())
    return h.hexdigest()


def data_fingerprint(x: torch.Tensor, labels: torch.Tensor) -> dict[str, Any]:
    """{"n", "sha256"} of training data (inputs [n, n_0] and labels [n]): a resume on other
    data is refused. Hashes the bytes as stored (float32 and float64 copies differ)."""
    h = hashlib.sha256()
    for t in (x, labels):
        t = t.detach().contiguous().cpu()
        h.update(f"{t.dtype}{tuple(t.shape)}".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return {"n": int(x.shape[0]), "sha256": h.hexdigest()}


def write_checkpoint(
    path: str | os.PathLike[str], tensors: dict[str, torch.Tensor], meta: dict[str, Any]
) -> Path:
    """Write atomically: serialised in memory first, then `gradprobe.io.atomic_write_bytes`
    (one temporary file beside ``path``, written in one call, synced, `os.replace`d). A kill at
    any moment leaves the previous checkpoint intact; the temporary file a kill can leave
    behind (empty if it struck between the file's creation and the write) is removed by the
    next run (`clean_stale_temporaries`, called by `Trainer.fit`). ``path`` must not be a
    symlink or a non-regular file."""
    from safetensors.torch import save

    plain = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    body = {**meta, "format": FORMAT}
    body["sha256"] = _digest(plain, body)
    data = save(plain, {KEY: json.dumps(body, allow_nan=False)})
    path = Path(path)
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise CheckpointError(f"checkpoint {path} exists and is not a regular file; not replaced")
    return atomic_write_bytes(path, data)


def read_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Read and verify a checkpoint; `CheckpointError` naming the file and the fault."""
    path = Path(path)
    if not path.is_file():
        what = "does not exist" if not path.exists() else "is not a regular file"
        raise CheckpointError(f"checkpoint {path} {what}")
    try:
        tensors, meta = load_tensors(path)
    except DataError as e:
        raise CheckpointError(
            f"checkpoint {path} is damaged or truncated (not a readable safetensors file: "
            f"{str(e).split(': ', 1)[-1][:200]}); delete it to start the run again"
        ) from None
    if KEY not in meta:
        if _OLD_KEY in meta:
            raise CheckpointError(
                f"checkpoint {path} has an old format (1, no version or content hash) that this "
                f"gradprobe does not resume; delete it to start the run again"
            )
        if "gradprobe.net" in meta:
            raise CheckpointError(
                f"{path} is a saved network (save_network), not a training checkpoint"
            )
        raise CheckpointError(f"{path} is not a gradprobe training checkpoint (foreign file)")
    try:
        body = json.loads(meta[KEY])
    except (json.JSONDecodeError, RecursionError):
        raise CheckpointError(f"checkpoint {path} is damaged: its metadata is not JSON") from None
    if not isinstance(body, dict):
        raise CheckpointError(f"checkpoint {path} is damaged: its metadata is not an object")
    fmt = body.get("format")
    if fmt != FORMAT:
        raise CheckpointError(
            f"checkpoint {path} has format {fmt!r}; this gradprobe reads format {FORMAT}"
        )
    if body.get("sha256") != _digest(tensors, body):
        raise CheckpointError(
            f"checkpoint {path} is damaged: its content does not match its SHA-256 digest"
        )
    for key, kind in (
        ("net", dict),
        ("train", dict),
        ("run", dict),
        ("data", dict),
        ("epoch", int),
        ("step", int),
        ("accuracy", list),
        ("seconds", list),
    ):
        if not isinstance(body.get(key), kind):
            raise CheckpointError(f"checkpoint {path} is damaged: {key!r} missing or malformed")
    return Checkpoint(path=path, meta=body, tensors=tensors)


def clean_stale_temporaries(path: str | os.PathLike[str], *, older_than: float) -> list[Path]:
    """Remove temporary files of ``path`` (``.NAME.*.tmp`` beside it, as `gradprobe.io`'s
    atomic writes name them) last modified before ``older_than`` (a `time.time()`): the
    leftovers of a run killed while writing. Returns the files removed."""
    path = Path(path)
    removed: list[Path] = []
    if not path.parent.is_dir():
        return removed
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        try:
            if tmp.is_file() and not tmp.is_symlink() and tmp.stat().st_mtime < older_than:
                tmp.unlink()
                removed.append(tmp)
        except OSError:
            pass
    return removed


PROCESS_START = time.time()
