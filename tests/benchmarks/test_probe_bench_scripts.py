"""The probe's benchmark scripts run and aggregate as documented (no timing is asserted).

``bench_probe.py --processes K`` reports, per model and variant, the median over processes of
each process's median ratio with the lowest and highest wall ratio; ``probe_breakdown.py``
prints its two tables. Timings themselves are the scripts' output, never a test's criterion.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

_BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def _load(name: str):
    sys.path.insert(0, str(_BENCH))
    try:
        spec = importlib.util.spec_from_file_location(name, _BENCH / f"{name}.py")
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod
    finally:
        sys.path.remove(str(_BENCH))


def _process(probe: float, control: float, step_ms: float) -> dict:
    def v(r: float) -> dict[str, float]:
        return {"wall_ratio": r, "cpu_ratio": r + 0.01, "wall_s": 0.1, "cpu_s": 0.2}

    variants = {"baseline": v(1.0), "probe": v(probe), "control": v(control)}
    mlp = {"step_ms": step_ms, "bytes_per_step": 100.0, "rows_per_step": 5.0}
    return {"mlp": {**mlp, "variants": variants}}


def test_across_processes_takes_the_median_and_the_range():
    bench = _load("bench_probe")
    runs = [_process(1.10, 0.95, 5.0), _process(1.02, 1.04, 7.0), _process(1.06, 1.00, 6.0)]
    out = bench._across(runs, "mlp")
    probe = out["variants"]["probe"]
    assert probe["wall_ratio"] == 1.06 and probe["cpu_ratio"] == 1.07
    assert (probe["wall_lo"], probe["wall_hi"]) == (1.02, 1.10)
    control = out["variants"]["control"]
    assert (control["wall_ratio"], control["wall_lo"], control["wall_hi"]) == (1.00, 0.95, 1.04)
    assert out["step_ms"] == 6.0 and out["processes"] == 3


def test_probe_breakdown_prints_both_tables():
    cmd = [sys.executable, str(_BENCH / "probe_breakdown.py"), "--steps", "100", "--blocks", "10"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "1. entry points" in out and "2. step time by position" in out
    for name in ("Recorder._end_of_backward", "Probe.step", "OriginFinder._pre"):
        assert name in out
    rows = [line.split() for line in out.splitlines() if line.strip()[:1].isdigit()]
    assert [int(r[0]) for r in rows if len(r) == 4] == list(range(10))  # t mod 10: 0 … 9
    assert "mean extra" in out
    bad = subprocess.run([*cmd[:2], "--steps", "5"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "--steps must be at least 100" in bad.stderr


def test_grad_read_floor_reads_every_gradient(monkeypatch):
    """The `grad_read` peer computes the true gradient norms (against float64) on both the
    compiled path and the torch path, and skips parameters without a gradient."""
    import torch

    from gradprobe.probe import fastnorm

    bench = _load("bench_probe")
    torch.manual_seed(0)
    model = bench.mlp(3, 16)
    x, y = torch.randn(8, 16), torch.randint(0, 10, (8,))
    torch.nn.functional.cross_entropy(model(x), y).backward()
    params = list(model.parameters())
    want = [p.grad.double().norm().item() for p in params]
    for compiled in (True, False):
        monkeypatch.setattr(fastnorm, "COMPILED_AFTER_STEPS", 0 if compiled else 5000)
        got = bench._grad_read(params)()
        assert len(got) == len(params)
        for g, w in zip(got, want, strict=True):
            assert abs(g - w) <= 1e-6 * w
    params[0].grad = None
    for compiled in (True, False):
        monkeypatch.setattr(fastnorm, "COMPILED_AFTER_STEPS", 0 if compiled else 5000)
        got = bench._grad_read(params)()
        assert len(got) == len(params) - 1 and abs(got[0] - want[1]) <= 1e-6 * want[1]
