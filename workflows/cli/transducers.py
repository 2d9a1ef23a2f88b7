"""``tfus transducers``: presets and transducer poses on the scalp."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tfus.workflows.cli._common import check_output_file, err_console, print_json, user_errors

app = typer.Typer(help="Focused bowl transducers: presets and pose sampling over the cranium.",
                  no_args_is_help=True, epilog="Example:\n\n  tfus transducers sample heads/mni --n 20 --out poses.csv")


@app.command("list")
@user_errors
def list_(as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout")] = False) -> None:
    """List the transducer presets (use a name with --transducer, or pass a YAML file).

    Example:

      tfus transducers list
    """
    from tfus.pipeline.transducers import list_presets, load_transducer

    presets = [load_transducer(name).to_dict() for name in list_presets()]
    if as_json:
        print_json(presets)
        return
    from rich.console import Console
    from rich.table import Column, Table

    table = Table(Column("preset", no_wrap=True), "R (mm)", "aperture (mm)", "f (kHz)", "p0 (kPa)", "source")
    for p in presets:
        table.add_row(p["name"], f"{p['radius_of_curvature_mm']:g}", f"{p['aperture_diameter_mm']:g}",
                      f"{p['frequency_hz'] / 1e3:g}", f"{p['source_amplitude_pa'] / 1e3:g}", p.get("source", ""))
    Console().print(table)


@app.command("sample")
@user_errors
def sample(
    head_dir: Annotated[Path, typer.Argument(help="Head model folder from `tfus head build`")],
    n: Annotated[int, typer.Option("--n", help="Number of poses")],
    out: Annotated[Path, typer.Option("--out", help="CSV file, one pose per row (world mm)")],
    target: Annotated[tuple[float, float, float] | None, typer.Option(
        help="Aim every pose at this world point X Y Z (mm); default: along the inward scalp normal")] = None,
    transducer: Annotated[str, typer.Option(help="Preset name or YAML file")] = "itrusst-sc1",
    seed: Annotated[int, typer.Option(help="Seed: the same seed gives the same poses")] = 0,
    standoff: Annotated[float, typer.Option(help="Smallest apex-to-scalp distance (mm), the coupling gap")] = 3.0,
    max_standoff: Annotated[float, typer.Option(help="Largest apex-to-scalp distance tried (mm)")] = 30.0,
    png: Annotated[Path | None, typer.Option(help="Also write a PNG of the poses over the head")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the poses as JSON on stdout")] = False,
) -> None:
    """Sample N transducer poses over the cranium (not face, ears or neck), none intersecting the head.

    Writes OUT (CSV with apex_x..z, target_x..z, focus_x..z, ...) and OUT with suffix .json recording the config,
    seed and versions.

    Examples:

      tfus transducers sample heads/mni --n 20 --out poses.csv

      tfus transducers sample heads/mni --n 5 --target 0 -20 40 --transducer itrusst-sc1 --seed 1 --out p.csv
    """
    from tfus.pipeline.head.model import HeadModel
    from tfus.pipeline.io.jsonio import write_json
    from tfus.pipeline.transducers import load_transducer, poses_to_csv, sample_poses
    from tfus.pipeline.version import versions

    check_output_file(out, (".csv",))
    if png is not None:
        check_output_file(png, (".png",))
    head = HeadModel.load(head_dir)
    bowl = load_transducer(transducer)
    console = err_console()
    with console.status(f"sampling {n} poses of {bowl.name} ...", spinner="dots"):
        poses = sample_poses(head, bowl, n, target=None if target is None else list(target), seed=seed,
                             standoff_mm=standoff, max_standoff_mm=max_standoff)
    poses_to_csv(out, poses)
    record = {"head": str(head_dir), "transducer": bowl.to_dict(), "n": n, "target": target, "seed": seed,
              "standoff_mm": standoff, "max_standoff_mm": max_standoff, "versions": versions()}
    write_json(out.with_suffix(".json"), record)
    if png is not None:
        import numpy as np

        from tfus.pipeline.figures import save_label_overlay

        pts = np.array([p.apex for p in poses] + [p.focus for p in poses])
        save_label_overlay(head, png, title=f"{n} poses of {bowl.name} (apex and focus)", points_world=pts)
    if as_json:
        print_json([{"apex": p.apex, "target": p.target, "focus": p.focus, "standoff_mm": p.standoff_mm}
                    for p in poses])
    else:
        console.print(f"[green]wrote[/] {len(poses)} poses to {out}")
