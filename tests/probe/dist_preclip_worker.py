"""The DDP pre-clip part of the 2-process test (run by ``dist_worker.worker``).

Each rank trains a DDP model on its half of the batch, clipping by norm before
``probe.step()``; beside it, a plain copy of the model gets the same half-batch gradient,
whose all-reduced mean (``dist.all_reduce`` by hand, divided by the world size) is what
DDP's gradient must be. Rank 0 saves the probe's pre/post-clip rows and those references.
"""

from __future__ import annotations

import copy

import torch
import torch.distributed as dist
from torch import nn

from probe.dist_worker import batches, make_model

MAX_NORM = 0.05


def run_preclip(rank: int, world: int) -> dict[str, object]:
    """In an initialised gloo group: the probe's pre/post-clip rows on a DDP model and the
    references (see the module docstring)."""
    from torch.nn.parallel import DistributedDataParallel as DDP

    import gradprobe.probe as gp
    from gradprobe.probe.recorder import PREFIRST_LEARN

    n = 8 // world
    shard = slice(rank * n, (rank + 1) * n)
    base = make_model()
    ddp = DDP(copy.deepcopy(base))
    plain = copy.deepcopy(base)
    opt = torch.optim.SGD(ddp.parameters(), lr=0.3)
    probe = gp.watch(ddp, flush_every=2)
    ref_pre, ref_local, ref_post = [], [], []
    # past PREFIRST_LEARN steps: the end-of-backward callback then comes from one hook
    for x, y in batches(steps=PREFIRST_LEARN + 3):
        x, y = x[shard], y[shard]
        plain.load_state_dict(ddp.module.state_dict())
        plain.zero_grad()
        ((plain(x) - y) ** 2).mean().backward()
        local = [p.grad.detach().clone() for p in plain.parameters()]  # type: ignore[union-attr]
        ref_local.append(float(torch.linalg.vector_norm(torch.cat([g.flatten() for g in local]))))
        for g in local:  # the all-reduced (averaged) gradient, computed independently
            dist.all_reduce(g, op=dist.ReduceOp.SUM)
            g /= world
        ref_pre.append(float(torch.linalg.vector_norm(torch.cat([g.flatten() for g in local]))))
        # clip_grad_norm_'s documented scale: max_norm / (total + 1e-6), at most 1
        ref_post.append(ref_pre[-1] * min(1.0, MAX_NORM / (ref_pre[-1] + 1e-6)))

        ((ddp(x) - y) ** 2).mean().backward()
        nn.utils.clip_grad_norm_(ddp.parameters(), MAX_NORM)  # before probe.step()
        probe.step()
        opt.step()
        opt.zero_grad()
    assert probe._recorder._pa_single  # the narrowed hook served the last steps
    probe.close()
    df = probe.history
    rows = df[df.quantity.isin(["grad_norm_preclip", "grad_norm_postclip", "clipped"])]
    return {
        "rows": rows.reset_index(drop=True),
        "pre": ref_pre,
        "local": ref_local,
        "post": ref_post,
    }
