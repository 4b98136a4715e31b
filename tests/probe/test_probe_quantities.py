"""Every probe quantity against a plain-autograd recomputation."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import gradprobe.probe as gp
from gradprobe.errors import ConfigError
from probe.probe_models import data, has, layer_params, mlp, train, value


def _check_grad_norms(model, df, step, grads):
    """grads: {layer: {param: tensor}} from plain autograd at this step."""
    total = 0.0
    for layer, ps in grads.items():
        sq = sum(float(g.double().pow(2).sum()) for g in ps.values())
        total += sq
        assert value(df, step, layer, "grad_norm") == pytest.approx(math.sqrt(sq), rel=1e-5)
        if len(ps) > 1:
            for pn, g in ps.items():
                assert value(df, step, layer, f"grad_norm.{pn}") == pytest.approx(
                    float(g.double().norm()), rel=1e-5
                )
        n = sum(g.numel() for g in ps.values())
        assert value(df, step, layer, "grad_rms") == pytest.approx(math.sqrt(sq / n), rel=1e-5)
    assert value(df, step, "(model)", "grad_norm") == pytest.approx(math.sqrt(total), rel=1e-5)


def test_grad_norms_speed_and_relative_speed_match_autograd():
    model = mlp([10, 12, 9, 4], nn.Sigmoid)
    ref = copy.deepcopy(model)
    probe = gp.watch(model)
    x, y = data()
    F.cross_entropy(model(x), y).backward()
    probe.step()
    # independent recomputation with torch.autograd.grad on an identical copy
    lp = layer_params(ref)
    flat = [p for ps in lp.values() for p in ps.values()]
    g = torch.autograd.grad(F.cross_entropy(ref(x), y), flat)
    it = iter(g)
    grads = {layer: {pn: next(it) for pn in ps} for layer, ps in lp.items()}
    df = probe.history
    _check_grad_norms(model, df, 0, grads)
    last = float(grads["4"]["bias"].norm())
    for layer in ("0", "2", "4"):
        speed = float(grads[layer]["bias"].norm())  # ‖∂C/∂bˡ‖
        assert value(df, 0, layer, "speed") == pytest.approx(speed, rel=1e-5)
        assert value(df, 0, layer, "relative_speed") == pytest.approx(speed / last, rel=1e-5)
    # activations are not layers: their statistics are rows of the layer feeding them
    assert set(df.layer) == {"0", "2", "4", "(model)"}
    assert has(df, 0, "0", "saturation") and has(df, 0, "2", "saturation")
    probe.close()


def test_param_norm_and_update_ratio_with_adam_every_step():
    model = mlp([10, 8, 4], nn.Tanh)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    probe = gp.watch(model, detail_every=1)
    snaps = []
    for t in range(4):
        x, y = data(seed=t)
        F.cross_entropy(model(x), y).backward()
        snaps.append({k: v.detach().clone() for k, v in model.state_dict().items()})
        probe.step()
        opt.step()
        opt.zero_grad()
    df = probe.history
    for t in range(4):
        for layer in ("0", "2"):
            w = [snaps[t][f"{layer}.weight"], snaps[t][f"{layer}.bias"]]
            wn = math.sqrt(sum(float(v.double().pow(2).sum()) for v in w))
            assert value(df, t, layer, "param_norm") == pytest.approx(wn, rel=1e-5)
            if t == 0:
                assert not has(df, 0, layer, "update_ratio")
                continue
            d = [
                snaps[t][f"{layer}.{p}"] - snaps[t - 1][f"{layer}.{p}"] for p in ("weight", "bias")
            ]
            dn = math.sqrt(sum(float(v.double().pow(2).sum()) for v in d))
            assert value(df, t, layer, "update_ratio") == pytest.approx(dn / wn, rel=1e-4)


def test_every_k_records_only_those_steps_and_update_ratio_spans_one_step():
    model = mlp([10, 8, 4], nn.ReLU)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    probe = gp.watch(model, every=3, flush_every=2, detail_every=1)
    seen = []
    probe.sinks.append(lambda step, recs: seen.append((step, recs)))
    snaps = []
    for t in range(7):
        x, y = data(seed=t)
        F.cross_entropy(model(x), y).backward()
        snaps.append({k: v.detach().clone() for k, v in model.state_dict().items()})
        probe.step()
        opt.step()
        opt.zero_grad()
    df = probe.history
    assert sorted(set(df.step)) == [0, 3, 6]
    assert [s for s, _ in seen] == [0, 3, 6]
    for t in (3, 6):
        d = snaps[t]["0.weight"] - snaps[t - 1]["0.weight"]
        db = snaps[t]["0.bias"] - snaps[t - 1]["0.bias"]
        w = math.sqrt(float(snaps[t]["0.weight"].pow(2).sum() + snaps[t]["0.bias"].pow(2).sum()))
        dn = math.sqrt(float(d.pow(2).sum() + db.pow(2).sum()))
        assert value(df, t, "0", "update_ratio") == pytest.approx(dn / w, rel=1e-4)
    latest = probe.latest()
    assert latest["0"]["speed"] == pytest.approx(value(df, 6, "0", "speed"))
    assert seen[-1][1]["0"]["grad_norm"] == pytest.approx(value(df, 6, "0", "grad_norm"))


@pytest.mark.parametrize("act", [nn.Sigmoid, nn.Tanh])
def test_saturation_and_mean_dsigma_match_sigma_prime_of_z(act):
    model = mlp([10, 16, 4], act, init="normal")
    with torch.no_grad():
        model[0].weight.mul_(3)  # push z into the tails
    probe = gp.watch(model)
    x, y = data()
    F.cross_entropy(model(x), y).backward()
    probe.step()
    z = model[0](x).detach()
    if act is nn.Sigmoid:
        ds, top = torch.sigmoid(z) * (1 - torch.sigmoid(z)), 0.25  # σ′(z)
    else:
        ds, top = 1 - torch.tanh(z) ** 2, 1.0
    df = probe.history
    frac = float((ds < 0.01 * top).double().mean())
    assert 0 < frac < 1
    assert value(df, 0, "0", "saturation") == pytest.approx(frac)
    assert value(df, 0, "0", "mean_abs_activation") == pytest.approx(
        float((torch.sigmoid(z) if act is nn.Sigmoid else torch.tanh(z)).abs().double().mean()),
        rel=1e-5,
    )
    assert value(df, 0, "0", "mean_dsigma") == pytest.approx(float(ds.double().mean()), rel=1e-5)


def test_no_activation_stats_from_no_grad_forward_and_shared_module_split_by_call_site():
    class Shared(nn.Module):  # one ReLU module used after two layers
        def __init__(self):
            super().__init__()
            self.a, self.b, self.c = nn.Linear(10, 16), nn.Linear(16, 8), nn.Linear(8, 4)
            self.act = nn.ReLU()
            with torch.no_grad():
                self.a.bias[:10] = -100.0

        def forward(self, x):
            return self.c(self.act(self.b(self.act(self.a(x)))))

    model = Shared()
    probe = gp.watch(model)
    x, y = data()
    with torch.no_grad():  # evaluation passes are not counted
        model(torch.zeros(5, 10) - 100)
    F.cross_entropy(model(x), y).backward()
    probe.step()
    h1 = torch.relu(model.a(x)).detach()
    h2 = torch.relu(model.b(h1)).detach()
    # one shared ReLU module, two call sites: each counted for the layer that feeds it
    df = probe.history
    assert value(df, 0, "a", "dead_fraction") == pytest.approx(
        float((h1 <= 0).all(dim=0).double().mean())
    )
    assert value(df, 0, "b", "dead_fraction") == pytest.approx(
        float((h2 <= 0).all(dim=0).double().mean())
    )
    assert value(df, 0, "a", "dead_fraction") >= 10 / 16
    assert probe.layer_names == ["a", "b", "c"]


def test_dead_relu_fraction_matches_units_that_are_zero_for_the_whole_batch():
    model = mlp([10, 20, 4], nn.ReLU)
    with torch.no_grad():
        model[0].bias[:12] = -100.0  # 12 of 20 units dead for every input
    probe = gp.watch(model)
    x, y = data()
    F.cross_entropy(model(x), y).backward()
    probe.step()
    h = torch.relu(model[0](x)).detach()
    dead = float((h <= 0).all(dim=0).double().mean())
    assert dead >= 0.6
    assert value(probe.history, 0, "0", "dead_fraction") == pytest.approx(dead)
    # the dead units' ∂C/∂bⱼ are exactly 0
    assert float(model[0].bias.grad[:12].abs().max()) == 0.0


def test_dead_relu_on_conv_channels():
    conv = nn.Sequential(nn.Conv2d(1, 6, 3), nn.ReLU(), nn.Flatten(), nn.Linear(6 * 6 * 6, 3))
    with torch.no_grad():
        conv[0].bias[:2] = -100.0
    probe = gp.watch(conv)
    x = torch.randn(4, 1, 8, 8)
    F.cross_entropy(conv(x), torch.tensor([0, 1, 2, 0])).backward()
    probe.step()
    a = torch.relu(conv[0](x)).detach()
    dead = float((a <= 0).all(dim=3).all(dim=2).all(dim=0).double().mean())
    assert value(probe.history, 0, "0", "dead_fraction") == pytest.approx(dead)
    assert dead >= 2 / 6


def test_clipping_telemetry_before_after_and_fraction():
    model = mlp([10, 8, 4], nn.Tanh, init="normal")
    probe = gp.watch(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    befores = []
    for t, max_norm in enumerate([1e-3, 1e6, 1e-3]):
        x, y = data(seed=t)
        F.cross_entropy(model(x), y).backward()
        flat = torch.cat([p.grad.flatten() for p in model.parameters()])
        befores.append(float(flat.norm()))
        total = probe.clip_grad_norm_(max_norm)
        assert float(total) == pytest.approx(befores[-1], rel=1e-5)
        probe.step()
        opt.step()
        opt.zero_grad()
    # and the user's own torch.nn.utils.clip_grad_norm_ + record_clip
    x, y = data(seed=9)
    F.cross_entropy(model(x), y).backward()
    n = torch.nn.utils.clip_grad_norm_(model.parameters(), 1e-2)
    probe.record_clip(n)  # no threshold given: inferred from before/after
    probe.step()
    df = probe.history
    for t in range(3):
        assert value(df, t, "(model)", "grad_norm_preclip") == pytest.approx(befores[t], rel=1e-5)
    assert value(df, 0, "(model)", "grad_norm_postclip") == pytest.approx(1e-3, rel=1e-3)
    assert value(df, 1, "(model)", "grad_norm_postclip") == pytest.approx(befores[1], rel=1e-5)
    assert [value(df, t, "(model)", "clipped") for t in range(4)] == [1.0, 0.0, 1.0, 1.0]
    clipped = df[df.quantity == "clipped"].value.mean()
    assert clipped == pytest.approx(0.75)


def test_cnn_transformer_lstm_every_layer_matches_autograd():
    torch.manual_seed(0)
    cnn = nn.Sequential(
        nn.Conv2d(1, 4, 3),
        nn.ReLU(),
        nn.Conv2d(4, 4, 3),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(4 * 4 * 4, 3),
    )
    tr = nn.Sequential(
        nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=True),
        nn.Flatten(),
        nn.Linear(8 * 5, 3),
    )

    class LSTMNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(6, 7, num_layers=2, batch_first=True)
            self.head = nn.Linear(7, 3)

        def forward(self, x):
            return self.head(self.lstm(x)[0][:, -1])

    cases = [
        (cnn, torch.randn(4, 1, 8, 8)),
        (tr, torch.randn(4, 5, 8)),
        (LSTMNet(), torch.randn(4, 5, 6)),
    ]
    y = torch.tensor([0, 1, 2, 1])
    for model, x in cases:
        with gp.watch(model) as probe:
            F.cross_entropy(model(x), y).backward()
            grads = {
                layer: {pn: p.grad for pn, p in ps.items() if p.grad is not None}
                for layer, ps in layer_params(model).items()
            }
            probe.step()
        _check_grad_norms(model, probe.history, 0, grads)
        if model is tr:  # out_proj's forward never runs (MHA uses its weight directly)
            names = probe.layer_names
            assert names[-1] == "2"
            assert names.index("0.self_attn.out_proj") == names.index("0.self_attn") + 1
    df = probe.history  # the LSTM: one layer per stacked layer, its two biases one speed
    lstm = model.lstm
    assert probe.layer_names == ["lstm.l0", "lstm.l1", "head"]
    for k in (0, 1):
        b_ih, b_hh = getattr(lstm, f"bias_ih_l{k}").grad, getattr(lstm, f"bias_hh_l{k}").grad
        speed = math.sqrt(float(b_ih.pow(2).sum() + b_hh.pow(2).sum()))
        assert value(df, 0, f"lstm.l{k}", "speed") == pytest.approx(speed, rel=1e-5)


def test_frozen_tied_and_sometimes_unused_parameters():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(11, 6)
            self.frozen = nn.Linear(6, 6)
            self.branch = nn.Linear(6, 6)
            self.out = nn.Linear(6, 11, bias=False)
            self.out.weight = self.emb.weight  # tied
            for p in self.frozen.parameters():
                p.requires_grad_(False)

        def forward(self, ids, use_branch):
            h = torch.tanh(self.frozen(self.emb(ids)))
            if use_branch:
                h = h + self.branch(h)
            return self.out(h)

    net = Net()
    probe = gp.watch(net, detail_every=1)
    opt = torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=0.1)
    layers = [layer.name for layer in probe.layers]
    assert "out" not in layers  # the tied weight belongs to the first owner
    grads = []
    for t in range(3):
        ids = torch.randint(0, 11, (5,), generator=torch.Generator().manual_seed(t))
        F.cross_entropy(net(ids, t == 1), ids).backward()
        grads.append({n: p.grad.clone() for n, p in net.named_parameters() if p.grad is not None})
        probe.step()
        opt.step()
        opt.zero_grad()
    df = probe.history
    for t in range(3):
        # the tied weight: both uses accumulate into one gradient
        assert value(df, t, "emb", "grad_norm") == pytest.approx(
            float(grads[t]["emb.weight"].norm()), rel=1e-5
        )
        assert not has(df, t, "frozen", "grad_norm")
        assert has(df, t, "frozen", "param_norm")
        assert has(df, t, "branch", "grad_norm") == (t == 1)
    assert value(df, 1, "branch", "speed") == pytest.approx(
        float(grads[1]["branch.bias"].norm()), rel=1e-5
    )
    # the frozen layer never moves
    assert value(df, 2, "frozen", "update_ratio") == 0.0
    # the branch, first used in step 1, is placed where it runs: before the (tied) output
    assert probe.layer_names == ["emb", "frozen", "branch"]


def test_hooks_removed_on_close_and_context_exit_model_unchanged():
    from probe.probe_models import hook_state

    model = mlp([10, 8, 8, 4], nn.Sigmoid)
    before = hook_state(model)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    x, y = data()
    out0 = model(x).detach()
    probe = gp.watch(model)
    assert hook_state(model) != before
    train(model, probe, steps=0)
    probe.close()
    probe.close()  # idempotent
    assert hook_state(model) == before
    with pytest.raises(ConfigError):
        probe.step()
    with gp.watch(model, every=2) as p2:
        F.cross_entropy(model(x), y).backward()
        p2.step()
        model.zero_grad(set_to_none=True)
    assert p2.closed and hook_state(model) == before
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    assert torch.equal(model(x).detach(), out0)
    assert len(p2.history) > 0  # the history survives close


def test_bad_configuration_is_a_typed_error():
    model = mlp([4, 3], nn.ReLU)
    bad = ({"every": 0}, {"every": 1.5}, {"flush_every": 0}, {"sinks": [3]}, {"detail_every": 0})
    for kwargs in bad:
        with pytest.raises(ConfigError):
            gp.watch(model, **kwargs)
    with pytest.raises(ConfigError):
        gp.watch(nn.ReLU())
    with pytest.raises(ConfigError):
        gp.watch("model")  # type: ignore[arg-type]


def test_history_is_tidy_and_float64():
    model = mlp([10, 8, 4], nn.Sigmoid)
    probe = gp.watch(model)
    train(model, probe, steps=2)
    df = probe.history
    assert list(df.columns) == ["step", "layer", "quantity", "value"]
    assert df.step.dtype == np.int64 and df.value.dtype == np.float64
    assert not df.duplicated(["step", "layer", "quantity"]).any()
    assert df.attrs["gradprobe"]["order"] == ["0", "2"]


def test_detail_every_samples_weights_and_activations_update_ratio_is_one_step():
    model = mlp([10, 8, 4], nn.ReLU)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    probe = gp.watch(model, every=2, detail_every=2)  # details at steps 0, 4, 8
    snaps = []
    for t in range(9):
        x, y = data(seed=t)
        F.cross_entropy(model(x), y).backward()
        snaps.append(torch.cat([p.detach().flatten().clone() for p in model[0].parameters()]))
        probe.step()
        opt.step()
        opt.zero_grad()
    df = probe.history
    assert sorted(set(df.step)) == [0, 2, 4, 6, 8]
    assert sorted(set(df[df.quantity == "param_norm"].step)) == [0, 4, 8]
    assert sorted(set(df[df.quantity == "update_ratio"].step)) == [4, 8]
    assert sorted(set(df[df.quantity == "dead_fraction"].step)) == [0, 4, 8]
    for t in (4, 8):  # the update of the single step t−1 → t, not of t−4 → t
        expected = float((snaps[t] - snaps[t - 1]).norm() / snaps[t].norm())
        assert value(df, t, "0", "update_ratio") == pytest.approx(expected, rel=1e-4)


def test_preclip_callback_narrows_to_one_hook_and_recovers():
    """The end-of-backward callback is queued by one post-accumulate-grad hook once the same
    parameter comes first PREFIRST_LEARN times; a recorded step with gradients but no
    callback (here: that layer frozen mid-training, its gradient kept as zeros) puts every
    layer's hook back for the rest of the run, so the next steps have their pre-clip norm
    again. The pre-clip norm (read before the user's own ``clip_grad_norm_``, no
    record_clip) equals autograd's."""
    from gradprobe.probe.recorder import PREFIRST_LEARN

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 3))
    probe = gp.watch(model)
    rec = probe._recorder
    before: list[float] = []
    freeze = PREFIRST_LEARN + 2
    steps = freeze + PREFIRST_LEARN + 3
    for t in range(steps):
        if t == freeze:
            model[4].requires_grad_(False)  # its .grad stays (zeros): all gradients present
        x = torch.randn(5, 6)
        F.cross_entropy(model(x), torch.tensor([0, 1, 2, 0, 1])).backward()
        flat = torch.cat([p.grad.flatten() for p in model.parameters()])
        before.append(float(flat.norm()))
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1e-3)  # the user's own clip
        probe.step()
        model.zero_grad(set_to_none=False)
        if t == freeze - 1:
            assert rec._pa_single and len(rec._pa_handles) == 1  # the head's weight only
        if t == freeze:  # no callback in this step: every layer's hook back (the frozen
            assert not rec._pa_single and len(rec._pa_handles) == 2  # head has none)
    assert not rec._pa_single  # not narrowed again: at most one step without the callback
    df = probe.history
    for t in range(steps):
        pre = df[(df.step == t) & (df.quantity == "grad_norm_preclip")].value
        if t == freeze:  # the step without a callback has no pre-clip norm
            assert pre.empty or not np.isfinite(pre.iloc[0])
            continue
        assert float(pre.iloc[0]) == pytest.approx(before[t], rel=1e-5)
        assert value(df, t, "(model)", "grad_norm_postclip") == pytest.approx(1e-3, rel=1e-3)
