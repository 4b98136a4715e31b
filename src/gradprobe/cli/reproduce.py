"""``gradprobe reproduce``: run the book's experiments and put our numbers beside the book's."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..io import check_output_dir
from ..nets import DEVICES, resolve_device
from . import _common as c
from ._pool import Outcome, Task, draw, plan_jobs, run_pool, spec_of

NAME = "reproduce"
HELP = "reproduce the book's experiments (ch. 3 & 5) with statistics over seeds"
DESCRIPTION = """\
Run one of the book's experiments, or all of them, write its result (DIR/NAME/result.json,
plus any CSVs) and draw its figures (PNG and SVG) from that result. Each result puts our numbers
beside the book's. Only numbers the book prints count as agreement ("N of M numbers the book
prints lie inside our seed band", the band being the 10-90 % range of single runs over seeds);
checks (values true by construction, bounds) and theory predictions are listed apart, every row
names its band, and a disagreeing number says why. `reproduce all` runs every experiment in the
report's order and then writes DIR/report.html: several at once, each in its own process on
one thread (--jobs; results print in report order, and one that fails does not stop the
others). `reproduce NAME` updates DIR/report.html when one is there, so the report never goes
stale.

Progress goes to stderr: a live status line on a terminal, a plain line with an ETA about every
10 s elsewhere (logs, CI, nohup). --quick runs a reduced version of each experiment on the
bundled 1000+1000 images (no download); its cards say what quick mode can and cannot show."""
EPILOG = """\
examples:
  gradprobe reproduce --list
  gradprobe reproduce all --quick --out quick-results     # about a minute, no download
  gradprobe reproduce initial-speed --seeds 200 --out results
  gradprobe reproduce training-speed --data bundled --json
  gradprobe reproduce all --out results                   # full runs, then results/report.html
  gradprobe reproduce all --quick --jobs 1 --out q        # one experiment at a time

--data takes a folder holding the four MNIST IDX .gz files (or 'bundled'); by default
$GRADPROBE_DATA, the cache, or a verified download. An interrupted run resumes where it stopped
when rerun with the same --out (for experiments that save partial results)."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "name", nargs="?", metavar="NAME", help="an experiment (see --list), or 'all' for all"
    )
    p.add_argument("--list", action="store_true", help="list the experiments and exit")
    p.add_argument("--seeds", type=c.seeds, default=None,
                   help="seeds (networks) per setting, instead of the experiment's default; "
                        "with 'all', applied to every experiment that has seeds")  # fmt: skip
    p.add_argument("--quick", action="store_true",
                   help="reduced settings on the bundled data: seconds, not minutes")  # fmt: skip
    p.add_argument("--out", type=c.output_dir, default=Path("results"), metavar="DIR",
                   help="each experiment writes DIR/NAME (default: results)")  # fmt: skip
    p.add_argument("--jobs", type=_jobs, default=None, metavar="N",
                   help="with 'all': experiments run at once, each in its own process on one "
                        "thread; 'auto' (default): the usable CPU cores, at most 8; 1: one "
                        "after another in this process")  # fmt: skip
    p.add_argument("--threads", type=c.positive_int, default=None, metavar="N",
                   help="torch intra-op threads while an experiment runs "
                        "(default: the experiments' policy, 1)")  # fmt: skip
    p.add_argument("--device", choices=list(DEVICES), default="cpu",
                   help="where to compute: cpu (default), cuda, or auto (the GPU if there is "
                        "one)")  # fmt: skip
    c.add_data_option(p, bundled_default=False)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")


def _jobs(text: str) -> int | None:
    """--jobs: 'auto' (None) or a positive integer."""
    return None if text.strip().lower() == "auto" else c.positive_int(text)


