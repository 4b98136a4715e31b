"""Per-step overhead of the gradprobe probe and of the alternatives users have.

Times one training step (forward + backward + ``SGD.step``) for three small models — a
10-layer MLP, a small CNN and a small transformer encoder — with:

* ``baseline``      — nothing attached;
* ``gradprobe``     — ``gradprobe.probe.watch(model, every=1)``, ``probe.step()`` every step;
* ``pl_grad_norm``  — Lightning's ``lightning.pytorch.utilities.grad_norm(model, 2)`` every
  step (what ``on_before_optimizer_step`` examples call);
* ``detect_anomaly``— ``torch.autograd.detect_anomaly()`` around forward + backward;
* ``wandb_watch``   — ``wandb.watch(model, log="gradients", log_freq=1)`` in offline mode, if
  wandb is installed. It runs in a separate group with its own baseline, because wandb's
  background service process would slow every variant interleaved with it.

Method: the variants run interleaved in rounds (A B C D, then the order rotated), each
round timing a block of ``--block`` steps with ``time.perf_counter`` after a warm-up, so
that drift and other users of a shared machine hit every variant alike. The overhead is the
median over rounds of the paired ratio variant/baseline − 1 (same round), with a 95 %
bootstrap interval; the min-of-rounds ratio is a second, noise-robust estimate. The probe
PASSes the ≤ 2 % target when both estimates are ≤ 2 %, FAILs when both exceed it, and is
UNCLEAR otherwise.

Usage::

    python benchmarks/bench_probe.py                # full run, CPU, 1 thread
    python benchmarks/bench_probe.py --quick        # a smoke run (~1 min)
    python benchmarks/bench_probe.py --json out.json --threads 2
    python benchmarks/bench_probe.py --device cuda  # synchronises only around timed blocks
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

TARGET = 0.02  # the target: ≤ 2 % per step with the probe recording every step


# ----------------------------------------------------------------------------- models
def mlp10(width: int = 256) -> nn.Module:
    """10 Linear layers of width 256 with ReLU, 10 classes."""
    layers: list[nn.Module] = []
    for _ in range(9):
        layers += [nn.Linear(width, width), nn.ReLU()]
    layers.append(nn.Linear(width, 10))
    return nn.Sequential(*layers)


def small_cnn() -> nn.Module:
    """3 conv layers on 1×28×28 (MNIST-shaped) inputs, then a linear classifier."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(64, 10),
    )


class SmallTransformer(nn.Module):
    """2-layer ``nn.TransformerEncoder``, d_model 64, 4 heads, mean-pooled, 10 classes."""

    def __init__(self, d_model: int = 64) -> None:
        super().__init__()
        layer = nn.TransformerEncoderLayer(
            d_model, nhead=4, dim_feedforward=128, dropout=0.0, batch_first=True
        )
        # enable_nested_tensor only matters for padded inference; off avoids a warning
        self.encoder = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        self.head = nn.Linear(d_model, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(x).mean(dim=1))


@dataclass
class Workload:
    name: str
    build: Callable[[], nn.Module]
    input_shape: tuple[int, ...]
    batch: int


WORKLOADS = [
    Workload("mlp10 (w256, b64)", mlp10, (256,), 64),
    Workload("cnn3 (1x28x28, b64)", small_cnn, (1, 28, 28), 64),
    Workload("transformer (2L, d64, seq32, b16)", SmallTransformer, (32, 64), 16),
]


# ----------------------------------------------------------------------------- variants
@dataclass
class Variant:
    """One way of training: ``setup(model)`` returns a per-step hook context."""

    name: str
    model: nn.Module
    opt: torch.optim.Optimizer
    after_backward: Callable[[], Any] = lambda: None
    around_fb: Callable[[], contextlib.AbstractContextManager[Any]] = contextlib.nullcontext
    close: Callable[[], Any] = lambda: None
    times: list[float] = field(default_factory=list)  # seconds per step, one per round


