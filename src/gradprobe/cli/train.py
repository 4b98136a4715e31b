"""``gradprobe train``: train the book's network by SGD, S seeds at once."""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from ..checkpoints import read_checkpoint
from ..data import load_data
from ..errors import ConfigError, OutputError
from ..experiments.base import default_threads, torch_threads
from ..io import write_json
from ..nets import DEVICES, Network, resolve_device, save_network
from ..train import Callback, TrainConfig, Trainer, TrainState
from . import _common as c

#: Options recorded with a run and reused by --resume: option dest → (section, key) of the
#: checkpoint's record.
RECORDED: dict[str, tuple[str, str]] = {
    "sizes": ("net", "sizes"),
    "activation": ("net", "activation"),
    "cost": ("net", "cost"),
    "output": ("net", "output"),
    "init": ("net", "init"),
    "seeds": ("net", "seeds"),
    "seed": ("net", "seed"),
    "epochs": ("train", "epochs"),
    "batch_size": ("train", "batch_size"),
    "eta": ("train", "eta"),
    "lmbda": ("train", "lmbda"),
    "regularization": ("train", "regularization"),
    "momentum": ("train", "momentum"),
    "clip": ("train", "clip_norm"),
    "data": ("run", "data"),
    "eval": ("run", "eval"),
}
_UNSET: Any = object()
_DEFAULTS: dict[str, Any] = {}
MNIST_CLASSES = 10
CHECKPOINT = "checkpoint.safetensors"

NAME = "train"
HELP = "train the book's network on MNIST by mini-batch SGD (many seeds at once)"
DESCRIPTION = """\
Train the book's feedforward network (network2's SGD: reshuffle every epoch, mini-batches of
m, learning rate η, L2 weight decay λ) and report accuracy after every epoch. --seeds S trains
S independently initialised and shuffled networks in one vectorised program."""
EPILOG = """\
examples:
  gradprobe train --sizes 784,30,10 --epochs 30 --batch-size 10 --eta 0.1 --lmbda 5.0
  gradprobe train --sizes 784,30,30,30,30,10 --seeds 8 --epochs 5 --json
  gradprobe train --data bundled --epochs 3 --out runs/quick      # no download
  gradprobe train --out runs/long --resume                        # continue an interrupted run
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    c.add_network_options(p, "784,30,10")
    g = p.add_argument_group("training")
    g.add_argument("--epochs", type=c.epochs, default=30, help="epochs (default 30)")
    g.add_argument(
        "--batch-size", type=c.batch_size, default=10, help="mini-batch size m (default 10)"
    )
    g.add_argument("--eta", type=c.eta, default=0.1, help="learning rate η (default 0.1)")
    g.add_argument(
        "--lmbda",
        type=c.lmbda,
        default=5.0,
        help="regularisation λ, network2's form (default 5.0)",
    )
    g.add_argument("--regularization", choices=["l2", "l1"], default="l2", help="(default l2)")
    g.add_argument(
        "--momentum", type=c.momentum, default=0.0, help="momentum μ in [0, 1) (default 0)"
    )
    g.add_argument(
        "--clip",
        type=c.clip_norm,
        default=None,
        metavar="NORM",
        help="clip each seed's gradient to this norm",
    )
    g.add_argument("--seeds", type=c.seeds, default=1, help="networks trained at once (default 1)")
    c.add_data_option(p, bundled_default=False)
    p.add_argument(
        "--eval",
        choices=["validation", "test"],
        default="validation",
        help="evaluate on the validation set (default) or the test set",
    )
    p.add_argument(
        "--out",
        type=c.output_dir,
        default=None,
        metavar="DIR",
        help="write result.json, network.safetensors and a resumable checkpoint here",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in DIR (--out) with its recorded settings; options given must "
        "agree with them, except --epochs, which may grow",
    )
    p.add_argument(
        "--device",
        choices=list(DEVICES),
        default="cpu",
        help="where to train: cpu (default), cuda, or auto (the GPU if there is one)",
    )
    p.add_argument(
        "--threads",
        type=c.positive_int,
        default=None,
        help="torch intra-op threads (default: gradprobe's policy, "
        "gradprobe.experiments.base.default_threads)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    # Options a resumed run takes from its record unless given: their defaults are filled in
    # by `run`, so that it can tell an option given from one left alone.
    for dest in RECORDED:
        _DEFAULTS[dest] = p.get_default(dest)
    p.set_defaults(**{dest: _UNSET for dest in RECORDED})


class _EpochPrinter(Callback):
    """Prints one table row per epoch as training goes."""

    def __init__(self, console: Console, seeds: int):
        self.console, self.seeds = console, seeds

    def on_train_begin(self, state: TrainState) -> None:
        head = "epoch   accuracy (mean" + (" ± std, min–max over seeds)" if self.seeds > 1 else ")")
        self.console.print(f"[bold]{head}[/]   seconds")

    def on_epoch_end(self, state: TrainState) -> None:
        acc = 100 * np.asarray(state.accuracy[-1])
        line = f"{state.epoch:>5}   {acc.mean():6.2f}%"
        if self.seeds > 1:
            line += f" ± {acc.std(ddof=1):.2f}  ({acc.min():.2f}–{acc.max():.2f})"
        self.console.print(f"{line}   {state.seconds[-1]:.2f}")


def _option(dest: str) -> str:
    return "--" + {"clip": "clip"}.get(dest, dest).replace("_", "-")


def _show(v: Any) -> str:
    return ",".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v)


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    """The run's settings: options given, then (with --resume) the run's record, then defaults."""
    given = {d: getattr(args, d) for d in RECORDED if getattr(args, d) is not _UNSET}
    if not args.resume:
        return {d: given.get(d, _DEFAULTS[d]) for d in RECORDED}
    path = args.out / CHECKPOINT
    if not path.exists():
        raise ConfigError(f"--resume: there is no run to continue in {args.out} (no {CHECKPOINT})")
    record = read_checkpoint(path).meta
    recorded = {d: record[sec].get(key) for d, (sec, key) in RECORDED.items()}
    if recorded["sizes"] is not None:
        recorded["sizes"] = tuple(recorded["sizes"])
    if "data" not in record["run"]:
        raise ConfigError(f"--resume: {path} does not record its data; start a new run")
    conflicts = []
    for d, v in given.items():
        if d == "epochs":
            continue  # more epochs continue the same run; fewer are refused by the trainer
        if d == "data" and v is not None and v != "bundled":
            v = str(Path(v).expanduser().resolve())
        if v != recorded[d]:
            conflicts.append(f"{_option(d)} {_show(v)} (the run has {_show(recorded[d])})")
    if conflicts:
        raise ConfigError(
            f"--resume: {args.out} holds a run with other settings: {'; '.join(conflicts)}; "
            "leave these options out to reuse the run's, or use another --out"
        )
    return {**recorded, **{k: v for k, v in given.items() if k == "epochs"}}


def _make_out_dir(out: Path) -> None:
    """Create --out (already checked by `c.output_dir` when the options were parsed)."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"--out {out}: cannot create this folder ({e.strerror or e})") from None