def run(args: argparse.Namespace) -> int:
    from ..experiments import available, get_experiment
    from ..report.html import check_target, generate_report, report_path

    if args.list:
        return _list(available(), args.json)
    if not args.name:
        raise ConfigError("name an experiment (see `gradprobe reproduce --list`) or 'all'")
    everything = args.name == "all"
    todo = available() if everything else [args.name]
    experiments = [get_experiment(n) for n in todo]  # unknown names fail before any work
    configs = [_config(e, args, several=everything) for e in experiments]
    # --out given was checked when parsed (c.output_dir); the default is checked here
    out_root: Path = check_output_dir(args.out, "--out")
    device = str(resolve_device(args.device))  # a missing GPU is refused before any work
    report_file = report_path(out_root, None)
    update_report = everything or report_file.exists() or report_file.is_symlink()
    if update_report:
        check_target(report_file)  # refuse a non-regular report.html before any work
    data = "bundled" if args.quick else args.data
    if args.quick and args.data not in (None, "bundled"):
        print("note: --quick uses the bundled data; --data is ignored", file=sys.stderr)

    from rich.console import Console

    out = Console(soft_wrap=False)
    if not out.is_terminal:
        out = Console(soft_wrap=False, width=140)  # logs: whole rows, not 80-column folds
    done: dict[str, dict[str, Any]] = {}
    comparisons: list[Any] = []
    drawn: dict[str, Any] = {}
    failed: list[str] = []
    warnings: list[str] = []

    def take(o: Outcome) -> None:
        """One experiment's outcome, in report order: record it and show it."""
        if o.error:
            failed.append(o.name)
            print(f"gradprobe reproduce: {o.name} failed: {o.error}", file=sys.stderr)
            return
        if o.warning:
            warnings.append(o.warning)
            print(f"gradprobe reproduce: warning: {o.warning}", file=sys.stderr)
        drawn[o.name] = o.figures
        comparisons.extend(o.result.comparisons)
        done[o.name] = {
            "dir": str(out_root / o.name),
            "result": o.result.to_dict(),
            "figures": [dataclasses.asdict(f) for f in o.figures],
        }
        if not args.json:
            show_result(out, o.result, out_root / o.name, o.seconds)

    threads = 1 if args.threads is None else args.threads
    jobs = plan_jobs(args.jobs, threads, len(experiments)) if everything else 1
    specs = [spec_of(e) for e in experiments] if jobs > 1 else []
    if jobs > 1 and None not in specs:
        tasks = [
            Task(e.name, str(spec), cfg, str(out_root / e.name), data, device, threads)
            for e, cfg, spec in zip(experiments, configs, specs)
        ]
        in_order = InOrder([e.name for e in experiments], take)
        run_pool(_longest_first(tasks, out_root), jobs, in_order.add)
    else:  # one at a time, in this process
        for exp, config in zip(experiments, configs):
            take(_run_here(exp, config, out_root / exp.name, data, device, args.threads,
                           reraise=not everything))  # fmt: skip

    from ..report.html import board_line
    from ..results import scoreboard
    from .report import board_dict

    board = scoreboard(comparisons)
    report = None
    if done and update_report:
        info = generate_report(out_root, drawn=drawn)
        report = str(info.path)
        warnings += info.warnings
        for w in info.warnings:
            print(f"gradprobe reproduce: warning: {w}", file=sys.stderr)
    if args.json:
        if everything:
            c.emit_json({"experiments": done, "scoreboard": board_dict(board), "report": report,
                         "failed": failed, "warnings": warnings})  # fmt: skip
        else:
            only = done[experiments[0].name]
            c.emit_json({"experiment": experiments[0].name, **only,
                         "scoreboard": board_dict(board), "report": report,
                         "warnings": warnings})  # fmt: skip
    else:
        if everything:
            out.print(f"\n[bold]{board_line(board)}[/]", highlight=False)
            out.print(f"checks: {board.checks_passed} of {board.checks} passed; "
                      f"theory: {board.predictions_inside} of {board.predictions} inside our band",
                      highlight=False)  # fmt: skip
        if report:
            verb = "written" if everything else "updated"
            out.print(f"[bold]report {verb}:[/] {report}", highlight=False)
        if failed:
            out.print(f"[red]failed:[/] {', '.join(failed)}", highlight=False)
    return 1 if failed else 0


def _run_here(
    exp: Any,
    config: Any,
    folder: Path,
    data: str | None,
    device: str,
    threads: int | None,
    *,
    reraise: bool,
) -> Outcome:
    """Run one experiment in this process, with its own progress display, and draw it."""
    from ..progress import progress_display

    t0 = time.perf_counter()
    try:
        with progress_display(exp.name) as progress:
            result = exp.run(config, out_dir=folder, data=data, device=device,
                             progress=progress, threads=threads)  # fmt: skip
    except Exception as e:
        if reraise:
            raise
        return Outcome(exp.name, error=f"{type(e).__name__}: {e}")
    figures, warning = draw(result, folder)
    return Outcome(exp.name, result, figures, "", warning, time.perf_counter() - t0)


class InOrder:
    """Hands outcomes to ``take`` in the order of ``names``, whatever order they finish in."""

    def __init__(self, names: list[str], take: Any):
        self.names, self.take = list(names), take
        self.waiting: dict[str, Outcome] = {}

    def add(self, outcome: Outcome) -> None:
        self.waiting[outcome.name] = outcome
        while self.names and self.names[0] in self.waiting:
            self.take(self.waiting.pop(self.names.pop(0)))


def _longest_first(tasks: list[Task], out_root: Path) -> list[Task]:
    """Submission order: longest first (so the pool does not end on one long run), timed by the
    seconds recorded in an earlier result of the same configuration in the output folder, else
    by the experiment's ``typical_seconds`` hint; report order among equals."""
    from ..errors import GradprobeError
    from ..results import ResultError, plain, read_result
    from ..sweep.worker import load_experiment

    def hint(t: Task) -> float:
        try:
            quick, full = load_experiment(t.spec).typical_seconds
        except (GradprobeError, ValueError, TypeError, AttributeError):
            return 0.0
        return float(quick if getattr(t.config, "quick", False) else full)

    def seconds(t: Task) -> float:
        path = out_root / t.name / "result.json"
        try:
            r = read_result(path) if path.is_file() else None
        except (ResultError, OSError):
            return hint(t)
        if r is None or r.config != plain(dataclasses.asdict(t.config)):
            return hint(t)
        return float(r.seconds)

    return sorted(tasks, key=lambda t: -seconds(t))  # stable: report order among equals


