"""The probe's cheap hot path: hooks only for detail steps, lazy history, cheap latest()."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import gradprobe.probe as gp
from probe.probe_models import data, has, hook_state, mlp, value


def _step(model, probe, t, opt=None):
    x, y = data(seed=t)
    F.cross_entropy(model(x), y).backward()
    probe.step()
    if opt is not None:
        opt.step()
    model.zero_grad(set_to_none=True)


def test_activation_hooks_are_attached_only_for_detail_forwards():
    model = mlp([10, 8, 8, 4], nn.ReLU)
    before = hook_state(model)
    probe = gp.watch(model, detail_every=3)
    attached = []

    def inner(state):  # the hooks of the modules inside (the root keeps the NaN-origin hooks)
        return [h for h in state if not h[0].startswith(".")]

    for t in range(7):
        attached.append(inner(hook_state(model)) != inner(before))  # during step t's forward
        _step(model, probe, t)
    # the forward-order hooks are gone after step 0; activation hooks at steps 0, 3, 6
    assert attached == [True, False, False, True, False, False, True]
    df = probe.history
    assert sorted(set(df[df.quantity == "dead_fraction"].step)) == [0, 3, 6]
    probe.close()
    assert hook_state(model) == before


def test_history_is_cached_and_extended_and_latest_is_the_last_step():
    model = mlp([10, 8, 4], nn.Tanh)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    probe = gp.watch(model, flush_every=3)
    for t in range(5):
        _step(model, probe, t, opt)
    first = probe.history
    assert sorted(set(first.step)) == [0, 1, 2, 3, 4]
    assert probe.history.equals(first)
    for t in range(5, 8):
        _step(model, probe, t, opt)
        latest = probe.latest()
        assert latest["0"]["speed"] == pytest.approx(value(probe.history, t, "0", "speed"))
        assert latest["(model)"]["grad_norm"] == pytest.approx(
            value(probe.history, t, "(model)", "grad_norm")
        )
    df = probe.history
    assert sorted(set(df.step)) == list(range(8))
    assert not df.duplicated(["step", "layer", "quantity"]).any()
    assert df[df.step < 5].reset_index(drop=True).equals(first)


def test_gradient_present_only_in_some_steps_and_frozen_parameters():
    model = mlp([10, 8, 8, 4], nn.Tanh)
    for p in model[2].parameters():
        p.requires_grad_(False)
    probe = gp.watch(model)
    ref = []
    for t in range(4):
        x, y = data(seed=t)
        out = model(x)
        loss = F.cross_entropy(out, y) if t != 2 else model[0].bias.sum()
        loss.backward()
        ref.append({n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None})
        probe.step()
        model.zero_grad(set_to_none=True)
    df = probe.history
    for t in range(4):
        assert not has(df, t, "2", "grad_norm")
        assert value(df, t, "0", "speed") == pytest.approx(float(ref[t]["0.bias"].norm()), rel=1e-5)
    # step 2: only layer 0's bias has a gradient; its weight gradient is None
    assert not has(df, 2, "0", "grad_norm.weight")
    assert not has(df, 2, "4", "grad_norm")
    assert value(df, 3, "4", "grad_norm.weight") == pytest.approx(
        float(ref[3]["4.weight"].norm()), rel=1e-5
    )


def test_sinks_with_close_are_closed_with_the_probe():
    class Sink:
        def __init__(self):
            self.steps, self.closed = [], False

        def __call__(self, step, recs):
            self.steps.append(step)

        def close(self):
            self.closed = True

    sink = Sink()
    model = mlp([10, 8, 4], nn.ReLU)
    with gp.watch(model, sinks=[sink], flush_every=2) as probe:
        for t in range(3):
            _step(model, probe, t)
        assert not sink.closed
    assert sink.closed and sink.steps == [0, 1, 2]


def test_nonfinite_origin_named_in_its_step_across_blocks():
    model = mlp([10, 9, 8, 4], nn.Tanh)
    probe = gp.watch(model, flush_every=4)
    for t in range(10):
        x, y = data(seed=t)
        F.cross_entropy(model(x), y).backward()
        if t == 6:
            model[2].bias.grad[0] = float("nan")
        probe.step()
        model.zero_grad(set_to_none=True)
    origin = probe.history[probe.history.quantity == "nonfinite_origin"]
    assert origin[["step", "layer"]].values.tolist() == [[6, "2"]]


def test_detail_rows_do_not_leak_into_later_blocks():
    model = mlp([10, 8, 4], nn.ReLU)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    probe = gp.watch(model, flush_every=4, detail_every=3)  # detail rows move within blocks
    for t in range(14):
        _step(model, probe, t, opt)
    df = probe.history
    for q in ("dead_fraction", "param_norm"):
        assert sorted(set(df[df.quantity == q].step)) == [0, 3, 6, 9, 12]
    assert sorted(set(df[df.quantity == "update_ratio"].step)) == [3, 6, 9, 12]
