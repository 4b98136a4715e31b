"""Argument types and options shared by several commands."""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

from ..activations import ACTIVATIONS
from ..costs import COSTS, OUTPUTS
from ..errors import GradprobeError
from ..io import to_json
from ..nets import INITS, parse_sizes


def sizes(text: str) -> tuple[int, ...]:
    try:
        return parse_sizes(text)
    except GradprobeError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return v


def nonneg_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer ≥ 0, got {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected an integer ≥ 0, got {text!r}")
    return v


def _number(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return v


def positive_float(text: str) -> float:
    v = _number(text)
    if v <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return v


def nonneg_float(text: str) -> float:
    v = _number(text)
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected a number ≥ 0, got {text!r}")
    return v


def add_network_options(p: argparse.ArgumentParser, default_sizes: str) -> None:
    """--sizes --activation --cost --output --init --seeds --seed"""
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
        type=nonneg_int,
        default=0,
        help="first seed; the S networks use seed, seed+1, … (default 0)",
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
        default=None,
        help=f"folder with the four MNIST IDX .gz files, or 'bundled' (default: {default})",
    )


def emit_json(obj: Any) -> None:
    """One JSON object on stdout."""
    sys.stdout.write(to_json(obj, indent=None) + "\n")
    sys.stdout.flush()
