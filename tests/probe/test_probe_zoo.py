"""The diagnosis on a zoo of models: the right finding first, with its numbers, and
"no problem found" (an empty list) for healthy models."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import gradprobe.probe as gp
from probe.zoo import ZOO, run

EXPECTED_FIRST = {
    "deep-sigmoid": {"vanishing"},
    "relu-dead-layer": {"dead-relu"},
    "cnn-dead-relu": {"dead-relu"},
    "tanh-large-init": {"exploding", "saturation"},
    "resnet": None,  # healthy: no finding at all
    "transformer": None,
    "stacked-lstm": {"vanishing-through-time"},  # default 2-layer LSTM, T = 100
}


@pytest.mark.parametrize("name", list(EXPECTED_FIRST))
def test_zoo_first_finding(name):
    findings = run(name).diagnose()
    want = EXPECTED_FIRST[name]
    if want is None:
        assert findings == [], [str(f) for f in findings]
        return
    assert findings, name
    first = findings[0]
    assert first.kind in want, [str(f) for f in findings]
    assert first.severity in ("warning", "critical")
    assert first.evidence.get("confidence", 0) >= 0.6  # holds in most steps, not one batch
    for f in findings:  # every finding carries its numbers and remedies
        assert f.evidence and f.remedies and any(c.isdigit() for c in f.message)


def test_zoo_details_name_the_layers_and_numbers():
    sig = run("deep-sigmoid").diagnose()[0]
    assert sig.layers[0] == "0" and sig.evidence["ratio_first_to_last"] < 0.1
    assert "mean σ′" in sig.message and sig.evidence["mean_dsigma_over_max"]
    dead = run("relu-dead-layer").diagnose()
    assert dead[0].layers[0] == "2" and dead[0].evidence["dead_fraction"]["2"] == 1.0
    (nolearn,) = [f for f in dead if f.kind == "no-learning"]  # zero gradient: does not learn
    assert "2" in nolearn.layers and "not learn" in nolearn.message
    assert all(f.kind != "update-ratio" for f in dead)
    cnn = run("cnn-dead-relu").diagnose()[0]
    assert cnn.layers == ("2",) and cnn.evidence["dead_fraction"]["2"] == pytest.approx(7 / 8)


def test_zoo_stacked_lstm_names_each_stacked_layer_with_its_numbers():
    probe = run("stacked-lstm")
    df = probe.history
    ratios = df[df.quantity == "time_ratio"].groupby("layer").value.median().to_dict()
    assert set(ratios) == {"lstm.l0", "lstm.l1"}  # one profile per stacked layer
    found = {f.layers[0]: f for f in probe.diagnose() if f.kind == "vanishing-through-time"}
    assert set(found) == {"lstm.l0", "lstm.l1"}
    for layer, f in found.items():  # the finding is the measured median, and says so
        assert f.evidence["time_ratio"] == ratios[layer] < 1e-6
        assert f.severity == "critical" and f.evidence["steps"] == 100
        assert 0 < f.evidence["decay_per_step"] < 1 and "this stacked layer" in f.message


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("name", list(EXPECTED_FIRST))
def test_zoo_is_robust_over_seeds(name, seed):
    findings = run(name, seed=seed).diagnose()
    want = EXPECTED_FIRST[name]
    assert (findings == []) if want is None else (findings and findings[0].kind in want)


def test_what_if_says_why_on_the_deep_sigmoid_net():
    g = torch.Generator().manual_seed(5)
    model = ZOO["deep-sigmoid"][0](g)
    x, y = torch.randn(128, 32, generator=g), torch.randint(0, 10, (128,), generator=g)
    changes = ["relu", "he-init", "relu+he-init"]
    table = gp.what_if(model, (x, y), changes=changes)  # default: cross-entropy
    why = table.groupby("change").first()
    # ReLU alone on N(0, 1) weights: δ now grows toward the input, and it says so
    assert why.loc["relu", "verdict"] == "hurts" and "explodes" in why.loc["relu", "why"]
    # He initialisation on sigmoid layers: smaller w·σ′ per layer
    assert why.loc["he-init", "verdict"] == "hurts" and "w·σ′" in why.loc["he-init", "why"]
    assert why.loc["relu+he-init", "verdict"] == "helps" and "σ′" in why.loc["relu+he-init", "why"]
    # the verdict follows the measured first/last speed ratio
    for change, sub in table.groupby("change"):
        ratio0 = sub.baseline.iloc[0] / sub.baseline.iloc[-1]
        ratio1 = sub.speed.iloc[0] / sub.speed.iloc[-1]
        moved = abs(torch.tensor(ratio1).log10()) < abs(torch.tensor(ratio0).log10()) - 0.1
        assert (why.loc[change, "verdict"] == "helps") == bool(moved), change
    assert F is not None
