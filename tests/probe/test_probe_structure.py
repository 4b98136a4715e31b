"""The probe's parts: quantities are data (a user quantity in ~20 lines), layers are what a
user means (stacked/bidirectional RNN layers, globs, groups, a speed for every layer), the
history is bounded on request, saving is atomic, and the analysis imports no recorder."""

from __future__ import annotations

import ast
import importlib.util
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import gradprobe.probe as gp
from gradprobe.errors import ConfigError, DataError
from gradprobe.probe import history as hist
from gradprobe.probe.quantities import DEFAULT_QUANTITIES, GradNorm
from probe.probe_models import data, mlp, train, value

ROOT = Path(__file__).resolve().parents[2]


def _example():
    spec = importlib.util.spec_from_file_location("ex04", ROOT / "examples/04_custom_quantity.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_user_quantities_from_the_example_match_autograd():
    ex = _example()
    torch.manual_seed(0)
    model = ex.Net()
    quantities = (*DEFAULT_QUANTITIES, ex.GradMax(), ex.HiddenRMS())
    probe = gp.watch(model, quantities=quantities)
    x, y = torch.randn(4, 6, 5), torch.randint(0, 3, (4,))
    out, _ = model.lstm(x)
    F.cross_entropy(model.head(out[:, -1]), y).backward()  # the same forward, by hand…
    model.zero_grad()
    F.cross_entropy(model(x), y).backward()  # …and through the model (hooked)
    probe.step()
    df = probe.history
    lstm = model.lstm
    l1 = [lstm.weight_ih_l1, lstm.weight_hh_l1, lstm.bias_ih_l1, lstm.bias_hh_l1]
    assert value(df, 0, "lstm.l1", "grad_max") == pytest.approx(
        max(float(p.grad.abs().max()) for p in l1), rel=1e-6
    )
    assert value(df, 0, "head", "grad_max") == pytest.approx(
        max(float(model.head.weight.grad.abs().max()), float(model.head.bias.grad.abs().max()))
    )
    # the LSTM's output belongs to its last layer
    rms = float(out.detach().double().pow(2).mean().sqrt())
    assert value(df, 0, "lstm.l1", "hidden_rms") == pytest.approx(rms, rel=1e-5)
    probe.close()


def test_the_list_of_quantities_is_data():
    model = mlp([10, 8, 4], nn.Tanh)
    probe = gp.watch(model, quantities=(GradNorm(),))
    train(model, probe, steps=2)
    assert set(probe.history.quantity) == {
        "grad_norm",
        "grad_norm.weight",
        "grad_norm.bias",
        "grad_rms",
    }
    with pytest.raises(ConfigError):
        gp.watch(model, quantities=(GradNorm(), GradNorm()))
    with pytest.raises(ConfigError):
        gp.watch(model, quantities=("speed",))  # type: ignore[arg-type]
    for q in DEFAULT_QUANTITIES:  # every quantity declares what it reads and writes
        assert q.reads and set(q.reads) <= set(gp.quantities.READS) and q.columns


def _probe_imports() -> dict[str, set[str]]:
    """Static import graph of gradprobe.probe's modules (module → modules it imports)."""
    base = ROOT / "src/gradprobe/probe"
    graph: dict[str, set[str]] = {}
    for path in base.rglob("*.py"):
        rel = path.relative_to(base.parent.parent).with_suffix("")
        name = ".".join(rel.parts).removesuffix(".__init__")
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                deps.add(node.module)
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names)
        graph[name] = {d for d in deps if d.startswith("gradprobe.probe")}
    return graph


def test_analysis_imports_neither_recorder_nor_watch_and_no_cycles():
    graph = _probe_imports()
    for mod in ("gradprobe.probe.diagnose", "gradprobe.probe.what_if", "gradprobe.probe.history"):
        assert not graph[mod] & {
            "gradprobe.probe.watch",
            "gradprobe.probe.recorder",
            "gradprobe.probe.origin",
        }, (mod, graph[mod])
    # no cycle among the modules (packages' __init__ re-exports excluded)
    mods = {
        m: {
            d
            for d in deps
            if d in graph and not d.endswith(("probe", "quantities", "integrations"))
        }
        for m, deps in graph.items()
    }
    state: dict[str, int] = {}

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for d in mods.get(m, ()):
            assert state.get(d) != 1, f"import cycle: {' -> '.join([*path, m, d])}"
            if d not in state:
                visit(d, [*path, m])
        state[m] = 2

    for m in mods:
        if m not in state:
            visit(m, [])


