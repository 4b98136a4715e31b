"""``depth-accuracy``: does adding hidden layers help? The book's 96.48 / 96.90 / 96.57 / 96.53 %.

Chapter 5 trains 784-30-10, 784-30-30-10, 784-30-30-30-10 and 784-30-30-30-30-10 (sigmoid,
cross-entropy, default initialisation) by SGD for 30 epochs (mini-batch m = 10, η = 0.1,
λ = 5.0) on the 50 000 training images and reports the validation accuracy: more hidden layers
barely help, though the extra layers could in principle only make the network more capable.

We train ``seeds`` networks per depth (in one vectorised `Network`) and report, per depth, the
mean ± std, the 95 % interval of the mean, the min–max and the 95 % range for a single run (the
book's numbers are single runs), for both the final and the best epoch; and whether the
differences between depths are larger than this seed noise.

Long runs resume: each finished depth is saved to ``out_dir/partial/<net>.json`` and skipped when
the experiment is rerun with the same settings; an unfinished depth continues from its per-epoch
checkpoint ``out_dir/partial/<net>.safetensors``.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..book import DEPTH_ACCURACY
from ..data import load_data
from ..errors import ConfigError
from ..io import read_json, write_csv, write_json
from ..nets import Network
from ..train import Callback, TrainConfig, Trainer, TrainState
from ._legacy_base import (
    Comparison,
    Experiment,
    ExperimentResult,
    Table,
    Timer,
    mean_std_ci,
    one_thread,
    register,
)
from ._mnist import first_training_images, net_name, per_seed_rows, sizes_for


@dataclass(frozen=True)
class DepthAccuracyConfig:
    """network2's SGD for ``depths`` (numbers of hidden layers), ``seeds`` networks each.

    ``train_size``: the first n training images (None: all, 50 000 for MNIST); accuracy is
    measured after each epoch on ``evaluate`` ("validation", or "test"; data without a
    validation split, like the bundled subset, is evaluated on its test images)."""

    seeds: int = 5
    epochs: int = 30
    batch_size: int = 10
    eta: float = 0.1
    lmbda: float = 5.0
    train_size: int | None = None
    evaluate: str = "validation"
    depths: tuple[int, ...] = (1, 2, 3, 4)
    seed: int = 0
    quick: bool = False


class _EpochStatus(Callback):
    """Sends one status line per epoch: the mean accuracy over seeds so far."""

    def __init__(self, say: Callable[[str], None], label: str):
        self.say, self.label = say, label

    def on_epoch_begin(self, state: TrainState) -> None:
        self.say(f"{self.label}: epoch {state.epoch + 1}/{state.config.epochs}")

    def on_epoch_end(self, state: TrainState) -> None:
        acc = 100 * float(np.mean(state.accuracy[-1]))
        self.say(f"{self.label}: epoch {state.epoch}/{state.config.epochs} done, {acc:.2f} %")


Config = DepthAccuracyConfig


@register
class DepthAccuracy(Experiment):
    name = "depth-accuracy"
    title = "Accuracy against depth"
    book_ref = "Chapter 5, “The vanishing gradient problem” (opening experiment)"
    Config = DepthAccuracyConfig

    def quick_config(self) -> DepthAccuracyConfig:
        return DepthAccuracyConfig(seeds=2, epochs=2, quick=True)

    def run(
        self,
        config: DepthAccuracyConfig,
        *,
        data: str | None,
        out_dir: Path,
        progress: Callable[[str], None] | None = None,
    ) -> ExperimentResult:
        say = progress or (lambda _msg: None)
        out_dir = Path(out_dir)
        if config.evaluate not in ("validation", "test"):
            raise ConfigError(f"evaluate must be 'validation' or 'test', got {config.evaluate!r}")
        with one_thread(), Timer() as timer:
            mnist = load_data(data)
            training = mnist.training
            if config.train_size is not None:
                training = first_training_images(mnist, config.train_size, "train_size")
            evaluation, evaluated_on = mnist.test, "test"
            if config.evaluate == "validation" and mnist.validation is not None:
                evaluation, evaluated_on = mnist.validation, "validation"
            partial = _Partial(
                out_dir / "partial", {**dataclasses.asdict(config), "data": mnist.source}
            )
            runs: dict[str, dict[str, Any]] = {}
            reused_seconds = 0.0  # training time spent on reused depths in earlier runs
            for hidden in config.depths:
                sizes = sizes_for(hidden)
                name = net_name(sizes)
                done = partial.load(name)
                if done is not None:
                    say(f"{name}: finished in an earlier run, reusing {partial.json(name)}")
                    reused_seconds += float(done.get("train_seconds") or 0.0)
                    runs[str(hidden)] = done
                    continue
                net = Network(sizes, seeds=config.seeds, seed=config.seed)
                trainer = Trainer(
                    net,
                    TrainConfig(
                        epochs=config.epochs,
                        batch_size=config.batch_size,
                        eta=config.eta,
                        lmbda=config.lmbda,
                    ),
                    callbacks=[_EpochStatus(say, name)],
                    checkpoint=partial.checkpoint(name),
                )
                fit = trainer.fit(training, evaluation, resume=True)
                run = {
                    "sizes": list(sizes),
                    "accuracy": (100 * fit.accuracy).tolist(),  # [S, E] percent
                    "train_seconds": float(sum(fit.seconds_per_epoch)),
                }
                partial.save(name, run)
                runs[str(hidden)] = run
        seconds = timer.seconds + reused_seconds
        result = _result(config, runs, mnist.source, evaluated_on, len(training), out_dir, seconds)
        result.write(out_dir)
        return result


class _Partial:
    """Finished depths (``<net>.json``) and per-epoch checkpoints, valid for one ``key``."""

    def __init__(self, folder: Path, key: dict[str, Any]):
        self.folder, self.key = folder, key
        key_file = folder / "key.json"
        if key_file.exists() and read_json(key_file) != _jsonable(key):
            for p in folder.glob("784-*"):  # another configuration's work: start afresh
                if p.suffix in (".json", ".safetensors"):
                    p.unlink()
        write_json(key_file, key)

    def json(self, name: str) -> Path:
        return self.folder / f"{name}.json"

    def checkpoint(self, name: str) -> Path:
        return self.folder / f"{name}.safetensors"

    def load(self, name: str) -> dict[str, Any] | None:
        path = self.json(name)
        if not path.exists():
            return None
        run = read_json(path)
        return run if isinstance(run, dict) and "accuracy" in run else None

    def save(self, name: str, run: dict[str, Any]) -> None:
        write_json(self.json(name), run)
        self.checkpoint(name).unlink(missing_ok=True)


def _jsonable(d: dict[str, Any]) -> Any:
    import json

    from ..io import to_json

    return json.loads(to_json(d))


def _depth_stats(acc: np.ndarray) -> dict[str, Any]:
    """Statistics over seeds of accuracy ``acc`` [S, E] (percent), final and best epoch."""
    n = acc.shape[0]
    out: dict[str, Any] = {}
    for key, values in (("final", acc[:, -1]), ("best", acc.max(axis=1))):
        mean, std, half = (float(v) for v in mean_std_ci(values))
        # A single new run lies in mean ± t·s·√(1 + 1/n) with 95 % probability (normal noise).
        t = half / std * math.sqrt(n) if std and math.isfinite(std) and std > 0 else math.nan
        spread = t * std * math.sqrt(1 + 1 / n) if math.isfinite(t) else math.nan
        out[key] = {
            "per_seed": values.tolist(),
            "mean": mean,
            "std": std,
            "ci95": [mean - half, mean + half],
            "min": float(values.min()),
            "max": float(values.max()),
            "single_run95": [mean - spread, mean + spread],
        }
    out["best_epoch"] = (acc.argmax(axis=1) + 1).tolist()
    return out


def _nan_to_minmax(lo: float, hi: float, s: dict[str, Any]) -> tuple[float, float]:
    """The single-run range, or min–max where it is undefined (one seed, or no spread)."""
    if math.isfinite(lo) and math.isfinite(hi):
        return lo, hi
    return s["min"], s["max"]


def _result(
    config: DepthAccuracyConfig,
    runs: dict[str, dict[str, Any]],
    source: str,
    evaluated_on: str,
    n_train: int,
    out_dir: Path,
    seconds: float,
) -> ExperimentResult:
    from ..report.plots.depth_accuracy import plot

    n = config.seeds
    stats = {h: _depth_stats(np.asarray(r["accuracy"], dtype=np.float64)) for h, r in runs.items()}
    comparisons: list[Comparison] = []
    rows: list[list[Any]] = []
    for h, r in runs.items():
        sizes = tuple(r["sizes"])
        s = stats[h]
        book = DEPTH_ACCURACY.get(sizes)
        if n >= 3:
            lo, hi = s["best"]["single_run95"]
            lo, hi = _nan_to_minmax(lo, hi, s["best"])
            band = f"mean of {n} seeds; 95 % range of one run (mean ± t·s·√(1 + 1/n))"
        else:  # t with one degree of freedom makes that range meaningless: show min–max
            lo, hi = s["best"]["min"], s["best"]["max"]
            band = f"mean and min–max of {n} seeds"
        c = Comparison(
            quantity=f"{net_name(sizes)}: best {evaluated_on} accuracy, {config.epochs} epochs (%)",
            ours=s["best"]["mean"],
            low=lo,
            high=hi,
            band=band,
            book=book,
        )
        if config.quick:
            c.inside, c.note = None, _why_outside(config, s, book, evaluated_on, n_train)
        elif c.inside is False and book is not None:
            c.note = _why_outside(config, s, book, evaluated_on, n_train)
        comparisons.append(c)
        for key in ("final", "best"):
            d = s[key]
            rows.append([
                net_name(sizes), key, d["mean"], d["std"], d["ci95"][0], d["ci95"][1],
                d["min"], d["max"], book if key == "best" else None,
            ])  # fmt: skip
    diffs = _differences(runs, stats, config, comparisons)
    _write_csvs(out_dir, config, runs, rows)
    figure = plot(runs, stats, out_dir, seeds=n, evaluated_on=evaluated_on)
    train_seconds = {h: r.get("train_seconds") for h, r in runs.items()}
    return DepthAccuracy.make_result(
        config,
        summary=_summary(runs, stats, diffs, config, evaluated_on),
        explanation=EXPLANATION,
        comparisons=comparisons,
        tables=[
            Table(
                title=f"{evaluated_on} accuracy (%) over {n} seeds, final and best epoch",
                columns=[
                    "network",
                    "epoch",
                    "mean",
                    "std",
                    "95 % CI low",
                    "95 % CI high",
                    "min",
                    "max",
                    "book",
                ],
                rows=rows,
            ),
            Table(
                title="adding a hidden layer: change in best accuracy (pp) against seed noise",
                columns=[
                    "from",
                    "to",
                    "ours (mean)",
                    "95 % CI low",
                    "95 % CI high",
                    "book",
                    "larger than seed noise?",
                ],
                rows=[
                    [
                        d["from"],
                        d["to"],
                        d["diff"],
                        d["low"],
                        d["high"],
                        d["book"],
                        d["significant"],
                    ]
                    for d in diffs
                ],
            ),
        ],
        figures=[figure],
        data={
            "depths": {h: {**r, **stats[h]} for h, r in runs.items()},
            "differences": diffs,
            "evaluated_on": evaluated_on,
            "training_images": n_train,
            "source": source,
            "train_seconds": train_seconds,
        },
        seconds=seconds,
    )


def _differences(
    runs: dict[str, dict[str, Any]],
    stats: dict[str, dict[str, Any]],
    config: DepthAccuracyConfig,
    comparisons: list[Comparison],
) -> list[dict[str, Any]]:
    """Best-accuracy change from each depth to the next, with a 95 % interval (Welch, n − 1
    degrees of freedom: √(h₁² + h₂²) from the two means' half-widths)."""
    out: list[dict[str, Any]] = []
    keys = list(runs)
    for a, b in itertools.pairwise(keys):
        sa, sb = stats[a]["best"], stats[b]["best"]
        ha = (sa["ci95"][1] - sa["ci95"][0]) / 2
        hb = (sb["ci95"][1] - sb["ci95"][0]) / 2
        diff = sb["mean"] - sa["mean"]
        half = math.hypot(ha, hb)
        ba = DEPTH_ACCURACY.get(tuple(runs[a]["sizes"]))
        bb = DEPTH_ACCURACY.get(tuple(runs[b]["sizes"]))
        book = bb - ba if ba is not None and bb is not None else None
        significant = bool(math.isfinite(half) and abs(diff) > half)
        d = {
            "from": net_name(tuple(runs[a]["sizes"])),
            "to": net_name(tuple(runs[b]["sizes"])),
            "diff": diff,
            "low": diff - half if math.isfinite(half) else None,
            "high": diff + half if math.isfinite(half) else None,
            "book": book,
            "significant": significant,
        }
        out.append(d)
        c = Comparison(
            quantity=f"{d['to']} − {d['from']}: change in best accuracy (pp)",
            ours=diff,
            low=d["low"],
            high=d["high"],
            band=f"95 % CI of the difference of means, {config.seeds} seeds each",
            book=round(book, 2) if book is not None else None,
        )
        if config.quick:
            c.inside, c.note = None, "quick mode: too few epochs and images; not judged."
        elif c.inside is False:
            c.note = (
                "The book's difference is between two single runs, so it carries the seed "
                "noise of both (about √2 × one run's spread); our interval is for the mean."
            )
        comparisons.append(c)
    return out


def _why_outside(
    config: DepthAccuracyConfig,
    s: dict[str, Any],
    book: float | None,
    evaluated_on: str,
    n_train: int,
) -> str:
    if config.quick or book is None:
        return (
            f"quick mode: {config.epochs} epochs on {n_train} images, evaluated on the "
            f"{evaluated_on} set; not comparable with the book's 30 epochs on 50 000."
        )
    b, f = s["best"], s["final"]
    text = (
        f"The book's {book:.2f} % is one run with one particular seed; our {config.seeds} runs "
        f"reach a best of {b['min']:.2f}–{b['max']:.2f} % (mean {b['mean']:.2f} ± {b['std']:.2f}). "
        "With so few seeds the single-run range is itself uncertain, and network2 draws its "
        "initial weights and shuffles with NumPy's generator, so no seed of ours is the book's run."
    )
    lo, hi = f["single_run95"]
    if math.isfinite(lo) and math.isfinite(hi) and lo <= book <= hi:
        text += (
            f" The book does not say whether it quotes the best or the last epoch: our last-epoch "
            f"accuracy, {f['mean']:.2f} ± {f['std']:.2f} % (one run: {lo:.2f}–{hi:.2f} %), "
            "does contain it."
        )
    return text


def _summary(
    runs: dict[str, dict[str, Any]],
    stats: dict[str, dict[str, Any]],
    diffs: list[dict[str, Any]],
    config: DepthAccuracyConfig,
    evaluated_on: str,
) -> str:
    parts = [
        f"{net_name(tuple(r['sizes']))} {b['mean']:.2f} ± {b['std']:.2f}"
        for h, r in runs.items()
        if (b := stats[h]["best"])
    ]
    noise = float(np.nanmedian([stats[h]["best"]["std"] for h in runs])) if runs else math.nan
    text = (
        f"Best {evaluated_on} accuracy in {config.epochs} epochs, mean ± std over "
        f"{config.seeds} seeds: " + "; ".join(parts) + " %. "
    )
    sig = [d for d in diffs if d["significant"]]
    if diffs:
        if sig:
            text += "Depth changes larger than the seed noise (95 % CI excludes 0): " + ", ".join(
                f"{d['from']} → {d['to']} {d['diff']:+.2f} pp" for d in sig
            )
            rest = len(diffs) - len(sig)
            text += f"; the other {rest} step(s) are within the noise. " if rest else ". "
        else:
            text += "No step to a deeper network changes the accuracy by more than the seed noise. "
    text += f"A single run varies by about ±{noise:.2f} pp (median std over depths)."
    return text


def _write_csvs(
    out_dir: Path,
    config: DepthAccuracyConfig,
    runs: dict[str, dict[str, Any]],
    rows: list[list[Any]],
) -> None:
    write_csv(
        out_dir / "depth_accuracy.csv",
        ["sizes", "seed", "epoch", "accuracy_percent"],
        per_seed_rows(runs, "accuracy", config.seed),
    )
    write_csv(
        out_dir / "depth_accuracy_summary.csv",
        ["sizes", "epoch", "mean", "std", "ci95_low", "ci95_high", "min", "max", "book"],
        rows,
    )


EXPLANATION = """\
A deeper network can compute everything a shallower one can, so one would expect the extra hidden
layers to help. They barely do: after the second hidden layer the accuracy stops improving and
falls back a little. Chapter 5's explanation is the speed of learning. By BP2,
δˡ = ((wˡ⁺¹)ᵀ δˡ⁺¹) ⊙ σ′(zˡ), so the gradient that reaches an early layer is the output error times
a product of one factor wⱼσ′(zⱼ) per later layer; with σ′ ≤ 1/4 and network2's N(0, 1/n_in) weights
these factors are mostly below one, the early layers learn several times slower per layer of depth
(see initial-speed and training-speed), and in 30 epochs they stay close to their random start.

The book prints one run per depth, and such runs differ from seed to seed by a few tenths of a
percent — as much as the differences between depths. We therefore train several seeds per depth,
report mean ± std, the 95 % interval of the mean and min–max, and judge the book's single-run
numbers against the 95 % range for one run. The second table says which steps in depth change the
mean accuracy by more than the seed noise (the 95 % interval of the difference excludes zero).
"""
