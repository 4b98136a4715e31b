"""Per-step overhead and memory of the gradprobe probe, probe vs no probe (and peers), in one
process.

Models (the issue's): a 10-layer tanh MLP (width 256, batch 128), a ResNet-18-style CNN
(batch 16, 32×32), a 2-layer LSTM (batch 32, 50 steps, hidden 128) and a small Transformer
encoder (2 layers, d=64, batch 32, 32 tokens). Each training step is forward + backward
(+ the variant's work) + ``SGD.step`` + ``zero_grad``. The probe records every step
(``every=1``) with its defaults: gradient quantities, pre-/post-clip norms and the NaN check at
every step, detail quantities (‖θ‖, ‖Δθ‖/‖θ‖, activation statistics) every 10th step —
blocks of 20 steps, so detail steps are included.

Variants, each on its own copy of the model, in the same process: ``baseline`` (no probe),
``probe``, ``control`` (another copy with nothing attached: how far two identical variants
differ in this run, the noise floor against which a ratio near 1 must be read), and the peers
where installed: ``anomaly`` (``torch.autograd.detect_anomaly`` around forward and backward),
``pl_grad_norm`` (Lightning's ``grad_norm(model, 2)`` every step), ``norm_loop`` (a plain
loop ``[p.grad.norm().item() for p in params]``) and ``grad_read`` (the probe's compiled
per-tensor norm pass over the gradients alone, nothing else: the floor under any exact
per-step gradient measurement, since it reads every gradient element once). With
``--integrations``: a Lightning ``Trainer.fit`` with/without ``GradprobeCallback`` (and with
Lightning's ``grad_norm`` logged in ``on_before_optimizer_step``, the documented way, and
with an empty callback: Lightning's own charge for one more callback) and a
Hugging Face ``Trainer.train`` with/without ``GradprobeTrainerCallback``, timed from the step
after 3 warm-up steps to the end of training by a timing callback (``--fit-steps``, 60 by
default).

Method: the variants run interleaved in rounds (the order reversed every other round), each
round timing a block of steps with ``time.perf_counter`` (wall) and ``time.process_time``
(process CPU time, all threads) after a warm-up; a variant's overhead is the median over the
rounds of the paired ratio variant/baseline of the same round. On a shared machine the CPU
ratio is the steadier one. Memory: bytes of history per recorded step
(``Probe.history_bytes``) and the *current* resident set size (``/proc/self/statm``) of an
11-layer MLP recording every step with ``max_steps=2000``, at step 2 000 and at
``--memory-steps``.

Usage::

    python benchmarks/bench_probe.py --rounds 7          # everything (< 5 min on 2 cores)
    python benchmarks/bench_probe.py --models mlp --no-peers --no-memory --integrations ""
    python benchmarks/bench_probe.py --models mlp --no-peers --no-memory --integrations "" \
        --detail-off --rounds 21                            # the probe's cost, split
    python benchmarks/bench_probe.py --models mlp --no-peers --no-memory --integrations "" \
        --detail-off --processes 8                          # median over 8 fresh processes
    python benchmarks/bench_probe.py --json out.json
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import importlib.util
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
import gradprobe

Batch = tuple[torch.Tensor, torch.Tensor]


def mlp(depth: int = 10, width: int = 256) -> nn.Module:
    layers: list[nn.Module] = []
    for _ in range(depth - 1):
        layers += [nn.Linear(width, width), nn.Tanh()]
    return nn.Sequential(*layers, nn.Linear(width, 10))


class Block(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()
        self.down = (
            nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
            if stride != 1 or cin != cout
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.b2(self.c2(self.relu(self.b1(self.c1(x))))) + self.down(x))


def resnet18(width: int = 16) -> nn.Module:
    """ResNet-18 layout (4 stages × 2 basic blocks) at reduced width, 32×32 inputs."""
    w = [width, 2 * width, 4 * width, 8 * width]
    layers: list[nn.Module] = [
        nn.Conv2d(3, w[0], 3, 1, 1, bias=False),
        nn.BatchNorm2d(w[0]),
        nn.ReLU(),
    ]
    cin = w[0]
    for i, c in enumerate(w):
        layers += [Block(cin, c, 1 if i == 0 else 2), Block(c, c, 1)]
        cin = c
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 10))


class LSTMNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(32, 128, num_layers=2, batch_first=True)
        self.head = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.lstm(x)[0][:, -1])


class TransformerNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(100, 64)
        layer = nn.TransformerEncoderLayer(64, 4, 128, dropout=0.1, batch_first=True)
        self.enc = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.head = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.enc(self.emb(x)).mean(1))


def _batch(name: str, g: torch.Generator) -> Batch:
    y = lambda n: torch.randint(0, 10, (n,), generator=g)  # noqa: E731
    if name == "mlp":
        return torch.randn(128, 256, generator=g), y(128)
    if name == "resnet18":
        return torch.randn(16, 3, 32, 32, generator=g), y(16)
    if name == "lstm":
        return torch.randn(32, 50, 32, generator=g), y(32)
    return torch.randint(0, 100, (32, 32), generator=g), y(32)


MODELS: dict[str, Callable[[], nn.Module]] = {
    "mlp": mlp,
    "resnet18": resnet18,
    "lstm": LSTMNet,
    "transformer": TransformerNet,
}
BLOCK = {"mlp": 20, "resnet18": 10, "lstm": 10, "transformer": 20}


Timing = tuple[float, float]  # (wall s, process CPU s)


def _clock() -> Timing:
    return time.perf_counter(), time.process_time()


def _since(t0: Timing) -> Timing:
    return time.perf_counter() - t0[0], time.process_time() - t0[1]


def have(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _runner(
    model: nn.Module,
    batches: list[Batch],
    after_backward: Callable[[], None] | None = None,
    around: Callable[[], contextlib.AbstractContextManager[object]] | None = None,
) -> Callable[[int], Timing]:
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)

    def run(n: int) -> Timing:
        t0 = _clock()
        for i in range(n):
            x, y = batches[i % len(batches)]
            if around is None:
                F.cross_entropy(model(x), y).backward()
            else:
                with around():
                    F.cross_entropy(model(x), y).backward()
            if after_backward is not None:
                after_backward()
            opt.step()
            opt.zero_grad()
        return _since(t0)

    return run


def _variants(
    name: str, peers: bool, detail_off: bool = False
) -> tuple[dict[str, Callable[[int], Timing]], gradprobe.Probe]:
    torch.manual_seed(0)
    base_model = MODELS[name]()
    g = torch.Generator().manual_seed(1)
    batches = [_batch(name, g) for _ in range(4)]
    probed = copy.deepcopy(base_model)
    probe = gradprobe.watch(probed, every=1)
    runs = {
        "baseline": _runner(base_model, batches),
        "probe": _runner(probed, batches, probe.step),
        # the same model copied once more, with nothing attached: this run's noise floor
        "control": _runner(copy.deepcopy(base_model), batches),
    }
    if detail_off:
        # the same probe without its detail steps (only step 0 is one): what the per-step
        # gradient path costs on its own, the rest of "probe" being the detail steps
        m1 = copy.deepcopy(base_model)
        p1 = gradprobe.watch(m1, every=1, detail_every=1 << 40)
        runs["probe_no_detail"] = _runner(m1, batches, p1.step)
    if peers:
        runs["anomaly"] = _runner(
            copy.deepcopy(base_model), batches, around=torch.autograd.detect_anomaly
        )
        if have("lightning"):
            from lightning.pytorch.utilities import grad_norm

            m = copy.deepcopy(base_model)
            runs["pl_grad_norm"] = _runner(m, batches, lambda m=m: grad_norm(m, norm_type=2))
        m2 = copy.deepcopy(base_model)
        ps = list(m2.parameters())
        runs["norm_loop"] = _runner(
            m2, batches, lambda ps=ps: [p.grad.norm().item() for p in ps if p.grad is not None]
        )
        m3 = copy.deepcopy(base_model)
        runs["grad_read"] = _runner(m3, batches, _grad_read(list(m3.parameters())))
    return runs, probe


def _grad_read(params: list[nn.Parameter]) -> Callable[[], np.ndarray]:
    """The floor of any exact per-step gradient measurement: read every gradient element
    once — the probe's own compiled norm pass over the gradients (numba), or one
    ``torch._foreach_norm`` without it — and nothing else (no hooks, no rows, no NaN
    check, no detail steps). Returns ‖∂C/∂θ_i‖ per parameter with a gradient [P'] (host)."""
    from gradprobe.probe.fastnorm import CpuNorms, from_first_step

    norms = CpuNorms.create(params) if from_first_step() else None
    out = np.zeros(len(params))

    def read() -> np.ndarray:
        grads = [p.grad for p in params if p.grad is not None]
        if norms is not None and norms.norms(grads, out) is not None:
            return out
        return torch.stack(torch._foreach_norm(grads)).numpy()  # type: ignore[arg-type]

    return read


def interleave(runs: dict[str, Callable[[], Timing]], rounds: int) -> dict[str, dict[str, float]]:
    """Median paired ratios (wall, CPU) of every variant against ``baseline``."""
    names = list(runs)
    t: dict[str, list[Timing]] = {v: [] for v in names}
    for k in range(rounds):
        for v in names if k % 2 == 0 else names[::-1]:
            t[v].append(runs[v]())
    out: dict[str, dict[str, float]] = {}
    for v in names:
        out[v] = {
            "wall_ratio": statistics.median(a[0] / b[0] for a, b in zip(t[v], t["baseline"])),
            "cpu_ratio": statistics.median(a[1] / b[1] for a, b in zip(t[v], t["baseline"])),
            "wall_s": statistics.median(a[0] for a in t[v]),
            "cpu_s": statistics.median(a[1] for a in t[v]),
        }
    return out


def overhead(name: str, rounds: int, peers: bool, detail_off: bool = False) -> dict[str, object]:
    runs, probe = _variants(name, peers, detail_off)
    n = BLOCK[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # detect_anomaly warns on every entry
        for r in runs.values():
            r(n)  # warm-up
        res = interleave({v: (lambda r=r: r(n)) for v, r in runs.items()}, rounds)
    steps = probe.steps_taken
    probe.flush()
    out: dict[str, object] = {
        "step_ms": 1e3 * res["baseline"]["wall_s"] / n,
        "bytes_per_step": probe.history_bytes / max(1, steps),
        "rows_per_step": probe._store.rows / max(1, steps),
        "variants": res,
    }
    probe.close()
    return out


# ---------------------------------------------------------------------- integrations
def _lightning_rounds(rounds: int, steps: int, warm: int) -> dict[str, dict[str, float]]:
    import lightning.pytorch as pl
    from lightning.pytorch.utilities import grad_norm

    from gradprobe.probe.integrations import GradprobeCallback

    for log in ("lightning.pytorch", "lightning.fabric", "lightning"):
        logging.getLogger(log).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="lightning")

    class Timer(pl.Callback):
        def __init__(self) -> None:
            self.t0: Timing | None = None
            self.took: Timing = (0.0, 0.0)

        def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:  # type: ignore[no-untyped-def]
            if trainer.global_step == warm:
                self.t0 = _clock()

        def on_train_end(self, trainer, module) -> None:  # type: ignore[no-untyped-def]
            assert self.t0 is not None
            self.took = _since(self.t0)

    class Nothing(pl.Callback):
        """One more callback that does nothing: what Lightning itself charges for it (each
        hook of each callback is called, overridden or not, inside a profiler context)."""

    class Module(pl.LightningModule):
        def __init__(self, log_norms: bool = False) -> None:
            super().__init__()
            torch.manual_seed(0)
            self.net = mlp()
            self.log_norms = log_norms

        def training_step(self, batch, batch_idx):  # type: ignore[no-untyped-def]
            x, y = batch
            return F.cross_entropy(self.net(x), y)

        def on_before_optimizer_step(self, optimizer) -> None:  # type: ignore[no-untyped-def]
            if self.log_norms:
                self.log_dict(grad_norm(self, norm_type=2))

        def configure_optimizers(self):  # type: ignore[no-untyped-def]
            return torch.optim.SGD(self.parameters(), lr=1e-3)

    g = torch.Generator().manual_seed(1)
    ds = torch.utils.data.TensorDataset(
        torch.randn(512, 256, generator=g), torch.randint(0, 10, (512,), generator=g)
    )
    loader = torch.utils.data.DataLoader(ds, batch_size=128)

    def fit(variant: str) -> Timing:
        timer = Timer()
        cbs: list[pl.Callback] = [timer]
        if variant == "probe":
            cbs.append(GradprobeCallback())
        elif variant == "empty_callback":
            cbs.append(Nothing())
        trainer = pl.Trainer(
            max_steps=warm + steps,
            accelerator="cpu",
            callbacks=cbs,
            logger=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            enable_checkpointing=False,
        )
        trainer.fit(Module(log_norms=variant == "pl_grad_norm"), loader)
        return timer.took

    variants = ["baseline", "probe", "empty_callback", "pl_grad_norm"]
    fit("baseline")
    return interleave({v: (lambda v=v: fit(v)) for v in variants}, rounds)


def _hf_rounds(rounds: int, steps: int, warm: int) -> dict[str, dict[str, float]]:
    import tempfile

    import transformers

    from gradprobe.probe.integrations import GradprobeTrainerCallback

    transformers.logging.set_verbosity_error()
    config = transformers.BertConfig(
        vocab_size=1000,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=128,
        max_position_embeddings=64,
        num_labels=2,
    )
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(1, 1000, (256, 32), generator=g)
    ds = [
        {"input_ids": i, "attention_mask": torch.ones(32, dtype=torch.long), "labels": i[0] % 2}
        for i in ids
    ]

    class Timer(transformers.TrainerCallback):
        def __init__(self) -> None:
            self.t0: Timing | None = None
            self.took: Timing = (0.0, 0.0)

        def on_step_begin(self, args, state, control, **kw):  # type: ignore[no-untyped-def]
            if state.global_step == warm:
                self.t0 = _clock()

        def on_train_end(self, args, state, control, **kw):  # type: ignore[no-untyped-def]
            assert self.t0 is not None
            self.took = _since(self.t0)

    def train(variant: str) -> Timing:
        torch.manual_seed(0)
        model = transformers.BertForSequenceClassification(config)
        timer = Timer()
        with tempfile.TemporaryDirectory() as tmp:
            args = transformers.TrainingArguments(
                output_dir=tmp,
                max_steps=warm + steps,
                per_device_train_batch_size=16,
                logging_steps=10,
                report_to=[],
                save_strategy="no",
                use_cpu=True,
                disable_tqdm=True,
            )
            cbs: list[transformers.TrainerCallback] = [timer]
            if variant == "probe":
                cbs.append(GradprobeTrainerCallback())
            with contextlib.redirect_stdout(open(os.devnull, "w")):
                transformers.Trainer(
                    model=model, args=args, train_dataset=ds, callbacks=cbs
                ).train()
        return timer.took

    train("baseline")
    return interleave({v: (lambda v=v: train(v)) for v in ("baseline", "probe")}, rounds)


# ---------------------------------------------------------------------- memory
def rss_mib() -> float:
    """The current resident set size (not the peak)."""
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def memory(steps: int, keep: int) -> dict[str, float]:
    """Current RSS and history bytes of an 11-layer MLP (width 64) recording every step with
    ``max_steps=keep``."""
    torch.manual_seed(0)
    model = mlp(11, 64)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    probe = gradprobe.watch(model, max_steps=keep)
    x, y = torch.randn(16, 64), torch.randint(0, 10, (16,))
    at: dict[str, float] = {}
    marks = sorted({2000, steps})
    for t in range(steps):
        F.cross_entropy(model(x), y).backward()
        probe.step()
        opt.step()
        opt.zero_grad()
        if t + 1 in marks:
            probe.flush()
            at[f"rss_mib_step_{t + 1}"] = rss_mib()
            at[f"history_bytes_step_{t + 1}"] = float(probe.history_bytes)
    at["bytes_per_step"] = probe.history_bytes / max(1, min(keep, steps))
    at["history_rows"] = float(probe._store.rows)
    probe.close()
    return at


def _in_processes(args: argparse.Namespace, models: list[str]) -> list[dict[str, Any]]:
    """Run the models' overhead measurement in ``args.processes`` fresh processes (one after
    another, so they never compete); each one's JSON result."""
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.processes):
            path = Path(tmp) / f"p{k}.json"
            cmd = [sys.executable, __file__, "--models", ",".join(models)]
            cmd += ["--rounds", str(args.rounds), "--threads", str(args.threads)]
            cmd += ["--integrations", "", "--no-memory", "--probe-norms", args.probe_norms]
            cmd += ["--json", str(path)]
            cmd += ["--no-peers"] if args.no_peers else []
            cmd += ["--detail-off"] if args.detail_off else []
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            results.append(json.loads(path.read_text()))
            print(f"  process {k + 1}/{args.processes} done", file=sys.stderr)
    return results


