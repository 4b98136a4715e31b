"""The README's probe block runs as written on an ordinary classifier (no loss_fn given to
what_if, Parquet saving), with only the names it assumes defined beforehand."""

from __future__ import annotations

import re
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

README = Path(__file__).resolve().parents[2] / "README.md"


def _probe_block() -> str:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## The probe, for any PyTorch model") :]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]


def test_readme_probe_block_runs_as_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(20, 32), nn.Sigmoid(), nn.Linear(32, 32), nn.Sigmoid(), nn.Linear(32, 10)
    )
    g = torch.Generator().manual_seed(0)
    loader = [
        (torch.randn(16, 20, generator=g), torch.randint(0, 10, (16,), generator=g))
        for _ in range(4)
    ]
    namespace = {
        "model": model,
        "loader": loader,
        "loss_fn": F.cross_entropy,
        "opt": torch.optim.SGD(model.parameters(), lr=0.1),
        "batch": loader[0],
    }
    exec(compile(_probe_block(), "README.md", "exec"), namespace)
    probe = namespace["probe"]
    assert probe.closed and (tmp_path / "history.parquet").is_file()
    assert sorted(set(probe.history.step)) == [0, 1, 2, 3]
