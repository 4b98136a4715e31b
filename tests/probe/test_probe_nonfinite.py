"""A NaN/Inf born in backward at layer k is reported as layer k, in the step it happened."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import gradprobe.probe as gp
from probe.probe_models import data, has, mlp, value

LINEARS = ["0", "2", "4", "6"]


def _run(k: int, bad_step: int, poison: float, steps: int = 4, every: int = 1):
    model = mlp([10, 9, 8, 7, 4], nn.Tanh)
    probe = gp.watch(model, every=every, flush_every=3)
    state = {"t": 0}

    def inject(module, args, out):
        if state["t"] == bad_step and torch.is_grad_enabled():
            out.register_hook(lambda g: g * poison)  # δ at layer k's output becomes non-finite

    h = model[int(LINEARS[k])].register_forward_hook(inject)
    for t in range(steps):
        state["t"] = t
        x, y = data(seed=t)
        F.cross_entropy(model(x), y).backward()
        probe.step()
        model.zero_grad(set_to_none=True)  # no optimiser step: parameters stay finite
    h.remove()
    probe.close()
    return probe.history, probe


@pytest.mark.parametrize("k", range(4))
def test_nan_born_at_layer_k_is_reported_as_layer_k(k):
    df, probe = _run(k, bad_step=2, poison=float("nan"))
    origin = df[df.quantity == "nonfinite_origin"]
    if k == len(LINEARS) - 1:
        # poisoning the gradient of the model's output is what a bad loss does
        assert origin[["step", "layer"]].values.tolist() == [[2, "(loss)"]]
        return
    assert origin[["step", "layer"]].values.tolist() == [[2, LINEARS[k]]]
    # it spread to the layers before k (backward visits them later), not to those after
    bad = sorted(df[(df.quantity == "nonfinite") & (df.step == 2)].layer.tolist())
    assert bad == sorted(LINEARS[: k + 1])
    for later in LINEARS[k + 1 :]:
        assert value(df, 2, later, "grad_norm") == pytest.approx(value(df, 2, later, "grad_norm"))
    assert not has(df, 1, LINEARS[k], "nonfinite")
    (finding,) = [f for f in probe.diagnose() if f.kind == "nonfinite"]
    assert finding.evidence["origin"] == LINEARS[k]
    assert finding.evidence["first_step"] == 2
    assert finding.severity == "critical"
    assert LINEARS[k] in finding.message and "step 2" in finding.message


def test_inf_is_non_finite_too_and_step_numbers_follow_every():
    df, _ = _run(1, bad_step=4, poison=float("inf"), steps=6, every=2)
    origin = df[df.quantity == "nonfinite_origin"]
    assert origin[["step", "layer"]].values.tolist() == [[4, "2"]]


def test_finite_run_has_no_nonfinite_rows():
    df, probe = _run(0, bad_step=99, poison=float("nan"))
    assert not df.quantity.isin(["nonfinite", "nonfinite_origin"]).any()
    assert all(f.kind != "nonfinite" for f in probe.diagnose())


def test_nonfinite_values_survive_csv_and_json(tmp_path):
    df, _ = _run(2, bad_step=1, poison=float("nan"))
    for suffix in (".csv", ".json", ".parquet"):
        back = gp.load_history(gp.save_history(df, tmp_path / f"h{suffix}"))
        assert back.value.isna().sum() == df.value.isna().sum() > 0
        origin = back[back.quantity == "nonfinite_origin"]
        assert origin[["step", "layer"]].values.tolist() == [[1, "4"]]


def test_nan_from_the_forward_pass_is_flagged_as_such():
    model = mlp([10, 9, 4], nn.Tanh)
    probe = gp.watch(model)
    x, y = data()
    x[0, 0] = float("nan")
    F.cross_entropy(model(x), y).backward()
    probe.step()
    (f,) = [f for f in probe.diagnose() if f.kind == "nonfinite"]
    assert f.evidence["origin"] == "(input)" and f.evidence["place"] == "input"
    assert "input" in f.message
