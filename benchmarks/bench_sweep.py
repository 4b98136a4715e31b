"""How much a sweep gains from the local process pool, and what Ray costs per run.

1. **Pool vs one after another.** A sweep of ``--runs`` (32) small runs — each trains a
   784-30-30-10 sigmoid network for ``--steps`` SGD steps of batch 10 on synthetic data, about
   0.1–0.3 s of one core — executed (a) in this process one after another (``--jobs 1``) and
   (b) in the local pool with ``--jobs 2`` (1 torch thread each), each into a fresh folder. The
   pool's time includes starting its worker processes (spawn, importing torch), as a user
   pays it. Rounds alternate the order (A B, B A …) so a busy machine hits both alike; the
   speed-up is the median over rounds of the paired ratio sequential / pool.
2. **Ray overhead per run.** The same number of runs that do nothing (``steps=0``), on a
   private local Ray (``num_cpus=2``, started before timing; its start-up is reported apart)
   versus one after another in this process: (t_ray − t_sequential) / runs.

Usage::

    python benchmarks/bench_sweep.py                 # 32 runs, 2 rounds
    python benchmarks/bench_sweep.py --runs 8 --rounds 1 --steps 50   # a smoke run
    python benchmarks/bench_sweep.py --json out.json --no-ray
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # workers import this module as bench_sweep:Tiny

from gradprobe.experiments.base import Experiment, RunContext  # noqa: E402
from gradprobe.results import Comparison  # noqa: E402


@dataclass(frozen=True)
class TinyConfig:
    steps: int = 200
    seed: int = 0
    quick: bool = False


class Tiny(Experiment[TinyConfig]):
    """A small training run: ``steps`` SGD steps of a 784-30-30-10 sigmoid net, batch 10."""

    name = "bench-tiny"
    title = "Benchmark run"
    book_ref = "none"
    order = 10_000.0
    Config = TinyConfig

    def compute(self, config: TinyConfig, ctx: RunContext) -> dict[str, Any]:
        import torch

        g = torch.Generator().manual_seed(config.seed)
        x = torch.randn(1000, 784, generator=g)
        y = torch.randint(0, 10, (1000,), generator=g)
        net = torch.nn.Sequential(
            torch.nn.Linear(784, 30), torch.nn.Sigmoid(),
            torch.nn.Linear(30, 30), torch.nn.Sigmoid(), torch.nn.Linear(30, 10),
        )  # fmt: skip
        opt = torch.optim.SGD(net.parameters(), lr=0.5)
        loss = torch.tensor(0.0)
        for i in range(config.steps):
            j = (i * 10) % 1000
            loss = torch.nn.functional.cross_entropy(net(x[j : j + 10]), y[j : j + 10])
            opt.zero_grad()
            loss.backward()
            opt.step()
        return {"loss": loss.item()}

    def compare(self, config: TinyConfig, data: dict[str, Any]) -> list[Comparison]:
        return [Comparison.identity("loss is finite", 1.0, 1.0, 0.0)]


SPEC = "bench_sweep:Tiny"


def one(grid: dict[str, str], **kw: Any) -> float:
    from gradprobe.sweep import plan_sweep, run_sweep

    with tempfile.TemporaryDirectory() as tmp:
        plan = plan_sweep(SPEC, grid, Path(tmp) / "s")
        t0 = time.perf_counter()
        summary = run_sweep(plan, show="none", **kw)
        seconds = time.perf_counter() - t0
        assert summary.done == len(plan.runs) and not summary.failed, summary.failed
    return seconds


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=32)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--no-ray", action="store_true")
    p.add_argument("--no-pool", action="store_true", help="measure only the Ray overhead")
    p.add_argument("--json", metavar="FILE")
    a = p.parse_args()
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(HERE), str(HERE.parent / "src"), os.environ.get("PYTHONPATH", "")]
    )
    grid = {"seed": f"0..{a.runs - 1}", "steps": str(a.steps)}
    one({"seed": "0", "steps": "1"}, jobs=1)  # warm-up: imports, first torch call
    seq: list[float] = []
    pool: list[float] = []
    for r in range(0 if a.no_pool else a.rounds):
        order = ("seq", "pool") if r % 2 == 0 else ("pool", "seq")
        for what in order:
            if what == "seq":
                seq.append(one(grid, jobs=1, threads=1))
            else:
                pool.append(one(grid, jobs=a.jobs, threads=1))
            print(f"round {r + 1}: {what} {(seq if what == 'seq' else pool)[-1]:.1f} s", flush=True)
    out: dict[str, Any] = {
        "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores",
        "load_average": os.getloadavg(),
        "runs": a.runs,
        "steps": a.steps,
        "sequential_s": seq,
        "pool_s": pool,
    }
    if seq:
        out["speedup_median"] = statistics.median(s / q for s, q in zip(seq, pool))
        print(
            f"{a.runs} runs of {a.steps} steps: one after another {statistics.median(seq):.1f} s,"
            f" pool of {a.jobs} {statistics.median(pool):.1f} s,"
            f" speed-up ×{out['speedup_median']:.2f}"
        )
    if not a.no_ray:
        try:
            import ray
        except ImportError:
            print("ray not installed: Ray overhead not measured")
        else:
            t0 = time.perf_counter()
            env = {"env_vars": {"PYTHONPATH": os.environ["PYTHONPATH"]}}
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, runtime_env=env)
            start = time.perf_counter() - t0
            noop = {"seed": f"0..{a.runs - 1}", "steps": "0"}
            one(noop, backend="ray")  # warm-up: Ray's workers import torch and gradprobe
            rays, seqs = [], []
            for _ in range(a.rounds):
                rays.append(one(noop, backend="ray"))
                seqs.append(one(noop, jobs=1, threads=1))
            ray.shutdown()
            # Ray runs 2 at a time: its cost per run is 2 slots × wall time / runs, against the
            # in-process time per run (the experiment's own base cost, the same in both).
            per_run = [(2 * r - s) / a.runs for r, s in zip(rays, seqs)]
            wall = [(r - s) / a.runs for r, s in zip(rays, seqs)]
            out.update(ray_start_s=start, ray_s=rays, ray_sequential_s=seqs,
                       ray_overhead_per_run_s=statistics.median(per_run),
                       ray_wall_overhead_per_run_s=statistics.median(wall))  # fmt: skip
            print(
                f"Ray: start {start:.1f} s; {a.runs} empty runs {statistics.median(rays):.2f} s "
                f"vs {statistics.median(seqs):.2f} s in-process: "
                f"{1000 * out['ray_overhead_per_run_s']:.0f} ms of a CPU slot per run, "
                f"{1000 * out['ray_wall_overhead_per_run_s']:.0f} ms wall per run"
            )
    print(f"load average during the run: {os.getloadavg()}")
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=1) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
