"""Lightning callback: watch a ``LightningModule`` with the probe during ``fit``.

Example::

    import lightning.pytorch as pl
    from gradprobe.probe.integrations import GradprobeCallback

    cb = GradprobeCallback(quantities=("speed", "grad_norm", "update_ratio"))
    trainer = pl.Trainer(max_epochs=3, callbacks=[cb], log_every_n_steps=50)
    trainer.fit(model, datamodule)
    cb.probe.history        # tidy DataFrame: step, layer, quantity, value
    cb.probe.diagnose()     # findings

Where it hooks in: ``on_fit_start`` attaches the probe (the model is on its device by then);
``on_before_optimizer_step`` calls ``probe.step()`` — after ``backward`` (and after the AMP
scaler has unscaled the gradients, so the norms are true ones) but *before* Lightning's
``gradient_clip_val`` clipping, which runs after this hook: the probe sees the raw gradients;
with gradient accumulation it runs once per optimizer step, on the accumulated gradients.
``on_fit_end`` (or ``teardown``/``on_exception``) closes the probe, removing every hook, and
optionally saves the history.

Logging: the probe keeps values on the device and hands them over every ``flush_every``
recorded steps; the callback sets ``flush_every`` to the trainer's ``log_every_n_steps`` (in
recorded steps), so there is one host transfer per logging step, and writes *every* recorded
step's values — detail quantities included, at the steps where they were measured — to each
of the trainer's loggers as ``gradprobe/<quantity>/<layer>``, at Lightning's step numbering
(``trainer.global_step`` when the step ran: the probe's step plus the global step at which
fit started). The pre-clip norm (``grad_norm_preclip``) is read at the end of backward;
Lightning's own ``gradient_clip_val`` clipping runs after this callback's hook, so the probe's
post-clip row equals the pre-clip one under Lightning (known limitation).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from lightning.pytorch import Callback

from gradprobe.probe.integrations import scalar_tags
from gradprobe.probe.watch import Probe, Sink, watch

if TYPE_CHECKING:
    import lightning.pytorch as pl


class GradprobeCallback(Callback):
    """Attach a :class:`~gradprobe.probe.Probe` for the duration of ``trainer.fit``.

    Parameters
    ----------
    every:
        Record every ``every``-th optimizer step.
    quantities:
        Quantities to log to the trainer's logger (``None``: all). The probe's history keeps
        everything regardless.
    log:
        Log through ``pl_module.log_dict`` (when the trainer has a logger).
    sinks:
        Extra probe sinks (e.g. a :class:`~gradprobe.probe.integrations.TensorBoardSink`).
    save_to:
        Write the history there (``.csv``, ``.parquet`` or ``.json``) when fit ends.
    **watch_kwargs:
        Passed to :func:`gradprobe.probe.watch` (``flush_every``, ``update_ratio``,
        ``activations``, ``detail_every``).
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
        super().__init__()
        self.every = every
        self.quantities = quantities
        self.log = log
        self.sinks = tuple(sinks)
        self.save_to = save_to
        self.watch_kwargs = watch_kwargs
        self.probe: Probe | None = None
        self._pending: list[tuple[int, dict[str, dict[str, float]]]] = []
        self._offset = 0
        self._trainer: Any = None

    # ------------------------------------------------------------------ Lightning hooks
    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        kwargs = dict(self.watch_kwargs)
        # one device→host transfer per logging step, not one per step
        log_n = int(getattr(trainer, "log_every_n_steps", 50))  # set at Trainer init
        kwargs.setdefault("flush_every", max(1, log_n // self.every))
        self._pending = []
        self._offset = int(trainer.global_step)
        self._trainer = trainer
        # the capture sink only when something will be logged: without it a flush takes the
        # plain loop's path (rows straight into the history, no per-step records)
        logs = self.log and bool(getattr(trainer, "loggers", None))
        sinks = [self._capture, *self.sinks] if logs else list(self.sinks)
        self.probe = watch(pl_module, self.every, sinks=sinks, **kwargs)

    def on_before_optimizer_step(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, optimizer: Any
    ) -> None:
        if self.probe is None or self.probe.closed:
            return
        self.probe.step()  # may flush, which fills self._pending through the sink
        self._log()

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._close()

    def on_exception(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException
    ) -> None:
        self._close()

    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        self._close()

    # ------------------------------------------------------------------ internals
    def _capture(self, step: int, records: dict[str, dict[str, float]]) -> None:
        """Sink: keep every step's values until the next hook can log them."""
        self._pending.append((step, records))

    def _log(self) -> None:
        """Write the pending steps to every logger, each at its own Lightning step."""
        pending, self._pending = self._pending, []
        trainer = self._trainer
        if not (self.log and pending and trainer is not None and trainer.loggers):
            return
        for step, records in pending:
            scalars = scalar_tags(records, self.quantities)
            if scalars:
                for logger in trainer.loggers:
                    logger.log_metrics(scalars, step=self._offset + step)

    def _close(self) -> None:
        if self.probe is None or self.probe.closed:
            return
        self.probe.close()
        self._log()
        if self.save_to is not None:
            self.probe.save(self.save_to)
