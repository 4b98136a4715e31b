"""The --grid syntax and sweep.toml: values parsed by the config field's type, checked early."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest

from gradprobe.errors import ConfigError
from gradprobe.sweep.spec import build_spec, coerce, expand, load_toml, parse_grid_items, split_top


@dataclass(frozen=True)
class Cfg:
    depth: int = 4
    lr: float = 0.1
    act: str = "sigmoid"
    bias: bool = True
    sizes: tuple[int, ...] = (784, 30, 10)
    pair: tuple[float, float | None] = (1.0, None)
    cap: float | None = None
    cost: Literal["quadratic", "cross-entropy"] = "quadratic"
    seed: int = 0


def axes(grid: dict[str, object], **kw: object) -> dict[str, list[object]]:
    spec = build_spec(Cfg, grid, **kw)  # type: ignore[arg-type]
    return {a.key: a.values for a in spec.axes}


def test_values_are_parsed_by_the_fields_type() -> None:
    got = axes(
        {
            "depth": "2,4,6",
            "lr": "0.5,1e-2",
            "act": "relu, tanh",
            "bias": "true,no",
            "sizes": "[784,30,10],(784,30,30,10)",
            "pair": "[1,null],[2.5,3]",
            "cap": "none,5",
            "cost": "cross-entropy",
        }
    )
    assert got["depth"] == [2, 4, 6]
    assert got["lr"] == [0.5, 0.01] and all(type(v) is float for v in got["lr"])
    assert got["act"] == ["relu", "tanh"]
    assert got["bias"] == [True, False]
    assert got["sizes"] == [(784, 30, 10), (784, 30, 30, 10)]
    assert got["pair"] == [(1.0, None), (2.5, 3.0)]
    assert got["cap"] == [None, 5.0]
    assert got["cost"] == ["cross-entropy"]


def test_ranges_expand_inclusive_with_optional_step() -> None:
    assert axes({"depth": "2..5"})["depth"] == [2, 3, 4, 5]
    assert axes({"depth": "2..8:3"})["depth"] == [2, 5, 8]
    assert axes({"depth": "1,3..4"})["depth"] == [1, 3, 4]
    # 0.1 + 2·0.1 is 0.30000000000000004 in floating point: printed to 12 digits, it is 0.3
    assert axes({"lr": "0.1..0.5:0.1"})["lr"] == [0.1, 0.2, 0.3, 0.4, 0.5]
    assert axes({"seed": "0..2,1"})["seed"] == [0, 1, 2]  # repeats dropped, order kept


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        ({"width": "3"}, "no field 'width'"),
        ({"depth": "two"}, "depth: expected an integer"),
        ({"depth": "2.5"}, "depth: expected an integer"),
        ({"lr": "nan"}, "lr: expected a finite number"),
        ({"bias": "maybe"}, "bias: expected true or false"),
        ({"cost": "hinge"}, "not one of"),
        ({"sizes": "[784,x]"}, "sizes: cannot read"),
        ({"sizes": "[784,30.5]"}, r"sizes\[1\]: expected an integer"),
        ({"pair": "[1,2,3]"}, "expected 2 items"),
        ({"depth": "5..2"}, "runs backwards"),
        ({"depth": "2..4:0"}, "step .* must be positive"),
        ({"lr": "0.1..0.5"}, "needs a step"),
        ({"depth": "2,,4"}, "empty value"),
        ({"depth": "0..1000000"}, "at most"),
    ],
)
def test_bad_keys_and_values_are_config_errors(grid: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_spec(Cfg, grid)


def test_grid_items_and_top_level_split() -> None:
    assert parse_grid_items(["depth=2,4", "sizes=[1,2],[3]"]) == {
        "depth": "2,4",
        "sizes": "[1,2],[3]",
    }
    assert split_top("[1,2],(3,4),'a,b'") == ["[1,2]", "(3,4)", "'a,b'"]
    with pytest.raises(ConfigError, match="KEY=VALUES"):
        parse_grid_items(["depth"])
    with pytest.raises(ConfigError, match="twice"):
        parse_grid_items(["depth=2", "depth=3"])


def test_grid_is_the_product_first_key_slowest() -> None:
    spec = build_spec(Cfg, {"depth": "2,3", "act": "a,b,c"})
    points = expand(spec)
    assert len(points) == 6
    assert points[:3] == [{"depth": 2, "act": a} for a in "abc"]


def test_random_draws_are_seeded_and_uniform_ranges_stay_inside() -> None:
    grid = {"depth": "2..9", "lr": "0.01..1"}
    a = expand(build_spec(Cfg, grid, random_n=25, random_seed=3))
    b = expand(build_spec(Cfg, grid, random_n=25, random_seed=3))
    c = expand(build_spec(Cfg, grid, random_n=25, random_seed=4))
    assert a == b and a != c
    assert all(2 <= p["depth"] <= 9 and 0.01 <= p["lr"] <= 1 for p in a)
    assert len({p["lr"] for p in a}) == len(a)  # continuous: no two alike
    with pytest.raises(ConfigError, match="positive"):
        build_spec(Cfg, grid, random_n=0)


def test_coerce_accepts_native_toml_values() -> None:
    assert coerce([784, 30], tuple[int, ...], "sizes") == (784, 30)
    assert coerce(3, float, "lr") == 3.0
    with pytest.raises(ConfigError, match="expected text"):
        coerce(3, str, "act")
    with pytest.raises(ConfigError, match="expected true or false"):
        coerce(1, bool, "bias")


def test_toml_lists_and_grid_strings(tmp_path: Path) -> None:
    path = tmp_path / "sweep.toml"
    path.write_text(
        'experiment = "x"\nquick = true\n[grid]\ndepth = [2, 4]\nseed = "0..2"\n'
        "sizes = [[784, 10], [784, 30, 10]]\n[random]\nn = 3\nseed = 1\n",
        "utf-8",
    )
    doc = load_toml(path)
    got = axes(doc["grid"])
    assert got == {"depth": [2, 4], "seed": [0, 1, 2], "sizes": [(784, 10), (784, 30, 10)]}
    assert doc["random"] == {"n": 3, "seed": 1}
    path.write_text("[grid\n", "utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_toml(path)
    path.write_text("grids = 1\n", "utf-8")
    with pytest.raises(ConfigError, match="unknown top-level"):
        load_toml(path)
