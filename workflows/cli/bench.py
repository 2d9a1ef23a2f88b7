"""``tfus bench``: speed and validation benchmarks that print a table and a ratio against a same-run baseline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tfus.workflows.cli._common import (
    DeviceChoice,
    HuMapping,
    Split,
    check_json_out,
    check_output_dir,
    emit,
    err_console,
    user_errors,
)

_DEVICE = typer.Option(help="cpu or gpu")
_JSON = typer.Option("--json", help="Print JSON on stdout")
_OUT = typer.Option(help="Also write the results as JSON here (a .json file)")

app = typer.Typer(help="Benchmarks: each prints a table and a ratio against a baseline measured in the same run.",
                  no_args_is_help=True)


@app.command("kwave-speed")
@user_errors
def kwave_speed(
    n: Annotated[list[int] | None, typer.Option(help="Total grid points per axis (PML included); repeat for several "
                                                     "grids [default: 64, 128, 192]")] = None,
    beam: Annotated[bool, typer.Option(help="Also time one beam-frame box (CTX-250, 1.5 mm)")] = True,
    steps: Annotated[int, typer.Option(help="Timed steps per solver")] = 20,
    device: Annotated[DeviceChoice, _DEVICE] = DeviceChoice.CPU,
    binary: Annotated[Path | None, typer.Option(help="Also time this k-Wave C++ binary (kspaceFirstOrder-OMP or "
                                                     "-CUDA; not tfus code) on the same problems")] = None,
    out: Annotated[Path | None, _OUT] = None,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Step time of the k-Wave engine (FFTW and scipy.fft) vs plain k-wave-python and vs the FFT floor, same
    problems, interleaved rounds in one run.

    With --binary, a row for that k-Wave C++ binary on the same problems (its own time-loop time per step).

    Example:

      tfus bench kwave-speed --n 128 --steps 20

      tfus bench kwave-speed --binary ~/k-wave/kspaceFirstOrder-OMP
    """
    from tfus.workflows.bench.kwave_speed import SpeedConfig, render_speed, run_speed_bench

    check_json_out(out)
    sizes = n or [64, 128, 192]
    configs = [SpeedConfig(n=size, steps=steps, device=device.value, binary=None if binary is None else str(binary))
               for size in sizes]
    if beam:
        configs.append(SpeedConfig(steps=steps, device=device.value, problem="beam",
                                   binary=None if binary is None else str(binary)))
    console = err_console()
    runs = []
    for config in configs:
        what = f"{config.n}^3" if config.problem == "cube" else "the beam box"
        with console.status(f"benchmarking k-Wave steps on {what} ...", spinner="dots"):
            runs.append(run_speed_bench(config, say=console.log))
    emit({"runs": runs}, out, as_json,
         lambda r: [item for run in r["runs"] for item in render_speed(run, device.value)])


