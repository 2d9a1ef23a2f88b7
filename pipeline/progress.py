"""The one rich progress bar of tfus (time steps, samples, training epochs), on stderr so stdout stays parseable.

The bar appears at the first task, so a check that fails before any work prints only its one-line error. rich is
imported only then.

Example:
    >>> with ProgressBar(enabled=False) as bar:   # e.g. ``run_simulation(..., progress=bar)``
    ...     bar(5, 10)
    >>> bar.started
    False
"""

from __future__ import annotations

from typing import Any

__all__ = ["ProgressBar"]


class ProgressBar:
    """A rich progress bar: description, bar, done/total, optional fields, elapsed time and ETA.

    Use it as a step callback (``bar(done, total)`` starts a task named ``label`` on the first call), or start tasks
    explicitly (``bar.start("epoch 1", total, loss="-")`` then ``bar.update(done, loss="0.1")`` / ``bar.advance(1)``).

    Args:
        label: the task name of the step-callback use.
        console: a rich ``Console`` (default: a new one on stderr).
        enabled: False draws nothing (all calls still work).
        fields: names of extra task fields shown after the counts, as ``<name> <value>``.

    Example:
        >>> bar = ProgressBar("k-Wave", enabled=False)
        >>> bar.start("samples", total=3)
        >>> bar.advance(1); bar.close()
    """

    def __init__(self, label: str = "", *, console: Any = None, enabled: bool = True,
                 fields: tuple[str, ...] = ()) -> None:
        self.label = label
        self.enabled = enabled
        self.fields = fields
        self._console = console
        self._bar = None
        self._task = None

    @property
    def started(self) -> bool:
        """Whether the bar has been drawn."""
        return self._bar is not None

    @property
    def console(self):
        """The rich console the bar draws on (created on first use)."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=True)
        return self._console

    def start(self, description: str, total: int, **fields: Any) -> None:
        """Start a new task (the previous one stays on screen) and draw the bar if it is not drawn yet."""
        if not self.enabled:
            return
        if self._bar is None:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            extra = [TextColumn(f"{name} {{task.fields[{name}]}}") for name in self.fields]
            self._bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), *extra,
                                 TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=self.console)
            self._bar.start()
        self._task = self._bar.add_task(description, total=total, **{k: "-" for k in self.fields}, **fields)

    def update(self, done: int, total: int | None = None, **fields: Any) -> None:
        """Set the current task's count (and total, fields)."""
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, completed=done, **({} if total is None else {"total": total}), **fields)

    def advance(self, n: int = 1) -> None:
        """Count ``n`` more done in the current task."""
        if self._bar is not None and self._task is not None:
            self._bar.advance(self._task, n)

    def __call__(self, done: int, total: int) -> None:
        """Step callback: the first call starts the ``label`` task."""
        if self._task is None:
            self.start(self.label, total)
        self.update(done, total)

    def close(self) -> None:
        """Stop drawing (idempotent)."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
            self._task = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
