"""On a GPU, probe.step() (and the activation hooks) never synchronise with the host."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import gradprobe.probe as gp

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@cuda
def test_step_has_no_host_device_sync_and_matches_autograd():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(64, 64), nn.Sigmoid(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10)
    ).cuda()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    probe = gp.watch(model, flush_every=8, detail_every=2)
    x = torch.randn(32, 64, device="cuda")
    y = torch.randint(0, 10, (32,), device="cuda")
    grads = []
    for t in range(6):  # fewer than flush_every: nothing is fetched inside the loop
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        grads.append(float(model[0].bias.grad.norm()))  # reference (syncs: outside the check)
        torch.cuda.set_sync_debug_mode("error")
        try:
            probe.clip_grad_norm_(1e9)
            probe.step()
        finally:
            torch.cuda.set_sync_debug_mode(0)
        opt.step()
        opt.zero_grad()
        if t % 2 == 0:  # forward of a detail step runs the hooks under the check too
            torch.cuda.set_sync_debug_mode("error")
            try:
                model(x)
            finally:
                torch.cuda.set_sync_debug_mode(0)
    df = probe.history
    speed = df[(df.layer == "0") & (df.quantity == "speed")].value.tolist()
    assert speed == pytest.approx(grads, rel=1e-5)
    probe.close()
