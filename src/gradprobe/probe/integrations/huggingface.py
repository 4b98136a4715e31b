"""Hugging Face ``transformers.TrainerCallback``: watch the model during ``Trainer.train``.

Example::

    from transformers import Trainer, TrainingArguments
    from gradprobe.probe.integrations import GradprobeTrainerCallback

    cb = GradprobeTrainerCallback(quantities=("speed", "grad_norm"))
    trainer = Trainer(model=model, args=TrainingArguments("out", logging_steps=50),
                      train_dataset=ds, callbacks=[cb])
    cb.run_first(trainer)   # optional: so report_to loggers (wandb, tensorboard) see the values
    trainer.train()
    cb.probe.history        # tidy DataFrame: step, layer, quantity, value

Where it hooks in: ``on_train_begin`` attaches the probe to ``kwargs["model"]``;
``on_pre_optimizer_step`` calls ``probe.step()``. The Trainer calls that hook after
``backward`` over all accumulation steps and *after* its ``max_grad_norm`` clipping; the
probe reads the pre-clip norms at the end of backward (``grad_norm_preclip``, the same
meaning as the Trainer's own ``grad_norm``) and the clipped ones at ``probe.step()``
(``grad_norm_postclip``, and the per-layer rows). ``on_train_end`` closes the probe (every
hook removed) and optionally saves the history.

Logging, at the Trainer's step numbering (``state.global_step`` after the optimiser step,
i.e. the probe's step + 1 + the global step at which training started):

- the console and ``state.log_history`` get a *summary* per ``on_log``: a handful of headline
  keys (:data:`HEADLINE`) of the newest recorded step;
- every quantity of every recorded step goes to ``tensorboard_dir`` (default: the Trainer's
  ``logging_dir`` when ``"tensorboard"`` is in ``report_to``) through a
  :class:`~gradprobe.probe.integrations.TensorBoardSink`, at the step where it was measured.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from gradprobe.probe.layers import MODEL_NAME
from gradprobe.probe.watch import Probe, Sink, watch

#: The keys shown on the console per log line (the rest goes to the loggers).
HEADLINE = (
    "gradprobe/grad_norm_preclip",
    "gradprobe/grad_norm_postclip",
    "gradprobe/min_relative_speed",
    "gradprobe/slowest_layer_speed",
    "gradprobe/nonfinite_layers",
)


def headline(records: dict[str, dict[str, float]]) -> dict[str, float]:
    """The summary of one step: pre/post-clip total norm, the smallest relative speed (the
    slowest layer's speed over the last layer's) and the number of non-finite layers."""
    out: dict[str, float] = {}
    model = records.get(MODEL_NAME, {})
    for key in ("grad_norm_preclip", "grad_norm_postclip"):
        if key in model:
            out[f"gradprobe/{key}"] = model[key]
    if "grad_norm_preclip" not in model and "grad_norm" in model:
        out["gradprobe/grad_norm_postclip"] = model["grad_norm"]
    rel = [v["relative_speed"] for k, v in records.items() if "relative_speed" in v]
    if rel:
        out["gradprobe/min_relative_speed"] = min(rel)
    speeds = [v["speed"] for k, v in records.items() if "speed" in v]
    if speeds:
        out["gradprobe/slowest_layer_speed"] = min(speeds)
    out["gradprobe/nonfinite_layers"] = float(sum("nonfinite" in v for v in records.values()))
    return out


class GradprobeTrainerCallback(TrainerCallback):
    """Attach a :class:`~gradprobe.probe.Probe` for the duration of ``Trainer.train``.

    Parameters mirror :class:`~gradprobe.probe.integrations.GradprobeCallback`: ``every``,
    ``quantities`` (what goes to TensorBoard; ``None``: all), ``log`` (the console summary),
    ``sinks``, ``save_to``, ``tensorboard_dir`` (see the module docstring) and
    ``**watch_kwargs`` for :func:`gradprobe.probe.watch`.
    """

    def __init__(
        self,
        every: int = 1,
        *,
        quantities: tuple[str, ...] | None = None,
        log: bool = True,
        sinks: tuple[Sink, ...] = (),
        save_to: str | Path | None = None,
        tensorboard_dir: str | Path | None = None,
        **watch_kwargs: Any,
    ) -> None:
        self.tensorboard_dir = tensorboard_dir
        self._tb: Any = None
        self.every = every
        self.quantities = quantities
        self.log = log
        self.sinks = tuple(sinks)
        self.save_to = save_to
        self.watch_kwargs = watch_kwargs
        self.probe: Probe | None = None
        self._pending: dict[str, dict[str, float]] | None = None

    def run_first(self, trainer: Any) -> None:
        """Move this callback to the front of ``trainer``'s callbacks (adding it if absent), so
        that the ``report_to`` loggers called after it in ``on_log`` see the probe's keys."""
        cbs = trainer.callback_handler.callbacks
        if self in cbs:
            cbs.remove(self)
        cbs.insert(0, self)

    # ------------------------------------------------------------------ Trainer hooks
    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        model = kwargs.get("model")
        if model is None:
            raise RuntimeError("GradprobeTrainerCallback: the Trainer passed no model")
        opts = dict(self.watch_kwargs)
        steps = int(getattr(args, "logging_steps", 0) or 0)
        strategy = getattr(args, "logging_strategy", "steps")
        if str(getattr(strategy, "value", strategy)) == "steps" and steps >= 1:
            opts.setdefault("flush_every", max(1, steps // self.every))
        self._pending = None
        offset = 1 + int(getattr(state, "global_step", 0) or 0)
        sinks: list[Sink] = [self._capture, *self.sinks] if self.log else list(self.sinks)
        tb_dir = self.tensorboard_dir
        report_to = getattr(args, "report_to", None) or []
        if tb_dir is None and "tensorboard" in report_to:
            tb_dir = getattr(args, "logging_dir", None)
        if tb_dir is not None:
            from gradprobe.probe.integrations.tensorboard import TensorBoardSink

            self._tb = TensorBoardSink(tb_dir, quantities=self.quantities, step_offset=offset)
            sinks.append(self._tb)
        self.probe = watch(model, self.every, sinks=sinks, **opts)

    def on_pre_optimizer_step(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.probe is not None and not self.probe.closed:
            self.probe.step()

    def on_log(
        self,
        args: Any,
        state: Any,
        control: Any,
        logs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if self._pending is None or logs is None or not self.log:
            return
        scalars = headline(self._pending)
        self._pending = None
        logs.update(scalars)
        history = getattr(state, "log_history", None)
        if history and isinstance(history[-1], dict):
            history[-1].update(scalars)

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.probe is None or self.probe.closed:
            return
        self.probe.close()
        self._pending = None
        if self.save_to is not None:
            self.probe.save(self.save_to)

    # ------------------------------------------------------------------ internals
    def _capture(self, step: int, records: dict[str, dict[str, float]]) -> None:
        """Sink: keep the newest step's values until the next ``on_log``."""
        self._pending = records
