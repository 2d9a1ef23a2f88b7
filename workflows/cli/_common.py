"""Shared CLI plumbing: one-line user errors, rich console on stderr, JSON on stdout."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from tfus.pipeline.errors import TfusInputError


def err_console():
    from rich.console import Console

    return Console(stderr=True)


def user_errors(func: Callable) -> Callable:
    """Turn :class:`TfusInputError` into ``error: <message>`` on stderr and exit code 2, with no traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any):
        try:
            return func(*args, **kwargs)
        except TfusInputError as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(code=2) from None

    return wrapper


def print_json(obj: Any) -> None:
    """Print ``obj`` as JSON on stdout (progress and messages go to stderr, so stdout stays parseable)."""
    sys.stdout.write(json.dumps(obj, indent=2, default=_default) + "\n")


def _default(obj: Any):
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


def check_output_dir(path: Path) -> None:
    """Refuse an output folder that cannot be one, before any work is done."""
    if path.exists() and not path.is_dir():
        raise TfusInputError(f"--out {path} is an existing file; give a folder path")
    _check_parent(path)


def check_output_file(path: Path, suffixes: tuple[str, ...] = ()) -> None:
    """Refuse an output file path that cannot be written (parent is a file, a folder in its place, wrong suffix)."""
    if path.is_dir():
        raise TfusInputError(f"{path} is a folder; give a file path")
    if suffixes and not str(path).lower().endswith(suffixes):
        raise TfusInputError(f"{path}: expected a file ending in {' or '.join(suffixes)}")
    _check_parent(path)


def _check_parent(path: Path) -> None:
    for parent in Path(path).absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                raise TfusInputError(f"cannot write {path}: {parent} is a file, not a folder")
            return


class StepProgress:
    """A rich progress bar over time steps that appears at the first update, so checks that fail before the first
    step print only their one-line error. Use as ``with StepProgress("k-Wave") as progress: run(progress=progress)``."""

    def __init__(self, description: str) -> None:
        self.description = description
        self._bar = None
        self._task = None

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeRemainingColumn(), console=err_console())
            self._bar.start()
            self._task = self._bar.add_task(self.description, total=total)
        self._bar.update(self._task, completed=done, total=total)

    def __enter__(self) -> StepProgress:
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.stop()
