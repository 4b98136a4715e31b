"""``gradprobe train``: train the book's network by SGD, S seeds at once."""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from ..data import load_data
from ..errors import ConfigError
from ..io import write_json
from ..nets import Network, save_network
from ..train import Callback, TrainConfig, Trainer, TrainState
from . import _common as c

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
    g.add_argument("--epochs", type=c.positive_int, default=30, help="epochs (default 30)")
    g.add_argument(
        "--batch-size", type=c.positive_int, default=10, help="mini-batch size m (default 10)"
    )
    g.add_argument(
        "--eta", type=c.positive_float, default=0.1, help="learning rate η (default 0.1)"
    )
    g.add_argument(
        "--lmbda",
        type=c.nonneg_float,
        default=5.0,
        help="regularisation λ, network2's form (default 5.0)",
    )
    g.add_argument("--regularization", choices=["l2", "l1"], default="l2", help="(default l2)")
    g.add_argument("--momentum", type=c.nonneg_float, default=0.0, help="momentum μ (default 0)")
    g.add_argument(
        "--clip",
        type=c.positive_float,
        default=None,
        metavar="NORM",
        help="clip each seed's gradient to this norm",
    )
    g.add_argument(
        "--seeds", type=c.positive_int, default=1, help="networks trained at once (default 1)"
    )
    c.add_data_option(p, bundled_default=False)
    p.add_argument(
        "--eval",
        choices=["validation", "test"],
        default="validation",
        help="evaluate on the validation set (default) or the test set",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="write result.json, network.safetensors and a resumable checkpoint here",
    )
    p.add_argument("--resume", action="store_true", help="continue from DIR/checkpoint.safetensors")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")


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


def run(args: argparse.Namespace) -> int:
    if args.momentum >= 1:
        raise ConfigError(f"momentum must be below 1, got {args.momentum}")
    if args.resume and args.out is None:
        raise ConfigError("--resume needs --out DIR (the run to continue)")
    data = load_data(args.data)
    # The bundled subset has no validation split: it is evaluated on its test images.
    on_validation = args.eval == "validation" and data.validation is not None
    evaluation = data.validation if on_validation and data.validation else data.test
    net = Network(
        args.sizes,
        args.activation,
        args.cost,
        output=args.output,
        init=args.init,
        seeds=args.seeds,
        seed=args.seed,
    )
    config = TrainConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        eta=args.eta,
        lmbda=args.lmbda,
        regularization=args.regularization,
        momentum=args.momentum,
        clip_norm=args.clip,
    )
    console = Console()
    callbacks = [] if args.json else [_EpochPrinter(console, args.seeds)]
    if not args.json:
        console.print(
            f"{net.describe()}\ntraining on {len(data.training)} images from {data.source}, "
            f"evaluating on {len(evaluation)} {'validation' if on_validation else 'test'} images",
            highlight=False,
        )
    checkpoint = args.out / "checkpoint.safetensors" if args.out else None
    trainer = Trainer(
        net, config, callbacks=callbacks, progress=sys.stderr.isatty(), checkpoint=checkpoint
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
