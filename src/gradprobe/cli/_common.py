"""Argument types, checks and options shared by the commands.

Every argparse ``type=`` here turns text into a checked value or raises
`argparse.ArgumentTypeError` with one clear line (argparse then exits with code 2); none lets
another exception escape. The ``check_*`` functions are for conditions that involve several
options or the data; they raise `ConfigError` (one line, exit 2 from `main`).

Limits (``MAX_*``) keep a typo from asking for terabytes or overflowing a seed.
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import stat
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..activations import ACTIVATIONS
from ..costs import COSTS, OUTPUTS
from ..errors import ConfigError, GradprobeError
from ..io import check_output_dir, check_output_file, expand_path, to_json
from ..nets import INITS

MAX_LAYER = 100_000  # neurons in one layer
MAX_LAYERS = 1_000  # layers, input and output included
MAX_WEIGHTS = 100_000_000  # weights of one network
MAX_SEEDS = 100_000  # networks trained or measured at once
MAX_SEED = 2**32 - 1  # first seed; seeds run seed … seed+S-1, far below torch's 2**63
MAX_EPOCHS = 100_000
MAX_EXAMPLES = 1_000_000  # batch size, samples: more than MNIST holds
MAX_WEIGHTS_ALL_SEEDS = 2_000_000_000  # weights × seeds: ~8 GB in float32 per copy
MNIST_INPUTS, MNIST_CLASSES = 784, 10


def _fail(message: str) -> argparse.ArgumentTypeError:
    return argparse.ArgumentTypeError(message)


# -- numbers -------------------------------------------------------------------------------------
def _parse_int(text: str, what: str) -> int:
    t = text.strip()
    if len(t) > 40 or not t.lstrip("+-").isdigit() or not t.isascii():
        raise _fail(f"expected {what}, got {text[:40]!r}")
    return int(t)


def int_range(lo: int, hi: int, what: str | None = None) -> Callable[[str], int]:
    """An argparse type: an integer in [lo, hi]."""
    what = what or f"an integer from {lo} to {hi}"

    def parse(text: str) -> int:
        v = _parse_int(text, what)
        if not lo <= v <= hi:
            raise _fail(f"expected {what}, got {v}")
        return v

    parse.__name__ = f"int[{lo},{hi}]"
    return parse


positive_int = int_range(1, 10**9, "a positive integer (at most 10⁹)")
nonneg_int = int_range(0, 10**9, "an integer ≥ 0 (at most 10⁹)")
seeds = int_range(1, MAX_SEEDS, f"a number of seeds from 1 to {MAX_SEEDS}")
seed_value = int_range(0, MAX_SEED, f"a seed from 0 to {MAX_SEED}")
epochs = int_range(1, MAX_EPOCHS, f"a number of epochs from 1 to {MAX_EPOCHS}")
batch_size = int_range(1, MAX_EXAMPLES, f"a batch size from 1 to {MAX_EXAMPLES}")
samples = int_range(1, MAX_EXAMPLES, f"a number of examples from 1 to {MAX_EXAMPLES}")


def _number(text: str) -> float:
    t = text.strip()
    try:
        if len(t) > 60:
            raise ValueError
        v = float(t)
    except ValueError:
        raise _fail(f"expected a number, got {text[:40]!r}") from None
    if not math.isfinite(v):
        raise _fail(f"expected a finite number, got {text[:40]!r}")
    return v


def float_range(
    lo: float, hi: float, *, lo_open: bool = False, hi_open: bool = False, what: str = "a number"
) -> Callable[[str], float]:
    """An argparse type: a finite float in the interval lo..hi (open ends as given)."""
    interval = f"{'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"

    def parse(text: str) -> float:
        v = _number(text)
        low_ok = v > lo if lo_open else v >= lo
        high_ok = v < hi if hi_open else v <= hi
        if not (low_ok and high_ok):
            raise _fail(f"expected {what} in {interval}, got {text.strip()[:40]}")
        return v

    parse.__name__ = f"float{interval}"
    return parse


positive_float = float_range(0, 1e12, lo_open=True, what="a positive number")
nonneg_float = float_range(0, 1e12, what="a number ≥ 0")
eta = float_range(0, 1000, lo_open=True, what="a learning rate η")
lmbda = float_range(0, 1e6, what="a regularisation λ")
momentum = float_range(0, 1, hi_open=True, what="a momentum μ")
clip_norm = float_range(0, 1e12, lo_open=True, what="a gradient norm")
fraction = float_range(0, 1, what="a fraction")


# -- sizes ---------------------------------------------------------------------------------------
def parse_sizes_checked(text: str) -> tuple[int, ...]:
    """``"784,30,10"`` → (784, 30, 10), refusing empty items (``784,,10``), non-integers, layers
    outside 1..MAX_LAYER, fewer than 2 or more than MAX_LAYERS layers, and more than
    MAX_WEIGHTS weights. `ConfigError` with one line."""
    raw = text.strip()
    if not raw:
        raise ConfigError("bad sizes '': expected comma-separated layer sizes, e.g. 784,30,10")
    if len(raw) > 10 * MAX_LAYERS:
        raise ConfigError(f"bad sizes: {len(raw)} characters, more than {MAX_LAYERS} layers")
    parts = [p.strip() for p in raw.split(",")]
    if any(p == "" for p in parts):
        raise ConfigError(f"bad sizes {text!r}: an empty item (two commas, or a comma at an end)")
    out = []
    for p in parts:
        if not p.isascii() or not p.isdigit() or len(p) > 7:
            raise ConfigError(
                f"bad sizes {text[:60]!r}: {p[:20]!r} is not a layer size from 1 to {MAX_LAYER}"
            )
        n = int(p)
        if not 1 <= n <= MAX_LAYER:
            raise ConfigError(f"bad sizes {text[:60]!r}: a layer of {n}, expected 1 to {MAX_LAYER}")
        out.append(n)
    if len(out) < 2:
        raise ConfigError(
            f"bad sizes {text!r}: need at least an input and an output layer, e.g. 784,30,10"
        )
    if len(out) > MAX_LAYERS:
        raise ConfigError(f"bad sizes: {len(out)} layers, at most {MAX_LAYERS}")
    weights = sum(a * b for a, b in itertools.pairwise(out))
    if weights > MAX_WEIGHTS:
        raise ConfigError(f"bad sizes: {weights:,} weights in one network, at most {MAX_WEIGHTS:,}")
    return tuple(out)


def sizes(text: str) -> tuple[int, ...]:
    """argparse type of `parse_sizes_checked`."""
    try:
        return parse_sizes_checked(text)
    except GradprobeError as e:
        raise _fail(str(e)) from None


def check_sizes_for_data(
    sizes: Sequence[int], n_inputs: int = MNIST_INPUTS, n_classes: int = MNIST_CLASSES
) -> None:
    """The first layer must take the data's inputs and the last give one output per class."""
    text = ",".join(map(str, sizes))
    if sizes[0] != n_inputs:
        raise ConfigError(
            f"--sizes {text}: the data has {n_inputs} inputs per example, so the first size "
            f"must be {n_inputs}"
        )
    if sizes[-1] != n_classes:
        raise ConfigError(
            f"--sizes {text}: the data has {n_classes} classes, so the last size must be "
            f"{n_classes}"
        )


