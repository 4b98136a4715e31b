"""Typed exceptions. The CLI turns every `GradprobeError` into one line and exit code 2."""

from __future__ import annotations


class GradprobeError(Exception):
    """Base class of every error gradprobe raises on purpose (bad input, bad data, bad numbers)."""


class ConfigError(GradprobeError, ValueError):
    """A configuration value is invalid: bad sizes, unknown activation, negative η, …"""


class DataError(GradprobeError):
    """A data file is missing, truncated, corrupt, or fails its checksum."""


class NonFiniteError(GradprobeError, FloatingPointError):
    """Training produced a NaN or ±Inf (cost or parameters)."""
