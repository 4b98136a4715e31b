"""Correct per-layer norms under DistributedDataParallel and FSDP2 (``fully_shard``).

DDP
    DDP averages the gradients with bucketed all-reduces that finish before ``backward()``
    returns. The probe reads ``p.grad`` in ``probe.step()`` (after backward, never in
    per-parameter hooks that fire before the all-reduce), so every rank sees the averaged
    gradient: the norms equal a single process's on the combined batch. Wrap or watch either
    the DDP module or ``ddp.module``; layer names are those of the inner module.

    The pre-clip norm (``grad_norm_preclip``) is read at the end of backward, before any
    clipping. DDP's reducer waits for its all-reduces and writes the averaged gradients into
    ``.grad`` in an end-of-backward callback it queues when its *last* bucket is ready — after
    the probe's first post-accumulate-grad hook has fired. So the probe's read is queued
    through :func:`queue_after_reducers`: its callback queues the read once more, which puts it
    behind every callback queued during the backward pass, DDP's included. The pre-clip norm is
    then the norm of the all-reduced (averaged) gradient on every rank, the number
    ``clip_grad_norm_`` sees; under ``ddp.no_sync()`` (gradient accumulation) it is the rank's
    local accumulated gradient, as in ``.grad``.

FSDP2
    After ``fully_shard`` parameters and gradients are ``DTensor``s whose local tensors are
    shards. ‖θ‖² = Σ over ranks of ‖local shard‖², so the probe computes local norms, squares
    them and sums them over the shard group with **one** ``all_reduce`` per step for all
    sharded tensors (gradient, parameter and update norms together). Replicated placements
    need no reduction. Every rank must call ``probe.step()`` at the same steps (it is a
    collective when the model is sharded).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.distributed as dist

from gradprobe.probe.layers import is_dtensor
from gradprobe.probe.quantities.base import SENTINEL


@dataclass
class ShardGroup:
    """Parameters sharded the same way: their indices and the process groups to sum over."""

    index: torch.Tensor  # [k] long, indices into the probe's flat parameter list
    groups: list[object]  # torch.distributed ProcessGroups, one per sharded mesh dimension


def shard_groups(params: list[torch.nn.Parameter], device: torch.device) -> list[ShardGroup]:
    """Group the DTensor parameters by (mesh, sharded mesh dimensions)."""
    found: dict[tuple[int, tuple[int, ...]], tuple[list[int], list[object]]] = {}
    for i, p in enumerate(params):
        if not is_dtensor(p):
            continue
        mesh = p.device_mesh  # type: ignore[attr-defined]
        placements = p.placements  # type: ignore[attr-defined]
        dims = tuple(d for d, pl in enumerate(placements) if pl.is_shard())
        if not dims:
            continue
        key = (id(mesh), dims)
        if key not in found:
            found[key] = ([], [mesh.get_group(d) for d in dims])
        found[key][0].append(i)
    return [
        ShardGroup(torch.tensor(idx, dtype=torch.long, device=device), groups)
        for idx, groups in found.values()
    ]


def reduce_sharded(raw: torch.Tensor, groups: list[ShardGroup]) -> torch.Tensor:
    """Turn local-shard norms into global norms for the sharded parameters.

    ``raw`` [3, P]: rows ‖∂C/∂θ‖, ‖θ‖, ‖Δθ‖ of the local shards (SENTINEL where unmeasured).
    For each group: square, one ``all_reduce(SUM)`` per sharded mesh dimension (one in total
    for plain FSDP2), square root. Returns ``raw`` updated in place.
    """
    for g in groups:
        part = raw.index_select(1, g.index)
        missing = part == SENTINEL
        sq = torch.where(missing, torch.zeros_like(part), part * part)
        for pg in g.groups:
            dist.all_reduce(sq, op=dist.ReduceOp.SUM, group=pg)  # type: ignore[arg-type]
        raw.index_copy_(1, g.index, torch.where(missing, part, sq.sqrt()))
    return raw


def queue_after_reducers(fn: Callable[[], None]) -> None:
    """Run ``fn`` at the end of the current backward pass, after every end-of-backward callback
    queued during it (DDP's reducer finalisation: waiting for the all-reduce and writing the
    averaged gradient into ``.grad``). Call from inside a backward hook. The autograd engine
    runs its final callbacks in order and runs callbacks appended meanwhile too: queueing a
    callback that queues ``fn`` places ``fn`` after all of them."""
    engine = torch.autograd.Variable._execution_engine
    engine.queue_callback(lambda: engine.queue_callback(fn))  # type: ignore[attr-defined]
