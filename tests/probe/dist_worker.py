"""Worker of the 2-process DDP / FSDP2 test (imported by the spawned processes)."""

from __future__ import annotations

import copy
import os
import sys

import torch
import torch.distributed as dist
from torch import nn

QUANTITIES = [
    "grad_norm",
    "grad_norm.weight",
    "grad_norm.bias",
    "grad_rms",
    "speed",
    "relative_speed",
    "param_norm",
    "update_ratio",
]


def make_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(7, 9), nn.Tanh(), nn.Linear(9, 10), nn.ReLU(), nn.Linear(10, 5)
    ).double()


def batches(steps: int = 3, n: int = 8):
    g = torch.Generator().manual_seed(1)
    return [
        (
            torch.randn(n, 7, generator=g, dtype=torch.float64),
            torch.randn(n, 5, generator=g, dtype=torch.float64),
        )
        for _ in range(steps)
    ]


def run(model: nn.Module, watched: nn.Module, shard: slice | None = None):
    """SGD on mean squared error; returns the probe's history (selected quantities)."""
    import gradprobe.probe as gp

    opt = torch.optim.SGD(model.parameters(), lr=0.3)
    probe = gp.watch(watched, flush_every=2, detail_every=1)
    for x, y in batches():
        if shard is not None:
            x, y = x[shard], y[shard]
        ((watched(x) - y) ** 2).mean().backward()
        probe.step()
        opt.step()
        opt.zero_grad()
    probe.close()
    df = probe.history
    return df[df.quantity.isin(QUANTITIES)].reset_index(drop=True)


def worker(rank: int, world: int, port: int, out: str) -> None:
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        from torch.distributed.fsdp import fully_shard
        from torch.nn.parallel import DistributedDataParallel as DDP

        n = 8 // world
        shard = slice(rank * n, (rank + 1) * n)
        base = make_model()
        ddp = DDP(copy.deepcopy(base))
        h_ddp = run(ddp, ddp, shard)

        fsdp = copy.deepcopy(base)
        for m in fsdp:
            if isinstance(m, nn.Linear):
                fully_shard(m)
        fully_shard(fsdp)
        sharded = all(type(p).__name__ == "DTensor" for p in fsdp.parameters())
        h_fsdp = run(fsdp, fsdp, shard)
        from probe.dist_preclip_worker import run_preclip

        preclip = run_preclip(rank, world)
        if rank == 0:
            torch.save({"ddp": h_ddp, "fsdp": h_fsdp, "sharded": sharded, "preclip": preclip}, out)
        dist.barrier()
    finally:
        dist.destroy_process_group()
    # Skip the interpreter's teardown (several seconds with torch loaded); all is saved.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