def make_variant(name: str, model: nn.Module, lr: float = 0.01) -> Variant:
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    v = Variant(name, model, opt)
    if name == "gradprobe":
        from gradprobe.probe import watch

        probe = watch(model, every=1)
        v.after_backward = probe.step
        v.close = probe.close
    elif name == "pl_grad_norm":
        from lightning.pytorch.utilities import grad_norm

        v.after_backward = lambda: grad_norm(model, norm_type=2)
    elif name == "detect_anomaly":

        @contextlib.contextmanager
        def anomaly() -> Iterator[None]:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "Anomaly Detection has been enabled" each step
                with torch.autograd.detect_anomaly():
                    yield

        v.around_fb = anomaly
    elif name == "wandb_watch":
        import wandb

        run = wandb.init(
            mode="offline", dir=tempfile.mkdtemp(prefix="bench_wandb_"), project="bench_probe"
        )
        wandb.watch(model, log="gradients", log_freq=1)
        # wandb.watch only emits histograms with a logged row; users log their loss anyway
        v.after_backward = lambda: run.log({"step": 0})
        v.close = lambda: (wandb.unwatch(model), run.finish())
    elif name != "baseline":
        raise ValueError(f"unknown variant {name}")
    return v


def available_variants() -> tuple[list[str], list[str], dict[str, str]]:
    """Main group, separate group (wandb) and skip reasons."""
    main = ["baseline", "gradprobe"]
    skipped: dict[str, str] = {}
    try:
        import lightning.pytorch.utilities  # noqa: F401

        main.append("pl_grad_norm")
    except ImportError as exc:
        skipped["pl_grad_norm"] = f"lightning not installed ({exc})"
    main.append("detect_anomaly")
    extra: list[str] = []
    try:
        import wandb  # noqa: F401

        extra = ["baseline", "wandb_watch"]
    except ImportError as exc:
        skipped["wandb_watch"] = f"wandb not installed ({exc})"
    return main, extra, skipped


# ----------------------------------------------------------------------------- timing
def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run_steps(v: Variant, batches: list[tuple[torch.Tensor, torch.Tensor]], n: int) -> None:
    for i in range(n):
        x, y = batches[i % len(batches)]
        with v.around_fb():
            loss = F.cross_entropy(v.model(x), y)
            loss.backward()
        v.after_backward()
        v.opt.step()
        v.opt.zero_grad(set_to_none=True)


def time_group(
    work: Workload,
    names: list[str],
    device: torch.device,
    rounds: int,
    block: int,
    warmup: int,
    seed: int = 0,
) -> dict[str, Variant]:
    torch.manual_seed(seed)
    proto = work.build()
    variants = {}
    for name in names:
        model = work.build().to(device)
        model.load_state_dict(proto.state_dict())  # same weights for every variant
        variants[name] = make_variant(name, model)
    g = torch.Generator().manual_seed(seed)
    batches = [
        (
            torch.randn(work.batch, *work.input_shape, generator=g).to(device),
            torch.randint(0, 10, (work.batch,), generator=g).to(device),
        )
        for _ in range(8)
    ]
    order = list(variants.values())
    for v in order:
        run_steps(v, batches, warmup)
    sync(device)
    for r in range(rounds):
        k = r % len(order)
        for v in order[k:] + order[:k]:  # rotate so no variant always runs first
            sync(device)
            t0 = time.perf_counter()
            run_steps(v, batches, block)
            sync(device)
            v.times.append((time.perf_counter() - t0) / block)
    for v in order:
        v.close()
    return variants


# ----------------------------------------------------------------------------- statistics
def bootstrap_ci(ratios: list[float], n: int = 2000, seed: int = 0) -> tuple[float, float]:
    rng = random.Random(seed)
    meds = sorted(statistics.median(rng.choices(ratios, k=len(ratios))) for _ in range(n))
    return meds[int(0.025 * n)], meds[int(0.975 * n) - 1]


def summarise(variants: dict[str, Variant]) -> dict[str, dict[str, float]]:
    base = variants["baseline"].times
    out = {}
    for name, v in variants.items():
        ratios = [t / b for t, b in zip(v.times, base)]
        lo, hi = bootstrap_ci(ratios)
        out[name] = {
            "median_ms": 1e3 * statistics.median(v.times),
            "min_ms": 1e3 * min(v.times),
            "overhead": statistics.median(ratios) - 1,
            "ci_lo": lo - 1,
            "ci_hi": hi - 1,
            "overhead_min": min(v.times) / min(base) - 1,
        }
    return out