def _across(results: list[dict[str, Any]], name: str) -> dict[str, object]:
    """One model's results over processes: per variant the median of the processes' median
    ratios, with the lowest and highest wall ratio."""
    runs = [r[name] for r in results]
    variants: dict[str, dict[str, float]] = {}
    for v in runs[0]["variants"]:
        vals = [r["variants"][v] for r in runs]
        variants[v] = {k: statistics.median(x[k] for x in vals) for k in vals[0]}
        variants[v]["wall_lo"] = min(x["wall_ratio"] for x in vals)
        variants[v]["wall_hi"] = max(x["wall_ratio"] for x in vals)
    return {
        "step_ms": statistics.median(r["step_ms"] for r in runs),
        "bytes_per_step": statistics.median(r["bytes_per_step"] for r in runs),
        "rows_per_step": statistics.median(r["rows_per_step"] for r in runs),
        "processes": len(runs),
        "variants": variants,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--integrations", default="lightning,hf")
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument(
        "--detail-off", action="store_true",
        help="add a variant probe_no_detail: the probe without detail steps (gradient "
        "quantities and the NaN check only), to split the probe's cost",
    )  # fmt: skip
    ap.add_argument(
        "--processes", type=int, default=1,
        help="measure the models' overhead in this many fresh processes, one after another, "
        "and report the median of their ratios: where each copy of a model lands in memory "
        "moves one process's ratios by several percent (see the control variant)",
    )  # fmt: skip
    ap.add_argument(
        "--fit-steps", type=int, default=60,
        help="timed steps of each Lightning fit / HF train (after 3 warm-up steps); 60 covers "
        "one of the callback's flushes (every log_every_n_steps = 50) and amortises the "
        "probe's first steps (its hooks settle after 8) as a real run does",
    )  # fmt: skip
    ap.add_argument("--memory-steps", type=int, default=30000)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument(
        "--probe-norms", choices=("compiled", "torch", "default"), default="compiled",
        help="the probe's norm passes: compiled (numba) from the first step — the steady state "
        "of a run past gradprobe.probe.fastnorm.COMPILED_AFTER_STEPS (5000), which these short "
        "timed blocks do not reach; torch; or the default switch",
    )  # fmt: skip
    args = ap.parse_args()
    if args.rounds < 7:
        ap.error("--rounds must be at least 7")
    if args.fit_steps < 1:
        ap.error("--fit-steps must be at least 1")
    torch.set_num_threads(args.threads)
    from gradprobe.probe import fastnorm

    if args.probe_norms == "compiled":
        fastnorm.COMPILED_AFTER_STEPS = 0
    elif args.probe_norms == "torch":
        os.environ["GRADPROBE_ENGINE"] = "torch"
        fastnorm.kernels.cache_clear()
    out: dict[str, object] = {
        "threads": args.threads,
        "torch": torch.__version__,
        "rounds": args.rounds,
        "probe_norms": args.probe_norms,
        "load_avg_start": os.getloadavg()[0],
    }
    table: list[tuple[str, str, float, dict[str, float]]] = []
    models = [m for m in args.models.split(",") if m]
    per_process = _in_processes(args, models) if args.processes > 1 else None
    for name in models:
        if per_process is None:
            r = overhead(name, args.rounds, peers=not args.no_peers, detail_off=args.detail_off)
        else:
            r = _across(per_process, name)
        out[name] = r
        for v, res in r["variants"].items():  # type: ignore[attr-defined]
            if v != "baseline":
                table.append((name, v, float(r["step_ms"]), res))  # type: ignore[arg-type]
        print(f"  {name}: {r['bytes_per_step']:.0f} history bytes/step", file=sys.stderr)
    integ = [i for i in args.integrations.split(",") if i]
    if "lightning" in integ and have("lightning"):
        res = _lightning_rounds(args.rounds, steps=args.fit_steps, warm=3)
        out["lightning"] = res
        ms = 1e3 * res["baseline"]["wall_s"] / args.fit_steps
        table += [("lightning", v, ms, res[v]) for v in res if v != "baseline"]
    if "hf" in integ and have("transformers") and have("accelerate"):
        res = _hf_rounds(args.rounds, steps=args.fit_steps, warm=3)
        out["hf"] = res
        ms = 1e3 * res["baseline"]["wall_s"] / args.fit_steps
        table += [("hf_trainer", v, ms, res[v]) for v in res if v != "baseline"]
    print(f"threads={args.threads} rounds={args.rounds} load={out['load_avg_start']:.1f}")
    if per_process is not None:
        print(f"model rows: median over {args.processes} processes (lowest–highest wall ×)")
    print(f"{'model':12s} {'variant':15s} {'base ms':>8s} {'wall ×':>7s} {'cpu ×':>7s}")
    for name, v, ms, res in table:
        line = f"{name:12s} {v:15s} {ms:8.2f} {res['wall_ratio']:7.3f} {res['cpu_ratio']:7.3f}"
        if "wall_lo" in res:
            line += f"  ({res['wall_lo']:.3f}–{res['wall_hi']:.3f})"
        print(line)
    if not args.no_memory:
        m = memory(args.memory_steps, keep=2000)
        out["memory"] = m
        print("memory (11-layer MLP, max_steps=2000):")
        for k, v in m.items():
            print(f"  {k}: {v:.1f}")
    out["load_avg_end"] = os.getloadavg()[0]
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
