"""Training logs (main process only): ``RUN/log.csv`` rewritten atomically from the run history after every epoch
(so a resumed run never duplicates or loses rows), TensorBoard scalars under ``RUN/tensorboard`` when the
``tensorboard`` package is installed, and a rich progress bar with the running loss on stderr.

Example:
    >>> import tempfile, pathlib
    >>> run = pathlib.Path(tempfile.mkdtemp())
    >>> write_csv(run / "log.csv", [{"epoch": 1, "train_loss": 0.5}, {"epoch": 2, "train_loss": 0.25, "lr": 1e-3}])
    >>> (run / "log.csv").read_text().splitlines()[0]
    'epoch,train_loss,lr'
"""

from __future__ import annotations

import csv
import importlib.util
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tfus.pipeline.io import atomic_write_text
from tfus.pipeline.progress import ProgressBar

__all__ = ["EpochProgress", "TensorBoardLog", "write_csv"]


def write_csv(path: str | Path, rows: Sequence[dict[str, Any]]) -> None:
    """Write ``rows`` (columns in order of first appearance; missing cells empty) atomically."""
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, restval="", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (f"{v:.8g}" if isinstance(v, float) else v) for k, v in row.items()})
    atomic_write_text(path, buf.getvalue())


class TensorBoardLog:
    """Scalars to ``log_dir`` when ``tensorboard`` is importable; a no-op otherwise.

    Args:
        log_dir: the event folder.
        purge_step: on resume, drop events at and after this step (those of an epoch cut short).
    """

    def __init__(self, log_dir: str | Path, purge_step: int | None = None) -> None:
        self.writer = None
        if importlib.util.find_spec("tensorboard") is not None:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(log_dir), purge_step=purge_step)

    def log(self, row: dict[str, Any], step: int) -> None:
        if self.writer is None:
            return
        for key, value in row.items():
            if key not in ("epoch", "step") and isinstance(value, int | float):
                group, _, name = key.partition("_")
                self.writer.add_scalar(f"{group}/{name}" if name else key, value, step)
        self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


class EpochProgress(ProgressBar):
    """The training bar (:class:`tfus.pipeline.progress.ProgressBar`): one task per epoch showing the running mean
    loss; silent when ``enabled`` is False or stderr is not a terminal (job logs get the one-line epoch summaries
    instead)."""

    def __init__(self, enabled: bool = True) -> None:
        super().__init__(fields=("loss",))
        self.enabled = enabled and self.console.is_terminal

    def update(self, done: int, loss: float) -> None:  # type: ignore[override]
        """Set the epoch's batches done and the running mean loss."""
        super().update(done, loss=f"{loss:.4g}")