def check_model_size(sizes: Sequence[int], n_seeds: int) -> None:
    """weights × seeds within MAX_WEIGHTS_ALL_SEEDS (a typo must not ask for terabytes)."""
    weights = sum(a * b for a, b in itertools.pairwise(sizes)) + sum(sizes[1:])
    if weights * n_seeds > MAX_WEIGHTS_ALL_SEEDS:
        raise ConfigError(
            f"{n_seeds} seeds × {weights:,} parameters = {weights * n_seeds:,} numbers, more "
            f"than the {MAX_WEIGHTS_ALL_SEEDS:,} allowed; use fewer seeds or smaller layers"
        )


def check_at_most(option: str, value: int, limit: int, what: str) -> None:
    """``--batch-size 70000`` with 50 000 images: `ConfigError` naming both."""
    if value > limit:
        raise ConfigError(f"{option} {value} exceeds the {limit} {what}")


# -- strings and paths ---------------------------------------------------------------------------
def nonempty(text: str) -> str:
    """Any text but the empty (or blank) string."""
    if not text.strip():
        raise _fail("expected a non-empty value, got ''")
    if "\x00" in text:
        raise _fail("a value cannot contain a NUL character")
    return text


def path(text: str) -> Path:
    """A path with ``~``/``~user`` expanded; refuses '' and unknown users."""
    try:
        return expand_path(text, "path")
    except GradprobeError as e:
        raise _fail(str(e)) from None


