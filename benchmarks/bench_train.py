#!/usr/bin/env python
"""Time one training epoch of gradprobe's trainer against a per-example network2-style reference.

For 784-30-10 and 784-30-30-30-30-10 (sigmoid, cross-entropy, L2 λ = 5, η = 0.1, batch 10,
50 000 MNIST training images) and for S = 1 and S = 16 seeds, this times

* ours:       ``Trainer(net, TrainConfig(epochs=1, batch_size=10, eta=0.1, lmbda=5.0))
              .fit(training)`` and reads ``seconds_per_epoch`` (training only);
* reference:  ``network2_reference.ReferenceNetwork.sgd_epoch`` — NumPy float64, backprop one
              example at a time inside each mini-batch, as network2 does (one seed);
* autograd:   a plain PyTorch loop (nn.Linear layers, loss.backward(), manual SGD; one seed),
              a second baseline,

all in the same run, interleaved, each repeated (``--also``: other engines of the trainer timed
alike and printed as technique rows: by default the NumPy engine beside the compiled one);
it reports min and median and the ratio
reference-per-seed-epoch / ours-per-seed-epoch (from the medians; the minima's ratio and the
ratio of CPU seconds of the timed thread beside it)
against the targets of issue 15 (S = 1: ≥ 20×, S = 16: ≥ 40×; the earlier 5× / 10× are shown
too). It always exits 0: it is a report, not a test.

    python benchmarks/bench_train.py                 # full epochs, 5 repeats, ~2 min quiet
    python benchmarks/bench_train.py --engine torch  # the torch engine instead of the default
    python benchmarks/bench_train.py --also numpy,torch  # other engines as technique rows
    python benchmarks/bench_train.py --quick         # smoke run, a few seconds
    python benchmarks/bench_train.py --json out.json # also write the figures as JSON ('-': stdout)
"""

from __future__ import annotations

import argparse
import os
import sys


def _args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--data",
        default=None,
        help="MNIST folder (default: $GRADPROBE_DATA, then "
        "../shared/data/mnist beside the repo, then the bundled 1000-image subset)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch intra-op threads (and BLAS/OpenMP threads for NumPy); default 1",
    )
    p.add_argument("--repeats", type=int, default=5, help="timed epochs per configuration (≥ 1)")
    p.add_argument("--device", default="cpu", help="where ours runs: cpu (default), cuda or auto")
    p.add_argument(
        "--images",
        type=int,
        default=50_000,
        help="images per epoch for ours and "
        "the autograd loop (times are scaled to 50 000 when fewer)",
    )
    p.add_argument(
        "--ref-images",
        type=int,
        default=None,
        help="images per reference epoch (default: --images; scaled to 50 000 when fewer)",
    )
    p.add_argument("--seeds", default="1,16", help="comma-separated S values (default 1,16)")
    p.add_argument(
        "--nets", default="784,30,10;784,30,30,30,30,10", help="semicolon-separated layer sizes"
    )
    p.add_argument(
        "--engine",
        default="auto",
        choices=("auto", "numba", "numpy", "torch"),  # parsed before gradprobe is imported
        help="trainer engine: auto (numba when installed, else numpy; named explicitly, as the "
        "trainer itself leaves runs this small to NumPy), numba, numpy, or torch (the "
        "any-device path)",
    )
    p.add_argument(
        "--also",
        default="numpy",
        help="comma-separated other engines to time beside it as technique rows "
        "(default numpy; '' for none); the main engine is skipped",
    )
    p.add_argument("--no-autograd", action="store_true", help="skip the plain autograd baseline")
    p.add_argument(
        "--quick", action="store_true", help="smoke run: 2000 images (reference 500), 1 repeat"
    )
    p.add_argument("--json", metavar="PATH", help="write the results as JSON to PATH ('-': stdout)")
    a = p.parse_args(argv)
    if a.quick:
        a.images, a.repeats = min(a.images, 2000), 1
        a.ref_images = min(a.ref_images or 500, 500)
    a.ref_images = a.ref_images or a.images
    return a


ARGS = _args() if __name__ == "__main__" else None
if ARGS is not None:  # before NumPy / torch load their thread pools
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(ARGS.threads)

import itertools  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from datetime import datetime  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import network2_reference as ref  # noqa: E402

from gradprobe.data import load_data  # noqa: E402
from gradprobe.nets import Network, resolve_device  # noqa: E402
from gradprobe.train import Callback, TrainConfig, Trainer, TrainState  # noqa: E402

