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


# --- issue 10, item 6: any history file gets a clear statement, never "no findings" ---------
BAD_FILES = {
    "missing.csv": None,
    "empty.csv": "",
    "empty.parquet": "",
    "header_only.csv": "step,layer,quantity,value\n",
    "wrong_columns.csv": "a,b,c\n1,2,3\n",
    "text_step.csv": "step,layer,quantity,value\nx,0,speed,1.0\n",
    "fraction_step.csv": "step,layer,quantity,value\n1.5,0,speed,1.0\n",
    "text_value.csv": "step,layer,quantity,value\n0,0,speed,fast\n",
    "not_json.json": "{nope",
    "json_list_of_junk.json": "[1, 2, 3]",
    "json_no_rows.json": '{"meta": {}}',
    "deep.json": "[" * 5000 + "]" * 5000,
    "garbage.parquet": "PAR1 this is not parquet",
    "history.txt": "step,layer,quantity,value\n0,0,speed,1\n",
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_unusable_history_is_one_line_exit_2(tmp_path, capsys, name):
    content = BAD_FILES[name]
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    assert main(["diagnose", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert captured.err.startswith("gradprobe diagnose: error:")
    assert "no problem" not in captured.out and "no findings" not in captured.out


def _csv(tmp_path, rows):
    path = tmp_path / "h.csv"
    path.write_text("step,layer,quantity,value\n" + "".join(f"{r}\n" for r in rows))
    return path


def test_one_step_history_says_it_cannot_support_a_finding(tmp_path, capsys):
    path = _csv(tmp_path, ["0,0,speed,0.1", "0,1,speed,0.11", "0,(model),grad_norm,0.2"])
    assert main(["diagnose", str(path)]) == 0
    out = capsys.readouterr().out
    assert "insufficient-data" in out and "only 1 recorded step" in out
    assert "no problem" not in out
    assert main(["diagnose", str(path), "--json"]) == 0
    kinds = [f["kind"] for f in json.loads(capsys.readouterr().out)["findings"]]
    assert kinds == ["insufficient-data"]


def test_all_non_finite_history_is_said_to_be_so(tmp_path, capsys):
    rows = [f"{t},{layer},speed,{v}" for t in range(5) for layer, v in (("0", "nan"), ("1", "inf"))]
    path = _csv(tmp_path, rows)
    assert main(["diagnose", str(path), "--fail-on", "critical"]) == 1
    out = capsys.readouterr().out
    assert "every one of the 10 values is NaN/Inf" in out and "no problem" not in out


def test_empty_string_path_is_refused(capsys):
    with pytest.raises(SystemExit) as exit_:  # refused while parsing, before any work
        main(["diagnose", ""])
    assert exit_.value.code == 2
    assert "empty" in capsys.readouterr().err


@pytest.mark.parametrize("step", ["inf", "-inf", "1e30"])
def test_a_history_whose_step_is_not_a_finite_integer_is_refused(tmp_path, capsys, step):
    path = tmp_path / "h.csv"
    path.write_text(f"step,layer,quantity,value\n{step},fc,speed,1.0\n", encoding="utf-8")
    assert main(["diagnose", str(path)]) == 2
    err = capsys.readouterr().err
    assert "step" in err and "Traceback" not in err
