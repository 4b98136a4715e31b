"""``through-time``: the unstable gradient through time in RNN, LSTM and GRU (beyond the book).

Chapter 5 ends on the remark that the unstable gradient is worst in recurrent nets: the same
weights multiply the gradient once per time step. We measure it: ‖∂L/∂h_t‖ for every t
(`gradprobe.recurrent.TimestepGradients`, the total derivative through all later steps) of a
tanh and a sigmoid Elman RNN, an LSTM (PyTorch default and forget-gate bias 1) and a GRU, on the
adding problem (Hochreiter & Schmidhuber 1997) and a memory task, at init, every
``profile_every`` steps during training and at its end (per stacked layer for 2-layer models
trained at one length);
a sweep of the tanh RNN's spectral radius beside Pascanu, Mikolov & Bengio (2013)'s condition;
gradient clipping on an exploding configuration; and the learning outcome against T with seed
bands: every cell is trained (Adam, clipped) until its validation loss is below a small
fraction of the constant-prediction baseline or a step budget is spent, at increasing T, and
a cell none of whose seeds learnt a length is not trained at the longer ones. The runs are
jobs (`run_jobs`), each resumable from its partial result and run in worker processes (one per
core) in the full run. The book prints none of these numbers: every comparison is a ``bound``
or a ``prediction``, never a ``reproduction``.

Scripts that call the full run must guard their entry point (``if __name__ == "__main__":``)
because worker processes are spawned; ``processes=1`` runs everything in the calling process.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .. import recurrent as rc
from ..errors import ConfigError
from ..io import write_csv
from ..results import MIN_BAND_SEEDS, Comparison, Table, band_of, finite_or_none, plain
from ..workers import TaskPool
from .base import Experiment, RunContext, cores, register, result_neutral, unwrap

CELLS = ("rnn-tanh", "rnn-sigmoid", "lstm", "lstm-fb1", "gru")
LABELS = {
    "rnn-tanh": "RNN tanh",
    "rnn-sigmoid": "RNN sigmoid",
    "lstm": "LSTM (default)",
    "lstm-fb1": "LSTM forget bias 1",
    "gru": "GRU",
}
#: A seed "beats the baseline" when its test loss is below this fraction of the
#: constant-prediction baseline; a cell beats it at a length when its median does.
BEAT = 0.5
#: Examples per profile measurement (their mean loss is differentiated).
PROFILE_BATCH = 64


@dataclass(frozen=True)
class ThroughTimeConfig:
    """Per-timestep profiles at init of every cell in ``cells`` (one layer, ``hidden`` units)
    on the adding problem at each T in ``lengths``, and of stacks of ``profile_layers`` layers
    at T = max(lengths).

    Every trained model is profiled (one forward/backward of `PROFILE_BATCH` test sequences)
    at init, every ``profile_every`` Adam steps (0: never) and at its last step. With
    ``stacked_length`` > 0 and ``profile_layers`` > 1, every cell that has a stacked form (all
    but the sigmoid RNN) is also trained with ``profile_layers`` layers on the adding problem at
    T = ``stacked_length``, ``seeds`` seeds, as the one-layer runs, and profiled per layer.

    Learning: each cell is trained on the adding problem at each T in ``train_lengths`` and on
    the memory task (``symbols`` symbols) at each T in ``memory_lengths``, ``seeds`` seeds each:
    Adam (rate ``lr``, batch ``batch``, gradient norm clipped to ``train_clip``; 0: no clipping)
    for at most ``steps`` steps, stopping early once the loss on a validation set (of
    ``test_size`` sequences, evaluated every ``eval_every`` steps) is below ``stop_fraction`` ×
    the constant-prediction baseline; the outcome is the loss on a separate test set. With
    ``skip_after_failure`` a cell none of whose seeds beat `BEAT` × baseline at a length is
    not trained at the longer ones (recorded as skipped).

    The spectral-radius sweep runs over ``radii`` at T = ``radius_length``; the clipping runs
    train a tanh RNN with W_hh = ``clip_radius``·Q, SGD rate ``clip_lr``, clip norm
    ``clip_norm``, ``clip_steps`` steps at T = ``clip_length``. ``processes``: worker
    processes for the runs (0: one per available core; 1: all in this process); it does not
    change any number (each run seeds itself and runs on one thread)."""

    cells: tuple[str, ...] = CELLS
    lengths: tuple[int, ...] = (10, 50, 100, 200)
    train_lengths: tuple[int, ...] = (10, 25, 50, 100, 200)
    memory_lengths: tuple[int, ...] = (50,)
    symbols: int = 8
    hidden: int = 32
    profile_layers: int = 2
    profile_every: int = 200
    stacked_length: int = 50
    seeds: int = 5
    steps: int = 2000
    memory_steps: int = 1000
    batch: int = 32
    lr: float = 1e-2
    train_clip: float = 1.0
    eval_every: int = 50
    stop_fraction: float = 0.05
    skip_after_failure: bool = True
    test_size: int = 256
    radii: tuple[float, ...] = (0.5, 0.75, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0)
    radius_length: int = 100
    clip_radius: float = 3.0
    clip_lr: float = 0.5
    clip_norm: float = 1.0
    clip_steps: int = 60
    clip_length: int = 50
    processes: int = result_neutral(0)
    quick: bool = False


Config = ThroughTimeConfig


# -- models --------------------------------------------------------------------------------------
class SeqModel(nn.Module):
    """A recurrent layer stack and a linear read-out of its last output: x [B, T, F] → [B, out]."""

    def __init__(self, rnn: nn.Module, hidden: int, out: int) -> None:
        super().__init__()
        self.rnn, self.head = rnn, nn.Linear(hidden, out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        o, _ = self.rnn(x)
        return self.head(o[:, -1])  # type: ignore[no-any-return]


def make_model(cell: str, inp: int, hidden: int, out: int, layers: int, seed: int) -> SeqModel:
    """A fresh ``cell`` model, initialised from ``seed`` (global RNG state restored after)."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        rnn: nn.Module
        if cell == "rnn-tanh":
            rnn = nn.RNN(inp, hidden, num_layers=layers, batch_first=True)
        elif cell == "rnn-sigmoid":
            rnn = rc.SigmoidRNN(inp, hidden, batch_first=True)  # one layer only
        elif cell in ("lstm", "lstm-fb1"):
            rnn = nn.LSTM(inp, hidden, num_layers=layers, batch_first=True)
            if cell == "lstm-fb1":
                rc.set_forget_bias(rnn, 1.0)
        elif cell == "gru":
            rnn = nn.GRU(inp, hidden, num_layers=layers, batch_first=True)
        else:
            raise ConfigError(f"unknown cell {cell!r}; choose from {', '.join(CELLS)}")
        return SeqModel(rnn, hidden, out)