FULL = 50_000
ETA, LMBDA, BATCH = 0.1, 5.0, 10
TARGETS = {1: 20.0}  # S → minimum speed-up per seed-epoch (issue 15); any other S: 40×
EARLIER = {1: 5.0}  # the first targets; any other S: 10×


def target(S: int) -> float:
    return TARGETS.get(S, 40.0)


def earlier_target(S: int) -> float:
    return EARLIER.get(S, 10.0)


def machine() -> dict[str, object]:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "torch_threads": torch.get_num_threads(),
        "loadavg_start": load,
        "date": datetime.now().isoformat(timespec="seconds"),
    }


def find_data(spec: str | None):
    if spec is None:
        spec = os.environ.get("GRADPROBE_DATA")
    if spec is None:
        shared = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
        spec = str(shared) if shared.is_dir() else "bundled"
    return load_data(spec).training, spec


# -- the three contestants ------------------------------------------------------------------
DEVICE = "cpu"


ENGINE = "auto"
CPU: dict[str, list[float]] = {}  # CPU seconds (this thread) of each timed run, by key


class _CpuClock(Callback):
    """CPU time of this thread over the epoch (a loaded machine inflates wall time far more)."""

    def on_epoch_begin(self, state: TrainState) -> None:
        self.t0 = time.thread_time()

    def on_epoch_end(self, state: TrainState) -> None:
        self.seconds = time.thread_time() - self.t0


USED: dict[str, str] = {}  # engine asked for → engine the trainer ran


def time_ours(
    sizes: list[int], S: int, x: torch.Tensor, y: torch.Tensor, engine: str | None = None
) -> tuple[float, float]:
    """(wall, CPU) seconds of one epoch of our trainer (``engine``: default ``ENGINE``)."""
    engine = engine or ENGINE
    net = Network(sizes, seeds=S, seed=0, device=DEVICE)
    clock = _CpuClock()
    trainer = Trainer(
        net, TrainConfig(epochs=1, batch_size=BATCH, eta=ETA, lmbda=LMBDA), callbacks=[clock]
    )
    if engine != "auto":
        trainer.engine = engine
    USED[engine] = trainer.engine
    res = trainer.fit((x, y))
    return res.seconds_per_epoch[0], clock.seconds


def time_reference(sizes: list[int], data: list, rng: np.random.Generator) -> tuple[float, float]:
    r = ref.ReferenceNetwork.from_gradprobe(Network(sizes, seeds=1, seed=0))
    t0, c0 = time.perf_counter(), time.thread_time()
    r.sgd_epoch(data, BATCH, ETA, LMBDA, rng=rng)  # shuffle included, as in network2
    return time.perf_counter() - t0, time.thread_time() - c0


def time_autograd(sizes: list[int], x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """A plain PyTorch loop: nn.Linear + sigmoid, autograd, manual SGD with network2's L2."""
    torch.manual_seed(0)
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.Sigmoid())
    model = nn.Sequential(*layers)
    weights = [m.weight for m in model if isinstance(m, nn.Linear)]
    params = list(model.parameters())
    n = x.shape[0]
    y1h = F.one_hot(y.long(), sizes[-1]).float()
    decay = 1 - ETA * LMBDA / n
    t0, c0 = time.perf_counter(), time.thread_time()
    perm = torch.randperm(n)
    xs, ys = x[perm], y1h[perm]
    for i in range(0, n, BATCH):
        xb, yb = xs[i : i + BATCH], ys[i : i + BATCH]
        loss = F.binary_cross_entropy_with_logits(model(xb), yb, reduction="sum") / xb.shape[0]
        for p in params:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for w in weights:
                w.mul_(decay)
            for p in params:
                p.sub_(p.grad, alpha=ETA)
    return time.perf_counter() - t0, time.thread_time() - c0


def summary(times: list[float], scale: float) -> dict[str, object]:
    t = [s * scale for s in times]
    return {"min": min(t), "median": statistics.median(t), "all": t}


