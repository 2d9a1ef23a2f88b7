"""``tfus demo``: the whole chain on the bundled heads, into a report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tfus.workflows.cli._common import DeviceChoice, err_console, sample_bar, user_errors


@user_errors
def demo(
    workdir: Annotated[Path, typer.Option(help="Where to write the demo's outputs (rerun to resume)")] = \
    Path("tfus-demo"),
    epochs: Annotated[int, typer.Option(help="Training epochs")] = 10,
    workers: Annotated[int | None, typer.Option(help="Local Dask workers for the simulations (default: one per "
                                                     "core)")] = None,
    device: Annotated[DeviceChoice, typer.Option(help="Training and prediction device")] = DeviceChoice.CPU,
    seed: Annotated[int, typer.Option(help="Seed of training and of the new pose")] = 0,
    dataset: Annotated[str, typer.Option(help="Dataset preset or YAML")] = "demo",
) -> None:
    """Run the whole chain: bundled heads -> head models -> poses -> k-Wave dataset (Dask) -> DeepTFUS training ->
    evaluation on a held-out head -> prediction for a new pose vs simulation -> WORKDIR/report.md.

    Example:

      tfus demo --workdir /tmp/tfus-demo
    """
    from tfus.pipeline.device import resolve_device
    from tfus.pipeline.errors import TfusInputError
    from tfus.workflows.demo import DemoConfig, run_demo

    if epochs < 1 or (workers is not None and workers < 1):
        raise TfusInputError("--epochs and --workers must be at least 1")
    if workdir.exists() and not workdir.is_dir():
        raise TfusInputError(f"--workdir {workdir} is a file; give a folder")
    resolve_device(device)
    console = err_console()

    def progress(message: str) -> None:
        console.log(message)

    config = DemoConfig(dataset=dataset, workers=workers, epochs=epochs, seed=seed, device=device.value)
    report = run_demo(workdir, config, progress, sample_bar=lambda total: sample_bar(total, console))
    console.print(f"[green]report:[/] {report}")