def verdict(s: dict[str, float]) -> str:
    a, b = s["overhead"] <= TARGET, s["overhead_min"] <= TARGET
    return "PASS" if a and b else "FAIL" if not (a or b) else "UNCLEAR"


# ----------------------------------------------------------------------------- report
def machine_facts(device: torch.device) -> dict[str, Any]:
    cpu = platform.processor() or "?"
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    facts = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "cpu": cpu,
        "logical_cores": os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "device": str(device),
    }
    if device.type == "cuda":
        facts["gpu"] = torch.cuda.get_device_name(device)
    return facts


def fmt_pct(x: float) -> str:
    return f"{100 * x:+.1f}%"


def print_table(results: dict[str, dict[str, dict[str, float]]]) -> None:
    head = f"| {'model':35s} | {'variant':15s} | {'median ms/step':>14s} | {'overhead':>8s} |"
    head += f" {'95% CI':>17s} | {'min-of-rounds':>13s} | verdict |"
    print(head)
    print("|" + "|".join("-" * (len(c)) for c in head.split("|")[1:-1]) + "|")
    for model, rows in results.items():
        for name, s in rows.items():
            ci = f"{fmt_pct(s['ci_lo'])}..{fmt_pct(s['ci_hi'])}" if name != "baseline" else ""
            ov = fmt_pct(s["overhead"]) if name != "baseline" else "—"
            om = fmt_pct(s["overhead_min"]) if name != "baseline" else ""
            vd = verdict(s) if name == "gradprobe" else ""
            print(
                f"| {model:35s} | {name:15s} | {s['median_ms']:14.3f} | {ov:>8s} |"
                f" {ci:>17s} | {om:>13s} | {vd:7s} |"
            )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="few rounds: a smoke run")
    ap.add_argument("--steps", type=int, default=None, help="steps per timed block")
    ap.add_argument("--rounds", type=int, default=None, help="interleaved rounds")
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--models", default="all", help="comma list of mlp,cnn,transformer")
    ap.add_argument("--no-wandb", action="store_true", help="skip the wandb group")
    ap.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    rounds = args.rounds or (5 if args.quick else 21)
    block = args.steps or (10 if args.quick else 30)
    warmup = 10 if args.quick else 40
    os.environ.setdefault("WANDB_MODE", "offline")
    os.environ.setdefault("WANDB_SILENT", "true")

    facts = machine_facts(device)
    facts.update(rounds=rounds, block=block, warmup=warmup)
    print("# bench_probe:", json.dumps(facts))
    main_names, extra_names, skipped = available_variants()
    if args.no_wandb and extra_names:
        extra_names, skipped["wandb_watch"] = [], "--no-wandb"
    for name, why in skipped.items():
        print(f"# skipped {name}: {why}")

    keys = {"mlp": 0, "cnn": 1, "transformer": 2}
    picked = (
        WORKLOADS if args.models == "all" else [WORKLOADS[keys[m]] for m in args.models.split(",")]
    )
    results: dict[str, dict[str, dict[str, float]]] = {}
    for work in picked:
        t0 = time.perf_counter()
        rows = summarise(time_group(work, main_names, device, rounds, block, warmup))
        if extra_names:
            extra = summarise(time_group(work, extra_names, device, rounds, block, warmup))
            rows["wandb_watch"] = extra["wandb_watch"]
            rows["wandb_watch"]["baseline_ms"] = extra["baseline"]["median_ms"]
        results[work.name] = rows
        print(f"# {work.name}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    print_table(results)
    ok = all(verdict(r["gradprobe"]) == "PASS" for r in results.values())
    print(f"probe overhead target ≤ {100 * TARGET:.0f}% per step: {'PASS' if ok else 'FAIL'}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"facts": facts, "skipped": skipped, "results": results}, fh, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