class Recurrent(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(11, 6)
        self.gru = nn.GRU(6, 5, num_layers=2, bidirectional=True, batch_first=True)
        self.conv = nn.Conv1d(10, 4, 3, bias=False)
        self.head = nn.Linear(4 * 6, 3)

    def forward(self, tok: torch.Tensor) -> torch.Tensor:
        h = self.gru(self.emb(tok))[0]  # [B, 8, 10]
        return self.head(self.conv(h.transpose(1, 2)).flatten(1))


def test_each_rnn_layer_and_direction_is_a_layer_and_every_layer_has_a_speed():
    torch.manual_seed(0)
    model = Recurrent()
    probe = gp.watch(model)
    tok, y = torch.randint(0, 11, (4, 8)), torch.randint(0, 3, (4,))
    F.cross_entropy(model(tok), y).backward()
    probe.step()
    names = ["emb", "gru.l0", "gru.l0_reverse", "gru.l1", "gru.l1_reverse", "conv", "head"]
    assert probe.layer_names == names
    df = probe.history
    gru = model.gru
    for k in ("l0", "l0_reverse", "l1", "l1_reverse"):
        b = [getattr(gru, f"bias_ih_{k}").grad, getattr(gru, f"bias_hh_{k}").grad]
        expect = math.sqrt(sum(float(t.double().pow(2).sum()) for t in b))
        assert value(df, 0, f"gru.{k}", "speed") == pytest.approx(expect, rel=1e-6)
    # no bias: ‖∂C/∂W‖/√fan-in (conv fan-in 10·3); an embedding: ‖∂C/∂W‖
    w = model.conv.weight.grad
    assert value(df, 0, "conv", "speed") == pytest.approx(float(w.double().norm()) / math.sqrt(30))
    assert value(df, 0, "emb", "speed") == pytest.approx(
        float(model.emb.weight.grad.double().norm())
    )
    assert probe.meta()["speed_from"]["conv"] == "weight/sqrt(fan_in)"
    probe.close()


def test_layer_globs_and_groups():
    model = Recurrent()
    tok, y = torch.randint(0, 11, (4, 8)), torch.randint(0, 3, (4,))
    with gp.watch(model, layers=["gru.*", "head"]) as probe:
        F.cross_entropy(model(tok), y).backward()
        probe.step()
    assert set(probe.history.layer) - {"(model)"} == {
        "gru.l0",
        "gru.l0_reverse",
        "gru.l1",
        "gru.l1_reverse",
        "head",
    }
    model.zero_grad()
    with gp.watch(model, groups={"rnn": "gru.*"}) as probe:
        F.cross_entropy(model(tok), y).backward()
        probe.step()
    df = probe.history
    expect = math.sqrt(sum(float(p.grad.double().pow(2).sum()) for p in model.gru.parameters()))
    assert value(df, 0, "rnn", "grad_norm") == pytest.approx(expect, rel=1e-6)
    assert probe.layer_names == ["emb", "rnn", "conv", "head"]
    with pytest.raises(ConfigError, match="matches no layer"):
        gp.watch(model, layers=["nope.*"])


def test_bounded_history_spills_the_old_steps(tmp_path):
    torch.manual_seed(0)
    full_model = mlp([10, 8, 4], nn.Tanh)
    ref = gp.watch(full_model, flush_every=4)
    model = mlp([10, 8, 4], nn.Tanh)
    probe = gp.watch(model, flush_every=4, max_steps=5, spill=tmp_path / "old.csv")
    train(full_model, ref, steps=13)
    train(model, probe, steps=13)
    kept = probe.history
    assert sorted(set(kept.step)) == list(range(8, 13))
    probe.close()
    old = gp.load_history(tmp_path / "old.csv")
    both = __import__("pandas").concat([old, kept]).sort_values(["step", "layer", "quantity"])
    full = ref.history.sort_values(["step", "layer", "quantity"])
    assert both.step.tolist() == full.step.tolist()
    assert both.value.to_numpy() == pytest.approx(full.value.to_numpy(), nan_ok=True)
    with pytest.raises(DataError):
        gp.watch(model, spill=tmp_path / "x.csv")  # spill needs max_steps


def test_save_is_atomic_and_parquet_needs_pyarrow(tmp_path, monkeypatch):
    model = mlp([10, 8, 4], nn.Tanh)
    probe = gp.watch(model)
    train(model, probe, steps=2)
    df = probe.history
    target = tmp_path / "h.csv"
    target.write_text("old")

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(hist.pd.DataFrame, "to_csv", boom)
    with pytest.raises(OSError):
        hist.save_history(df, target)
    monkeypatch.undo()
    assert target.read_text() == "old"  # untouched, and no temporary file left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h.csv"]
    with pytest.raises(DataError):
        hist.save_history(df, tmp_path)
    (tmp_path / "d.csv").mkdir()
    with pytest.raises(DataError, match="not a regular file"):
        hist.save_history(df, tmp_path / "d.csv")
    monkeypatch.setattr(hist, "have_pyarrow", lambda: False)
    with pytest.raises(DataError, match=r"\.csv"):
        probe.save(tmp_path / "h.parquet")
    x, _ = data()
    assert x.shape[0] > 0
