"""``tfus generate``: simulate a dataset (heads x transducer poses) into a Zarr store with Dask, resumable."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tfus.workflows.cli._common import err_console, print_json, sample_bar, user_errors


@user_errors
def generate(
    config: Annotated[str, typer.Argument(help="Dataset YAML, or a preset: demo, demo-4d, demo-fem, tfuscapes-like")],
    store: Annotated[Path, typer.Option("--store", help="Zarr store folder to create or resume")],
    cluster: Annotated[str | None, typer.Option(help="local | slurm | pbs | tcp://HOST:PORT (default: the config's, "
                                                     "else local)")] = None,
    jobs: Annotated[int | None, typer.Option(help="Batch jobs to keep running (slurm/pbs)")] = None,
    workers: Annotated[int | None, typer.Option(help="Local worker processes (default: one per core)")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing store instead of resuming it")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run summary as JSON on stdout")] = False,
) -> None:
    """Generate a dataset: head models once per head, poses over each cranium, one simulation task per sample.

    Resumes by default: complete samples are skipped, incomplete ones redone. Exit code 1 if samples failed
    (rerun to retry them).

    Examples:

      tfus generate demo --store demo.zarr --workers 2

      tfus generate my_dataset.yaml --store /scratch/ds.zarr --cluster slurm --jobs 16
    """
    from tfus.workflows.generate import load_config
    from tfus.workflows.generate.run import generate as run_generate

    if workers is not None and workers < 1 or jobs is not None and jobs < 1:
        from tfus.pipeline.errors import TfusInputError

        raise TfusInputError("--workers and --jobs must be at least 1")
    cfg = load_config(config)
    cfg = cfg.model_copy(update={"cluster": cfg.cluster.with_cli(cluster=cluster, workers=workers, jobs=jobs)})
    console = err_console()
    summary = run_generate(cfg, store, overwrite=overwrite, say=console.log,
                           progress_factory=lambda total: sample_bar(total, console))
    if as_json:
        print_json(summary.as_dict())
    else:
        _print_summary(summary, console)
    if summary.failed:
        for line in summary.errors[:5]:
            console.print(f"[red]{line}[/]")
        console.print(f"[red]{summary.failed} sample(s) failed[/]; rerun the same command to retry them")
        raise typer.Exit(code=1)


def _print_summary(summary, console) -> None:
    from rich.table import Table

    table = Table("", "", title=f"tfus generate: {summary.store}", show_header=False)
    rows = [("samples", f"{summary.n_samples}"), ("already complete", f"{summary.already_complete}"),
            ("computed now", f"{summary.computed}"), ("failed", f"{summary.failed}"),
            ("heads prepared", f"{summary.heads_prepared}"), ("workers", f"{summary.workers}"),
            ("wall time", f"{summary.wall_seconds:.1f} s")]
    if summary.samples_per_hour:
        rows += [("threads per simulation", f"{summary.threads_per_task}"),
                 ("worker choice", summary.worker_choice or "-"),
                 ("samples / hour", f"{summary.samples_per_hour:.0f}"),
                 ("workflow overhead", f"{100 * summary.overhead_fraction:.1f} % of simulation time")]
    for row in rows:
        table.add_row(*row)
    console.print(table)
