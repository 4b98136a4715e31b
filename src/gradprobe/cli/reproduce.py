"""``gradprobe reproduce``: run the book's experiments and put our numbers beside the book's."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from ..errors import ConfigError
from . import _common as c

NAME = "reproduce"
HELP = "reproduce the book's experiments (ch. 3 & 5) with statistics over seeds"
DESCRIPTION = """\
Run one of the book's experiments, or all of them, and write its data (result.json, CSVs) and
figures (PNG and SVG) into DIR/NAME. Each result states the book's published numbers beside
ours: the median and 10–90 % band over seeds (or mean ± std and 95 % intervals for
accuracies), and says why wherever the book's number falls outside our band. `reproduce all`
runs every experiment in the book's order and then writes DIR/report.html.

--quick runs a reduced version of each experiment (fewer seeds and epochs, the bundled 1000
images, no download); its numbers are indicative only."""
EPILOG = """\
examples:
  gradprobe reproduce --list
  gradprobe reproduce initial-speed --seeds 200 --out results
  gradprobe reproduce training-speed --data ../shared/data/mnist --json
  gradprobe reproduce all --quick --out /tmp/quick        # under 3 minutes, no download
  gradprobe reproduce all --out results                   # full runs, then results/report.html

An interrupted depth-accuracy run resumes where it stopped when rerun with the same --out."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "name", nargs="?", metavar="NAME", help="an experiment (see --list), or 'all' for all"
    )
    p.add_argument("--list", action="store_true", help="list the experiments and exit")
    p.add_argument("--seeds", type=c.positive_int, default=None,
                   help="seeds (networks) per setting, instead of the experiment's default; "
                        "with 'all', applied to every experiment that has seeds")  # fmt: skip
    p.add_argument("--quick", action="store_true",
                   help="reduced settings on the bundled data: seconds, not minutes")  # fmt: skip
    p.add_argument("--out", type=Path, default=Path("results"), metavar="DIR",
                   help="each experiment writes DIR/NAME (default: results)")  # fmt: skip
    c.add_data_option(p, bundled_default=False)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")


def run(args: argparse.Namespace) -> int:
    from ..experiments import available, get_experiment

    names = available()
    if args.list:
        return _list(names, args.json)
    if not args.name:
        raise ConfigError("name an experiment (see `gradprobe reproduce --list`) or 'all'")
    todo = names if args.name == "all" else [args.name]
    experiments = [get_experiment(n) for n in todo]  # unknown names fail before any work
    configs = [_config(e, args, several=args.name == "all") for e in experiments]
    data = "bundled" if args.quick else args.data
    err = Console(stderr=True)
    if args.quick and args.data not in (None, "bundled"):
        err.print("note: --quick uses the bundled data; --data is ignored", highlight=False)
    out = Console()
    results: dict[str, dict[str, Any]] = {}
    failed: list[str] = []
    for exp, config in zip(experiments, configs):
        t0 = time.perf_counter()
        try:
            with _status(err, exp.name, quiet=args.json) as say:
                result = exp.run(config, data=data, out_dir=args.out / exp.name, progress=say)  # type: ignore[arg-type]  # legacy
        except Exception as e:
            if len(experiments) == 1:
                raise
            failed.append(exp.name)
            err.print(f"[red]✗ {exp.name} failed:[/] {type(e).__name__}: {e}", highlight=False)
            continue
        results[exp.name] = result.to_dict()
        if not args.json:
            _show(out, results[exp.name], args.out / exp.name, time.perf_counter() - t0)
    if args.name != "all":
        if args.json:
            c.emit_json(results[experiments[0].name])
        return 0
    report = None
    if results:
        from ..report import write_report

        report = str(write_report(args.out))
    if args.json:
        c.emit_json({"experiments": results, "report": report, "failed": failed})
    else:
        if report:
            out.print(f"\n[bold]report:[/] {report}", highlight=False)
        if failed:
            err.print(f"[red]failed:[/] {', '.join(failed)}", highlight=False)
    return 1 if failed else 0


def _config(exp: Any, args: argparse.Namespace, *, several: bool) -> Any:
    import dataclasses

    from ..experiments._legacy_base import with_seeds

    config = exp.quick_config() if args.quick else exp.default_config()
    if args.seeds is None:
        return config
    if several and "seeds" not in {f.name for f in dataclasses.fields(config)}:
        return config  # `all --seeds N` sets the seeds of the experiments that have them
    try:
        return with_seeds(config, args.seeds)
    except ConfigError:
        raise ConfigError(f"{exp.name} has no seeds to set; leave out --seeds") from None


def _list(names: list[str], as_json: bool) -> int:
    from ..experiments import REGISTRY

    rows = [
        {"name": n, "title": REGISTRY[n].title, "book_ref": REGISTRY[n].book_ref} for n in names
    ]
    if as_json:
        c.emit_json({"experiments": rows})
        return 0
    table = Table(title="experiments (gradprobe reproduce NAME)", show_edge=False)
    for col in ("name", "title", "in the book"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["name"], r["title"], r["book_ref"])
    Console().print(table)
    return 0


@contextmanager
def _status(console: Console, name: str, *, quiet: bool) -> Iterator[Callable[[str], None]]:
    """A live status line on stderr for one experiment (silent when not a terminal)."""
    if quiet or not console.is_terminal:
        yield lambda _msg: None
        return
    with console.status(f"[bold]{name}[/]: starting") as status:
        yield lambda msg: status.update(f"[bold]{name}[/]: {msg}")


def _num(x: float | None) -> str:
    if x is None:
        return "–"
    return f"{x:.4g}"


def _show(console: Console, r: dict[str, Any], folder: Path, seconds: float) -> None:
    """The comparison table (quantity · ours · band · book · inside?) and the summary."""
    quick = " (quick)" if r["quick"] else ""
    table = Table(title=f"{r['name']}: {r['title']}{quick}", show_edge=False, title_justify="left")
    table.add_column("quantity")
    table.add_column("ours", justify="right")
    table.add_column("band", justify="right")
    table.add_column("book", justify="right")
    table.add_column("inside?", justify="center")
    for cmp in r["comparisons"]:
        band = "–"
        if cmp["low"] is not None and cmp["high"] is not None:
            band = f"{_num(cmp['low'])} – {_num(cmp['high'])}"
        inside = {True: "[green]yes[/]", False: "[red]no[/]", None: "–"}[cmp["inside"]]
        table.add_row(cmp["quantity"], _num(cmp["ours"]), band, _num(cmp["book"]), inside)
    console.print()
    console.print(table)
    bands = {cmp["band"] for cmp in r["comparisons"] if cmp["band"]}
    if bands:
        console.print("band: " + "; ".join(sorted(bands)), style="dim", highlight=False)
    for cmp in r["comparisons"]:
        if cmp["inside"] is False and cmp["note"]:
            console.print(f"[red]outside[/] {cmp['quantity']}: {cmp['note']}", highlight=False)
    console.print(r["summary"], highlight=False)
    console.print(f"wrote {folder} in {seconds:.1f} s", style="dim", highlight=False)
    sys.stdout.flush()
