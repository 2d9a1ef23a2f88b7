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