def existing_dir(text: str) -> Path:
    """An existing folder (to read from)."""
    p = path(text)
    if not p.is_dir():
        raise _fail(f"{p}: no such folder" if not p.exists() else f"{p}: not a folder")
    return p


def existing_file(text: str) -> Path:
    """An existing regular file (to read from): a FIFO or device would block or never end."""
    p = path(text)
    try:
        st = os.stat(p)
    except OSError as e:
        raise _fail(f"{p}: {e.strerror or 'cannot open'}") from None
    if not stat.S_ISREG(st.st_mode):
        raise _fail(f"{p}: not a regular file")
    return p


def output_dir(text: str) -> Path:
    """An output folder checked before any work (`gradprobe.io.check_output_dir`): it exists
    as a folder or can be created, is writable, and its disk is not full."""
    try:
        return check_output_dir(path(text), "--out")
    except GradprobeError as e:
        raise _fail(str(e)) from None


def output_file(text: str) -> Path:
    """An output file checked before any work: absent or a regular file (never a device, FIFO,
    socket or link) in a writable folder."""
    try:
        return check_output_file(path(text), "--out")
    except GradprobeError as e:
        raise _fail(str(e)) from None


def output_file_or_dir(text: str) -> Path:
    """`output_file`, or an existing folder (the command writes its default name inside)."""
    try:
        return check_output_file(path(text), "--out", folder_ok=True)
    except GradprobeError as e:
        raise _fail(str(e)) from None


def data_source(text: str) -> str:
    """``--data``: 'bundled', or an existing folder (``~`` expanded); returned as text."""
    if text == "bundled":
        return text
    p = existing_dir(text)
    return str(p) if text.startswith("~") else text  # keep "./bundled" as the user wrote it


# -- statistics: one definition everywhere --------------------------------------------------------
def median_and_band(
    values: Any, axis: int = 0, band: tuple[float, float] = (0.10, 0.90)
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Median and the ``band`` quantiles along ``axis`` by NumPy's definition (linear
    interpolation, the same as `gradprobe.results.seed_band`), so low ≤ median ≤ high always.
    (torch.median returns the *lower* median for an even count: never use it for reports.)"""
    a = np.asarray(values.detach().cpu() if hasattr(values, "detach") else values, dtype=float)
    lo, mid, hi = np.quantile(a, [band[0], 0.5, band[1]], axis=axis)
    return mid, lo, hi


# -- options -------------------------------------------------------------------------------------
def add_network_options(p: argparse.ArgumentParser, default_sizes: str) -> None:
    """--sizes --activation --cost --output --init --seed"""
    g = p.add_argument_group("network")
    g.add_argument(
        "--sizes",
        type=sizes,
        default=sizes(default_sizes),
        help=f"layer sizes, input first (default {default_sizes})",
    )
    g.add_argument(
        "--activation",
        choices=list(ACTIVATIONS),
        default="sigmoid",
        help="hidden-layer activation (default sigmoid)",
    )
    g.add_argument(
        "--cost",
        choices=list(COSTS),
        default="cross-entropy",
        help="cost function (default cross-entropy)",
    )
    g.add_argument(
        "--output",
        choices=list(OUTPUTS),
        default=None,
        help="output activation (default: the cost's pairing: sigmoid, "
        "or softmax for log-likelihood)",
    )
    g.add_argument(
        "--init",
        choices=list(INITS),
        default="default",
        help="weight initialisation (default: N(0, 1/n_in) weights, N(0, 1) biases)",
    )
    g.add_argument(
        "--seed",
        type=seed_value,
        default=0,
        help=f"first seed; the S networks use seed, seed+1, … (default 0, at most {MAX_SEED})",
    )


def add_data_option(p: argparse.ArgumentParser, *, bundled_default: bool) -> None:
    default = (
        "the bundled first 1000 training images"
        if bundled_default
        else ("$GRADPROBE_DATA, the cache, or a verified download")
    )
    p.add_argument(
        "--data",
        metavar="PATH",
        type=data_source,
        default=None,
        help=f"folder with the four MNIST IDX .gz files, or 'bundled' (default: {default})",
    )


def emit_json(obj: Any) -> None:
    """One JSON object on stdout."""
    sys.stdout.write(to_json(obj, indent=None) + "\n")
    sys.stdout.flush()
