"""Sweeps: many configurations of one experiment, local by default, on Ray when asked.

``gradprobe sweep EXPERIMENT --grid key=v1,v2 … --out DIR`` in code::

    from gradprobe.sweep import plan_sweep, run_sweep
    plan = plan_sweep("chain", {"depth": "2..6", "seed": "0,1,2"}, "sweeps/chain", quick=True)
    summary = run_sweep(plan, jobs=2)          # or backend="ray", address="auto"
    summary.table.results                      # DIR/results.parquet (see `gather`)

Modules: `spec` (the --grid syntax, parsed by field type), `store` (content-addressed run
folders and the manifest), `worker` (one run, under a lock), `local` and `ray_backend` (the
backends), `progress`, `gather` (the tidy Parquet tables), `runner` (plan and run).
"""

from __future__ import annotations

from .gather import RESULTS_FILE, RUNS_FILE, GatherInfo, gather
from .runner import BACKENDS, SweepPlan, SweepSummary, plan_sweep, resolve_data, run_sweep
from .spec import SweepSpec, build_spec, expand, load_toml, parse_grid_items
from .store import Store, run_hash

__all__ = [
    "BACKENDS",
    "RESULTS_FILE",
    "RUNS_FILE",
    "GatherInfo",
    "Store",
    "SweepPlan",
    "SweepSpec",
    "SweepSummary",
    "build_spec",
    "expand",
    "gather",
    "load_toml",
    "parse_grid_items",
    "plan_sweep",
    "resolve_data",
    "run_hash",
    "run_sweep",
]
