"""The README's probe block runs as written on an ordinary classifier (no loss_fn given to
what_if, Parquet saving)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def _probe_block() -> str:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## The probe, for any PyTorch model") :]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]


def test_readme_probe_block_runs_as_written(tmp_path, monkeypatch):
    """The block is self-contained (its own model, data and optimiser): run it in an empty
    namespace and check what it promises — a closed probe, 20 recorded steps, a Parquet file."""
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    exec(compile(_probe_block(), "README.md", "exec"), namespace)
    probe = namespace["probe"]
    assert probe.closed and (tmp_path / "history.parquet").is_file()
    assert sorted(set(probe.history.step)) == list(range(20))
