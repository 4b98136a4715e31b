"""Diagnosis rules, history files, and counterfactual what_if."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import gradprobe.probe as gp
from gradprobe.errors import ConfigError, DataError
from gradprobe.probe.diagnose import KINDS, REMEDIES
from probe.probe_models import data, hook_state, mlp, train

DEEP = [20, 30, 30, 30, 30, 30, 30, 10]


def _kinds(findings):
    return {f.kind for f in findings}


def _deep(act, init, steps=8, lr=0.1, **kw):
    model = mlp(DEEP, act, init=init)
    probe = gp.watch(model, **kw)
    train(model, probe, steps=steps, lr=lr, d=20, classes=10)
    probe.close()
    return probe


def test_deep_sigmoid_normal_init_is_vanishing_relu_he_is_not():
    sig = _deep(nn.Sigmoid, "normal")
    findings = sig.diagnose()
    (v,) = [f for f in findings if f.kind == "vanishing"]
    assert v.severity in ("warning", "critical")
    assert "0" in v.layers and "12" not in v.layers  # first layer slow, last is the reference
    assert v.evidence["ratio_first_to_last"] < 0.1
    assert v.evidence["quantity"] == "speed"
    assert REMEDIES["relu"] in v.remedies and REMEDIES["fan-in-init"] in v.remedies
    assert set(v.evidence["median"]) == {"0", "2", "4", "6", "8", "10", "12"}

    relu = _deep(nn.ReLU, "he")
    kinds = _kinds(relu.diagnose())
    assert "vanishing" not in kinds and "exploding" not in kinds


def test_exploding_through_depth_and_over_time():
    # linear units with weights N(0, 4/n_in): ‖δ‖ doubles per layer toward the input
    model = nn.Sequential(*[nn.Linear(30, 30) for _ in range(8)])
    with torch.no_grad():
        for lin in model:
            lin.weight.normal_(0, (4 / 30) ** 0.5, generator=torch.Generator().manual_seed(0))
    probe = gp.watch(model)
    x = torch.randn(16, 30)
    (model(x) ** 2).mean().backward()
    probe.step()
    (e,) = [f for f in probe.diagnose() if f.kind == "exploding"]
    assert e.evidence["ratio_first_to_last"] > 10
    assert REMEDIES["clipping"] in e.remedies
    # over time, from a synthetic history
    steps = np.arange(40)
    df = pd.DataFrame(
        {"step": steps, "layer": "(model)", "quantity": "grad_norm", "value": 1.5**steps}
    )
    (g,) = gp.diagnose(df)
    assert g.kind == "exploding" and g.evidence["peak_step"] == 39 and g.severity == "critical"


def test_saturation_dead_relu_and_update_ratio_findings():
    sat = mlp([10, 16, 16, 4], nn.Sigmoid, init="normal")
    with torch.no_grad():
        sat[0].weight.mul_(20)
    p = gp.watch(sat)
    train(sat, p, steps=2)
    (f,) = [f for f in p.diagnose() if f.kind == "saturation"]
    assert "0" in f.layers and f.evidence["saturated_fraction"]["0"] > 0.5

    dead = mlp([10, 16, 4], nn.ReLU)
    with torch.no_grad():
        dead[0].bias.fill_(-100)
    p = gp.watch(dead)
    train(dead, p, steps=2)
    (f,) = [f for f in p.diagnose() if f.kind == "dead-relu"]
    assert f.layers == ("0",) and f.severity == "critical"

    big = mlp([10, 16, 4], nn.Tanh)
    p = gp.watch(big, detail_every=1)
    train(big, p, steps=4, lr=50.0)
    (f,) = [f for f in p.diagnose() if f.kind == "update-ratio" and f.severity != "info"]
    assert f.evidence["update_ratio"]


def test_clipping_most_steps_is_reported():
    model = mlp([10, 8, 4], nn.Tanh, init="normal")
    probe = gp.watch(model)
    for t in range(6):
        x, y = data(seed=t)
        F.cross_entropy(model(x), y).backward()
        probe.clip_grad_norm_(1e-4)
        probe.step()
        model.zero_grad()
    (f,) = [f for f in probe.diagnose() if f.kind == "exploding"]
    assert f.evidence["clipped_fraction"] == 1.0


def test_findings_are_well_formed():
    for f in _deep(nn.Sigmoid, "normal", steps=3).diagnose():
        assert f.kind in KINDS and f.severity in ("info", "warning", "critical")
        assert f.layers and f.remedies and f.message
        d = f.to_dict()
        assert d["kind"] == f.kind and isinstance(d["layers"], list)
        assert str(f).startswith(f"[{f.severity}]")


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".json"])
def test_history_roundtrip_keeps_values_order_and_diagnosis(tmp_path, suffix):
    probe = _deep(nn.Sigmoid, "normal", steps=3)
    df = probe.history
    path = probe.save(tmp_path / f"h{suffix}")
    back = gp.load_history(path)
    pd.testing.assert_frame_equal(back, df, check_exact=False, rtol=1e-12)
    assert back.attrs["gradprobe"]["order"] == df.attrs["gradprobe"]["order"]
    assert [f.to_dict() for f in gp.diagnose(back)] == [f.to_dict() for f in probe.diagnose()]


def test_bad_history_files_are_data_errors(tmp_path):
    with pytest.raises(DataError):
        gp.load_history(tmp_path / "missing.csv")
    (tmp_path / "h.txt").write_text("x")
    with pytest.raises(DataError):
        gp.load_history(tmp_path / "h.txt")
    (tmp_path / "h.csv").write_text("a,b\n1,2\n")
    with pytest.raises(DataError):
        gp.load_history(tmp_path / "h.csv")
    (tmp_path / "h.json").write_text("{not json")
    with pytest.raises(DataError):
        gp.load_history(tmp_path / "h.json")
    with pytest.raises(DataError):
        gp.diagnose(pd.DataFrame({"a": [1]}))
    # an empty history cannot support a diagnosis: said so, never "no findings"
    empty = gp.load_history(gp.save_history(probe_empty(), tmp_path / "e.csv"))
    with pytest.raises(DataError, match="empty"):
        gp.diagnose(empty)


def probe_empty():
    return gp.watch(mlp([3, 2], nn.ReLU)).history


def test_what_if_matches_a_manually_changed_copy_and_leaves_model_alone():
    model = mlp([10, 12, 12, 4], nn.Sigmoid, init="normal")
    x, y = data()
    probe = gp.watch(model)
    hooks = hook_state(model)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    table = probe.what_if(
        (x, y), changes=["relu", "cross-entropy", "relu+he-init"], loss_fn=F.cross_entropy
    )
    assert list(table.columns) == [
        *("change", "layer", "quantity", "baseline", "speed", "factor", "verdict", "why")
    ]
    assert set(table.verdict) <= {"helps", "hurts", "neutral"} and table.why.str.len().min() > 20
    assert set(table.change) == {"relu", "cross-entropy", "relu+he-init"}
    # baseline = plain autograd on the unchanged model
    F.cross_entropy(model(x), y).backward()
    base = {n: float(model[int(n)].bias.grad.norm()) for n in ("0", "2", "4")}
    model.zero_grad(set_to_none=True)
    relu = table[table.change == "relu"].set_index("layer")
    for n, b in base.items():
        assert relu.loc[n, "baseline"] == pytest.approx(b, rel=1e-5)
    # "relu" = the same weights with nn.ReLU hidden units
    ref = mlp([10, 12, 12, 4], nn.ReLU, init="normal")
    F.cross_entropy(ref(x), y).backward()
    for n in ("0", "2", "4"):
        s = float(ref[int(n)].bias.grad.norm())
        assert relu.loc[n, "speed"] == pytest.approx(s, rel=1e-5)
        assert relu.loc[n, "factor"] == pytest.approx(s / base[n], rel=1e-5)
    # the watched model is untouched: parameters, gradients, hooks, and the probe's stats
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())
    assert hook_state(model) == hooks
    assert probe.steps_taken == 0 and probe.history.empty
    with pytest.raises(ConfigError):
        probe.what_if((x, y), changes=["batchnorm"], loss_fn=F.cross_entropy)
    # an ordinary classifier: cross-entropy by default, same as passing it
    default = gp.what_if(model, (x, y), changes=["relu"])
    assert default.speed.to_numpy() == pytest.approx(relu.speed.to_numpy(), rel=1e-6)
    with pytest.raises(ConfigError, match="loss_fn"):  # a regression target: say which loss
        gp.what_if(model, (x, torch.randn(len(x), 4)))
    probe.close()


def test_what_if_on_a_book_net_uses_its_cost_and_switches_to_cross_entropy():
    from gradprobe import Network

    net = Network([12, 10, 10, 10, 5], "sigmoid", "quadratic", init="large", dtype=torch.float64)
    x = torch.rand(30, 12, dtype=torch.float64)
    y = torch.nn.functional.one_hot(torch.randint(0, 5, (30,)), 5).double()
    table = gp.what_if(net, (x, y), changes=["cross-entropy"])
    ce = Network([12, 10, 10, 10, 5], "sigmoid", "cross-entropy", init="large", dtype=torch.float64)
    ce.cost_fn(ce(x), y).backward()
    t = table.set_index("layer")
    for j in range(4):
        assert t.loc[f"layers.{j}", "speed"] == pytest.approx(
            float(ce.layers[j].bias.grad.norm()), rel=1e-9
        )
    assert (t.loc[[f"layers.{j}" for j in range(3)], "factor"] > 1).all()
    assert net.cost.name == "quadratic"
