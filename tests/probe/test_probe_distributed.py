"""Under DDP and FSDP2 rank 0's per-layer norms equal one process on the combined batch, and
under DDP the pre-clip norm is the all-reduced gradient's (one 2-process gloo run for both)."""

from __future__ import annotations

import socket

import pandas as pd
import pytest
import torch
import torch.distributed as dist

from gradprobe.probe.recorder import PREFIRST_LEARN
from probe.dist_preclip_worker import MAX_NORM

pytestmark = pytest.mark.distributed


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


needs_gloo = pytest.mark.skipif(
    not dist.is_available() or not dist.is_gloo_available(), reason="no gloo"
)


@pytest.fixture(scope="module")
def spawned(tmp_path_factory):
    """Rank 0's results of one 2-process gloo run (spawning costs seconds: once per module)."""
    import torch.multiprocessing as mp

    from probe import dist_worker

    out = tmp_path_factory.mktemp("dist") / "rank0.pt"
    mp.spawn(dist_worker.worker, args=(2, _free_port(), str(out)), nprocs=2, join=True)
    return torch.load(out, weights_only=False)


@needs_gloo
def test_ddp_and_fsdp2_norms_equal_single_process_on_combined_batch(spawned):
    from probe import dist_worker

    got = spawned
    model = dist_worker.make_model()
    ref = dist_worker.run(model, model)
    assert got["sharded"]  # FSDP2 really sharded the parameters into DTensors
    key = ["step", "layer", "quantity"]
    for name in ("ddp", "fsdp"):
        df = got[name]
        assert len(df) == len(ref) and set(df.quantity) == set(dist_worker.QUANTITIES)
        m = pd.merge(ref, df, on=key, suffixes=("_ref", "_dist"), validate="one_to_one")
        assert len(m) == len(ref)
        assert m.value_dist.to_numpy() == pytest.approx(m.value_ref.to_numpy(), rel=1e-9), name


@needs_gloo
def test_ddp_preclip_norm_is_the_all_reduced_gradients_norm(spawned):
    """Under DDP the pre-clip norm is read after the gradient all-reduce: it equals the norm
    of the averaged gradient computed independently (a plain copy's local gradient,
    all-reduced by hand), not the rank's local norm; the post-clip norm is the clipped one."""
    got = spawned["preclip"]
    rows = got["rows"]
    pre = rows[rows.quantity == "grad_norm_preclip"].sort_values("step").value.to_numpy()
    post = rows[rows.quantity == "grad_norm_postclip"].sort_values("step").value.to_numpy()
    clipped = rows[rows.quantity == "clipped"].sort_values("step").value.to_numpy()
    # steps past PREFIRST_LEARN: the last ones read through the one hook left (see the worker)
    assert len(pre) == len(got["pre"]) > PREFIRST_LEARN
    assert pre == pytest.approx(got["pre"], rel=1e-9)  # float64 model: rounding only
    assert all(abs(a - b) > 1e-6 * b for a, b in zip(pre, got["local"], strict=True))
    assert post == pytest.approx(got["post"], rel=1e-9)
    assert clipped.tolist() == [float(p > MAX_NORM) for p in got["pre"]]
    assert clipped[:3].tolist() == [1.0, 1.0, 1.0]
