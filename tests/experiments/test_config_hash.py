"""`config_hash` and result-neutral config fields: worker counts (declared with
`result_neutral`) do not change a config's hash, every other field does, a config without such
fields keeps the hash it had (the sha256 of its `dataclasses.asdict`, recomputed here), and a
partial result saved under another hash is recomputed, never an error."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from gradprobe.experiments.base import (
    REGISTRY,
    RunContext,
    config_hash,
    get_experiment,
    is_result_neutral,
    result_neutral,
)
from gradprobe.results import plain


def asdict_hash(d: Any) -> str:
    """The hash as it was before result-neutral fields: sha256 of the sorted compact JSON."""
    text = json.dumps(plain(d), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def neutral_names(config: Any) -> set[str]:
    return {f.name for f in dataclasses.fields(config) if is_result_neutral(f)}


def test_worker_counts_are_the_neutral_fields() -> None:
    get_experiment("chain")  # loads the registry
    found = {name: neutral_names(cls.Config()) for name, cls in REGISTRY.items()}
    assert {k: v for k, v in found.items() if v} == {
        "weight-init": {"jobs"},
        "remedies": {"jobs"},
        "through-time": {"processes"},
    }


@pytest.mark.parametrize("name", ["weight-init", "remedies", "through-time", "chain"])
def test_hash_is_asdict_without_the_neutral_fields(name: str) -> None:
    exp = get_experiment(name)
    for cfg in (exp.default_config(), exp.quick_config()):
        full = dataclasses.asdict(cfg)
        neutral = neutral_names(cfg)
        expect = asdict_hash({k: v for k, v in full.items() if k not in neutral})
        assert config_hash(cfg) == expect
        if not neutral:
            assert config_hash(cfg) == asdict_hash(full)  # unchanged for such configs
        for f in neutral:
            assert config_hash(dataclasses.replace(cfg, **{f: 3})) == config_hash(cfg)
        assert config_hash(dataclasses.replace(cfg, seeds=cfg.seeds + 1)) != config_hash(cfg)


def test_every_registered_config_without_neutral_fields_keeps_its_hash() -> None:
    get_experiment("chain")
    for cls in REGISTRY.values():
        exp = cls()
        for cfg in (exp.default_config(), exp.quick_config()):
            if not neutral_names(cfg):
                assert config_hash(cfg) == asdict_hash(dataclasses.asdict(cfg)), cls.name


def test_nested_dataclasses_and_dicts() -> None:
    @dataclasses.dataclass(frozen=True)
    class Inner:
        a: int = 1
        workers: int = result_neutral(4)

    @dataclasses.dataclass(frozen=True)
    class Outer:
        inner: Inner = Inner()
        items: tuple[Inner, ...] = (Inner(2),)
        jobs: int = result_neutral(2)

    h = config_hash(Outer())
    assert h == asdict_hash({"inner": {"a": 1}, "items": [{"a": 2}]})
    assert config_hash(Outer(Inner(1, 9), (Inner(2, 7),), jobs=5)) == h
    assert config_hash(Outer(Inner(3))) != h
    assert config_hash({"x": [1, 2], "y": "z"}) == asdict_hash({"x": [1, 2], "y": "z"})


def test_a_partial_result_of_another_hash_is_recomputed(tmp_path: Path) -> None:
    cfg = get_experiment("remedies").quick_config()
    ctx = RunContext(out_dir=tmp_path)
    # saved by the previous code, keyed by the hash of the whole config (jobs included)
    old = {"config_hash": asdict_hash(dataclasses.asdict(cfg)), "value": {"x": 1}}
    ctx.partial_path("cell").parent.mkdir(parents=True)
    ctx.partial_path("cell").write_text(json.dumps(old), "utf-8")
    assert ctx.load_partial("cell", cfg) is None
    ctx.save_partial("cell", cfg, {"x": 2})
    assert ctx.load_partial("cell", dataclasses.replace(cfg, jobs=4)) == {"x": 2}
    assert ctx.load_partial("cell", dataclasses.replace(cfg, seed=1)) is None