def _config(exp: Any, args: argparse.Namespace, *, several: bool) -> Any:
    from ..experiments import with_fields

    config = exp.quick_config() if args.quick else exp.default_config()
    if args.seeds is None:
        return config
    if "seeds" not in {f.name for f in dataclasses.fields(config)}:
        if several:
            return config  # `all --seeds N` sets the seeds of the experiments that have them
        raise ConfigError(f"{exp.name} has no seeds to set; leave out --seeds")
    return with_fields(config, seeds=args.seeds)


def _list(names: list[str], as_json: bool) -> int:
    from rich.console import Console
    from rich.table import Table

    from ..experiments import get_experiment

    rows = []
    for n in names:
        e = get_experiment(n)
        rows.append({"name": n, "title": e.title, "book_ref": e.book_ref, "order": e.order})
    if as_json:
        c.emit_json({"experiments": rows})
        return 0
    table = Table(title="experiments (gradprobe reproduce NAME), in report order", show_edge=False)
    for col in ("name", "title", "in the book"):
        table.add_column(col)
    from rich.markup import escape

    for r in rows:
        table.add_row(*(escape(str(r[k])) for k in ("name", "title", "book_ref")))
    Console().print(table)
    return 0


# -- the terminal's view of one result -------------------------------------------------------
def _num(x: float | None) -> str:
    return "–" if x is None else f"{x:.4g}"


_MARK = {
    ("reproduction", "agrees"): "[green]✓ inside[/]",
    ("reproduction", "disagrees"): "[red]✗ outside[/]",
    ("check", "agrees"): "[green]✓ passed[/]",
    ("check", "disagrees"): "[red]✗ failed[/]",
    ("prediction", "agrees"): "[green]✓ inside[/]",
    ("prediction", "disagrees"): "[red]✗ outside[/]",
}


def _band(cmp: Any) -> str:
    if cmp.low is not None and cmp.high is not None:
        span = f"{_num(cmp.low)} – {_num(cmp.high)}"
        return f"{span} ({cmp.band})" if cmp.band else span
    return cmp.band or "no band"


def show_result(console: Any, result: Any, folder: Path, seconds: float) -> None:
    """Print one result honestly: reproductions (the only rows counted as agreement), checks,
    theory; every row's band; a "why" for each disagreeing reproduction; the conclusions."""
    from rich.markup import escape
    from rich.table import Table

    r = result
    quick = " (quick)" if r.quick else ""
    console.print()
    console.print(f"[bold]{escape(r.name)}[/]: {escape(r.title)}{quick}", highlight=False)
    if r.quick and r.quick_note:
        console.print(f"[yellow]quick run:[/] {escape(r.quick_note)}", highlight=False)
    groups: dict[str, list[Any]] = {"reproduction": [], "check": [], "prediction": []}
    for cmp in r.comparisons:
        groups["check" if cmp.kind in ("identity", "bound") else cmp.kind].append(cmp)
    titles = {
        "reproduction": ("numbers the book prints", "book"),
        "check": (
            "checks (true by construction or bounds; not agreement with the book)",
            "expected",
        ),
        "prediction": ("theory", "predicted"),
    }
    for kind, rows in groups.items():
        if not rows:
            continue
        title, ref = titles[kind]
        table = Table(title=title, show_edge=False, title_justify="left", highlight=False)
        table.add_column("quantity", overflow="fold")
        table.add_column("ours", justify="right")
        table.add_column("band", overflow="fold")
        table.add_column(ref, justify="right")
        table.add_column("verdict")
        for cmp in rows:
            reference = _num(cmp.reference)
            if cmp.relation in ("<=", ">="):
                reference = ("≤ " if cmp.relation == "<=" else "≥ ") + reference
            mark = _MARK.get((kind, cmp.verdict), "– not judged")
            table.add_row(escape(cmp.quantity), _num(cmp.ours), escape(_band(cmp)),
                          reference, mark)  # fmt: skip
        console.print(table)
    for cmp in groups["reproduction"]:
        if cmp.verdict == "disagrees":
            why = cmp.note or "not explained by the experiment"
            console.print(f"[red]why[/] {escape(cmp.quantity)}: {escape(why)}", highlight=False)
    for sentence in r.conclusions:
        console.print(f"• {escape(sentence)}", highlight=False)
    from ..report.html import board_line

    board = r.scoreboard
    console.print(
        f"{board_line(board)}; checks {board.checks_passed} of {board.checks} passed",
        style="bold",
        highlight=False,
    )
    console.print(f"wrote {escape(str(folder))} in {seconds:.1f} s", style="dim",
                  highlight=False)  # fmt: skip
    sys.stdout.flush()
