"""The registry: every experiment is found by name, in the book's order, with a quick config."""

from __future__ import annotations

import dataclasses

import pytest

from gradprobe.errors import ConfigError
from gradprobe.experiments import REGISTRY, available, get_experiment
from gradprobe.experiments._legacy_base import ORDER, with_seeds

MINE = ("depth-accuracy", "initial-speed", "neuron-bars", "training-speed")


def test_available_follows_the_book_order() -> None:
    names = available()
    assert set(MINE) <= set(names)
    assert names == [n for n in ORDER if n in REGISTRY]


@pytest.mark.parametrize("name", MINE)
def test_each_has_a_seeded_dataclass_config_and_a_quick_one(name: str) -> None:
    exp = get_experiment(name)
    assert exp.name == name and exp.title and exp.book_ref
    full, quick = exp.default_config(), exp.quick_config()
    assert dataclasses.is_dataclass(full) and type(quick) is type(full)
    assert full.quick is False and quick.quick is True
    assert quick.seeds <= full.seeds
    assert with_seeds(full, 7).seeds == 7


def test_unknown_name_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown experiment"):
        get_experiment("no-such-thing")
