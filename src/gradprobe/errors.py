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


class OutputError(GradprobeError, OSError):
    """An output path cannot or must not be written: it is a device, FIFO, socket, folder or
    symbolic link, its folder cannot be created or written, or the disk is full. (An `OSError`
    too, so code that caught the raw error still does.)"""


class Terminated(KeyboardInterrupt):
    """The process received SIGTERM (the CLI turns the signal into this exception, so every
    clean-up path that handles Ctrl-C also runs on ``kill``)."""
