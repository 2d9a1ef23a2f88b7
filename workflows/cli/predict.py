"""``tfus predict``: the pressure field of a transducer pose from a trained surrogate, in place of ``tfus simulate``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tfus.workflows.cli._common import DeviceChoice, check_output_file, err_console, print_json, user_errors


@user_errors
def predict(
    run: Annotated[Path | None, typer.Argument(help="Training run folder (best.pt) or checkpoint file from `tfus "
                                                    "train` [default: the model shipped for --transducer]")] = None,
    head: Annotated[Path, typer.Option(help="Head model folder from `tfus head build`")] = ...,
    position: Annotated[tuple[float, float, float], typer.Option(help="Bowl apex X Y Z (world mm)")] = ...,
    target: Annotated[tuple[float, float, float], typer.Option(help="Aim point X Y Z (world mm)")] = ...,
    out: Annotated[Path, typer.Option("--out", help="Pressure amplitude NIfTI (Pa, float32) on the head grid")] = ...,
    transducer: Annotated[str | None, typer.Option(help="Preset name or YAML file [default: the trained one]")]
    = None,
    frequency: Annotated[float | None, typer.Option(help="Override the transducer frequency (Hz)")] = None,
    device: Annotated[DeviceChoice, typer.Option(help="Prediction device")] = DeviceChoice.CPU,
    png: Annotated[Path | None, typer.Option(help="Slice overlay PNG [default: OUT with .png]")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the focal metrics as JSON on stdout")] = False,
    verify: Annotated[bool, typer.Option("--verify", help="Also run the matching k-Wave simulation, write it as "
                                         "OUT_sim.nii.gz and add a `verify` block (rel_l2, focal_error_mm, "
                                         "peak_error, predict_s, simulate_s)")] = False,
    protocol: Annotated[str | None, typer.Option(help="Sonication protocol (preset or YAML): adds a `safety` block "
                                                      "(ITRUSST flags, temperature) to the JSON and writes "
                                                      "OUT_temperature_rise.nii.gz")] = None,
) -> None:
    """Predict the steady-state pressure field of a focused bowl with a trained surrogate (no wave simulation).

    Same inputs, outputs and JSON keys as `tfus simulate`: OUT (amplitude, Pa, on the head model's grid and world
    space), a PNG overlay and OUT with suffix .json (request, metrics, model, timings). A head at another spacing is
    resampled to the trained one and back; a grid larger than the trained one runs sliding-window inference.

    A time-resolved model (sep4d) writes the peak-pressure map max_t |p| as OUT and the snapshots as a 4D NIfTI
    OUT_snapshots.nii.gz (Pa; 4th axis time, pixdim[4] = snapshot spacing in s, toffset = first time); the JSON adds
    the snapshot times, peak positive / negative pressure and the mechanical index.

    Without RUN, the model shipped with tfus for --transducer is used (`data/models`, see its model card): a
    beam-frame model predicts in a box along the bowl axis and maps the field back onto the head grid (zero outside
    the box). --verify simulates the same pose as the model's training data were simulated (same frame, spacing,
    frequency, mapping and k-Wave settings) and reports the difference.

    Examples:

      tfus predict --transducer neurofus-ctx250 --head heads/colin --position -87.5 29.7 23.7 --target 0.7 -20.4 9.9
      --out field.nii.gz --verify --json

      tfus predict runs/demo --head heads/mni --position 95 -16 40 --target 0 -16 40 --out field.nii.gz --json

      tfus predict runs/demo/best.pt --head heads/ct --transducer neurofus-ctx250 --frequency 225000
      --position 0 95 60 --target 0 20 40 --out field.nii.gz --device gpu
    """
    from tfus.pipeline.fields.output import write_field_outputs
    from tfus.pipeline.safety.protocol import load_protocol
    from tfus.pipeline.safety.report import safety_report, write_temperature_rise
    from tfus.pipeline.transducers import Pose
    from tfus.surrogates.inference import predict_field

    check_output_file(out, (".nii.gz", ".nii"))
    if png is not None:
        check_output_file(png)
    plan = None if protocol is None else load_protocol(protocol)  # a bad protocol fails before any work
    pose = Pose(list(position), list(target))
    result = predict_field(run, head, pose, transducer=transducer, frequency_hz=frequency, device=device)
    pred, metrics = result.prediction, result.metrics
    safety = None if plan is None else safety_report(result.field, result.head, plan, transducer=result.transducer,
                                                     pose=pose, mapping=result.record["surrogate"]["medium_mapping"])
    if safety is not None:
        metrics["safety"] = safety.to_dict()  # the record holds the same metrics dict
    record, checked = result.record, None
    if verify:  # simulate before writing anything: a failed check leaves no half-written outputs
        from tfus.surrogates.verify import verify_prediction

        checked = verify_prediction(result)
        record = {**record, "verify": checked.record}
    written = write_field_outputs(out, result.field, record, png=png, snapshots=pred.snapshots,
                                  snapshot_times_s=pred.snapshot_times_s, head=result.head,
                                  transducer=result.transducer, pose=pose, focus_mm=metrics.get("focus_mm"),
                                  title=result.title)
    if safety is not None:
        write_temperature_rise(out, safety)
    time_resolved = written.record.get("time_resolved")
    if checked is not None:
        from tfus.pipeline.fields.output import write_field

        write_field(sim_path(out), checked.field.amplitude, checked.field.affine)
    if as_json:
        print_json({**metrics, "predict_seconds": pred.seconds,
                    **({"time_resolved": time_resolved} if time_resolved is not None else {}),
                    **({"verify": checked.record} if checked is not None else {})})
    else:
        err_console().print(f"[green]wrote[/] {out}; peak {metrics['peak_pressure_pa'] / 1e3:.0f} kPa at "
                            f"{[round(v, 1) for v in metrics['focus_mm']]} mm, predicted in {pred.seconds:.3f} s")
    if checked is not None and not as_json:
        v = checked.record
        err_console().print(f"verify: rel. L2 {v['rel_l2']:.1%}, focal error {v['focal_error_mm']:.1f} mm, peak error "
                            f"{v['peak_error']:+.1%}; simulated in {v['simulate_s']:.1f} s ({sim_path(out).name})")


def sim_path(out: Path) -> Path:
    """``field.nii.gz`` -> ``field_sim.nii.gz`` (where ``--verify`` writes the simulation)."""
    name = out.name
    suffix = ".nii.gz" if name.endswith(".nii.gz") else out.suffix
    return out.with_name(name[: len(name) - len(suffix)] + "_sim" + suffix)
