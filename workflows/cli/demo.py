"""``tfus demo``: the shipped model on a head it has not trained on, checked against k-Wave, then the training path on
a tiny store, into a report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tfus.workflows.cli._common import DeviceChoice, StepProgress, err_console, sample_bar, user_errors


@user_errors
def demo(
    workdir: Annotated[Path, typer.Option(help="Where to write the demo's outputs (rerun to resume)")] = \
    Path("tfus-demo"),
    transducer: Annotated[str, typer.Option(help="Transducer preset or YAML; the model shipped for it is used")] = \
    "neurofus-ctx250",
    head: Annotated[str | None, typer.Option(help="Head: a bundled name or an image path [default: colin27_t1 if "
                                                  "built at setup, else itk_t1; one the model did not train on]")] \
    = None,
    poses: Annotated[int, typer.Option(help="Poses predicted (the first is verified against k-Wave)")] = 4,
    epochs: Annotated[int, typer.Option(help="Training epochs of the training path")] = 15,
    workers: Annotated[int | None, typer.Option(help="Local Dask workers for the training store (default: one per "
                                                     "core)")] = None,
    device: Annotated[DeviceChoice, typer.Option(help="Prediction and training device")] = DeviceChoice.CPU,
    seed: Annotated[int, typer.Option(help="Seed of the poses and of training")] = 0,
    dataset: Annotated[str, typer.Option(help="Dataset preset or YAML of the training path")] = "beam-tiny",
) -> None:
    """Run the chain with the model that ships with tfus: build a head it has not trained on -> sample poses ->
    predict each (beam box -> network -> head grid) -> verify one against k-Wave (same box, spacing and settings as
    the training data) -> a short training run on a tiny beam store -> WORKDIR/report.md with figures, metrics and
    timings. Sized for at most 15 minutes on 2 CPU cores; rerun with the same --workdir to resume.

    Example:

      tfus demo --workdir /tmp/tfus-demo
    """
    from tfus.pipeline.device import resolve_device
    from tfus.pipeline.errors import TfusInputError
    from tfus.workflows.demo import DemoConfig, run_demo

    if epochs < 1 or poses < 1 or (workers is not None and workers < 1):
        raise TfusInputError("--epochs, --poses and --workers must be at least 1")
    if workdir.exists() and not workdir.is_dir():
        raise TfusInputError(f"--workdir {workdir} is a file; give a folder")
    resolve_device(device)
    console = err_console()

    def progress(message: str) -> None:
        console.log(message)

    config = DemoConfig(transducer=transducer, head=head, poses=poses, dataset=dataset, workers=workers,
                        epochs=epochs, seed=seed, device=device.value)
    report = run_demo(workdir, config, progress, sample_bar=lambda total: sample_bar(total, console),
                      step_bar=lambda label: StepProgress(label, console=console))
    console.print(f"[green]report:[/] {report}")
