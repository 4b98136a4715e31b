"""A probe sink writing per-layer scalars to TensorBoard.

Example::

    from gradprobe.probe import watch
    from gradprobe.probe.integrations import TensorBoardSink

    sink = TensorBoardSink("runs/exp1")            # or TensorBoardSink(writer=my_writer)
    probe = watch(model, sinks=[sink])
    ...                                            # train: probe.step() after backward
    probe.close()                                  # fetches the last values into the sink
    sink.close()                                   # flushes the event file

Tags are ``gradprobe/<quantity>/<layer>`` (e.g. ``gradprobe/speed/encoder.0``), each point at
the probe's step. The probe hands values over in chunks (every ``flush_every`` recorded
steps), so TensorBoard shows them with that delay; the step numbers are exact.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any

from gradprobe.probe.integrations import scalar_tags


class TensorBoardSink:
    """Probe sink: ``sink(step, {layer: {quantity: value}})`` → ``add_scalar`` per value.

    Parameters
    ----------
    log_dir:
        Directory for a new ``torch.utils.tensorboard.SummaryWriter`` (ignored with
        ``writer``).
    writer:
        An existing ``SummaryWriter`` (e.g. Lightning's ``logger.experiment``); it is flushed
        but not closed by :meth:`close`.
    quantities:
        Keep only these quantities (``None``: all), e.g. ``("speed", "grad_norm")``.
    prefix:
        First part of every tag.
    step_offset:
        Added to the probe's step (when the probe starts mid-training).
    """

    def __init__(
        self,
        log_dir: str | Path | None = None,
        *,
        writer: Any = None,
        quantities: tuple[str, ...] | None = None,
        prefix: str = "gradprobe",
        step_offset: int = 0,
    ) -> None:
        if writer is None:
            from torch.utils.tensorboard import SummaryWriter  # needs the tensorboard package

            writer = SummaryWriter(log_dir=None if log_dir is None else str(log_dir))
            self._owns = True
        else:
            self._owns = False
        self.writer = writer
        self.quantities = quantities
        self.prefix = prefix
        self.step_offset = step_offset

    def __call__(self, step: int, records: dict[str, dict[str, float]]) -> None:
        for tag, value in scalar_tags(records, self.quantities, self.prefix).items():
            self.writer.add_scalar(tag, value, global_step=step + self.step_offset)

    def flush(self) -> None:
        self.writer.flush()

    def close(self) -> None:
        """Flush; close the writer if this sink created it."""
        self.writer.flush()
        if self._owns:
            self.writer.close()

    def __enter__(self) -> TensorBoardSink:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
