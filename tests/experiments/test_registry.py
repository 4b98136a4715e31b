"""The registry: experiments found by name, ordered by their own ``order``, each with a
dataclass config and a quick one; registering from outside the package needs nothing else."""

from __future__ import annotations

import dataclasses
import numbers

import pytest

from gradprobe.errors import ConfigError
from gradprobe.experiments import available, base, get_experiment, with_fields
from report.toy_experiment import NAME, Toy, install


def test_available_is_ordered_by_each_experiments_own_order() -> None:
    names = available()
    assert names, "no experiment registered"
    orders = [get_experiment(n).order for n in names]
    assert all(isinstance(o, numbers.Real) for o in orders)
    assert orders == sorted(orders)
    assert len(set(orders)) == len(orders), "two experiments share a place in the order"


@pytest.mark.parametrize("name", available())
def test_each_has_a_dataclass_config_and_a_quick_one(name: str) -> None:
    exp = get_experiment(name)
    assert exp.name == name and exp.title and exp.book_ref
    full, quick = exp.default_config(), exp.quick_config()
    assert dataclasses.is_dataclass(full) and type(quick) is type(full)
    assert full.quick is False and quick.quick is True
    if hasattr(full, "seeds"):
        assert 1 <= quick.seeds <= full.seeds
        assert with_fields(full, seeds=7).seeds == 7


def test_a_toy_registered_from_outside_takes_its_place(monkeypatch: pytest.MonkeyPatch) -> None:
    install(monkeypatch)
    names = available()
    assert NAME in names
    before = [n for n in names if get_experiment(n).order < Toy.order]
    assert names.index(NAME) == len(before)
    assert isinstance(get_experiment(NAME), Toy)


def test_register_refuses_an_incomplete_experiment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(base, "REGISTRY", {})

    class NoOrder(base.Experiment):  # type: ignore[type-arg]
        name, title, book_ref, Config = "x", "X", "-", dict

    with pytest.raises(TypeError, match="lacks 'order'"):
        base.register(NoOrder)

    class NotDataclass(NoOrder):
        order = 1.0

    with pytest.raises(TypeError, match="must be a dataclass"):
        base.register(NotDataclass)
    assert base.REGISTRY == {}


def test_unknown_name_and_field_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="unknown experiment"):
        get_experiment("no-such-thing")
    cfg = Toy().default_config()
    with pytest.raises(ConfigError, match="has no field 'sedes'"):
        with_fields(cfg, sedes=3)
