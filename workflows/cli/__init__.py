"""The ``tfus`` command line (typer). Heavy imports happen inside each command so ``tfus --help`` is instant.

Example:
    >>> from typer.testing import CliRunner
    >>> from tfus.workflows.cli import app
    >>> CliRunner().invoke(app, ["--version"]).exit_code
    0
"""

from __future__ import annotations

from typing import Annotated

import typer

from tfus.workflows.cli import (
    bench,
    data,
    demo,
    evaluate,
    generate,
    head,
    info,
    predict,
    report,
    simulate,
    train,
    transducers,
)
from tfus.workflows.cli._common import OneLineErrorGroup

app = typer.Typer(
    name="tfus",
    cls=OneLineErrorGroup,
    help="Transcranial focused ultrasound: head models, wave simulations, datasets and fast learned surrogates.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    epilog="Example:\n\n  tfus head build data/heads/mni152_t1_2mm.nii.gz --out heads/mni --spacing 2",
)
app.add_typer(head.app, name="head")
app.add_typer(transducers.app, name="transducers")
app.add_typer(bench.app, name="bench")
app.add_typer(data.app, name="data")
app.command("simulate")(simulate.simulate)
app.command("generate")(generate.generate)
app.command("demo")(demo.demo)
app.command("info")(info.info)
app.command("train")(train.train)
app.command("evaluate")(evaluate.evaluate)
app.command("predict")(predict.predict)
app.command("report")(report.report)


def _version(value: bool) -> None:
    if value:
        from tfus.pipeline.version import __version__

        typer.echo(f"tfus {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    """tfus: from head images to pressure fields."""


def main() -> None:
    """Console-script entry point."""
    app()
