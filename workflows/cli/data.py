"""``tfus data``: bring external datasets into tfus dataset stores."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tfus.workflows.cli._common import err_console, print_json, user_errors

app = typer.Typer(help="Datasets: import external releases into tfus dataset stores (Zarr).", no_args_is_help=True,
                  epilog="Example:\n\n  tfus data import-tfuscapes TFUScapes/ --store tfuscapes.zarr --spacing 0.5")


@app.command("import-tfuscapes")
@user_errors
def import_tfuscapes(
    directory: Annotated[Path, typer.Argument(help="Folder with the TFUScapes .npz files (searched recursively, "
                                                   "data/<SUBJECT>/exp_<k>.npz)")],
    store: Annotated[Path, typer.Option("--store", help="Store folder to create (e.g. tfuscapes.zarr)")],
    spacing: Annotated[float, typer.Option("--spacing", help="Voxel size of the TFUScapes grid in mm (the files "
                                                            "do not record it)")],
    splits: Annotated[list[Path] | None, typer.Option(
        "--splits", help="Split list: a folder with train.txt/val.txt/test.txt, a train.txt-style file (repeat the "
                         "option), or a JSON/YAML mapping; entries are subject ids or SUBJECT/exp_N. "
                         "Default: DIR/splits if present, else every head in train.")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing tfus store at --store")] = False,
    frequency: Annotated[float, typer.Option("--frequency", help="Driving frequency recorded in the store (Hz)")] \
    = 500e3,
    labels: Annotated[str, typer.Option("--labels", help="Head labels: auto (segment_ct, HU thresholds where it "
                                                         "fails), segment_ct or threshold")] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Print the import summary as JSON on stdout")] = False,
) -> None:
    """Import TFUScapes simulations (ct, pmap, tr_coords per .npz) into a new dataset store.

    Poses come from a sphere fit of tr_coords (target = geometric focus); the grid centre is the world origin, array
    axes 0/1/2 are R/A/S. Nothing is written unless the whole import succeeds.

    Examples:

      tfus data import-tfuscapes TFUScapes/ --store tfuscapes.zarr --spacing 0.5

      tfus data import-tfuscapes TFUScapes/data --store t.zarr --spacing 0.5 --splits TFUScapes/splits --json
    """
    from tfus.pipeline.progress import ProgressBar
    from tfus.pipeline.store.tfuscapes import import_tfuscapes as run_import

    console = err_console()
    with ProgressBar("importing") as progress:
        summary = run_import(directory, store, spacing, splits=splits, overwrite=overwrite, frequency_hz=frequency,
                             labels=labels, progress=progress)
    if as_json:
        print_json(summary)
        return
    t = summary["transducer"]
    console.print(f"[green]wrote[/] {summary['store']}: {summary['n_samples']} samples ({summary['n_complete']} "
                  f"complete, {summary['n_failed']} failed) over {summary['heads']} heads, grid "
                  f"{'x'.join(map(str, summary['grid_shape']))} at {summary['spacing_mm']:g} mm")
    console.print(f"fitted bowl: R {t['radius_of_curvature_mm']:.2f} mm (range {t['radius_of_curvature_mm_range']}),"
                  f" aperture {t['aperture_mm']:.2f} mm; splits {summary['splits']} heads")