@app.command("generate")
@user_errors
def generate_speed(
    config: Annotated[str, typer.Option(help="Dataset YAML or preset to time")] = "demo",
    heads: Annotated[int | None, typer.Option(help="Use the config's first N heads [default: all]")] = None,
    per_head: Annotated[int | None, typer.Option(help="Poses per head [default: the config's]")] = None,
    workdir: Annotated[Path | None, typer.Option(help="Folder for the temporary stores (default: the system's)")]
    = None,
    out: Annotated[Path | None, _OUT] = None,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Dataset generation with 1 vs 2 local workers, same samples, fresh stores: samples/hour and workflow overhead.

    Threads per simulation = cores // simulations at once (2 cores: 1 worker x 2 threads vs 2 workers x 1 thread).

    Example:

      tfus bench generate

      tfus bench generate --config my_dataset.yaml --heads 2 --per-head 4
    """
    from tfus.workflows.bench.generate_speed import GenerateBenchConfig, render_generate, run_generate_bench

    if workdir is not None:
        check_output_dir(workdir)
    check_json_out(out)
    bench = GenerateBenchConfig(config=config, heads=heads, per_head=per_head)
    console = err_console()
    res = run_generate_bench(bench, say=console.log, workdir=workdir)
    emit(res, out, as_json, render_generate)


def _run_with_progress(description: str, func, **kwargs):
    from tfus.pipeline.progress import ProgressBar

    with ProgressBar(description) as progress:
        return func(progress=progress, **kwargs)


@app.command("oneil")
@user_errors
def oneil(
    spacing: Annotated[float, typer.Option(help="Grid spacing (mm); 1.0 and 0.5 are the validation points")] = 1.0,
    device: Annotated[DeviceChoice, _DEVICE] = DeviceChoice.CPU,
    frequency: Annotated[float, typer.Option(help="Drive frequency (Hz); the benchmark's is 500 kHz, a lower one "
                                                  "allows a coarser, faster grid")] = 500e3,
    out: Annotated[Path | None, _OUT] = None,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """itrusst-sc1 in water vs O'Neil's closed form: peak error, peak position, -6 dB extents.

    Example:

      tfus bench oneil --spacing 1.0
    """
    from tfus.workflows.bench.validation import oneil_bench, render_oneil

    check_json_out(out)
    r = _run_with_progress(f"O'Neil, {spacing} mm", oneil_bench, spacing_mm=spacing, device=device.value,
                           frequency_hz=frequency)
    emit(r, out, as_json, lambda res: render_oneil(res, spacing))


@app.command("itrusst")
@user_errors
def itrusst(
    bm: Annotated[int, typer.Option(min=1, max=6, help="Benchmark 1-6 (water, absorbing water, plate, layers, shell, "
                                          "layered shell)")],
    spacing: Annotated[float, typer.Option(help="Simulation grid spacing (mm); results go on the 0.5 mm plane")] = 1.0,
    device: Annotated[DeviceChoice, _DEVICE] = DeviceChoice.CPU,
    frequency: Annotated[float, typer.Option(help="Drive frequency (Hz); the benchmark's is 500 kHz, a lower one "
                                                  "allows a coarser, faster grid")] = 500e3,
    plane_dir: Annotated[Path | None, typer.Option(help="Folder for bmN_plane.nii.gz (field on the comparison "
                                                        "plane)")] = None,
    out: Annotated[Path | None, _OUT] = None,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """One ITRUSST benchmark (Aubry et al. 2022): field on the 0.5 mm comparison plane and its focal metrics; BM1/BM2
    against the Rayleigh integral (lossless / 1 dB/cm).

    Example:

      tfus bench itrusst --bm 4 --spacing 1.0 --plane-dir itrusst/ --out itrusst/bm4.json
    """
    from tfus.workflows.bench.validation import itrusst_bench, render_itrusst

    check_json_out(out)
    if plane_dir is not None:
        check_output_dir(plane_dir)
    r = _run_with_progress(f"ITRUSST BM{bm}, {spacing} mm", itrusst_bench, bm=bm, spacing_mm=spacing,
                           device=device.value, out_dir=plane_dir,
                           frequency_hz=frequency)
    emit(r, out, as_json, lambda res: render_itrusst(res, bm, spacing))


@app.command("cross-engine")
@user_errors
def cross_engine(
    spacing: Annotated[float, typer.Option(help="Grid spacing (mm)")] = 0.5,
    mapping: Annotated[HuMapping, typer.Option(help="HU mapping of the slice: kwave (continuous, from the CT's HU) "
                                                    "or itrusst (piecewise constant per tissue label)")]
    = HuMapping.KWAVE,
    out: Annotated[Path | None, _OUT] = None,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """k-Wave vs FE on a 2D slice of the real head CT: relative L2 beyond the source and focal positions.

    Example:

      tfus bench cross-engine --spacing 0.5
    """
    from tfus.workflows.bench.validation import cross_engine_bench, render_cross_engine

    check_json_out(out)
    console = err_console()
    with console.status("k-Wave and FE on a CT slice ...", spinner="dots"):
        r = cross_engine_bench(spacing_mm=spacing, mapping=mapping.value)
    emit(r, out, as_json, lambda res: render_cross_engine(res, spacing))


@app.command("predict")
@user_errors
def predict_speed(
    run: Annotated[Path | None, typer.Option(help="Training run folder or checkpoint [default: an untrained demo "
                                                  "model on the head's grid; timing does not depend on weights]")]
    = None,
    head: Annotated[Path | None, typer.Option(help="Head model folder [default: the synthetic phantom]")] = None,
    spacing: Annotated[float, typer.Option(help="Grid spacing (mm) without --run (with --run: the trained one)")]
    = 3.0,
    transducer: Annotated[str | None, typer.Option(help="Preset or YAML [default: the trained one; without --run "
                                                        "the demo dataset's neurofus-ctx250 at 225 kHz]")] = None,
    frequency: Annotated[float | None, typer.Option(help="Override the transducer frequency (Hz)")] = None,
    position: Annotated[tuple[float, float, float] | None, typer.Option(help="Bowl apex X Y Z (world mm) [default: "
                                                                             "a sampled pose]")] = None,
    target: Annotated[tuple[float, float, float] | None, typer.Option(help="Aim point X Y Z (world mm)")] = None,
    device: Annotated[DeviceChoice, typer.Option(help="Prediction device")] = DeviceChoice.CPU,
    sim_device: Annotated[DeviceChoice, typer.Option(help="Simulation device")] = DeviceChoice.CPU,
    repeats: Annotated[int, typer.Option(help="Timed predictions (the median is reported)")] = 5,
    warmup: Annotated[int, typer.Option(help="Untimed warm-up predictions")] = 2,
    out: Annotated[Path | None, _OUT] = None,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Surrogate prediction vs k-Wave simulation of the same pose on the same grid and machine (target >= 1000x).

    Example:

      tfus bench predict --run runs/demo --head heads/mni --device gpu
    """
    from tfus.workflows.bench.predict_speed import PredictBenchConfig, render_predict, run_predict_bench

    check_json_out(out)
    cfg = PredictBenchConfig(run=None if run is None else str(run), head=None if head is None else str(head),
                             spacing_mm=spacing, transducer=transducer, frequency_hz=frequency, position=position,
                             target=target, device=device.value, sim_device=sim_device.value, repeats=repeats,
                             warmup=warmup)
    console = err_console()
    res = run_predict_bench(cfg, say=console.log)
    emit(res, out, as_json, render_predict)


@app.command("ablation")
@user_errors
def ablation(
    store: Annotated[Path, typer.Option("--store", help="Dataset store (e.g. from `tfus generate demo`)")],
    workdir: Annotated[Path, typer.Option(help="Folder for the training runs")] = Path("ablation-runs"),
    epochs: Annotated[int, typer.Option(help="Training epochs per variant")] = 12,
    variant: Annotated[list[str] | None, typer.Option(help="Variant(s) to run [default: all]")] = None,
    device: Annotated[DeviceChoice, _DEVICE] = DeviceChoice.CPU,
    seed: Annotated[int, typer.Option(help="Training seed (the same for every variant)")] = 0,
    out: Annotated[Path | None, _OUT] = None,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """DeepTFUS with each conditioning path off in turn, same data, same training, evaluated on the test split.

    Example:

      tfus bench ablation --store demo.zarr --epochs 12
    """
    from tfus.workflows.bench.ablation import render_ablation, run_ablation
    from tfus.workflows.demo import demo_model as _demo_model

    check_json_out(out)
    console = err_console()
    rows = run_ablation(store, workdir, base_model=_demo_model(), epochs=epochs, seed=seed, device=device.value,
                        variants=variant or None, say=console.log)
    emit(rows, out, as_json, lambda res: render_ablation(res, epochs, store))


@app.command("compressed")
@user_errors
def compressed(
    store: Annotated[Path, typer.Option("--store", help="Dataset store (e.g. from `tfus generate demo-fem`)")],
    ranks: Annotated[str, typer.Option(help="Comma-separated ranks R of the cp:R variants")] = "1,2,4,8",
    epochs: Annotated[int, typer.Option(min=1, help="Training epochs per variant")] = 10,
    preset: Annotated[str | None, typer.Option(help="DeepTFUS preset (tiny, demo, large) [default: the model of "
                                                    "`tfus demo`]")] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Training batch size")] = 2,
    seed: Annotated[int, typer.Option(help="Training seed (the same for every variant)")] = 0,
    split: Annotated[Split, typer.Option(help="Held-out split to evaluate")] = Split.TEST,
    device: Annotated[DeviceChoice, _DEVICE] = DeviceChoice.CPU,
    repeats: Annotated[int, typer.Option(min=1, help="Timed forward passes per variant (the median is reported)")]
    = 5,
    workdir: Annotated[Path | None, typer.Option(help="Keep the training runs here [default: a temporary folder, "
                                                      "removed afterwards]")] = None,
    out: Annotated[Path | None, _OUT] = None,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Dense vs rank-R compressed convolutions (conv: cp:R) in the same DeepTFUS, same data, seed and epochs:
    parameters, peak training memory, inference time and held-out accuracy, with ratios to dense.

    Peak training memory: each variant trains in a fresh process; on a GPU CUDA's max_memory_allocated, on the CPU
    the rise of the process's peak RSS during training. Inference: one forward pass, batch 1, on the store's grid.

    Example:

      tfus bench compressed --store demo-fem.zarr --epochs 10

      tfus bench compressed --store demo-fem.zarr --ranks 1,4 --device gpu --json
    """
    import shutil
    import tempfile

    from tfus.pipeline.errors import TfusInputError
    from tfus.surrogates.networks.nets.deeptfus_config import PRESETS
    from tfus.workflows.bench.compressed import render_compressed, run_compressed_bench
    from tfus.workflows.demo import demo_model as _demo_model

    try:
        rank_list = [int(r) for r in ranks.split(",") if r.strip()]
    except ValueError:
        raise TfusInputError(f"--ranks {ranks!r} must be comma-separated integers, e.g. 1,2,4,8") from None
    if preset is not None and preset not in PRESETS:
        raise TfusInputError(f"unknown --preset {preset!r}; use one of: {', '.join(PRESETS)}")
    check_json_out(out)
    if workdir is not None:
        check_output_dir(workdir)
    base = {"preset": preset} if preset is not None else _demo_model()
    console = err_console()
    tmp = None if workdir is not None else Path(tempfile.mkdtemp(prefix="tfus-bench-compressed-"))
    try:
        res = run_compressed_bench(store, workdir or tmp, base_model=base, ranks=rank_list, epochs=epochs,
                                   batch_size=batch_size, seed=seed, device=device.value, split=split.value,
                                   repeats=repeats,
                                   say=console.log)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    if tmp is not None:
        for row in res["rows"]:
            row["run"] = None
    emit(res, out, as_json, render_compressed)


@app.command("kernels")
@user_errors
def kernels_speed(
    size: Annotated[int | None, typer.Option(help="Volume edge of the 3D ops (sep4d: size // 2 per spatial axis) "
                                                  "[default: 64 on a GPU, 12 on CPU]")] = None,
    channels: Annotated[int | None, typer.Option(help="Channels of the 3D ops (sep4d: channels // 2) [default: 32 on "
                                                      "a GPU, 4 on CPU]")] = None,
    dtype: Annotated[str, typer.Option(help="fp32 or bf16 (inputs, weights and outputs; fp32 accumulation)")]
    = "fp32",
    rank: Annotated[int, typer.Option(help="Rank of the compressed (CP) conv")] = 2,
    frames: Annotated[int, typer.Option(help="Time frames of the separable 4D conv")] = 8,
    op: Annotated[list[str] | None, typer.Option(help="Operator(s) to time [default: all]: depthwise_conv3d, "
                                                      "cp_conv3d, sep4d_conv")] = None,
    repeats: Annotated[int, typer.Option(help="Timed calls per path (the median is reported)")] = 20,
    warmup: Annotated[int, typer.Option(help="Untimed warm-up calls per path")] = 5,
    out: Annotated[Path | None, _OUT] = None,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Triton kernels vs the best PyTorch path of the same op (every memory layout), forward and forward+backward:
    ms, speed-up, GB/s and % of the device's copy bandwidth measured in the same run.

    Without CUDA only the PyTorch paths run, on small sizes (not a speed claim).

    Example:

      tfus bench kernels --dtype bf16

      tfus bench kernels --op cp_conv3d --size 96 --channels 32 --json
    """
    from tfus.workflows.bench.kernels_speed import OPS, KernelBenchConfig, render_kernels, run_kernel_bench

    check_json_out(out)
    cfg = KernelBenchConfig(size=size, channels=channels, dtype=dtype, rank=rank, frames=frames, repeats=repeats,
                            warmup=warmup, ops=tuple(op) if op else OPS)
    console = err_console()
    res = run_kernel_bench(cfg, say=console.log)
    emit(res, out, as_json, render_kernels)


@app.command("gpu")
@user_errors
def gpu(
    out: Annotated[Path, typer.Option(help="Results as a .json file (written atomically)")] = Path("gpu.json"),
    dry_run: Annotated[bool, typer.Option("--dry-run", help="CPU rehearsal: tiny sizes, the CUDA parts skipped "
                                                            "with their reason")] = False,
    budget_s: Annotated[float, typer.Option(min=10, help="Total wall-time budget (s)")] = 480.0,
    parts: Annotated[str, typer.Option(help="Comma-separated parts: environment, kwave, kernels, predict")]
    = "environment,kwave,kernels,predict",
) -> None:
    """The prepared GPU check: versions, CuPy k-Wave vs CPU, Triton kernels vs PyTorch, GPU prediction and an AMP
    training burst, each part time-boxed and independent; one JSON. workflows/bench/gpu_run.sh runs it on a lent GPU.

    Example:

      tfus bench gpu --dry-run --out gpu-rehearsal.json
    """
    from tfus.workflows.bench.gpu_check import GpuCheckConfig, render, run_gpu_check, write_result

    check_json_out(out)
    cfg = GpuCheckConfig(dry_run=dry_run, budget_s=budget_s,
                         parts=tuple(p.strip() for p in parts.split(",") if p.strip()))
    console = err_console()
    result = run_gpu_check(cfg, say=console.log)
    write_result(result, out)
    print(render(result))


@app.command("beam-crop")
@user_errors
def beam_crop(
    heads: Annotated[list[str] | None, typer.Option(help="Bundled heads (repeat) [default: cranium_ct, colin27_t1]")]
    = None,
    poses: Annotated[int, typer.Option(min=1, help="Poses sampled per head")] = 5,
    pose_index: Annotated[list[int] | None, typer.Option(help="Run only these of the sampled poses (repeat; 0-based) "
                                                              "[default: all]")] = None,
    spacing: Annotated[float, typer.Option(help="Grid spacing of both simulations (mm)")] = 1.5,
    frequency: Annotated[float | None, typer.Option(help="Driving frequency (Hz) [default: the bowl's]")] = None,
    transducer: Annotated[str, typer.Option(help="Bowl preset")] = "neurofus-ctx250",
    lateral_margin: Annotated[float, typer.Option(help="Beam box: mm beyond the aperture radius")] = 10.0,
    behind: Annotated[float, typer.Option(help="Beam box: mm of water behind the apex")] = 5.0,
    beyond_focus: Annotated[float, typer.Option(help="Beam box: mm past the geometric focus")] = 30.0,
    box: Annotated[list[str] | None, typer.Option(help="Beam box LATERAL,BEHIND,BEYOND in mm (repeat to compare "
                                                       "several boxes with one whole-head run per pose; replaces "
                                                       "--lateral-margin/--behind/--beyond-focus)")] = None,
    max_standoff: Annotated[float, typer.Option(help="Largest apex-scalp distance of the sampled poses (mm)")] = 15.0,
    domain_crossings: Annotated[float, typer.Option(help="k-Wave run length of both simulations (domain-diagonal "
                                                         "travel times)")] = 1.0,
    beam_crossings: Annotated[float | None, typer.Option(help="k-Wave run length of the beam box if not "
                                                       "--domain-crossings")] = None,
    pml_size: Annotated[int, typer.Option(min=1, help="k-Wave PML thickness (points) of both simulations")] = 10,
    whole_cache: Annotated[Path | None, typer.Option(help="Folder caching the whole-head fields (rerun with other "
                                                          "boxes without simulating the whole head again)")] = None,
    out: Annotated[Path | None, _OUT] = None,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """The cost of cropping to the beam frame: beam-box vs whole-head simulation of the same poses on real heads
    (focal pressure and position, -6 dB centroids, rel. L2 in the brain and the box, times), for one or more boxes.

    Example:

      tfus bench beam-crop --poses 5 --spacing 3 --frequency 125000 --box 10,5,30 --box 20,5,40
    """
    from tfus.pipeline.beam import BeamBox
    from tfus.pipeline.errors import TfusInputError
    from tfus.workflows.bench.beam_crop import BeamCropConfig, beam_crop_bench, render

    check_json_out(out)
    boxes = (BeamBox(lateral_margin, behind, beyond_focus),)
    if box:
        if (lateral_margin, behind, beyond_focus) != (10.0, 5.0, 30.0):
            raise TfusInputError("give the beam box either as --box or as --lateral-margin/--behind/--beyond-focus, "
                                 "not both")
        boxes = tuple(_parse_box(text) for text in box)
    config = BeamCropConfig(heads=tuple(heads) if heads else BeamCropConfig().heads, poses_per_head=poses,
                            pose_indices=tuple(pose_index) if pose_index else None, transducer=transducer,
                            frequency_hz=frequency, spacing_mm=spacing, boxes=boxes, max_standoff_mm=max_standoff,
                            pml_size=pml_size, domain_crossings=domain_crossings,
                            beam_domain_crossings=beam_crossings,
                            whole_cache=None if whole_cache is None else str(whole_cache))
    console = err_console()
    result = beam_crop_bench(config, progress=console.log)
    emit(result, out, as_json, lambda r: [render(r)])


def _parse_box(text: str):
    """``"LATERAL,BEHIND,BEYOND"`` (mm) -> :class:`tfus.pipeline.beam.BeamBox`."""
    from tfus.pipeline.beam import BeamBox
    from tfus.pipeline.errors import TfusInputError

    parts = text.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 3:
        raise TfusInputError(f"--box {text!r}: give three numbers LATERAL,BEHIND,BEYOND in mm, e.g. 20,5,40")
    return BeamBox(*values)
