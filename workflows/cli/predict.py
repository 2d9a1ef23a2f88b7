"""``tfus predict``: the pressure field of a transducer pose from a trained surrogate, in place of ``tfus simulate``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from tfus.workflows.cli._common import DeviceChoice, check_output_file, err_console, print_json, user_errors


@user_errors
def predict(
    run: Annotated[Path, typer.Argument(help="Training run folder (best.pt) or checkpoint file from `tfus train`")],
    head: Annotated[Path, typer.Option(help="Head model folder from `tfus head build`")],
    position: Annotated[tuple[float, float, float], typer.Option(help="Bowl apex X Y Z (world mm)")],
    target: Annotated[tuple[float, float, float], typer.Option(help="Aim point X Y Z (world mm)")],
    out: Annotated[Path, typer.Option("--out", help="Pressure amplitude NIfTI (Pa, float32) on the head grid")],
    transducer: Annotated[str | None, typer.Option(help="Preset name or YAML file [default: the trained one]")]
    = None,
    frequency: Annotated[float | None, typer.Option(help="Override the transducer frequency (Hz)")] = None,
    device: Annotated[DeviceChoice, typer.Option(help="Prediction device")] = DeviceChoice.CPU,
    png: Annotated[Path | None, typer.Option(help="Slice overlay PNG [default: OUT with .png]")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the focal metrics as JSON on stdout")] = False,
) -> None:
    """Predict the steady-state pressure field of a focused bowl with a trained surrogate (no wave simulation).

    Same inputs, outputs and JSON keys as `tfus simulate`: OUT (amplitude, Pa, on the head model's grid and world
    space), a PNG overlay and OUT with suffix .json (request, metrics, model, timings). A head at another spacing is
    resampled to the trained one and back; a grid larger than the trained one runs sliding-window inference.

    A time-resolved model (sep4d) writes the peak-pressure map max_t |p| as OUT and the snapshots as a 4D NIfTI
    OUT_snapshots.nii.gz (Pa; 4th axis time, pixdim[4] = snapshot spacing in s, toffset = first time); the JSON adds
    the snapshot times, peak positive / negative pressure and the mechanical index.

    Examples:

      tfus predict runs/demo --head heads/mni --position 95 -16 40 --target 0 -16 40 --out field.nii.gz --json

      tfus predict runs/demo/best.pt --head heads/ct --transducer neurofus-ctx250 --frequency 225000
      --position 0 95 60 --target 0 20 40 --out field.nii.gz --device gpu
    """
    from dataclasses import replace

    import numpy as np

    from tfus.pipeline.acoustics import list_mappings
    from tfus.pipeline.engines.field import SteadyStateField
    from tfus.pipeline.engines.problem import check_pose_outside_head, medium_from_head
    from tfus.pipeline.fields.metrics import field_metrics
    from tfus.pipeline.fields.output import save_field_png, write_field
    from tfus.pipeline.head.model import HeadModel
    from tfus.pipeline.io.atomic import atomic_write_text
    from tfus.pipeline.transducers import Pose, load_transducer
    from tfus.pipeline.version import versions
    from tfus.surrogates.inference import Predictor

    check_output_file(out, (".nii.gz", ".nii"))
    if png is not None:
        check_output_file(png)
    pose = Pose(list(position), list(target))
    predictor = Predictor.from_checkpoint(run, device=device)
    bowl = load_transducer(transducer) if transducer is not None else predictor.trained_transducer()
    if frequency is not None:
        if not frequency > 0:
            from tfus.pipeline.errors import TfusInputError

            raise TfusInputError(f"--frequency must be positive, got {frequency} Hz")
        bowl = replace(bowl, frequency_hz=float(frequency))
    predictor.check_transducer(bowl)
    model = HeadModel.load(head)
    check_pose_outside_head(model, bowl, pose)
    pred = predictor.predict_detailed(model.hu, model.affine, bowl, pose)
    mapping = predictor.data.hu_mapping if predictor.data.hu_mapping in list_mappings() else "itrusst"
    medium = medium_from_head(model, mapping)
    field = SteadyStateField(pred.pressure, np.zeros_like(pred.pressure), model.affine, bowl.frequency_hz,
                             {"surrogate": predictor.name, **pred.info()})
    metrics = field_metrics(field, medium, transducer=bowl, pose=pose, labels=model.labels)
    write_field(out, pred.pressure, model.affine)
    stem = str(out).removesuffix(".gz").removesuffix(".nii")
    time_resolved = None
    if pred.snapshots is not None:
        from tfus.pipeline.fields.output import write_field_series
        from tfus.surrogates.time_resolved import mechanical_index, peak_negative, peak_positive

        snap_path = Path(stem + "_snapshots.nii.gz")
        write_field_series(snap_path, pred.snapshots, model.affine, pred.snapshot_times_s)
        pnp = float(peak_negative(pred.snapshots).max())
        time_resolved = {"snapshots_file": str(snap_path), "n_snapshots": int(pred.snapshots.shape[0]),
                         "times_s": [float(t) for t in pred.snapshot_times_s],
                         "peak_positive_pa": float(peak_positive(pred.snapshots).max()), "peak_negative_pa": pnp,
                         "mechanical_index": float(mechanical_index(pnp, bowl.frequency_hz))}
    png_path = png if png is not None else Path(stem + ".png")
    peak = float(pred.pressure.max())
    save_field_png(png_path, field, head=model, transducer=bowl, pose=pose, focus_mm=metrics.get("focus_mm"),
                   title=f"{bowl.name}: {predictor.name} prediction, peak {peak / 1e3:.3g} kPa at "
                         f"{bowl.frequency_hz / 1e3:.0f} kHz")
    record = {"request": {"run": str(run), "head": str(head), "device": device, "frequency_hz": frequency,
                          "pose": {"apex": pose.apex.tolist(), "target": pose.target.tolist()},
                          "transducer": bowl.to_dict()},
              "metrics": metrics, "surrogate": {**predictor.describe(), **pred.info(), "medium_mapping": mapping},
              "versions": versions()}
    if time_resolved is not None:
        record["time_resolved"] = time_resolved
    atomic_write_text(Path(stem + ".json"), json.dumps(record, indent=2, default=str) + "\n")
    if as_json:
        print_json({**metrics, "predict_seconds": pred.seconds,
                    **({"time_resolved": time_resolved} if time_resolved is not None else {})})
    else:
        err_console().print(f"[green]wrote[/] {out}; peak {metrics['peak_pressure_pa'] / 1e3:.0f} kPa at "
                            f"{[round(v, 1) for v in metrics['focus_mm']]} mm, predicted in {pred.seconds:.3f} s")
