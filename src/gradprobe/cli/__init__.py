"""The `gradprobe` command line: one module per command, each thin over the library.

A command module defines ``NAME``, ``HELP``, optional ``EPILOG`` (examples for ``--help``),
``add_arguments(parser)`` and ``run(args) -> int``; `main` discovers every module here whose
name does not start with an underscore.
"""
