"""``tfus head``: build head models from CT or T1 MRI."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tfus.workflows.cli._common import check_output_dir, check_output_file, err_console, print_json, user_errors

app = typer.Typer(help="Head models: HU volume + tissue labels from a CT or T1 MRI.", no_args_is_help=True,
                  epilog="Example:\n\n  tfus head build data/heads/mni152_t1_2mm.nii.gz --out heads/mni")


@app.command("build")
@user_errors
def build(
    image: Annotated[Path, typer.Argument(help="CT (HU) or T1 MRI: .nii/.nii.gz, .nrrd, .mha/.mhd, DICOM folder, "
                                               ".inv3")],
    out: Annotated[Path, typer.Option("--out", help="Output folder for hu.nii.gz, labels.nii.gz, head.json, head.png")],
    modality: Annotated[str, typer.Option(help="auto (file tag or intensities), ct or t1")] = "auto",
    spacing: Annotated[float, typer.Option(help="Isotropic grid spacing of the head model (mm)")] = 1.0,
    png: Annotated[Path | None, typer.Option(help="Where to write the slice overlay PNG [default: OUT/head.png]")] \
    = None,
    seed: Annotated[int, typer.Option(help="Seed of the T1 template registration")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary on stdout")] = False,
) -> None:
    """Build a head model (labels: 0 air, 1 scalp, 2 cortical, 3 trabecular, 4 brain/CSF) on an isotropic RAS grid.

    Examples:

      tfus head build data/heads/mni152_t1_2mm.nii.gz --out heads/mni --spacing 1.0

      tfus head build data/heads/built/cranium_ct.nii.gz --out heads/ct --json
    """
    from tfus.pipeline.figures import save_label_overlay
    from tfus.pipeline.head.build import HeadBuildConfig, build_head
    from tfus.pipeline.head.measures import measure_head

    config = HeadBuildConfig(modality=modality, spacing_mm=spacing, seed=seed)
    check_output_dir(out)
    if png is not None:
        check_output_file(png)
    console = err_console()
    with console.status(f"building head model from {image} ...", spinner="dots"):
        head = build_head(image, config)
        console.log(f"segmented ({head.meta['modality']}, {head.shape} voxels at {spacing} mm)")
        summary = measure_head(head)
        head.meta["summary"] = summary
        head.save(out)
        png_path = png if png is not None else out / "head.png"
        save_label_overlay(head, png_path, title=f"{image.name}: {head.meta['method']}")
    summary = {"out": str(out), "png": str(png_path), "modality": head.meta["modality"], **summary}
    if as_json:
        print_json(summary)
    else:
        console.print(f"[green]wrote[/] {out}/hu.nii.gz, labels.nii.gz, head.json, {png_path}")
        console.print(f"skull volume {summary['skull_volume_ml']:.0f} ml, median cranial thickness "
                      f"{summary['skull_thickness_mm']:.1f} mm, brain {summary['brain_volume_ml']:.0f} ml")