def main(args: argparse.Namespace) -> int:
    global DEVICE, ENGINE
    torch.set_num_threads(args.threads)
    DEVICE = str(resolve_device(args.device))
    nets = [[int(v) for v in s.split(",")] for s in args.nets.split(";")]
    ENGINE = args.engine
    if ENGINE == "auto":  # the trainer's own choice for this device (named, so always used)
        ENGINE = Trainer(Network(nets[0], device=DEVICE), TrainConfig()).engine
    also = [e for e in (v.strip() for v in args.also.split(",")) if e and e != ENGINE]
    seeds = [int(s) for s in args.seeds.split(",")]
    training, source = find_data(args.data)
    n = min(args.images, training.images.shape[0])
    n_ref = min(args.ref_images, training.images.shape[0])
    x, y = training.images[:n].contiguous(), training.labels[:n].contiguous()
    ref_data = ref.vectorise(training.images[:n_ref].numpy(), training.labels[:n_ref].numpy())
    facts = machine()
    scale, ref_scale = FULL / n, FULL / n_ref
    print("gradprobe training-speed benchmark")
    for k in (
        "cpu",
        "cores",
        "usable_cores",
        "python",
        "torch",
        "numpy",
        "torch_threads",
        "loadavg_start",
        "date",
    ):
        print(f"  {k:14s} {facts[k]}")
    print(f"  data           {source}")
    print(
        f"  ours/autograd  {n} images per epoch"
        + (f" (scaled ×{scale:.3g} to 50 000)" if n != FULL else "")
    )
    print(
        f"  reference      {n_ref} images per epoch"
        + (f" (scaled ×{ref_scale:.3g} to 50 000)" if n_ref != FULL else "")
        + ", data pre-vectorised as network2 does (not timed), shuffle timed"
    )
    print(
        f"  repeats        {args.repeats} (interleaved); η={ETA}, λ={LMBDA}, batch {BATCH}, "
        "float32 (reference float64)"
    )
    print(flush=True)

    raw: dict[str, list[float]] = {}
    rng = np.random.default_rng(0)
    # Warm-up (untimed): first calls pay for kernel selection, allocator growth, imports.
    for sizes in nets:
        time_reference(sizes, ref_data[:100], rng)
        if not args.no_autograd:
            time_autograd(sizes, x[:200], y[:200])
        for S in seeds:
            time_ours(sizes, S, x[:200], y[:200])
            for e in also:
                time_ours(sizes, S, x[:200], y[:200], e)
    t_start = time.perf_counter()
    for rep in range(args.repeats):
        for sizes in nets:
            name = "-".join(map(str, sizes))
            jobs = [(f"ref {name}", lambda sz=sizes: time_reference(sz, ref_data, rng))]
            if not args.no_autograd:
                jobs.append((f"autograd {name}", lambda sz=sizes: time_autograd(sz, x, y)))
            for S in seeds:
                jobs.append((f"ours {name} S={S}", lambda sz=sizes, S=S: time_ours(sz, S, x, y)))
                jobs += [
                    (f"{e} {name} S={S}", lambda sz=sizes, S=S, e=e: time_ours(sz, S, x, y, e))
                    for e in also
                ]
            for key, fn in jobs:
                t, cpu = fn()
                raw.setdefault(key, []).append(t)
                CPU.setdefault(key, []).append(cpu)
                print(
                    f"  [{rep + 1}/{args.repeats}] {key:34s} {t:8.3f} s  (CPU {cpu:8.3f} s)",
                    flush=True,
                )
    facts["loadavg_end"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    facts["benchmark_seconds"] = time.perf_counter() - t_start

    rows = []
    for sizes in nets:
        name = "-".join(map(str, sizes))
        r = summary(raw[f"ref {name}"], ref_scale)
        r_cpu = summary(CPU[f"ref {name}"], ref_scale)
        ag = summary(raw[f"autograd {name}"], scale) if not args.no_autograd else None
        for S in seeds:
            o = summary(raw[f"ours {name} S={S}"], scale)
            o_cpu = summary(CPU[f"ours {name} S={S}"], scale)
            per_seed = {"min": o["min"] / S, "median": o["median"] / S}
            ratio = r["median"] / per_seed["median"]
            rows.append(
                {
                    "net": name,
                    "S": S,
                    "ours_s_per_epoch": o,
                    "ours_s_per_seed_epoch": per_seed,
                    "reference_s_per_epoch": r,
                    "autograd_s_per_epoch": ag,
                    "ratio": ratio,
                    "ratio_min": r["min"] / per_seed["min"],
                    "ours_cpu_s_per_epoch": o_cpu,
                    "reference_cpu_s_per_epoch": r_cpu,
                    "ratio_cpu": r_cpu["median"] / (o_cpu["median"] / S),
                    "earlier_target": earlier_target(S),
                    "earlier_pass": ratio >= earlier_target(S),
                    "ratio_vs_autograd": (ag["min"] / per_seed["min"]) if ag else None,
                    "target": target(S),
                    "pass": ratio >= target(S),
                }
            )

    techniques = []
    for sizes in nets:
        name = "-".join(map(str, sizes))
        r = summary(raw[f"ref {name}"], ref_scale)
        r_cpu = summary(CPU[f"ref {name}"], ref_scale)
        for S in seeds:
            for e in also:
                o = summary(raw[f"{e} {name} S={S}"], scale)
                o_cpu = summary(CPU[f"{e} {name} S={S}"], scale)
                techniques.append(
                    {
                        "engine": USED.get(e, e),
                        "net": name,
                        "S": S,
                        "ours_s_per_epoch": o,
                        "ratio": r["median"] / (o["median"] / S),
                        "ratio_min": r["min"] / (o["min"] / S),
                        "ratio_cpu": r_cpu["median"] / (o_cpu["median"] / S),
                    }
                )

    print()
    print(f"engine: {USED.get(ENGINE, ENGINE)}")
    hdr = (
        f"{'net':22s} {'S':>3s} {'ours s/epoch':>16s} {'ours s/seed-ep':>15s} "
        f"{'ref s/epoch':>16s} {'ratio':>7s} {'(min)':>7s} {'CPU':>7s} {'target':>7s}  result   "
        f"{'autograd s/ep':>13s} {'vs autograd':>11s}"
    )
    print(hdr)
    print("-" * len(hdr))
    for row in rows:
        o, r, ag = (
            row["ours_s_per_epoch"],
            row["reference_s_per_epoch"],
            row["autograd_s_per_epoch"],
        )
        print(
            f"{row['net']:22s} {row['S']:3d} {o['min']:7.3f} ({o['median']:6.3f}) "
            f"{row['ours_s_per_seed_epoch']['min']:15.4f} {r['min']:7.3f} ({r['median']:6.3f}) "
            f"{row['ratio']:6.1f}× {row['ratio_min']:6.1f}× {row['ratio_cpu']:6.1f}× "
            f"{row['target']:6.0f}×  "
            f"{'PASS' if row['pass'] else 'FAIL':6s}   "
            + (f"{ag['min']:13.3f} {row['ratio_vs_autograd']:10.1f}×" if ag else "")
        )
    if techniques:
        print("\ntechnique rows (other engines, same run, same reference):")
        print(
            f"{'engine':8s} {'net':22s} {'S':>3s} {'ours s/epoch':>16s} {'ratio':>7s} "
            f"{'(min)':>7s} {'CPU':>7s}"
        )
        for t in techniques:
            o = t["ours_s_per_epoch"]
            print(
                f"{t['engine']:8s} {t['net']:22s} {t['S']:3d} {o['min']:7.3f} ({o['median']:6.3f}) "
                f"{t['ratio']:6.1f}× {t['ratio_min']:6.1f}× {t['ratio_cpu']:6.1f}×"
            )
    print(
        "\ntimes: min (median) over repeats, seconds per 50 000-image epoch; "
        "ratio = reference s/epoch ÷ ours s per seed-epoch, from the medians "
        "((min): from the minima; CPU: from the median CPU seconds of the timed thread, "
        "steadier than wall time on a loaded machine)"
    )
    failed = [f"{r['net']} S={r['S']}" for r in rows if not r["pass"]]
    print("ALL TARGETS MET" if not failed else f"TARGET MISSED: {', '.join(failed)}")
    early = [f"{r['net']} S={r['S']}" for r in rows if not r["earlier_pass"]]
    print(
        "earlier targets (5× / 10×): " + ("all met" if not early else f"missed: {', '.join(early)}")
    )
    print(
        f"(benchmark took {facts['benchmark_seconds']:.0f} s; "
        f"load average at end {facts['loadavg_end']})"
    )

    if args.json:
        out = {
            "machine": facts,
            "settings": {
                "images": n,
                "reference_images": n_ref,
                "repeats": args.repeats,
                "eta": ETA,
                "lmbda": LMBDA,
                "batch_size": BATCH,
                "threads": args.threads,
                "engine": USED.get(ENGINE, ENGINE),
                "also": [USED.get(e, e) for e in also],
                "data": source,
            },
            "rows": rows,
            "technique_rows": techniques,
            "raw_seconds": raw,
            "raw_cpu_seconds": CPU,
        }
        text = json.dumps(out, indent=2, default=float)
        if args.json == "-":
            print(text)
        else:
            Path(args.json).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    assert ARGS is not None
    sys.exit(main(ARGS))
