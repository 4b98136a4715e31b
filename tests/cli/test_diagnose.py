"""``gradprobe diagnose HISTORY_FILE [--json]`` on saved probe histories."""

from __future__ import annotations

import itertools
import json

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import gradprobe.probe as gp
from gradprobe.cli.main import main


def _history(tmp_path, suffix: str, vanishing: bool = True):
    g = torch.Generator().manual_seed(0)
    sizes = [20, 30, 30, 30, 30, 30, 30, 10]
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        lin = nn.Linear(a, b)
        with torch.no_grad():
            std = 1.0 if vanishing else (2 / a) ** 0.5
            lin.weight.copy_(torch.randn(b, a, generator=g) * std)
            lin.bias.copy_(torch.randn(b, generator=g) if vanishing else torch.zeros(b))
        layers.append(lin)
        if i < len(sizes) - 2:
            layers.append(nn.Sigmoid() if vanishing else nn.ReLU())
    model = nn.Sequential(*layers)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    with gp.watch(model) as probe:
        for _t in range(3):
            x = torch.randn(32, 20, generator=g)
            y = torch.randint(0, 10, (32,), generator=g)
            F.cross_entropy(model(x), y).backward()
            probe.step()
            opt.step()
            opt.zero_grad()
    return probe.save(tmp_path / f"history{suffix}")


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".json"])
def test_diagnose_prints_vanishing_with_remedies(tmp_path, capsys, suffix):
    path = _history(tmp_path, suffix)
    assert main(["diagnose", str(path)]) == 0
    out = capsys.readouterr().out
    assert "vanishing" in out and "ReLU" in out and "3 recorded steps" in out


def test_diagnose_json_and_fail_on(tmp_path, capsys):
    path = _history(tmp_path, ".csv")
    assert main(["diagnose", str(path), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    kinds = [f["kind"] for f in payload["findings"]]
    assert "vanishing" in kinds and payload["steps"] == 3
    (v,) = [f for f in payload["findings"] if f["kind"] == "vanishing"]
    assert v["layers"] and v["remedies"] and v["evidence"]["ratio_first_to_last"] < 0.1
    assert main(["diagnose", str(path), "--fail-on", "warning"]) == 1


def test_healthy_history_has_no_findings(tmp_path, capsys):
    path = _history(tmp_path, ".json", vanishing=False)
    assert main(["diagnose", str(path), "--fail-on", "warning"]) == 0
    assert "no problem found" in capsys.readouterr().out


def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["diagnose", str(tmp_path / "nope.csv")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not found" in err
    (tmp_path / "h.xlsx").write_text("x")
    assert main(["diagnose", str(tmp_path / "h.xlsx")]) == 2


def test_help_shows_examples(capsys):
    with pytest.raises(SystemExit) as e:
        main(["diagnose", "--help"])
    assert e.value.code == 0
    assert "gradprobe diagnose runs/history.parquet" in capsys.readouterr().out
