"""What the chapter-5 MNIST experiments share: the book's 784-30-…-30-10 networks, where their
images come from, and their per-seed CSV rows.

Used by ``depth-accuracy``, ``initial-speed``, ``neuron-bars`` and ``training-speed``. The
leading underscore keeps this module out of the experiment registry (it registers nothing).
"""

from __future__ import annotations

from typing import Any

from ..data import BUNDLED_SIZE, MNIST, Split, load_data
from ..errors import ConfigError

#: The book's hidden-layer counts in chapter 5.
DEPTHS = (2, 3, 4)


def sizes_for(hidden: int, width: int = 30) -> tuple[int, ...]:
    """784-30-…-30-10 with ``hidden`` hidden layers of ``width`` neurons."""
    return (784, *([width] * hidden), 10)


def net_name(sizes: tuple[int, ...]) -> str:
    """(784, 30, 10) → "784-30-10"."""
    return "-".join(map(str, sizes))


def resolve_data(spec: str | None, samples: int) -> str | None:
    """The first ≤ 1000 training images ship with the package: use them unless told otherwise."""
    return "bundled" if spec is None and samples <= BUNDLED_SIZE else spec


def first_training_images(mnist: MNIST, n: int, field: str = "samples") -> Split:
    """The first ``n`` training images of ``mnist``; a `ConfigError` naming the configuration
    ``field`` that asked for them if there are fewer."""
    if n > len(mnist.training):
        raise ConfigError(
            f"{field}={n} exceeds the {len(mnist.training)} training images of {mnist.source}"
        )
    return mnist.training.subset(n)


def load_samples(data: str | None, samples: int) -> tuple[MNIST, Split]:
    """MNIST as ``data`` says (by default the bundled images when they suffice, see
    `resolve_data`), and its first ``samples`` training images."""
    mnist = load_data(resolve_data(data, samples))
    return mnist, first_training_images(mnist, samples)


def per_seed_rows(
    per_depth: dict[str, dict[str, Any]], key: str, first_seed: int
) -> list[list[Any]]:
    """CSV rows [network, seed, i, value] for every depth's record ``d`` and every entry of
    ``d[key]`` [S, N]: the network named from ``d["sizes"]``, seeds counted from
    ``first_seed``, i from 1."""
    return [
        [net_name(tuple(d["sizes"])), first_seed + s, i + 1, v]
        for d in per_depth.values()
        for s, row in enumerate(d[key])
        for i, v in enumerate(row)
    ]
