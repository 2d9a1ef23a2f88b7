"""``tfus simulate``: one continuous-wave simulation of a focused bowl through a head model or in water."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tfus.workflows.cli._common import (
    DeviceChoice,
    Engine,
    Frame,
    HuMapping,
    StepProgress,
    check_output_file,
    err_console,
    print_json,
    user_errors,
)


@user_errors
def simulate(
    out: Annotated[Path, typer.Option("--out", help="Pressure amplitude NIfTI (Pa, float32), aligned to the head")],
    position: Annotated[tuple[float, float, float], typer.Option(help="Bowl apex X Y Z (world mm)")],
    target: Annotated[tuple[float, float, float], typer.Option(help="Aim point X Y Z (world mm): the axis runs "
                                                                     "apex -> target, the focus lies R along it")],
    head: Annotated[Path | None, typer.Option(help="Head model folder from `tfus head build`")] = None,
    water: Annotated[bool, typer.Option("--water", help="Simulate in water (a box sized around the beam)")] = False,
    transducer: Annotated[str, typer.Option(help="Preset name or YAML file")] = "itrusst-sc1",
    spacing: Annotated[float | None, typer.Option(help="Grid spacing (mm) [default: the head's; 1 mm in water]")]
    = None,
    engine: Annotated[Engine, typer.Option(help="Wave engine")] = Engine.KWAVE,
    device: Annotated[DeviceChoice, typer.Option(help="k-Wave on the GPU runs through CuPy")] = DeviceChoice.CPU,
    frequency: Annotated[float | None, typer.Option(help="Override the transducer frequency (Hz)")] = None,
    mapping: Annotated[HuMapping, typer.Option(help="HU -> acoustic properties")] = HuMapping.ITRUSST,
    frame: Annotated[Frame, typer.Option(help="grid: the head's own grid; beam: a box along the bowl axis "
                                              "(the field is mapped back onto the head grid)")] = Frame.GRID,
    kwave_binary: Annotated[Path | None, typer.Option("--kwave-binary", help="Run the k-Wave engine through this "
                                                      "k-Wave C++ binary (kspaceFirstOrder-OMP or -CUDA; not part "
                                                      "of tfus) instead of k-wave-python's native solver")] = None,
    phase: Annotated[Path | None, typer.Option(help="Also write the phase (rad) as NIfTI")] = None,
    png: Annotated[Path | None, typer.Option(help="Slice overlay PNG [default: OUT with .png]")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the focal metrics as JSON on stdout")] = False,
    protocol: Annotated[str | None, typer.Option(help="Sonication protocol (preset or YAML): adds a `safety` block "
                                                      "(ITRUSST flags, temperature) to the JSON and writes "
                                                      "OUT_temperature_rise.nii.gz")] = None,
) -> None:
    """Simulate the steady-state pressure field of a focused bowl (k-Wave or finite elements).

    Writes OUT (amplitude, Pa), optionally --phase, a PNG overlay and OUT with suffix .json (config, versions,
    metrics, timings).

    Examples:

      tfus simulate --water --transducer itrusst-sc1 --position 0 0 0 --target 0 0 64 --out water.nii.gz --json

      tfus simulate --head heads/ct --position 0 95 60 --target 0 20 40 --spacing 1 --out field.nii.gz

      tfus simulate --head heads/ct --position 0 95 60 --target 0 20 40 --frame beam --out beam.nii.gz

      tfus simulate --water --position 0 0 0 --target 0 0 64 --kwave-binary ~/k-wave/kspaceFirstOrder-OMP --out w.nii.gz

      tfus simulate --head heads/ct --position 0 95 60 --target 0 20 40 --protocol tbtus-zeng2022 --out f.nii.gz --json
    """
    from tfus.pipeline.engines.run import SimulationRequest, run_simulation
    from tfus.pipeline.errors import TfusInputError
    from tfus.pipeline.fields.metrics import field_metrics
    from tfus.pipeline.fields.output import simulation_record, write_field_outputs
    from tfus.pipeline.safety.protocol import load_protocol
    from tfus.pipeline.safety.report import safety_report, write_temperature_rise
    from tfus.pipeline.transducers import Pose

    if (head is None) == (not water):
        raise TfusInputError("give exactly one of --head DIR or --water")
    check_output_file(out, (".nii.gz", ".nii"))
    plan = None if protocol is None else load_protocol(protocol)  # a bad protocol fails before any work
    for extra in (phase, png):
        if extra is not None:
            check_output_file(extra)
    kwave_config = None
    if kwave_binary is not None:
        if engine != "kwave":
            raise TfusInputError(f"--kwave-binary needs --engine kwave (got --engine {engine})")
        from tfus.pipeline.engines.kwave.config import KWaveConfig

        kwave_config = KWaveConfig(binary=str(kwave_binary))  # checks the binary before any work
    pose = Pose(list(position), list(target))
    request = SimulationRequest(transducer=transducer, pose=pose, head=head, spacing_mm=spacing, engine=engine,
                                device=device, frequency_hz=frequency, mapping=mapping, kwave=kwave_config,
                                frame=frame.value)
    console = err_console()
    label = "k-Wave C++ binary time steps" if kwave_binary is not None else f"{engine} time steps"
    with StepProgress(label) as progress:
        result = run_simulation(request, progress=progress)
    metrics = field_metrics(result.field, result.medium, transducer=result.transducer, pose=pose,
                            labels=None if result.head is None else result.head.labels)
    safety = None if plan is None else safety_report(result.field, result.head, plan, transducer=result.transducer,
                                                     pose=pose, medium=result.medium)
    if safety is not None:
        metrics["safety"] = safety.to_dict()
    field, shown = result.on_head_grid()  # a beam-box field back on the head grid, in its world space
    write_field_outputs(out, field, simulation_record(request, result, metrics), png=png, phase=phase,
                        head=shown, transducer=result.transducer, pose=pose, focus_mm=metrics.get("focus_mm"))
    if safety is not None:
        write_temperature_rise(out, safety, field.amplitude.shape, field.affine)
        console.print(f"safety ({plan.name}): {safety.headline()}")
    if as_json:
        print_json(metrics)
    else:
        console.print(f"[green]wrote[/] {out}; peak {metrics['peak_pressure_pa'] / 1e3:.0f} kPa at "
                      f"{[round(v, 1) for v in metrics['focus_mm']]} mm")
