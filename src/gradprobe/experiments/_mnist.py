"""What the chapter-5 MNIST experiments share: the book's 784-30-…-30-10 networks, where their
images come from, per-seed CSV rows and small helpers for comparisons and sentences.

Used by ``depth-accuracy``, ``initial-speed``, ``neuron-bars`` and ``training-speed``. The
leading underscore keeps this module out of the experiment registry (it registers nothing).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..data import BUNDLED_SIZE, MNIST, Split, load_data
from ..errors import ConfigError
from ..results import Comparison

#: The book's hidden-layer counts in chapter 5.
DEPTHS = (2, 3, 4)


def sizes_for(hidden: int, width: int = 30) -> tuple[int, ...]:
    """784-30-…-30-10 with ``hidden`` hidden layers of ``width`` neurons."""
    return (784, *([width] * hidden), 10)


def net_name(sizes: Sequence[int]) -> str:
    """(784, 30, 10) → "784-30-10"."""
    return "-".join(map(str, sizes))


def check_depths(depths: Sequence[int], allowed: Sequence[int] | None = None) -> None:
    """`ConfigError` unless ``depths`` is a non-empty tuple of distinct positive integers
    (from ``allowed`` if given)."""
    ok = (
        len(depths) > 0
        and all(isinstance(h, int) and not isinstance(h, bool) and h >= 1 for h in depths)
        and len(set(depths)) == len(depths)
    )
    if not ok:
        raise ConfigError(
            f"depths must be distinct positive numbers of hidden layers, got {tuple(depths)!r}"
        )
    if allowed is not None and not set(depths) <= set(allowed):
        raise ConfigError(f"depths must be among {tuple(allowed)}, got {tuple(depths)!r}")


def check_samples(samples: int) -> None:
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ConfigError(f"samples must be a positive integer, got {samples!r}")


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
    `resolve_data`), and its first ``samples`` training images. (The bundled images are the
    first 1000 of MNIST's training file, the very images the book uses in chapter 5.)"""
    mnist = load_data(resolve_data(data, samples))
    return mnist, first_training_images(mnist, samples)


def per_seed_rows(
    per_depth: dict[str, dict[str, Any]], key: str, first_seed: int
) -> list[list[Any]]:
    """CSV rows [network, seed, i, value] for every depth's record ``d`` and every entry of
    ``d[key]`` [S, N]: the network named from ``d["sizes"]``, seeds counted from
    ``first_seed``, i from 1."""
    return [
        [net_name(d["sizes"]), first_seed + s, i + 1, v]
        for d in per_depth.values()
        for s, row in enumerate(d[key])
        for i, v in enumerate(row)
    ]


def sup(l: int) -> str:
    """Superscript digits for layer indices: 12 → "¹²"."""
    return "".join("⁰¹²³⁴⁵⁶⁷⁸⁹"[int(ch)] for ch in str(l))


def judged(comparisons: Sequence[Comparison]) -> tuple[list[Comparison], list[Comparison]]:
    """(agreeing, disagreeing) reproductions among ``comparisons`` (not-judged ones left out)."""
    rep = [c for c in comparisons if c.kind == "reproduction"]
    return [c for c in rep if c.verdict == "agrees"], [c for c in rep if c.verdict == "disagrees"]


def side_of_band(c: Comparison) -> str:
    """ "above"/"below"/"inside" for the book's value against our band ("" if not judged)."""
    if c.reference is None or c.low is None or c.high is None:
        return ""
    if c.reference > c.high:
        return "above"
    if c.reference < c.low:
        return "below"
    return "inside"


def g(x: float | None, digits: int = 3) -> str:
    """A number with ``digits`` significant figures ("–" for None)."""
    return "–" if x is None else f"{x:.{digits}g}"


def band_text(c: Comparison, digits: int = 3) -> str:
    """ "median 0.058 (band 0.041–0.077)" or "median 0.058 (3 seeds: no band)"."""
    if c.low is None or c.high is None:
        return f"median {g(c.ours, digits)} ({c.band})"
    return f"median {g(c.ours, digits)} (band {g(c.low, digits)}–{g(c.high, digits)})"


def agreement_sentence(comparisons: Sequence[Comparison], what: str, digits: int = 3) -> str:
    """One sentence on how the book's numbers (reproductions) fare against our bands, naming
    every one that lies outside, e.g. "7 of the book's 9 ... lie inside our 10–90 % band; the
    book's 0.07 (…) lies above our band 0.041–0.066 (median 0.058)."."""
    rep = [c for c in comparisons if c.kind == "reproduction"]
    if not rep:
        return ""
    agree, disagree = judged(rep)
    if not agree and not disagree:
        return (
            f"The book's {len(rep)} {what} are not judged: {rep[0].band} (a band needs at "
            "least 5 seeds)."
        )
    text = (
        f"{len(agree)} of the book's {len(agree) + len(disagree)} {what} lie inside our "
        "10–90 % band of single runs"
    )
    if not disagree:
        return text + "."
    parts = [
        f"{c.quantity}: the book's {g(c.reference, digits)} lies {side_of_band(c)} our band "
        f"{g(c.low, digits)}–{g(c.high, digits)} (median {g(c.ours, digits)})"
        for c in disagree
    ]
    return text + "; these disagree with the book — " + "; ".join(parts) + "."
