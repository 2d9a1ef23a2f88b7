"""Shared CLI plumbing: one-line user errors, rich console on stderr, JSON on stdout."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
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
