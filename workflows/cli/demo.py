"""``tfus demo``: the whole chain on the bundled heads, into a report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tfus.workflows.cli._common import err_console, user_errors


@user_errors
def demo(
    workdir: Annotated[Path, typer.Option(help="Where to write the demo's outputs")] = Path("tfus-demo"),
    spacing: Annotated[float, typer.Option(help="Head-model grid spacing (mm)")] = 2.0,
    poses: Annotated[int, typer.Option(help="Transducer poses per head")] = 8,
    seed: Annotated[int, typer.Option(help="Seed")] = 0,
) -> None:
    """Run the demo: bundled heads -> head models -> transducer poses -> WORKDIR/report.md.

    Example:

      tfus demo --workdir /tmp/tfus-demo
    """
    from tfus.workflows.demo import DemoConfig, run_demo

    console = err_console()
    with console.status("tfus demo", spinner="dots") as status:
        def progress(message: str) -> None:
            status.update(f"tfus demo: {message}")
            console.log(message)

        report = run_demo(workdir, DemoConfig(spacing_mm=spacing, poses_per_head=poses, seed=seed), progress)
    console.print(f"[green]report:[/] {report}")
