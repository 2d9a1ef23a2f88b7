"""Shared CLI plumbing: one-line user errors, rich console on stderr, JSON on stdout."""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Callable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import Any

import click
import typer
from typer.core import TyperGroup

from tfus.pipeline.device import Device, DeviceChoice
from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.progress import ProgressBar

__all__ = ["Device", "DeviceChoice", "Engine", "HuMapping", "OneLineErrorGroup", "Split", "check_json_out",
           "check_output_dir", "check_output_file", "emit", "err_console", "print_json", "sample_bar",
           "usage_error_line", "user_errors"]


class Engine(StrEnum):
    """Wave engines offered by ``--engine`` (checked again by :class:`tfus.pipeline.engines.run.SimulationRequest`)."""

    KWAVE = "kwave"
    FEM = "fem"


class Frame(StrEnum):
    """Simulation frames offered by ``--frame``: the head grid, or a box along the bowl axis."""

    GRID = "grid"
    BEAM = "beam"


class HuMapping(StrEnum):
    """HU -> acoustic property mappings offered by ``--mapping`` (the keys of ``tfus.pipeline.acoustics.MAPPINGS``)."""

    ITRUSST = "itrusst"
    KWAVE = "kwave"
    POROSITY = "porosity"


class Split(StrEnum):
    """Head splits of a dataset offered by ``--split``."""

    TRAIN = "train"
    VAL = "val"
    TEST = "test"


def _click_error_types(name: str) -> tuple[type, ...]:
    """``click.exceptions.<name>`` and, for typer >= 0.2x which vendors its own click, the vendored class of that
    name (typer raises that one; no public alias exists). Missing names are skipped."""
    modules = [click.exceptions]
    try:
        from typer._click import exceptions as vendored
    except ImportError:  # older typer uses click itself
        pass
    else:
        modules.append(vendored)
    return tuple(getattr(m, name) for m in modules if hasattr(m, name))


_USAGE_ERRORS = _click_error_types("UsageError")
_NO_ARGS_IS_HELP = _click_error_types("NoArgsIsHelpError")


def usage_error_line(err: Exception) -> str:
    """Click's usage / bad-parameter / range error as the CLI's one line ``error: <problem>; see <cmd> --help``.

    Example:
        >>> usage_error_line(click.BadParameter("0 is not in the range x>=1.", param_hint="'--epochs'"))
        "error: invalid value for '--epochs': 0 is not in the range x>=1"
    """
    message = " ".join(err.format_message().split()).rstrip(".").replace(": Value error, ", ": ")
    message = message[:1].lower() + message[1:]
    ctx = getattr(err, "ctx", None)
    hint = f"; see '{ctx.command_path} --help'" if ctx is not None else ""
    return f"error: {message}{hint}"


def _one_line(err: Exception) -> None:
    if isinstance(err, _NO_ARGS_IS_HELP):
        raise err
    typer.echo(usage_error_line(err), err=True)
    raise typer.Exit(code=2) from None


class OneLineErrorGroup(TyperGroup):
    """The root command group: click's usage and bad-parameter errors (a wrong choice, a number out of range, an
    unknown option) are printed as one ``error:`` line with exit code 2, like :func:`user_errors`, not as a panel."""

    def make_context(self, info_name, args, parent=None, **extra):  # noqa: D102
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except _USAGE_ERRORS as err:
            _one_line(err)

    def invoke(self, ctx):  # noqa: D102
        try:
            return super().invoke(ctx)
        except _USAGE_ERRORS as err:
            _one_line(err)


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
    from tfus.pipeline.io.jsonio import dumps_json

    sys.stdout.write(dumps_json(obj))


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


#: the step-callback progress bar (``with StepProgress("k-Wave") as progress: run(progress=progress)``); the one bar
#: of tfus is :class:`tfus.pipeline.progress.ProgressBar`, this name is kept for existing commands.
StepProgress = ProgressBar


@contextlib.contextmanager
def sample_bar(total: int, console: Any = None) -> Iterator[Callable[[int], None]]:
    """A bar over whole simulations (``progress_factory`` of ``generate``): yields ``advance(n)``."""
    with ProgressBar(console=console) as bar:
        bar.start("simulating", total)
        yield bar.advance


def emit(result: Any, out: Path | None, as_json: bool, render: Callable[[Any], list]) -> None:
    """Show a command's result one way: ``--out`` gets the JSON file (atomically), ``--json`` prints JSON on stdout,
    otherwise ``render(result)``'s tables and lines go to stdout.

    Example:
        >>> emit({"speedup": 2.0}, None, True, lambda r: [f"{r['speedup']}x"])
        {
          "speedup": 2.0
        }
    """
    if out is not None:
        from tfus.pipeline.io.jsonio import write_json

        write_json(out, result)
    if as_json:
        print_json(result)
        return
    from rich.console import Console

    console = Console()
    for item in render(result):
        console.print(item)


def check_json_out(out: Path | None) -> None:
    """``--out`` of a command's JSON results: a file path ending in ``.json`` that can be written (checked first)."""
    if out is not None:
        check_output_file(out, (".json",))
