"""`gradprobe reproduce`, in-process, on toy experiments registered from outside the package
(tests/report/toy_experiment.py): registration proof, honest terminal output, --json, the
report kept in step, progress lines, one-line errors. Plus the progress display itself."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

import gradprobe.experiments as experiments
from gradprobe.cli.main import build_parser, main
from gradprobe.experiments import base
from gradprobe.progress import PlainProgress, progress_display
from gradprobe.results import read_result
from report.toy_experiment import NAME, Toy, ToyConfig, install, make_result


@pytest.fixture
def toy(monkeypatch: pytest.MonkeyPatch) -> type[Toy]:
    return install(monkeypatch)


@pytest.fixture
def only_toys(monkeypatch: pytest.MonkeyPatch) -> None:
    """A registry holding only the toy and a second one that fails, no other experiment."""
    monkeypatch.setattr(experiments, "load_all", lambda: None)
    monkeypatch.setattr(base, "REGISTRY", {})
    install(monkeypatch)

    class Broken(Toy):
        name = "broken-exp"
        order = 1.0

        def compute(self, config: ToyConfig, ctx: base.RunContext) -> dict[str, Any]:
            raise RuntimeError("out of luck")

    base.register(Broken)


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_a_registered_toy_is_listed_runs_and_is_reported(
    toy: type[Toy], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Registration proof: an experiment (compute + its own figure module) defined outside the
    package appears in --list, runs, and appears in the report — nothing else touched."""
    assert main(["reproduce", "--list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["experiments"]
    assert {"name": NAME, "title": Toy.title, "book_ref": Toy.book_ref, "order": 5.0} in rows
    assert [r["order"] for r in rows] == sorted(r["order"] for r in rows)
    assert main(["reproduce", "--list"]) == 0
    assert NAME in capsys.readouterr().out
    out = tmp_path / "results"
    assert main(["reproduce", NAME, "--quick", "--out", str(out)]) == 0
    assert sorted(p.name for p in (out / NAME).iterdir()) == [
        "result.json", "toy-curve.png", "toy-curve.svg"]  # fmt: skip
    assert not (out / "report.html").exists()  # no report yet: none is made for one experiment
    assert main(["report", str(out)]) == 0
    page = (out / "report.html").read_text("utf-8")
    assert f'<section id="{NAME}" class="experiment"' in page
    assert "data:image/svg+xml;base64," in page
    assert "Quick mode uses 5 seeds: the band is rough." in page  # the quick card


def test_terminal_output_is_honest(
    toy: type[Toy], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["reproduce", NAME, "--out", str(tmp_path), "--seeds", "7"]) == 0
    out, err = capsys.readouterr()
    assert "numbers the book prints" in out and "checks (true by construction" in out
    assert "theory" in out and "10–90 % of single runs, 7 seeds" in out
    assert "✗ outside" in out and "✓ passed" in out
    assert "why δ² far away: not explained by the experiment" in out
    assert "The median" in out  # the conclusion
    assert "1 of 2 numbers the book prints lie inside our seed band; checks 1 of 1 passed" in out
    # not a terminal: plain progress lines on stderr, stdout untouched by them
    assert err.splitlines()[0] == f"{NAME}: started"
    assert err.splitlines()[-1].startswith(f"{NAME}: finished after")


def test_json_for_one_experiment(
    toy: type[Toy], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["reproduce", NAME, "--quick", "--out", str(tmp_path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["experiment"] == NAME and doc["report"] is None and doc["warnings"] == []
    assert doc["result"]["schema"] == "gradprobe.result/2" and doc["result"]["order"] == 5.0
    assert doc["result"]["config"] == {"seeds": 5, "quick": True, "centre": 0.5}
    assert doc["figures"] == [
        {
            "stem": "toy-curve",
            "caption": "The toy's curve, drawn from result.data.",
            "png": "toy-curve.png",
            "svg": "toy-curve.svg",
        }
    ]
    assert doc["scoreboard"]["reproductions"] == 2 and doc["scoreboard"]["checks"] == 1


def test_one_experiment_updates_an_existing_report(
    toy: type[Toy], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_result("other", order=1.0).write(tmp_path / "other")
    assert main(["report", str(tmp_path)]) == 0
    assert f'id="{NAME}"' not in (tmp_path / "report.html").read_text("utf-8")
    assert main(["reproduce", NAME, "--quick", "--out", str(tmp_path)]) == 0
    assert "report updated:" in capsys.readouterr().out
    page = (tmp_path / "report.html").read_text("utf-8")
    assert page.index('id="other"') < page.index(f'id="{NAME}"')  # never stale


def test_all_runs_each_then_writes_the_report(
    only_toys: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["reproduce", "all", "--quick", "--out", str(tmp_path), "--json"]) == 1
    out, err = capsys.readouterr()
    doc = json.loads(out)
    assert doc["failed"] == ["broken-exp"] and list(doc["experiments"]) == [NAME]
    assert doc["report"] == str(tmp_path / "report.html")
    assert doc["scoreboard"]["headline"].startswith("1 of 2 numbers the book prints")
    assert "broken-exp failed: RuntimeError: out of luck" in err and "Traceback" not in err
    page = (tmp_path / "report.html").read_text("utf-8")
    assert f'id="{NAME}"' in page and "data:image/svg+xml" in page


def test_all_refuses_a_non_regular_report_before_any_work(
    only_toys: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "report.html").symlink_to("/dev/null")
    assert main(["reproduce", "all", "--quick", "--out", str(tmp_path)]) == 2
    assert "not a regular file" in _one_error_line(capsys.readouterr().err)
    assert not (tmp_path / NAME).exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["reproduce"], "name an experiment"),
        (["reproduce", "no-such-thing"], "unknown experiment"),
        (["reproduce", NAME, "--seeds", "0"], "a number of seeds from 1"),
        (["reproduce", NAME, "--seeds", "1000000"], "a number of seeds from 1"),
        (["reproduce", NAME, "--out", ""], "non-empty"),
    ],
)
def test_errors_are_one_line_exit_2(
    toy: type[Toy], argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        code = main(argv)
    except SystemExit as e:  # argparse's own usage errors
        code = e.code
    assert code == 2
    assert message in _one_error_line(capsys.readouterr().err)


def test_out_that_is_a_file_is_refused(
    toy: type[Toy], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "f").write_text("x", "utf-8")
    with pytest.raises(SystemExit) as exit_:  # refused when parsed (c.output_dir)
        main(["reproduce", NAME, "--out", str(tmp_path / "f")])
    assert exit_.value.code == 2
    assert "exists and is a file, not a folder" in _one_error_line(capsys.readouterr().err)


def test_help_examples_name_no_path_outside_the_package(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["reproduce", "--help"])
    out = capsys.readouterr().out
    assert "examples:" in out and "gradprobe reproduce all --quick" in out
    assert "../" not in out and "shared" not in out


# -- the progress display -----------------------------------------------------------------------
class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_plain_lines_every_ten_seconds_with_an_eta() -> None:
    clock, log = Clock(), io.StringIO()
    p = PlainProgress("exp", log, every=10.0, clock=clock)
    p.start()
    for step in range(1, 21):  # 2 s per unit of 20
        clock.t += 2.0
        p(f"seed {step}", step, 20)
    p.finish()
    lines = log.getvalue().splitlines()
    assert lines[0] == "exp: started" and lines[-1] == "exp: finished after 40 s"
    middle = lines[1:-1]
    assert len(middle) == 4  # at 10, 20, 30, 40 s: never more often than every 10 s
    assert middle[0] == "exp: seed 5 · 5/20 (25 %) · 10 s elapsed, ETA 30 s"
    assert middle[2] == "exp: seed 15 · 15/20 (75 %) · 30 s elapsed, ETA 10 s"


def test_eta_restarts_with_a_new_phase_and_is_unknown_without_a_total() -> None:
    clock, log = Clock(), io.StringIO()
    p = PlainProgress("exp", log, every=0.0, clock=clock)
    clock.t += 50
    p("phase 1", 10, 10)
    clock.t += 1
    p("phase 2", 0, 4)  # new total: a new phase, its own rate
    clock.t += 3
    p("phase 2", 1, 4)
    clock.t += 1
    p("training", 0, 0)
    lines = log.getvalue().splitlines()
    assert lines == [
        "exp: phase 1 · 10/10 (100 %) · 50 s elapsed, ETA unknown",
        "exp: phase 2 · 0/4 (0 %) · 51 s elapsed, ETA unknown",
        "exp: phase 2 · 1/4 (25 %) · 54 s elapsed, ETA 9 s",  # 3 s per unit of phase 2
        "exp: training · 55 s elapsed",
    ]


def test_display_chooses_plain_or_live() -> None:
    log = io.StringIO()  # not a terminal
    with progress_display("exp", stream=log) as show:
        show("step", 1, 2)
    assert log.getvalue().splitlines()[0] == "exp: started"
    assert log.getvalue().splitlines()[-1].startswith("exp: finished after")
    term = io.StringIO()
    with progress_display("exp", stream=term, interactive=True) as show:
        show("seed 1 of 2", 1, 2)
        show("seed 2 of 2", 2, 2)
    text = term.getvalue()
    assert "\x1b[" in text and "exp: seed" in text  # rich's live line, with ANSI control
    assert "started" not in text


def test_a_broken_log_does_not_stop_the_run() -> None:
    log = io.StringIO()
    with progress_display("exp", stream=log) as show:
        log.close()
        show("step", 1, 2)


@pytest.mark.slow
def test_all_quick_for_real(quick_all: Any) -> None:
    """Every registered experiment, quick, end to end: results, figures, one report. The run is
    the Quickstart's command, made once per session (conftest), in a fresh interpreter."""
    names = [n for n in experiments.available() if n != NAME]
    assert all(isinstance(experiments.get_experiment(n), base.Experiment) for n in names)
    assert quick_all.returncode == 0, quick_all.stderr[-3000:]
    assert "warning" not in quick_all.stderr and "Traceback" not in quick_all.stderr
    out = quick_all.folder / "results"
    page = (out / "report.html").read_text("utf-8")
    for name in names:
        result = read_result(out / name / "result.json")
        assert result.name == name and result.quick
        assert f'<section id="{name}" class="experiment"' in page
        assert list((out / name).glob("*.png")), f"{name} drew no figure"


def test_device_reaches_the_experiment(
    toy: type[Toy], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--device is resolved before any work and handed to `Experiment.run`."""
    import torch

    seen: list[str] = []
    run = base.Experiment.run

    def spy(self: Any, config: Any, **kw: Any) -> Any:
        seen.append(kw["device"])
        return run(self, config, **kw)

    monkeypatch.setattr(base.Experiment, "run", spy)
    assert main(["reproduce", NAME, "--quick", "--device", "cpu", "--out", str(tmp_path)]) == 0
    assert seen == ["cpu"]
    if not torch.cuda.is_available():
        assert main(["reproduce", NAME, "--device", "cuda", "--out", str(tmp_path / "g")]) == 2
        assert seen == ["cpu"] and not (tmp_path / "g").exists()


# -- several experiments at once (--jobs) --------------------------------------------------------
def test_jobs_option_and_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    from gradprobe.cli import _pool

    args = build_parser().parse_args(["reproduce", "all", "--jobs", "auto"])
    assert args.jobs is None
    assert build_parser().parse_args(["reproduce", "all", "--jobs", "3"]).jobs == 3
    for bad in ("0", "-1", "two"):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["reproduce", "all", "--jobs", bad])
    monkeypatch.setattr(_pool, "cores", lambda: 16)
    assert _pool.plan_jobs(None, 1, 12) == _pool.MAX_AUTO_JOBS  # auto: capped
    assert _pool.plan_jobs(None, 4, 12) == 4  # jobs × threads ≤ cores
    assert _pool.plan_jobs(None, 1, 3) == 3  # no more workers than experiments
    assert _pool.plan_jobs(1, 1, 12) == 1 and _pool.plan_jobs(20, 1, 5) == 5
    monkeypatch.setattr(_pool, "cores", lambda: 1)
    assert _pool.plan_jobs(None, 1, 12) == 1  # one core: today's serial path


def test_outcomes_are_shown_in_report_order() -> None:
    from gradprobe.cli._pool import Outcome
    from gradprobe.cli.reproduce import InOrder

    seen: list[str] = []
    order = InOrder(["a", "b", "c", "d"], lambda o: seen.append(o.name))
    for name in ("c", "b", "d"):
        order.add(Outcome(name))
    assert seen == []  # "a" has not finished: nothing may be shown before it
    order.add(Outcome("a", error="failed"))
    assert seen == ["a", "b", "c", "d"]


def test_what_a_worker_process_can_find(toy: type[Toy]) -> None:
    """Gradprobe's experiments by name; one from an importable module by module:Class; one
    whose class or figure module exists only in this process cannot go to a worker (then
    `reproduce all` runs one experiment after another here)."""
    from cli.pool_toys import Boom
    from gradprobe.cli._pool import spec_of
    from gradprobe.experiments.chain import Chain

    assert spec_of(Chain()) == "chain"
    assert spec_of(Boom()) == "cli.pool_toys:Boom"
    assert spec_of(Toy()) is None  # its figure module was put into sys.modules by hand

    class Local(Boom):
        name = "local-exp"

    assert spec_of(Local()) is None


@pytest.mark.slow
def test_jobs_give_the_same_results_as_one_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two cheap experiments of the package and one that fails, on 2 worker processes and then
    in this process: identical result data, output in report order, the failure reported and
    the others kept, exit code 1 either way."""
    from cli.pool_toys import Boom

    experiments.load_all()
    monkeypatch.setattr(base, "REGISTRY", dict(base.REGISTRY))
    base.register(Boom)
    names = ["chain", "boom-exp", "output-layers"]
    monkeypatch.setattr(experiments, "available", lambda: sorted(names, key=lambda n:
                        base.REGISTRY[n].order))  # fmt: skip
    runs = {}
    for jobs in ("2", "1"):
        out = tmp_path / f"jobs{jobs}"
        code = main(["reproduce", "all", "--quick", "--jobs", jobs, "--out", str(out)])
        stdout, stderr = capsys.readouterr()
        assert code == 1, stderr
        assert "boom-exp failed: RuntimeError: boom in a worker" in stderr
        assert "Traceback" not in stderr
        assert stdout.index("chain:") < stdout.index("output-layers:")  # report order
        assert "failed: boom-exp" in stdout and (out / "report.html").is_file()
        runs[jobs] = {n: json.loads((out / n / "result.json").read_text("utf-8"))
                      for n in ("chain", "output-layers")}  # fmt: skip
        assert sorted(p.name for p in (out / "chain").glob("*.svg"))  # drawn in the worker
    for n in ("chain", "output-layers"):
        for key in ("data", "comparisons", "conclusions", "tables", "config"):
            assert runs["2"][n][key] == runs["1"][n][key], (n, key)


def test_longest_first_by_an_earlier_result_else_by_the_hint(tmp_path: Path) -> None:
    """A fresh folder: the experiments' ``typical_seconds`` decide (the quick or the default
    one, as the config says); an earlier result of the same configuration overrides the hint."""
    import dataclasses

    from gradprobe.cli._pool import Task
    from gradprobe.cli.reproduce import _longest_first

    names = ["chain", "through-time", "weight-init", "exploding"]

    def tasks(quick: bool) -> list[Task]:
        out = []
        for n in names:
            exp = base.get_experiment(n)
            cfg = exp.quick_config() if quick else exp.default_config()
            out.append(Task(n, n, cfg, str(tmp_path / n), None, "cpu", 1))
        return out

    def hint(t: Task, quick: bool) -> float:
        return base.get_experiment(t.name).typical_seconds[0 if quick else 1]

    for quick in (True, False):
        got = [t.name for t in _longest_first(tasks(quick), tmp_path)]
        by_name = {t.name: t for t in tasks(quick)}
        assert got == sorted(names, key=lambda n: -hint(by_name[n], quick))
    # the quick hints put through-time before weight-init; the default ones the other way round
    first_two = [[t.name for t in _longest_first(tasks(q), tmp_path)][:2] for q in (True, False)]
    assert first_two == [["through-time", "weight-init"], ["weight-init", "through-time"]]
    # an earlier result of the same configuration: its recorded seconds win over the hint
    chain = next(t for t in tasks(False) if t.name == "chain")
    from gradprobe.results import plain

    result = make_result("chain", seconds=10_000.0, config=plain(dataclasses.asdict(chain.config)))
    (tmp_path / "chain").mkdir()
    (tmp_path / "chain" / "result.json").write_text(json.dumps(result.to_dict()))
    assert _longest_first(tasks(False), tmp_path)[0].name == "chain"
