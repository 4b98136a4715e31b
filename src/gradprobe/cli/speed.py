"""``gradprobe speed``: the book's speed of learning ‖δˡ‖ of every hidden layer, over seeds."""

from __future__ import annotations

import argparse

import numpy as np
from rich.console import Console
from rich.table import Table

from ..book import INITIAL_SPEED
from ..data import BUNDLED_SIZE, load_data
from ..errors import ConfigError
from ..nets import DEVICES, Network, resolve_device
from ..speed import learning_speed
from . import _common as c

MNIST_CLASSES = 10

NAME = "speed"
HELP = "speed of learning ‖∂C/∂bˡ‖ of each hidden layer at initialisation, over many seeds"
DESCRIPTION = """\
Nielsen's measure of how fast each hidden layer learns: the length of the bias gradient
‖∂C/∂bˡ‖ = ‖(1/n) Σₓ δˡ‖ over the first n training images, for S freshly initialised networks.
Prints the median and the 10–90 % band over seeds per hidden layer, beside the book's values."""
EPILOG = """\
examples:
  gradprobe speed --sizes 784,30,30,10 --seeds 50
  gradprobe speed --sizes 784,30,30,30,30,10 --seeds 100 --json
  gradprobe speed --sizes 784,30,30,30,30,10 --activation relu --init he
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    c.add_network_options(p, "784,30,30,10")
    p.add_argument("--seeds", type=c.seeds, default=50, help="networks (default 50)")
    p.add_argument(
        "--samples",
        type=c.samples,
        default=1000,
        help="first n training images to average over (default 1000, as the book)",
    )
    c.add_data_option(p, bundled_default=True)
    p.add_argument(
        "--device",
        choices=list(DEVICES),
        default="cpu",
        help="where to compute: cpu (default), cuda, or auto (the GPU if there is one)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")


def run(args: argparse.Namespace) -> int:
    if len(args.sizes) < 3:
        raise ConfigError(f"sizes {','.join(map(str, args.sizes))} have no hidden layer to measure")
    c.check_model_size(args.sizes, args.seeds)
    spec = args.data
    if spec is None and args.samples <= BUNDLED_SIZE:
        spec = "bundled"  # the first 1000 training images ship with the package
    data = load_data(spec)
    if args.samples > len(data.training):
        raise ConfigError(
            f"--samples {args.samples} exceeds the {len(data.training)} training "
            f"images in {data.source}"
        )
    split = data.training.subset(args.samples)
    c.check_sizes_for_data(args.sizes, int(split.images.shape[1]), MNIST_CLASSES)
    device = resolve_device(args.device)
    net = Network(
        args.sizes,
        args.activation,
        args.cost,
        output=args.output,
        init=args.init,
        seeds=args.seeds,
        seed=args.seed,
        device=device,
    )
    ls = learning_speed(net, split.images.to(device), split.labels.to(device))
    # NumPy's median and 10–90 % band over seeds (one definition everywhere: low ≤ median ≤ high)
    median, q10, q90 = c.median_and_band(ls.speed)
    book = INITIAL_SPEED.get(tuple(args.sizes)) if _book_setting(args) else None
    if args.json:
        c.emit_json(
            {
                "sizes": list(args.sizes),
                "seeds": net.seed_values,
                "samples": args.samples,
                "net": net.config.to_dict(),
                "per_seed": ls.speed.tolist(),
                "median": median.tolist(),
                "q10": q10.tolist(),
                "q90": q90.tolist(),
                "weight_grad_norm": ls.weight_grad_norm.tolist(),
                "book": list(book) if book else None,
            }
        )
        return 0
    table = Table(
        title=f"‖δˡ‖ over {net.n_seeds} seeds, {args.samples} images",
        show_edge=False,
    )
    for col in ("hidden layer", "median", "10 %", "90 %", "book"):
        table.add_column(col, justify="right")
    for l in range(ls.speed.shape[1]):
        table.add_row(
            str(l + 1),
            f"{median[l]:.4f}",
            f"{q10[l]:.4f}",
            f"{q90[l]:.4f}",
            f"{book[l]:.3f}" if book else "–",
        )
    console = Console()
    console.print(table)
    ratio = ls.speed[:, -1].double() / ls.speed[:, 0].double()
    console.print(
        f"last / first hidden layer: median {np.median(ratio.cpu().numpy()):.1f}×",
        highlight=False,
    )
    return 0


def _book_setting(args: argparse.Namespace) -> bool:
    return (
        args.activation,
        args.cost,
        args.init,
        args.output in (None, "sigmoid"),
        args.samples,
    ) == ("sigmoid", "cross-entropy", "default", True, 1000)
