"""The probe on a ``torch.compile``'d model: hooks installed once, no recompiles after the
warm-up, activation statistics kept at every detail step and equal to the eager probe's."""

from __future__ import annotations

import copy

import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import gradprobe.probe as gp
from probe.probe_models import data


def _model() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(10, 16), nn.Tanh(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 4)
    )


def _train(model, probe, steps, graphs=None):
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for t in range(steps):
        x, y = data(seed=t)
        F.cross_entropy(model(x), y).backward()
        probe.step()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if graphs is not None:
            from torch._dynamo.utils import counters

            graphs.append(int(counters["stats"]["unique_graphs"]))


@pytest.mark.slow
def test_compiled_model_keeps_activation_statistics_without_recompiles():
    torch._dynamo.reset()
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        eager = _model()
        inner = copy.deepcopy(eager)
        compiled = torch.compile(inner, backend="eager")
        ref = gp.watch(eager, detail_every=4)
        with pytest.warns(UserWarning, match="installed once"):
            probe = gp.watch(compiled, detail_every=4)
        graphs: list[int] = []
        _train(eager, ref, 13)
        _train(compiled, probe, 13, graphs)
        # warm-up: the first detail and ordinary steps; then no new graph (no recompile)
        assert graphs[2] >= 1
        assert graphs[-1] == graphs[2], graphs
        df, want = probe.history, ref.history
        for q in ("tanh_saturation", "mean_dsigma", "dead_fraction", "update_ratio"):
            assert sorted(set(df[df.quantity == q].step)) == sorted(
                set(want[want.quantity == q].step)
            ), q
        assert sorted(set(df[df.quantity == "dead_fraction"].step)) == [0, 4, 8, 12]
        key = ["step", "layer", "quantity"]
        merged = pd.merge(df, want, on=key, suffixes=("", "_eager"), validate="one_to_one")
        assert len(merged) == len(want) == len(df)
        # float32 kernels in a different order: relative 1e-4
        assert merged.value.to_numpy() == pytest.approx(
            merged.value_eager.to_numpy(), rel=1e-4, abs=1e-7
        )
        probe.close()
        ref.close()
    finally:
        torch.set_num_threads(n)
        torch._dynamo.reset()
