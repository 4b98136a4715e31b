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
``backward`` over all accumulation steps and *after* its ``max_grad_norm`` clipping, so the
probe sees the clipped gradients (the Trainer logs the pre-clipping total as ``grad_norm``).
``on_train_end`` closes the probe (every hook removed) and optionally saves the history.

Logging: the probe's ``flush_every`` is set to ``logging_steps`` (in recorded steps), so
the values reach the host once per logging step; ``on_log`` adds the newest step's values to
the Trainer's ``logs`` as ``gradprobe/<quantity>/<layer>`` (and to ``state.log_history``).
Callbacks run in order and ``report_to`` loggers are registered before user callbacks, so
call :meth:`run_first` for them to receive these keys.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from gradprobe.probe.integrations import scalar_tags
from gradprobe.probe.watch import Probe, Sink, watch


class GradprobeTrainerCallback(TrainerCallback):
    """Attach a :class:`~gradprobe.probe.Probe` for the duration of ``Trainer.train``.

    Parameters mirror :class:`~gradprobe.probe.integrations.GradprobeCallback`: ``every``,
    ``quantities`` (what to log; ``None``: all), ``log``, ``sinks``, ``save_to`` and
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
        **watch_kwargs: Any,
    ) -> None:
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
        self.probe = watch(model, self.every, sinks=[self._capture, *self.sinks], **opts)

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
        scalars = scalar_tags(self._pending, self.quantities)
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
