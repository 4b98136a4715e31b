"""`gradprobe sweep EXPERIMENT --grid key=values … --out DIR`: many configurations of one
experiment, in a local process pool or on Ray, into content-addressed run folders."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ._common import add_data_option, nonneg_int, positive_int

NAME = "sweep"
HELP = "run an experiment over a grid of configurations (local processes or Ray)"
EPILOG = """examples:
  gradprobe sweep chain --grid depth=3..6 seed=0,1,2 --quick --out sweeps/chain
  gradprobe sweep chain --grid depth=3..8 x=0.5..2 --random 20 --seed 1 --out sweeps/r
  gradprobe sweep chain --config sweep.toml --out sweeps/chain --jobs 2 --dry-run
  gradprobe sweep chain --grid depth=3..6 --out /shared/sweeps/chain --backend ray --address auto
  gradprobe sweep-report sweeps/chain     # heatmaps and a sortable table

values: v1,v2,… · a..b (integers, inclusive) · a..b:step · [784,30,10] for a tuple ·
true/false · none. Each run lives in DIR/runs/<hash of its config>/; a rerun skips finished runs
and restarts unfinished ones. DIR/results.parquet holds one row per run × metric × seed.
Exit code 0: every run finished; 1: some runs failed (recorded, the rest ran); 2: bad input."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare `sweep`'s arguments on the sub-command parser `main` gives us."""
    parser.add_argument(
        "experiment",
        metavar="EXPERIMENT",
        help="a registered experiment (see `gradprobe reproduce --help`), or module:Class",
    )
    parser.add_argument(
        "--grid",
        metavar="KEY=VALUES",
        nargs="+",
        action="extend",
        default=[],
        help="a config field and its values (repeatable): depth=2,4,6 seed=0..9 lr=0.1..0.5:0.1",
    )
    parser.add_argument("--config", metavar="TOML", help="a sweep.toml ([grid], [random])")
    parser.add_argument(
        "--random",
        metavar="N",
        type=positive_int,
        help="draw N configurations at random instead of the full grid",
    )
    parser.add_argument(
        "--seed", type=nonneg_int, default=None, help="seed of --random's draws (default 0)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="start from the experiment's quick config"
    )
    parser.add_argument("--out", metavar="DIR", required=True, help="the sweep's folder")
    parser.add_argument(
        "--backend", choices=["local", "ray"], default="local", help="where runs execute"
    )
    parser.add_argument(
        "--jobs",
        type=positive_int,
        default=None,
        help="local: runs at a time (default and maximum: the cores)",
    )
    parser.add_argument(
        "--threads",
        type=positive_int,
        default=None,
        help="torch threads per run (local default cores // jobs; Ray default 1 = num_cpus)",
    )
    parser.add_argument(
        "--address",
        metavar="auto|HOST:PORT",
        default=None,
        help="Ray: the cluster to join (default: start a private local Ray)",
    )
    parser.add_argument(
        "--retries",
        type=nonneg_int,
        default=2,
        help="retries of a run whose worker process or node died (default 2)",
    )
    add_data_option(parser, bundled_default=False)
    parser.add_argument("--device", default="cpu", help="torch device of every run (default cpu)")
    parser.add_argument(
        "--dry-run", action="store_true", help="list the runs and their state; run nothing"
    )
    parser.add_argument(
        "--progress",
        choices=["auto", "rich", "plain", "none"],
        default="auto",
        help="progress display on stderr (auto: a bar on a terminal, plain lines otherwise)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def _grid(args: argparse.Namespace) -> tuple[str, dict[str, Any], int | None, int, bool]:
    from ..errors import ConfigError
    from ..sweep import load_toml, parse_grid_items

    grid: dict[str, Any] = {}
    random_n, random_seed, quick = args.random, args.seed, args.quick
    if args.config:
        doc = load_toml(args.config)
        want = doc.get("experiment")
        if want is not None and want != args.experiment:
            raise ConfigError(f"{args.config} is a sweep of {want!r}, not {args.experiment!r}")
        grid.update(doc.get("grid", {}))
        rnd = doc.get("random", {})
        if rnd and random_n is None:
            random_n = rnd.get("n")
            if not isinstance(random_n, int) or isinstance(random_n, bool) or random_n < 1:
                raise ConfigError(f"{args.config}: [random] n must be a positive integer")
        if random_seed is None and "seed" in rnd:
            random_seed = rnd["seed"]
            if not isinstance(random_seed, int) or isinstance(random_seed, bool):
                raise ConfigError(f"{args.config}: [random] seed must be an integer")
        quick = quick or doc.get("quick") is True
    grid.update(parse_grid_items(args.grid))
    if args.seed is not None and random_n is None:
        raise ConfigError("--seed seeds --random's draws; sweep the config's seed with --grid")
    return args.experiment, grid, random_n, random_seed or 0, quick


def run(args: argparse.Namespace) -> int:
    """Plan (validating everything), then run or list the runs."""
    from ..sweep import plan_sweep, resolve_data, run_sweep
    from ..sweep.spec import describe
    from ._common import emit_json

    experiment, grid, random_n, random_seed, quick = _grid(args)
    plan = plan_sweep(
        experiment, grid, args.out, random_n=random_n, random_seed=random_seed, quick=quick
    )
    if args.dry_run:
        if args.json:
            emit_json(
                {
                    "experiment": plan.name,
                    "out": str(plan.store.root),
                    "keys": plan.keys,
                    "runs": [{"hash": r.hash, "state": r.state, **r.point} for r in plan.runs],
                }
            )
            return 0
        print(
            f"{plan.name}: {len(plan.runs)} runs ({plan.count('finished')} finished, "
            f"{plan.count('failed')} failed before, {plan.count('pending')} new) in "
            f"{plan.store.root}"
        )
        for r in plan.runs:
            print(f"  {r.hash}  {r.state:<8}  {describe(r.point, plan.keys)}")
        return 0
    show = "none" if args.json and args.progress == "auto" else args.progress
    summary = run_sweep(
        plan,
        backend=args.backend,
        jobs=args.jobs,
        threads=args.threads,
        address=args.address,
        retries=args.retries,
        data=resolve_data(args.data),
        device=args.device,
        show=show,
    )
    table = summary.table
    if args.json:
        emit_json(
            {
                "experiment": plan.name,
                "out": str(summary.out),
                "runs": summary.total,
                "skipped": summary.skipped,
                "done": summary.done,
                "failed": [{"hash": h, "error": e} for h, e in summary.failed.items()],
                "backend": summary.backend,
                "jobs": summary.jobs,
                "threads": summary.threads,
                "seconds": round(summary.seconds, 3),
                "results": str(table.results) if table else None,
                "runs_table": str(table.runs) if table else None,
                "warnings": table.warnings if table else [],
            }
        )
    else:
        print(
            f"{plan.name}: {summary.skipped + summary.done} of {summary.total} runs finished "
            f"({summary.done} now, {summary.skipped} before), {len(summary.failed)} failed, "
            f"{summary.seconds:.1f} s"
        )
        if table:
            print(f"table: {table.results} ({table.n_rows} rows)")
        for h, e in summary.failed.items():
            print(f"failed {h}: {e}", file=sys.stderr)
    return 1 if summary.failed else 0