def run(args: argparse.Namespace) -> int:
    if args.resume and args.out is None:
        raise ConfigError("--resume needs --out DIR (the run to continue)")
    cfg = _settings(args)  # --out was checked (c.output_dir) before any of this
    c.check_model_size(cfg["sizes"], cfg["seeds"])
    device = resolve_device(args.device)
    data_spec = cfg["data"]
    if data_spec is not None and data_spec != "bundled":
        data_spec = str(Path(data_spec).expanduser().resolve())
    data = load_data(data_spec)
    c.check_sizes_for_data(cfg["sizes"], int(data.training.images.shape[1]), MNIST_CLASSES)
    c.check_at_most("--batch-size", cfg["batch_size"], len(data.training), "training images")
    # The bundled subset has no validation split: it is evaluated on its test images.
    on_validation = cfg["eval"] == "validation" and data.validation is not None
    evaluation = data.validation if on_validation and data.validation else data.test
    net = Network(
        cfg["sizes"],
        cfg["activation"],
        cfg["cost"],
        output=cfg["output"],
        init=cfg["init"],
        seeds=cfg["seeds"],
        seed=cfg["seed"],
        device=device,
    )
    config = TrainConfig(
        epochs=cfg["epochs"],
        batch_size=cfg["batch_size"],
        eta=cfg["eta"],
        lmbda=cfg["lmbda"],
        regularization=cfg["regularization"],
        momentum=cfg["momentum"],
        clip_norm=cfg["clip"],
    )
    if args.out is not None:
        _make_out_dir(args.out)
    threads = args.threads or default_threads()
    with torch_threads(threads):
        return _train(args, cfg, data, data_spec, on_validation, evaluation, net, config)


def _train(
    args: argparse.Namespace,
    cfg: dict[str, Any],
    data: Any,
    data_spec: str | None,
    on_validation: bool,
    evaluation: Any,
    net: Network,
    config: TrainConfig,
) -> int:
    console = Console()
    callbacks = [] if args.json else [_EpochPrinter(console, net.n_seeds)]
    if not args.json:
        console.print(
            f"{net.describe()}\ntraining on {len(data.training)} images from {data.source}, "
            f"evaluating on {len(evaluation)} {'validation' if on_validation else 'test'} images",
            highlight=False,
        )
    checkpoint = args.out / CHECKPOINT if args.out else None
    if args.resume and not args.json:
        console.print(
            f"resuming the run in {args.out} with its recorded settings, to {config.epochs} epochs",
            highlight=False,
        )
    trainer = Trainer(
        net,
        config,
        callbacks=callbacks,
        progress=sys.stderr.isatty(),
        checkpoint=checkpoint,
        run_config={"data": data_spec, "eval": cfg["eval"]},
    )
    result = trainer.fit(data.training, evaluation, resume=args.resume)
    train_seconds = float(np.mean(result.seconds_per_epoch)) if result.seconds_per_epoch else 0.0
    out = {
        "sizes": list(net.sizes),
        "seeds": net.seed_values,
        "epochs": result.epochs,
        "accuracy": result.accuracy.tolist(),
        "seconds_per_epoch": train_seconds,
        "seconds_each_epoch": result.seconds_per_epoch,
        "evaluated_on": "validation" if on_validation else "test",
        "data": data.source,
        "data_spec": data_spec,
        "device": str(net.weights[0].device),
        "net": net.config.to_dict(),
        "train": asdict(config),
    }
    if args.out:
        write_json(args.out / "result.json", out)
        save_network(net, args.out / "network.safetensors")
    if args.json:
        c.emit_json(out)
    else:
        final = 100 * result.accuracy[:, -1]
        best = 100 * result.accuracy.max(dim=1).values
        table = Table(title="summary", show_edge=False)
        for col in ("", "final %", "best %"):
            table.add_column(col, justify="right")
        table.add_row("mean", f"{final.mean():.2f}", f"{best.mean():.2f}")
        if net.n_seeds > 1:
            table.add_row("std", f"{final.std():.2f}", f"{best.std():.2f}")
        console.print(table)
        console.print(f"{train_seconds:.2f} s per epoch (training only, {net.n_seeds} seed(s))")
        if args.out:
            console.print(f"wrote {args.out}/result.json and network.safetensors", highlight=False)
    return 0