def _task(task: str, cfg: ThroughTimeConfig, n: int, T: int, g: torch.Generator) -> Any:
    if task == "adding":
        return rc.adding_problem(n, T, g)
    return rc.memory_task(n, T, cfg.symbols, g)


def _loss(task: str, pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    if task == "adding":
        return nn.functional.mse_loss(pred, y)
    return nn.functional.cross_entropy(pred, y)


def profile_of(model: SeqModel, task: str, x: torch.Tensor, y: torch.Tensor) -> dict[str, Any]:
    """Per-timestep ‖∂L/∂h_t‖ of every layer of ``model`` and its analysis (gradients zeroed)."""
    prof = rc.timestep_grad_norms(model.rnn, lambda: _loss(task, model(x), y))
    model.zero_grad(set_to_none=True)
    return {
        "norms": prof,
        "analysis": {k: _brief(rc.analyze_profile(v, k)) for k, v in prof.items()},
    }


def _brief(a: rc.TimeProfileAnalysis) -> dict[str, Any]:
    return {
        "decay": a.decay_per_step,
        "ratio": a.ratio,
        "memory": a.memory,
        "half_life": a.half_life,
        "kind": a.kind,
    }


def _baseline(task: str, cfg: ThroughTimeConfig, train_y: torch.Tensor, y: torch.Tensor) -> float:
    if task == "adding":
        return rc.constant_mse(train_y, y)
    return rc.constant_cross_entropy(train_y, y, cfg.symbols)


def train_run(
    cfg: ThroughTimeConfig, task: str, cell: str, T: int, seed: int, layers: int = 1
) -> dict[str, Any]:
    """One model of ``layers`` stacked layers trained until its validation loss is below
    ``stop_fraction`` × baseline or for ``steps`` (memory task: ``memory_steps``) Adam steps:
    per-layer profiles ‖∂L/∂h_t‖ [T] at init, every ``profile_every`` steps and at the end
    (``profiles`` keyed by the step); the validation loss and the mean training loss every
    ``eval_every`` steps; the test loss and the constant baseline on a held-out test set (the
    same for every cell and seed at this T); for the memory task also the test accuracy."""
    inp, out = (2, 1) if task == "adding" else (cfg.symbols + 1, cfg.symbols)
    model = make_model(cell, inp, cfg.hidden, out, layers, seed)
    g = torch.Generator().manual_seed(10_007 * seed + T)
    gt = torch.Generator().manual_seed(99_991 + T)  # the same test set for every cell and seed
    xt, yt = _task(task, cfg, cfg.test_size, T, gt)
    _xtr, ytr = _task(task, cfg, cfg.test_size, T, gt)  # for the baseline constant
    xv, yv = _task(task, cfg, cfg.test_size, T, gt)  # validation: only for stopping
    stop = cfg.stop_fraction * _baseline(task, cfg, ytr, yv)
    xp, yp = xt[:PROFILE_BATCH], yt[:PROFILE_BATCH]
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    profiles = {"0": profile_of(model, task, xp, yp)}
    max_steps = cfg.steps if task == "adding" else cfg.memory_steps
    window: list[float] = []
    train_curve: list[float | None] = []
    val_curve: list[list[float | None]] = []
    solved, step = False, 0
    while step < max_steps and not solved:
        step += 1
        x, y = _task(task, cfg, cfg.batch, T, g)
        loss = _loss(task, model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.train_clip > 0:
            nn.utils.clip_grad_norm_(model.parameters(), cfg.train_clip)
        opt.step()
        window.append(float(loss.detach()))
        if cfg.profile_every and step % cfg.profile_every == 0:
            profiles[str(step)] = profile_of(model, task, xp, yp)
        if step % cfg.eval_every == 0 or step == max_steps:
            with torch.no_grad():
                v = float(_loss(task, model(xv), yv))
            train_curve.append(finite_or_none(float(np.mean(window))))
            val_curve.append([step, finite_or_none(v)])
            window = []
            solved = v < stop
            if not math.isfinite(v):
                break
    if str(step) not in profiles:
        profiles[str(step)] = profile_of(model, task, xp, yp)
    with torch.no_grad():
        pred = model(xt)
        test = float(_loss(task, pred, yt))
        acc = float((pred.argmax(1) == yt).double().mean()) if task == "memory" else None
    return {
        "task": task,
        "cell": cell,
        "T": T,
        "seed": seed,
        "layers": layers,
        "test_loss": test,
        "baseline": _baseline(task, cfg, ytr, yt),
        "accuracy": acc,
        "steps": step,
        "solved": solved,
        "eval_every": cfg.eval_every,
        "val_loss": val_curve,
        "train_loss": train_curve,
        "profiles": profiles,
    }


def init_profiles(cfg: ThroughTimeConfig, T: int) -> list[dict[str, Any]]:
    """At init, one layer, adding problem at T: every cell and seed's norms and analysis (the
    models are those `train_run` starts from)."""
    rows = []
    for cell in cfg.cells:
        for seed in range(cfg.seeds):
            m = make_model(cell, 2, cfg.hidden, 1, 1, seed)
            x, y = rc.adding_problem(PROFILE_BATCH, T, torch.Generator().manual_seed(7 + seed))
            rows.append({"cell": cell, "T": T, "seed": seed, **profile_of(m, "adding", x, y)})
    return rows


def stacked_profiles(cfg: ThroughTimeConfig, T: int) -> list[dict[str, Any]]:
    """At init: every cell with ``profile_layers`` stacked layers (the sigmoid RNN: one), each
    seed, on the adding problem at T — per-layer norms and analyses."""
    rows = []
    for cell in cfg.cells:
        for seed in range(cfg.seeds):
            m = make_model(cell, 2, cfg.hidden, 1, cfg.profile_layers, seed)
            x, y = rc.adding_problem(PROFILE_BATCH, T, torch.Generator().manual_seed(7 + seed))
            rows.append({"cell": cell, "seed": seed, **profile_of(m, "adding", x, y)})
    return rows


def radius_sweep(cfg: ThroughTimeConfig) -> list[dict[str, Any]]:
    """tanh RNN, W_hh = r·Q (Q orthogonal: σ_max = r), adding problem at ``radius_length``: per
    radius and seed the decay factor per step and the largest one-step ratio ‖∂L/∂h_t‖ /
    ‖∂L/∂h_{t+1}‖ (bounded by γ·σ_max with γ = 1)."""
    T, rows = cfg.radius_length, []
    for r in cfg.radii:
        for seed in range(cfg.seeds):
            m = make_model("rnn-tanh", 2, cfg.hidden, 1, 1, seed)
            rc.set_spectral_radius(m.rnn, r, torch.Generator().manual_seed(seed))
            x, y = rc.adding_problem(PROFILE_BATCH, T, torch.Generator().manual_seed(7 + seed))
            p = profile_of(m, "adding", x, y)
            n = p["norms"]["layer 0"]
            step = [n[t] / n[t + 1] for t in range(T - 1) if n[t + 1] > 0]
            rows.append(
                {
                    "radius": r,
                    "seed": seed,
                    "decay": p["analysis"]["layer 0"]["decay"],
                    "ratio": p["analysis"]["layer 0"]["ratio"],
                    "max_step_ratio": max(step) if step else None,
                    "norms": n,
                }
            )
    return rows


def clipping_runs(cfg: ThroughTimeConfig) -> list[dict[str, Any]]:
    """tanh RNN with W_hh = clip_radius·Q, SGD at clip_lr on the adding problem, with and
    without clipping the gradient's norm to clip_norm: loss and gradient norm per step."""
    runs = []
    for clip in (None, cfg.clip_norm):
        for seed in range(cfg.seeds):
            m = make_model("rnn-tanh", 2, cfg.hidden, 1, 1, seed)
            rc.set_spectral_radius(m.rnn, cfg.clip_radius, torch.Generator().manual_seed(seed))
            opt = torch.optim.SGD(m.parameters(), lr=cfg.clip_lr)
            g = torch.Generator().manual_seed(31 + seed)
            loss_c, gn, clipped = [], [], 0
            for _ in range(cfg.clip_steps):
                x, y = rc.adding_problem(cfg.batch, cfg.clip_length, g)
                loss = _loss("adding", m(x), y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                norm = float(
                    nn.utils.clip_grad_norm_(m.parameters(), math.inf if clip is None else clip)
                )
                clipped += clip is not None and norm > clip
                lv = float(loss.detach())
                loss_c.append(lv if math.isfinite(lv) else None)
                gn.append(norm if math.isfinite(norm) else None)
                if not math.isfinite(lv):
                    break
                opt.step()
            runs.append(
                {
                    "clip": clip,
                    "seed": seed,
                    "loss": loss_c,
                    "grad_norm": gn,
                    "fraction_clipped": clipped / cfg.clip_steps,
                }
            )
    return runs


# -- running the jobs (in this process or in worker processes) -----------------------------------
#: A job: ("train", task, cell, T, seed) | ("stacked-train", cell, seed) | ("init", T) |
#: ("stacked",) | ("sweep",) | ("clipping",)
Job = tuple[Any, ...]

#: The cells that have a stacked form (`SigmoidRNN` is one layer only).
STACKABLE = ("rnn-tanh", "lstm", "lstm-fb1", "gru")


def stacked_cells(cfg: ThroughTimeConfig) -> list[str]:
    """The cells trained with ``profile_layers`` layers (none unless ``stacked_length`` > 0 and
    ``profile_layers`` > 1)."""
    if cfg.stacked_length <= 0 or cfg.profile_layers < 2:
        return []
    return [c for c in cfg.cells if c in STACKABLE]


def execute(cfg: ThroughTimeConfig, job: Job) -> Any:
    """The value of one job (see `Job`); deterministic in ``cfg`` and ``job``."""
    kind = job[0]
    if kind == "train":
        return train_run(cfg, job[1], job[2], int(job[3]), int(job[4]))
    if kind == "stacked-train":
        return train_run(
            cfg, "adding", job[1], cfg.stacked_length, int(job[2]), layers=cfg.profile_layers
        )
    if kind == "init":
        return init_profiles(cfg, int(job[1]))
    if kind == "stacked":
        return stacked_profiles(cfg, max(cfg.lengths))
    if kind == "sweep":
        return radius_sweep(cfg)
    if kind == "clipping":
        return clipping_runs(cfg)
    raise ConfigError(f"unknown job {job!r}")


def _worker(cfg: ThroughTimeConfig, job: Job) -> Any:
    return plain(execute(cfg, job))


def _job_key(job: Job) -> str:
    return "-".join(str(p) for p in job[1:]) if job[0] == "train" else "-".join(map(str, job))


def _job_label(cfg: ThroughTimeConfig, job: Job) -> str:
    """What the progress line says while ``job`` runs."""
    if job[0] == "train":
        return f"{job[1]} T = {job[3]}: {LABELS[job[2]]}, seed {job[4]}"
    if job[0] == "stacked-train":
        return (
            f"adding T = {cfg.stacked_length}, {cfg.profile_layers} layers: "
            f"{LABELS[job[1]]}, seed {job[2]}"
        )
    return " ".join(map(str, job))


def processes_for(cfg: ThroughTimeConfig, jobs: int) -> int:
    """Worker processes: ``cfg.processes``, or (0) the cores this process may use; at most
    ``jobs``; 1 means: run everything in this process."""
    n = cfg.processes if cfg.processes > 0 else cores()
    return max(1, min(n, jobs))


def run_jobs(cfg: ThroughTimeConfig, ctx: RunContext) -> dict[str, Any]:
    """Every job of ``cfg``, each loaded from ``ctx``'s partial results when there, otherwise
    computed (in worker processes when `processes_for` > 1) and saved. Training lengths of a
    (task, cell) run in increasing order; with ``skip_after_failure`` a length none of whose
    seeds beat `BEAT` × baseline ends that (task, cell). Returns {"runs", "stacked_runs",
    "init", "stacked", "sweep", "clipping", "skipped"}."""
    ladders: dict[tuple[str, str], list[int]] = {}
    for task, lengths in (("adding", cfg.train_lengths), ("memory", cfg.memory_lengths)):
        for cell in cfg.cells:
            if lengths:
                ladders[(task, cell)] = sorted(set(int(t) for t in lengths))
    pending: list[Job] = []

    def group(task: str, cell: str) -> list[Job]:
        T = ladders[(task, cell)].pop(0)
        return [("train", task, cell, T, s) for s in range(cfg.seeds)]

    for task, cell in ladders:
        pending += group(task, cell)
    pending += [("stacked-train", c, s) for c in stacked_cells(cfg) for s in range(cfg.seeds)]
    pending += [("init", T) for T in cfg.lengths] + [("stacked",), ("sweep",), ("clipping",)]
    total = float(sum(len(v) for v in ladders.values()) * cfg.seeds + len(pending))
    out: dict[str, Any] = {"runs": [], "stacked_runs": [], "init": [], "skipped": []}
    left: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    done = 0

    def finished(job: Job, value: Any) -> None:
        nonlocal done, total
        done += 1
        if job[0] == "init":
            out["init"] += value
        elif job[0] == "stacked-train":
            out["stacked_runs"].append(value)
        elif job[0] != "train":
            out[job[0]] = value
        else:
            _, task, cell, T, _seed = job
            out["runs"].append(value)
            got = left.setdefault((task, cell, T), [])
            got.append(value)
            if len(got) < cfg.seeds or not ladders[(task, cell)]:
                return
            below = sum(_beats(r) for r in got)
            if below == 0 and cfg.skip_after_failure:
                for T2 in ladders.pop((task, cell)):
                    out["skipped"].append({"task": task, "cell": cell, "T": T2, "after": T})
                    total -= cfg.seeds
                ladders[(task, cell)] = []
            else:
                pending[:0] = group(task, cell)  # first: the longest chain waits on it

    with TaskPool(_worker, processes_for(cfg, len(pending))) as pool:

        def feed() -> None:
            """Submit pending jobs while a worker is free (loading those already saved)."""
            while pending and pool.has_room:
                job = pending.pop(0)
                value = ctx.load_partial(_job_key(job), cfg)
                if value is None:
                    ctx.progress(_job_label(cfg, job), done, total)
                    pool.submit(cfg, job)
                else:
                    finished(job, value)

        feed()
        for (_, job), value in pool.as_completed():
            ctx.save_partial(_job_key(job), cfg, value)
            finished(job, value)
            feed()
    ctx.progress("done", done, total)
    order = {c: i for i, c in enumerate(CELLS)}
    out["runs"].sort(key=lambda r: (r["task"] != "adding", r["T"], order[r["cell"]], r["seed"]))
    out["init"].sort(key=lambda r: (r["T"], order[r["cell"]], r["seed"]))
    out["stacked_runs"].sort(key=lambda r: (order[r["cell"]], r["seed"]))
    return out


def _beats(run: dict[str, Any]) -> bool:
    """Whether one run's test loss is below `BEAT` × its baseline (a non-finite loss is not)."""
    v = finite_or_none(run["test_loss"])
    return v is not None and v < BEAT * run["baseline"]


@register
class ThroughTime(Experiment[ThroughTimeConfig]):
    name = "through-time"
    title = "Gradients through time: RNN, LSTM and GRU"
    book_ref = "Chapter 5, closing remarks on recurrent nets (beyond the book)"
    order = 230
    typical_seconds = (10, 480)  # scheduling hint (measured 2026-12-01, quiet machine)
    Config = ThroughTimeConfig
    quick_note = """Profiles at T ∈ {10, 50}, 2 seeds (no bands), 16 hidden units, a short radius
    sweep: the per-timestep profiles and the Pascanu bound are real. Learning is not shown:
    each cell gets only 60 Adam steps at T = 10 (the full run gives up to 2000 steps at T up to
    200, stopping each seed once it has learnt), and no memory task; the profiles during
    training (every 20 steps; 2-layer models at T = 10) show only the first 60 steps."""

    def quick_config(self) -> ThroughTimeConfig:
        return ThroughTimeConfig(
            lengths=(10, 50),
            train_lengths=(10,),
            memory_lengths=(),
            hidden=16,
            seeds=2,
            steps=60,
            eval_every=20,
            profile_every=20,
            stacked_length=10,
            test_size=128,
            radii=(0.5, 1.0, 1.5),
            radius_length=50,
            clip_steps=30,
            clip_length=30,
            processes=1,
            quick=True,
        )

    def validate(self, config: ThroughTimeConfig) -> None:
        super().validate(config)
        bad = [c for c in config.cells if c not in CELLS]
        if bad or not config.cells:
            raise ConfigError(f"cells must be among {', '.join(CELLS)}; got {bad or 'none'}")
        for name in (
            "hidden",
            "steps",
            "memory_steps",
            "eval_every",
            "batch",
            "test_size",
            "radius_length",
            "clip_steps",
            "clip_length",
            "profile_layers",
            "symbols",
        ):
            v = getattr(config, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ConfigError(f"{name} must be a positive integer, got {v!r}")
        for name in ("lengths", "train_lengths"):
            v = getattr(config, name)
            if not v or any(isinstance(t, bool) or not isinstance(t, int) or t < 2 for t in v):
                raise ConfigError(f"{name} must be integers ≥ 2, got {v!r}")
        if any(isinstance(t, bool) or not isinstance(t, int) or t < 1
               for t in config.memory_lengths):  # fmt: skip
            raise ConfigError(
                f"memory_lengths must be positive integers, got {config.memory_lengths!r}"
            )
        for name, least in (("profile_every", 1), ("stacked_length", 2)):
            v = getattr(config, name)
            if isinstance(v, bool) or not isinstance(v, int) or 0 < v < least or v < 0:
                raise ConfigError(f"{name} must be 0 (off) or an integer ≥ {least}, got {v!r}")
        if not 0 < config.stop_fraction < 1:
            raise ConfigError(f"stop_fraction must lie in (0, 1), got {config.stop_fraction!r}")
        if not (config.train_clip >= 0 and math.isfinite(config.train_clip)):
            raise ConfigError(f"train_clip must be ≥ 0 (0: no clipping), got {config.train_clip!r}")
        p = config.processes
        if isinstance(p, bool) or not isinstance(p, int) or p < 0:
            raise ConfigError(f"processes must be an integer ≥ 0 (0: one per core), got {p!r}")
        if config.test_size < PROFILE_BATCH:
            raise ConfigError(f"test_size must be ≥ {PROFILE_BATCH}")
        for v in (config.lr, config.clip_lr, config.clip_norm):
            if not (v > 0 and math.isfinite(v)):
                raise ConfigError(f"rates and clip norm must be positive, got {v!r}")

    def compute(self, config: ThroughTimeConfig, ctx: RunContext) -> dict[str, Any]:
        out = run_jobs(config, ctx)
        return {
            **out,
            "gamma": {"tanh": rc.gamma("tanh"), "sigmoid": rc.gamma("sigmoid")},
            "beat_fraction": BEAT,
            "stop_fraction": config.stop_fraction,
            "profile_length": max(config.lengths),
            "profile_layers": config.profile_layers,
            "profile_every": config.profile_every,
            "stacked_length": config.stacked_length,
            "steps": config.steps,
            "memory_steps": config.memory_steps,
        }

    def compare(self, config: ThroughTimeConfig, data: dict[str, Any]) -> list[Comparison]:
        return compare(data)

    def conclude(
        self, config: ThroughTimeConfig, data: dict[str, Any], comparisons: list[Comparison]
    ) -> list[str]:
        return conclude(data)

    def tables(self, config: ThroughTimeConfig, data: dict[str, Any]) -> list[Table]:
        return tables(data)

    def write_files(self, config: ThroughTimeConfig, data: dict[str, Any], out_dir: Path) -> None:
        rows = []
        for s in data["init"]:
            for layer, norms in s["norms"].items():
                rows += [
                    ["init", "adding", s["cell"], s["T"], s["seed"], 0, layer, t, v]
                    for t, v in enumerate(norms)
                ]
        for r in data["runs"] + data["stacked_runs"]:
            for step, prof in r["profiles"].items():
                for layer, norms in prof["norms"].items():
                    rows += [
                        [
                            "training" if r.get("layers", 1) == 1 else "training-stacked",
                            r["task"],
                            r["cell"],
                            r["T"],
                            r["seed"],
                            int(step),
                            layer,
                            t,
                            v,
                        ]
                        for t, v in enumerate(norms)
                    ]
        write_csv(
            Path(out_dir) / "through_time_profiles.csv",
            ["source", "task", "cell", "T", "seed", "train_step", "layer", "t", "grad_norm"],
            rows,
        )
        write_csv(
            Path(out_dir) / "through_time_outcome.csv",
            ["task", "cell", "T", "seed", "test_loss", "baseline", "accuracy", "steps", "solved"],
            [
                [
                    r["task"],
                    r["cell"],
                    r["T"],
                    r["seed"],
                    r["test_loss"],
                    r["baseline"],
                    r["accuracy"],
                    r["steps"],
                    r["solved"],
                ]
                for r in data["runs"]
            ],
        )


# -- reading the data ----------------------------------------------------------------------------
def _runs(data: dict[str, Any], task: str, cell: str, T: int) -> list[dict[str, Any]]:
    return [r for r in data["runs"] if r["task"] == task and r["cell"] == cell and r["T"] == T]


def _cells(data: dict[str, Any]) -> list[str]:
    have = {r["cell"] for r in data["runs"]} | {s["cell"] for s in data["init"]}
    return [c for c in CELLS if c in have]


def _lengths(data: dict[str, Any], task: str) -> list[int]:
    """The lengths ``task`` was trained at, or skipped at, in increasing order."""
    ts = {r["T"] for r in data["runs"] if r["task"] == task}
    ts |= {s["T"] for s in data.get("skipped", []) if s["task"] == task}
    return sorted(ts)


def _skipped(data: dict[str, Any], task: str, cell: str, T: int) -> dict[str, Any] | None:
    return next(
        (
            s
            for s in data.get("skipped", [])
            if s["task"] == task and s["cell"] == cell and s["T"] == T
        ),
        None,
    )


def _loss_value(v: Any) -> float:
    f = finite_or_none(v)
    return math.inf if f is None else f


def init_decay(data: dict[str, Any], cell: str, T: int) -> float:
    """Median over seeds of the decay factor per step at init (one layer, adding problem)."""
    vals = [
        s["analysis"]["layer 0"]["decay"] for s in data["init"] if s["cell"] == cell and s["T"] == T
    ]
    return float(np.median([_loss_value(v) for v in vals])) if vals else math.nan


def end_decay(data: dict[str, Any], cell: str, T: int) -> float:
    """Median over seeds of the decay factor per step after training (adding problem)."""
    runs = _runs(data, "adding", cell, T)
    vals = [
        r["profiles"][max(r["profiles"], key=int)]["analysis"]["layer 0"]["decay"] for r in runs
    ]
    return float(np.median([_loss_value(v) for v in vals])) if vals else math.nan


def _finite(vals: Any) -> list[float]:
    return [f for v in vals if (f := finite_or_none(v)) is not None]


def _median(vals: list[float]) -> float:
    return float(np.median(vals)) if vals else math.nan


def ratio_path(runs: list[dict[str, Any]], layer: str, every: int) -> dict[str, Any] | None:
    """Over ``runs`` (the seeds of one cell, task, T and depth): the median over seeds of
    ``layer``'s ratio ‖∂L/∂h_0‖ / ‖∂L/∂h_{T−1}‖ (the gradient reaching t = 0 as a fraction of
    the one at the last step, where the loss enters) at init (``init``), at every multiple of
    ``every`` that some seed was profiled at (``during``: {step: (median, seeds)}), and at
    each seed's last step (``end``); ``steps``: the median steps trained, ``seeds``: how many.
    None without runs."""
    if not runs:
        return None

    def at(r: dict[str, Any], key: str) -> Any:
        return r["profiles"][key]["analysis"][layer]["ratio"]

    during: dict[int, tuple[float, int]] = {}
    if every > 0:
        keys = sorted({int(k) for r in runs for k in r["profiles"] if int(k) % every == 0} - {0})
        for st in keys:
            got = _finite(at(r, str(st)) for r in runs if str(st) in r["profiles"])
            if got:
                during[st] = (_median(got), len(got))
    return {
        "init": _median(_finite(at(r, "0") for r in runs)),
        "during": during,
        "end": _median(_finite(at(r, max(r["profiles"], key=int)) for r in runs)),
        "steps": float(np.median([r["steps"] for r in runs])),
        "seeds": len(runs),
    }


def _change(a: float, b: float) -> str:
    """How a ratio went from ``a`` to ``b``: by more than a factor of 10, or not."""
    if not (math.isfinite(a) and math.isfinite(b)):
        return "changes"
    if b > 10 * a:
        return "rises"
    if b < a / 10:
        return "falls"
    return "stays within a factor of 10"


def path_text(path: dict[str, Any]) -> str:
    """ "rises from A at init to B at step s (n/N seeds still training) and C at the end"."""
    s = f"{_change(path['init'], path['end'])} from {path['init']:.2g} at init to "
    if path["during"]:
        st = min(path["during"])
        v, n = path["during"][st]
        left = "" if n == path["seeds"] else f" ({n}/{path['seeds']} seeds still training)"
        s += f"{v:.2g} at step {st}{left} and "
    return s + f"{path['end']:.2g} at the end"


def longest_trained(data: dict[str, Any], cell: str) -> int | None:
    """The longest adding length ``cell`` was trained at (one layer)."""
    Ts = [r["T"] for r in data["runs"] if r["task"] == "adding" and r["cell"] == cell]
    return max(Ts) if Ts else None


def stacked_runs(data: dict[str, Any], cell: str) -> list[dict[str, Any]]:
    return [r for r in data.get("stacked_runs", []) if r["cell"] == cell]


def _layer_word(layer: str) -> str:
    k = int(layer.split()[1])
    return ("first", "second", "third", "fourth")[k] if k < 4 else f"{k + 1}th"


def during_sentences(data: dict[str, Any]) -> list[str]:
    """How the gradient reaching t = 0 changes during training: one sentence for the one-layer
    cells (each at its longest adding length trained), one per stacked cell and layer."""
    every = int(data.get("profile_every", 0) or 0)
    out: list[str] = []
    parts = []
    for c in _cells(data):
        T = longest_trained(data, c)
        path = ratio_path(_runs(data, "adding", c, T), "layer 0", every) if T else None
        if path is not None:
            parts.append(
                f"{LABELS[c]} (T = {T}, median {path['steps']:.0f} steps) {path_text(path)}"
            )
    if parts:
        out.append(
            "During training (one layer, adding problem, each cell at its longest length "
            "trained; median over seeds), the gradient reaching t = 0 as a fraction of the "
            "one at the last step: " + "; ".join(parts) + "."
        )
    for c in CELLS:
        runs = stacked_runs(data, c)
        if not runs:
            continue
        layers = list(runs[0]["profiles"]["0"]["analysis"])
        bits = []
        for layer in layers:
            path = ratio_path(runs, layer, every)
            assert path is not None
            bits.append(f"the {_layer_word(layer)} layer's {path_text(path)}")
        out.append(
            f"In the {len(layers)}-layer {LABELS[c]} trained at T = {runs[0]['T']} "
            f"({len(runs)} seeds, median {np.median([r['steps'] for r in runs]):.0f} Adam "
            f"steps; {sum(_beats(r) for r in runs)}/{len(runs)} learnt it: test loss below "
            f"{BEAT:g} × baseline), the gradient reaching "
            "t = 0 as a fraction of the one at the last step: " + "; ".join(bits) + "."
        )
    return out


def during_table(data: dict[str, Any]) -> Table | None:
    """The ratio ‖∂L/∂h_0‖ / ‖∂L/∂h_{T−1}‖ at init, at steps every·2^k and at the end, per
    one-layer cell (its longest adding length) and per stacked cell and layer."""
    every = int(data.get("profile_every", 0) or 0)
    budget = int(data.get("steps", 0) or 0)
    marks = []
    st = every
    while every > 0 and st <= budget:
        marks.append(st)
        st *= 2
    rows: list[list[Any]] = []

    def row(c: str, n_layers: int, runs: list[dict[str, Any]], layer: str) -> list[Any]:
        path = ratio_path(runs, layer, every)
        assert path is not None
        cells = []
        for m in marks:
            got = path["during"].get(m)
            cells.append(
                "—"
                if got is None
                else f"{got[0]:.2g}" + ("" if got[1] == path["seeds"] else f" ({got[1]})")
            )
        return [LABELS[c], n_layers, runs[0]["T"], layer, f"{path['init']:.2g}", *cells,
                f"{path['end']:.2g}", f"{path['steps']:.0f}",
                f"{sum(_beats(r) for r in runs)}/{len(runs)}"]  # fmt: skip

    for c in _cells(data):
        T = longest_trained(data, c)
        if T is not None:
            rows.append(row(c, 1, _runs(data, "adding", c, T), "layer 0"))
    for c in CELLS:
        runs = stacked_runs(data, c)
        for layer in runs[0]["profiles"]["0"]["analysis"] if runs else []:
            rows.append(row(c, runs[0].get("layers", 1), runs, layer))
    if not rows:
        return None
    return Table(
        "gradient reaching t = 0 / gradient at the last step (‖∂L/∂h_0‖ / ‖∂L/∂h_{T−1}‖, adding "
        "problem) during training, median over seeds: at init, at Adam step s (in brackets: "
        "seeds still training, when not all) and at each seed's last step; seeds whose test "
        f"loss is below {BEAT:g} × baseline",
        ["cell", "layers", "T", "layer", "init"]
        + [f"step {m}" for m in marks]
        + ["end", "median steps", "learnt"],
        rows,
    )


def outcome(data: dict[str, Any], task: str, cell: str, T: int) -> dict[str, Any] | None:
    """Median and band of the test loss over seeds, the baseline, how many seeds beat
    `BEAT` × baseline (``below``), how many reached the stopping threshold (``solved``) and
    the median steps trained; None if not trained."""
    runs = _runs(data, task, cell, T)
    if not runs:
        return None
    loss = [_loss_value(r["test_loss"]) for r in runs]
    base = float(np.median([r["baseline"] for r in runs]))
    b = band_of(loss)
    return {
        "median": b.median,
        "low": b.low,
        "high": b.high,
        "seeds": b.seeds,
        "baseline": base,
        "beats": b.median < BEAT * base,
        "below": sum(_beats(r) for r in runs),
        "solved": sum(bool(r.get("solved")) for r in runs),
        "steps": float(np.median([r["steps"] for r in runs])),
        "max_steps": max(r["steps"] for r in runs),
    }


def compare(data: dict[str, Any]) -> list[Comparison]:
    out: list[Comparison] = []
    g = data["gamma"]["tanh"]
    radii = sorted({row["radius"] for row in data["sweep"]})
    for r in radii:
        rows = [row for row in data["sweep"] if row["radius"] == r]
        worst = max(row["max_step_ratio"] for row in rows if row["max_step_ratio"] is not None)
        out.append(
            Comparison(
                f"max over t and seeds of ‖∂L/∂h_t‖/‖∂L/∂h_{{t+1}}‖, tanh RNN, σ_max(W_hh) = {r:g}",
                "bound",
                worst,
                g * r,
                "Pascanu et al. 2013: ‖∂h_{t+1}/∂h_t‖ ≤ γ·σ_max(W_hh), γ = 1 for tanh",
                relation="<=",
                band=f"max of {len(rows)} seeds",
            )
        )
        if g * r < 1:
            out.append(
                Comparison(
                    f"decay factor per step (fit), tanh RNN, σ_max(W_hh) = {r:g} < 1/γ",
                    "prediction",
                    float(np.median([row["decay"] for row in rows])),
                    1.0,
                    "Pascanu et al. 2013: vanishing when σ_max < 1/γ",
                    relation="<=",
                    band=f"median of {len(rows)} seeds",
                )
            )
    # One test set per length (shared by every cell and seed): one value per T.
    by_T = {r["T"]: r["baseline"] for r in data["runs"] if r["task"] == "adding"}
    base = [by_T[T] for T in sorted(by_T)]
    if base:
        out.append(
            Comparison.prediction(
                "constant-prediction MSE of the adding problem (one test set per T)",
                base,
                1 / 6,
                "Var(U₁ + U₂) = 2/12 for U ~ U(0, 1)",
            )
        )
    return out


def _cell_text(data: dict[str, Any], task: str, cell: str, T: int) -> str:
    o = outcome(data, task, cell, T)
    if o is None:
        s = _skipped(data, task, cell, T)
        return f"not trained (no seed learnt T = {s['after']})" if s else "—"
    band = "" if o["low"] is None else f" [{o['low']:.3g}, {o['high']:.3g}]"
    return f"{o['median']:.3g}{band}; {o['below']}/{o['seeds']} below; {o['steps']:.0f} steps"


def tables(data: dict[str, Any]) -> list[Table]:
    cells = _cells(data)
    out = []
    stop = data.get("stop_fraction")
    for task, unit, budget in (
        ("adding", "test MSE", data.get("steps")),
        ("memory", "test cross-entropy", data.get("memory_steps")),
    ):
        Ts = _lengths(data, task)
        if not Ts:
            continue
        rows: list[list[Any]] = [
            [LABELS[c]] + [_cell_text(data, task, c, T) for T in Ts] for c in cells
        ]
        base = []
        for T in Ts:
            got = [r["baseline"] for r in data["runs"] if r["task"] == task and r["T"] == T]
            base.append(f"{np.median(got):.3g}" if got else "—")
        rows.append(["constant baseline", *base])
        out.append(
            Table(
                f"{task}: {unit} after training, median [10–90 % over seeds]; seeds below "
                f"{BEAT:g} × baseline; median Adam steps (at most {budget}, stopping once the "
                f"validation loss is below {stop:g} × baseline)",
                ["cell"] + [f"T = {T}" for T in Ts],
                rows,
            )
        )
    Ts = sorted({s["T"] for s in data["init"]})
    trained = set(_lengths(data, "adding"))
    rows = []
    for c in cells:
        row: list[Any] = [LABELS[c]]
        for T in Ts:
            d0 = init_decay(data, c, T)
            cell_s = f"{d0:.3g}"
            if T in trained and _runs(data, "adding", c, T):
                cell_s += f" → {end_decay(data, c, T):.3g}"
            row.append(cell_s)
        rows.append(row)
    out.append(
        Table(
            "decay factor per step of ‖∂L/∂h_t‖ (fit, median over seeds), adding problem: at "
            "init → after training (where trained); < 1 vanishes",
            ["cell"] + [f"T = {T}" for T in Ts],
            rows,
        )
    )
    rows = []
    for c in cells:
        st = [s for s in data["stacked"] if s["cell"] == c]
        for layer in st[0]["analysis"]:
            a = [s["analysis"][layer] for s in st]
            rows.append(
                [
                    LABELS[c],
                    layer,
                    float(np.median([x["decay"] for x in a])),
                    float(np.median([x["ratio"] for x in a])),
                    int(np.median([x["memory"] for x in a])),
                ]
            )
    out.append(
        Table(
            f"stacked layers at init, adding T = {data['profile_length']} (median over seeds)",
            [
                "cell",
                "layer",
                "decay per step",
                "‖∂L/∂h_0‖ / ‖∂L/∂h_T‖",
                "effective memory (steps)",
            ],
            rows,
        )
    )
    during = during_table(data)
    if during is not None:
        out.append(during)
    return out


def _halving(d: float) -> str:
    return f"halving every {math.log(2) / -math.log(d):.3g} steps" if 0 < d < 1 else "not vanishing"


def _by_length(
    data: dict[str, Any], task: str, cell: str
) -> tuple[dict[int, dict[str, Any] | None], list[int], list[int]]:
    """``cell`` on ``task``: the outcome at every length (None: not trained there), and the
    lengths it learnt and failed, in order."""
    got = {T: outcome(data, task, cell, T) for T in _lengths(data, task)}
    learnt = [T for T, o in got.items() if o is not None and o["beats"]]
    failed = [T for T, o in got.items() if o is not None and not o["beats"]]
    return got, learnt, failed


def _last_learnt_before(learnt: list[int], first_failed: int) -> int | None:
    """The longest length learnt below the first one failed (None: none)."""
    return max((t for t in learnt if t < first_failed), default=None)


def learning_sentence(data: dict[str, Any], task: str, cell: str) -> str | None:
    """Which lengths ``cell`` learnt (median below `BEAT` × baseline), where it first failed, and
    what was skipped — or None if it was not trained on ``task``."""
    got, learnt, failed = _by_length(data, task, cell)
    Ts = list(got)
    tried = [T for T in Ts if got[T] is not None]
    if not tried:
        return None
    name = LABELS[cell]
    skipped = [T for T in Ts if got[T] is None and _skipped(data, task, cell, T)]
    what = "adding problem" if task == "adding" else "memory task"

    def detail(T: int) -> str:
        o = got[T]
        assert o is not None
        return (
            f"{o['below']}/{o['seeds']} seeds below {BEAT:g} × baseline, median test loss "
            f"{o['median']:.3g} against {o['baseline']:.3g}"
        )

    if not failed:
        top = max(learnt)
        o = got[top]
        assert o is not None
        s = (
            f"{name} learns the {what} at every length trained, up to T = {top} "
            f"({detail(top)}; median {o['steps']:.0f} Adam steps, {o['solved']}/{o['seeds']} "
            f"seeds reached the stopping threshold)."
        )
    elif not learnt:
        s = (
            f"{name} learns the {what} at no length trained (T ∈ {tried}; at T = {min(tried)}: "
            f"{detail(min(tried))})."
        )
    else:
        first = min(failed)
        last_ok = _last_learnt_before(learnt, first)
        s = (
            f"{name} learns the {what} at T ∈ {learnt} and fails from T = {first} "
            f"({detail(first)})"
            + (f": it fails beyond T ≈ {last_ok}" if last_ok is not None else "")
            + "."
        )
    if skipped:
        s += f" Not trained at T ∈ {skipped} (after no seed learnt a shorter length)."
    return s


def conclude(data: dict[str, Any]) -> list[str]:
    """Sentences chosen and filled from ``data``."""
    out: list[str] = []
    cells = _cells(data)
    init_Ts = sorted({s["T"] for s in data["init"]})
    Tmax = max(init_Ts)
    seeds = len([s for s in data["init"] if s["cell"] == cells[0] and s["T"] == Tmax])
    if seeds < MIN_BAND_SEEDS:
        out.append(f"Only {seeds} seed(s) per cell: no seed bands; the outcome is indicative.")
    parts = []
    for c in cells:
        d0 = init_decay(data, c, Tmax)
        parts.append(f"{LABELS[c]} {d0:.3g} ({_halving(d0)})")
    out.append(
        f"At init, at T = {Tmax}, ‖∂L/∂h_t‖ changes per step backwards by a factor of "
        + "; ".join(parts)
        + " (median over seeds)."
    )
    budget = data.get("steps")
    learned_any = False
    for task in ("adding", "memory"):
        Ts = _lengths(data, task)
        never = []
        for c in cells:
            _, learnt, failed = _by_length(data, task, c)
            if not learnt and not failed:
                continue
            if learnt:
                learned_any = True
                out.append(learning_sentence(data, task, c) or "")
            else:
                never.append(c)
        if never:
            what = "adding problem" if task == "adding" else "memory task"
            steps = data.get("steps" if task == "adding" else "memory_steps")
            meds = ", ".join(
                f"{LABELS[c]} {outcome(data, task, c, min(Ts))['median']:.3g}"  # type: ignore[index]
                for c in never
                if outcome(data, task, c, min(Ts)) is not None
            )
            base0 = np.median(
                [r["baseline"] for r in data["runs"] if r["task"] == task and r["T"] == min(Ts)]
            )
            out.append(
                ", ".join(LABELS[c] for c in never)
                + (" learns" if len(never) == 1 else " learn")
                + f" the {what} at no length trained (T ∈ {Ts}) within {steps} Adam steps "
                f"(median test loss at T = {min(Ts)}: {meds}; constant baseline "
                f"{base0:.3g})."
            )
    if not learned_any and data["runs"]:
        out.append(
            f"No cell learnt within the step budget ({budget} Adam steps on the adding "
            "problem): this run does not show learning."
        )
    if "rnn-tanh" in cells:
        d0 = init_decay(data, "rnn-tanh", Tmax)
        _, learnt_T, failed_T = _by_length(data, "adding", "rnn-tanh")
        gated = [
            (c, max(learnt))
            for c in ("lstm", "lstm-fb1", "gru")
            if c in cells and (learnt := _by_length(data, "adding", c)[1])
        ]
        if failed_T and learned_any:
            first = min(failed_T)
            last_ok = _last_learnt_before(learnt_T, first)
            tail = (
                f"it fails beyond T ≈ {last_ok}"
                if last_ok is not None
                else f"it fails at every length trained (from T = {first})"
            )
            s = f"In short: the tanh RNN's gradient at init is {_halving(d0)}; {tail}"
            if gated:
                s += "; " + ", ".join(f"the {LABELS[c]} learns T = {t}" for c, t in gated)
            out.append(s + f" (within {budget} Adam steps).")
    if "lstm" in cells and "lstm-fb1" in cells:
        a0, b0 = init_decay(data, "lstm", Tmax), init_decay(data, "lstm-fb1", Tmax)
        better = "keeps more" if b0 > a0 else "keeps less"
        s = (
            f"Forget-gate bias 1 {better} of the gradient at init than PyTorch's default "
            f"(factor per step {b0:.3g} vs {a0:.3g} at T = {Tmax})"
        )
        common = [
            T
            for T in _lengths(data, "adding")
            if _runs(data, "adding", "lstm", T) and _runs(data, "adding", "lstm-fb1", T)
        ]
        if common:
            T = max(common)
            s += (
                f"; after training at T = {T}: {end_decay(data, 'lstm-fb1', T):.3g} vs "
                f"{end_decay(data, 'lstm', T):.3g}"
            )
        out.append(s + ".")
    out += during_sentences(data)
    sweep = data["sweep"]
    radii = sorted({r["radius"] for r in sweep})
    med = {r: float(np.median([x["decay"] for x in sweep if x["radius"] == r])) for r in radii}
    below = [r for r in radii if r < 1]
    ok = all(med[r] < 1 for r in below)
    grow = [r for r in radii if med[r] >= 1]
    out.append(
        (
            "As Pascanu et al.'s condition predicts, "
            if ok
            else "Against Pascanu et al.'s condition, "
        )
        + f"the tanh RNN's gradient vanishes at every σ_max < 1 tried ({below}: factors "
        + ", ".join(f"{med[r]:.3g}" for r in below)
        + ")"
        + ("" if ok else " — not at all of them")
        + ". "
        + (
            f"It stops vanishing (factor ≥ 1) at σ_max ∈ {grow}."
            if grow
            else "Even above 1 the measured factor stays below 1: the condition is only "
            "sufficient; tanh saturation keeps the Jacobians small."
        )
    )
    clip = data["clipping"]
    if clip:

        def last(r: dict[str, Any]) -> float:
            vals = [v for v in r["loss"] if v is not None]
            return (
                math.inf if len(vals) < len(r["loss"]) or not vals else float(np.mean(vals[-10:]))
            )

        raw = [last(r) for r in clip if r["clip"] is None]
        cl = [last(r) for r in clip if r["clip"] is not None]
        frac = float(np.median([r["fraction_clipped"] for r in clip if r["clip"] is not None]))
        gmax = max(
            max((v for v in r["grad_norm"] if v is not None), default=0.0)
            for r in clip
            if r["clip"] is None
        )
        base = [r["baseline"] for r in data["runs"] if r["task"] == "adding"]
        ref = ""
        fin_cl = [v for v in cl if math.isfinite(v)]
        if base and fin_cl:
            side = "above" if np.median(fin_cl) > np.median(base) else "below"
            ref = f", {side} the constant baseline {np.median(base):.3g}"

        def state(losses: list[float]) -> str:
            bad = sum(not math.isfinite(v) for v in losses)
            fin = [v for v in losses if math.isfinite(v)]
            parts = [f"diverges (non-finite loss) in {bad} of {len(losses)} seeds"] if bad else []
            if fin:
                parts.append(
                    f"the last-10-step loss is {np.median(fin):.3g} (median over "
                    f"{len(fin)} finite seed(s))"
                )
            return "; ".join(parts)

        out.append(
            f"Exploding configuration: unclipped, the gradient norm reaches {gmax:.3g} and "
            f"training {state(raw)}; clipped, {frac:.0%} of steps are clipped and "
            f"{state(cl)}{ref}."
        )
    return out


ThroughTime.explanation = unwrap(
    """\
The book's chain multiplies one factor wⱼσ′(zⱼ) per layer; a recurrent net multiplies one
Jacobian ∂h_{t+1}/∂h_t = diag(σ′)·W_hh per time step, with the same W_hh every step. So the
gradient ‖∂L/∂h_t‖ that reaches an early step is a product of T − t such factors and shrinks or
grows geometrically. We measure ‖∂L/∂h_t‖ for every t — the total derivative through all later
steps, by unrolling each layer and hooking every hidden state — and fit its factor per step.

Pascanu, Mikolov and Bengio (2013) showed that the gradient must vanish when the largest singular
value of W_hh is below 1/γ, γ = max σ′ (1 for tanh, ¼ for the sigmoid): every one-step ratio is
at most γ·σ_max. We check that bound at every step and sweep σ_max. Above it the gradient may
explode; clipping its norm (their remedy) bounds each step. The LSTM's additive cell path lets
the gradient pass when the forget gate is near 1; PyTorch's default starts it near σ(0) = ½,
and Jozefowicz et al. (2015) recommend a forget-gate bias of 1. The adding problem (sum of two
marked values among T) is solved only by carrying information across ≥ T/2 steps; predicting
the constant gives MSE 1/6 ≈ 0.167, computed here on the test set.

To see which cells learn, each is trained with Adam (gradient norm clipped to 1) at increasing
T until its loss on a validation set falls below 5 % of the baseline, or for at most a fixed
number of steps; the outcome is the loss on a separate test set, with the 10–90 % band over
seeds. A cell learns a length when its median test loss is below half the baseline; the
learning-curve figure shows every seed's validation loss against the steps. A cell that no
seed could teach a length is not trained at longer ones. Every trained model is profiled every
few hundred steps, so the tables and figures show how training changes the gradient that
reaches t = 0; models of two stacked layers (every cell but the sigmoid RNN) are trained at one
length and profiled per layer.
"""
)
