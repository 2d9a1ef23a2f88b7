"""``tfus bench``: speed and validation benchmarks that print a table and a ratio against a same-run baseline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from tfus.workflows.cli._common import check_output_dir, check_output_file, err_console, print_json, user_errors

app = typer.Typer(help="Benchmarks: each prints a table and a ratio against a baseline measured in the same run.",
                  no_args_is_help=True)


@app.command("kwave-speed")
@user_errors
def kwave_speed(
    n: Annotated[int, typer.Option(help="Total grid points per axis (PML included)")] = 128,
    steps: Annotated[int, typer.Option(help="Timed steps per solver")] = 20,
    device: Annotated[str, typer.Option(help="cpu or gpu")] = "cpu",
    binary: Annotated[Path | None, typer.Option(help="Also time this k-Wave C++ binary (kspaceFirstOrder-OMP or "
                                                     "-CUDA; not tfus code) on the same problem")] = None,
    out: Annotated[Path | None, typer.Option(help="Also write the results as JSON here")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout")] = False,
) -> None:
    """Step time of the k-Wave engine vs plain k-wave-python and vs the FFT floor, same problem, same run.

    With --binary, a row for that k-Wave C++ binary on the same problem (its own time-loop time per step).

    Example:

      tfus bench kwave-speed --n 128 --steps 20

      tfus bench kwave-speed --n 128 --binary ~/k-wave/kspaceFirstOrder-OMP
    """
    from rich.console import Console
    from rich.table import Table

    from tfus.workflows.bench.kwave_speed import SpeedConfig, run_speed_bench

    config = SpeedConfig(n=n, steps=steps, device=device, binary=None if binary is None else str(binary))
    console = err_console()
    with console.status("benchmarking k-Wave steps ...", spinner="dots"):
        res = run_speed_bench(config, say=console.log)
    if out is not None:
        out.write_text(json.dumps(res, indent=2, default=str) + "\n", encoding="utf-8")
    if as_json:
        print_json(res)
        return
    table = Table("solver", "ms / step", title=f"k-Wave step, grid {res['grid']}, {device}")
    for name, sec in res["seconds_per_step"].items():
        table.add_row(name, f"{1e3 * sec:.1f}")
    Console().print(table)
    Console().print(f"fast step / FFT floor: {res['fast_over_fft_floor']:.2f}x (target <= 1.3)   "
                    f"speed-up vs k-wave-python float64: {res['speedup_vs_kwave_float64']:.1f}x, float32: "
                    f"{res['speedup_vs_kwave_float32']:.1f}x (target >= 3)   max |diff| / max |p|: "
                    f"{res['max_rel_diff_vs_kwave_float64']:.1e} (target <= 1e-4)")
    if "binary" in res:
        b = res["binary"]
        Console().print(f"k-Wave C++ binary: {b['version'] or b['binary']} ({b['threads']} threads; not tfus code): "
                        f"{1e3 * b['loop_s'] / b['steps']:.1f} ms/step from its own time-loop report, "
                        f"{1e3 * b['wall_s'] / b['steps']:.1f} ms/step wall incl. loading and FFT planning; "
                        f"final pressure vs the fast step: max |diff| / max |p| {b['max_rel_diff_vs_fast']:.1e}")


@app.command("generate")
@user_errors
def generate_speed(
    config: Annotated[str, typer.Option(help="Dataset YAML or preset to time")] = "demo",
    heads: Annotated[int | None, typer.Option(help="Use the config's first N heads [default: all]")] = None,
    per_head: Annotated[int | None, typer.Option(help="Poses per head [default: the config's]")] = None,
    workdir: Annotated[Path | None, typer.Option(help="Folder for the temporary stores (default: the system's)")]
    = None,
    out: Annotated[Path | None, typer.Option(help="Also write the results as JSON here")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout")] = False,
) -> None:
    """Dataset generation with 1 vs 2 local workers, same samples, fresh stores: samples/hour and workflow overhead.

    Threads per simulation = cores // simulations at once (2 cores: 1 worker x 2 threads vs 2 workers x 1 thread).

    Example:

      tfus bench generate

      tfus bench generate --config my_dataset.yaml --heads 2 --per-head 4
    """
    from rich.console import Console
    from rich.table import Table

    from tfus.workflows.bench.generate_speed import GenerateBenchConfig, run_generate_bench

    if workdir is not None:
        check_output_dir(workdir)
    if out is not None:
        check_output_file(out, (".json",))
    bench = GenerateBenchConfig(config=config, heads=heads, per_head=per_head)
    console = err_console()
    res = run_generate_bench(bench, say=console.log, workdir=workdir)
    if out is not None:
        out.write_text(json.dumps(res, indent=2, default=str) + "\n", encoding="utf-8")
    if as_json:
        print_json(res)
        return
    table = Table("workers", "threads / sim", "samples", "simulation wall (s)", "samples / hour", "Σ simulation (s)",
                  "overhead (s/sample)", "of which store read+write (s/sample)", "overhead",
                  title=f"tfus generate: {res['dataset']} ({res['samples']} samples, {len(res['heads'])} heads, grid "
                        f"{res['grid']} at {res['spacing_mm']:g} mm), {res['cores']} cores, local workers")
    for r in res["rows"]:
        table.add_row(str(r["workers"]), str(r["threads_per_simulation"]), str(r["samples"]),
                      f"{r['simulate_wall_seconds']:.1f}", f"{r['samples_per_hour']:.0f}",
                      f"{r['sim_seconds_total']:.1f}", f"{r['overhead_seconds_per_sample']:.2f}",
                      f"{r['store_seconds_per_sample']:.2f}", f"{100 * r['overhead_fraction']:.1f} %")
    Console().print(table)
    same = res.get("speedup_same_threads")
    Console().print(f"samples/hour 2 workers / 1 worker: {res['speedup']:.2f}x (target >= {res['speedup_target']:g})"
                    + (f"; at 1 thread per simulation in both runs: {same:.2f}x" if same else "")
                    + "   workflow overhead: max "
                    f"{100 * res['max_overhead_fraction']:.1f} % of simulation time (target < "
                    f"{100 * res['overhead_target']:g} %)")


def _run_with_progress(description: str, func, **kwargs):
    from tfus.workflows.cli._common import StepProgress

    with StepProgress(description) as progress:
        return func(progress=progress, **kwargs)


@app.command("oneil")
@user_errors
def oneil(
    spacing: Annotated[float, typer.Option(help="Grid spacing (mm); 1.0 and 0.5 are the validation points")] = 1.0,
    device: Annotated[str, typer.Option(help="cpu or gpu")] = "cpu",
    frequency: Annotated[float, typer.Option(help="Drive frequency (Hz); the benchmark's is 500 kHz, a lower one "
                                                  "allows a coarser, faster grid")] = 500e3,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout")] = False,
) -> None:
    """itrusst-sc1 in water vs O'Neil's closed form: peak error, peak position, -6 dB extents.

    Example:

      tfus bench oneil --spacing 1.0
    """
    from rich.console import Console
    from rich.table import Table

    from tfus.workflows.bench.validation import oneil_bench

    r = _run_with_progress(f"O'Neil, {spacing} mm", oneil_bench, spacing_mm=spacing, device=device,
                           frequency_hz=frequency)
    if as_json:
        print_json(r)
        return
    t = Table("quantity", "k-Wave", "O'Neil", "difference", title=f"itrusst-sc1 in water, {spacing} mm grid")
    t.add_row("on-axis peak (kPa)", f"{r['peak_pa'] / 1e3:.1f}", f"{r['peak_ref_pa'] / 1e3:.1f}",
              f"{r['peak_error_percent']:+.2f} % (target |.| <= 1.5 %)")
    t.add_row("peak position (mm from apex)", f"{r['peak_z_mm']:.2f}", f"{r['peak_z_ref_mm']:.2f}",
              f"{r['peak_position_error_mm']:+.2f} mm (target |.| <= 0.5)")
    t.add_row("p(R) (kPa)", f"{r['p_at_R_pa'] / 1e3:.1f}", f"{r['p_at_R_ref_pa'] / 1e3:.1f}", "")
    t.add_row("axial -6 dB (mm)", "{:.1f}-{:.1f}".format(*r["axial_6db_mm"]),
              "{:.1f}-{:.1f}".format(*r["axial_6db_ref_mm"]), "")
    t.add_row("lateral -6 dB width (mm)", "{:.2f} / {:.2f}".format(*r["lateral_6db_widths_mm"]),
              f"{r['lateral_6db_ref_mm']:.2f}", "")
    Console().print(t)
    Console().print(f"{r['steps']} steps, {r['ms_per_step']:.0f} ms/step, {r['wall_s']:.0f} s")


@app.command("itrusst")
@user_errors
def itrusst(
    bm: Annotated[int, typer.Option(help="Benchmark 1-6 (water, absorbing water, plate, layers, shell, "
                                          "layered shell)")],
    spacing: Annotated[float, typer.Option(help="Simulation grid spacing (mm); results go on the 0.5 mm plane")] = 1.0,
    device: Annotated[str, typer.Option(help="cpu or gpu")] = "cpu",
    frequency: Annotated[float, typer.Option(help="Drive frequency (Hz); the benchmarks' is 500 kHz, a lower one "
                                                  "allows a coarser, faster grid")] = 500e3,
    out: Annotated[Path | None, typer.Option(help="Folder for bmN_plane.nii.gz (field on the comparison plane)")]
    = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout")] = False,
) -> None:
    """One ITRUSST benchmark (Aubry et al. 2022): field on the 0.5 mm comparison plane and its focal metrics; BM1/BM2
    against the Rayleigh integral (lossless / 1 dB/cm).

    Example:

      tfus bench itrusst --bm 4 --spacing 1.0 --out itrusst/
    """
    from rich.console import Console
    from rich.table import Table

    from tfus.pipeline.errors import TfusInputError
    from tfus.workflows.bench.validation import itrusst_bench

    if bm not in range(1, 7):
        raise TfusInputError(f"--bm must be 1 to 6, got {bm}")
    r = _run_with_progress(f"ITRUSST BM{bm}, {spacing} mm", itrusst_bench, bm=bm, spacing_mm=spacing,
                           device=device, out_dir=out, frequency_hz=frequency)
    if as_json:
        print_json(r)
        return
    t = Table("metric", "value", title=f"ITRUSST BM{bm}: {r['description']} ({spacing} mm grid)")
    for key in ("focal_pressure_pa", "focus_axial_mm", "focus_lateral_mm", "axial_6db_length_mm",
                "lateral_6db_width_mm", "axial_3db_length_mm", "lateral_3db_width_mm", "reference",
                "ref_focal_pressure_pa", "focal_pressure_diff_percent", "focal_position_diff_mm", "linf_percent",
                "l2_percent"):
        if key in r:
            v = r[key]
            t.add_row(key, f"{v:.4g}" if isinstance(v, float) else str(v))
    Console().print(t)


@app.command("cross-engine")
@user_errors
def cross_engine(
    spacing: Annotated[float, typer.Option(help="Grid spacing (mm)")] = 0.5,
    mapping: Annotated[str, typer.Option(help="HU mapping of the slice: kwave (continuous, from the CT's HU) or "
                                              "itrusst (piecewise constant per tissue label)")] = "kwave",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout")] = False,
) -> None:
    """k-Wave vs FE on a 2D slice of the real head CT: relative L2 beyond the source and focal positions.

    Example:

      tfus bench cross-engine --spacing 0.5
    """
    from rich.console import Console

    from tfus.workflows.bench.validation import cross_engine_bench

    console = err_console()
    with console.status("k-Wave and FE on a CT slice ...", spinner="dots"):
        r = cross_engine_bench(spacing_mm=spacing, mapping=mapping)
    if as_json:
        print_json(r)
        return
    Console().print(f"{r['description']} ({mapping} mapping), grid {r['grid']} at {spacing} mm: relative L2 "
                    f"{100 * r['relative_l2']:.1f} % beyond 20 mm, {100 * r['brain_relative_l2']:.1f} % intracranial "
                    f"(target <= 10 %), focus distance {r['focus_distance_mm']:.2f} mm (one cell = {spacing} mm); "
                    f"k-Wave {r['kwave_s']:.0f} s, FE {r['fem_s']:.0f} s")


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
    device: Annotated[str, typer.Option(help="Prediction device: cpu or gpu")] = "cpu",
    sim_device: Annotated[str, typer.Option(help="Simulation device: cpu or gpu")] = "cpu",
    repeats: Annotated[int, typer.Option(help="Timed predictions (the median is reported)")] = 5,
    warmup: Annotated[int, typer.Option(help="Untimed warm-up predictions")] = 2,
    out: Annotated[Path | None, typer.Option(help="Also write the results as JSON here")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout")] = False,
) -> None:
    """Surrogate prediction vs k-Wave simulation of the same pose on the same grid and machine (target >= 1000x).

    Example:

      tfus bench predict --run runs/demo --head heads/mni --device gpu
    """
    from rich.console import Console
    from rich.table import Table

    from tfus.workflows.bench.predict_speed import PredictBenchConfig, run_predict_bench

    if out is not None:
        check_output_file(out, (".json",))
    cfg = PredictBenchConfig(run=None if run is None else str(run), head=None if head is None else str(head),
                             spacing_mm=spacing, transducer=transducer, frequency_hz=frequency, position=position,
                             target=target, device=device, sim_device=sim_device, repeats=repeats, warmup=warmup)
    console = err_console()
    res = run_predict_bench(cfg, say=console.log)
    if out is not None:
        out.write_text(json.dumps(res, indent=2, default=str) + "\n", encoding="utf-8")
    if as_json:
        print_json(res)
        return
    table = Table("method", "device", "seconds", "note",
                  title=f"one pose on {res['head']}, grid {res['grid']} at {res['spacing_mm']:g} mm, "
                        f"{res['transducer']} at {res['frequency_hz'] / 1e3:g} kHz, {res['cores']} cores")
    table.add_row("k-Wave simulation (tfus simulate engine)", res["sim_device"], f"{res['simulation_seconds']:.2f}",
                  f"{res['simulation_steps']} steps, {res['simulation_ms_per_step']:.1f} ms/step")
    table.add_row(f"{res['model']} prediction (median of {len(res['predict_seconds'])})", res["device"],
                  f"{res['predict_seconds_median']:.4f}",
                  f"{res['model_note']}; {res['parameters'] / 1e6:.2f} M parameters, {res['windows']} window(s)")
    Console().print(table)
    line = (f"prediction / simulation speed-up: {res['speedup']:.0f}x (target >= {res['speedup_target']:g}x: "
            f"{'met' if res['meets_target'] else 'NOT met'})")
    if res["accuracy_vs_simulation"]:
        acc = res["accuracy_vs_simulation"]
        line += (f"   accuracy vs this simulation: rel L2 {acc['rel_l2_percent']:.1f} %, focal error "
                 f"{acc['focal_error_mm']:.1f} mm, peak error {acc['peak_error_percent']:.1f} %")
    Console().print(line)


@app.command("ablation")
@user_errors
def ablation(
    store: Annotated[Path, typer.Option("--store", help="Dataset store (e.g. the demo's WORKDIR/dataset.zarr)")],
    workdir: Annotated[Path, typer.Option(help="Folder for the training runs")] = Path("ablation-runs"),
    epochs: Annotated[int, typer.Option(help="Training epochs per variant")] = 12,
    variant: Annotated[list[str] | None, typer.Option(help="Variant(s) to run [default: all]")] = None,
    device: Annotated[str, typer.Option(help="cpu or gpu")] = "cpu",
    seed: Annotated[int, typer.Option(help="Training seed (the same for every variant)")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout")] = False,
) -> None:
    """DeepTFUS with each conditioning path off in turn, same data, same training, evaluated on the test split.

    Example:

      tfus bench ablation --store tfus-demo/dataset.zarr --epochs 12
    """
    from rich.console import Console
    from rich.table import Table

    from tfus.workflows.bench.ablation import run_ablation
    from tfus.workflows.demo import _demo_model

    console = err_console()
    rows = run_ablation(store, workdir, base_model=_demo_model(), epochs=epochs, seed=seed, device=device,
                        variants=variant or None, say=console.log)
    if as_json:
        print_json(rows)
        return
    table = Table("variant", "parameters", "train (s)", "rel. L2 % (mean / median)", "focal error mm",
                  "peak error %", "intracranial focal error mm", "focal Dice",
                  title=f"DeepTFUS ablation, {epochs} epochs, test split of {store}")
    def cell(r: dict, k: str) -> str:
        return f"{r[k]['mean']:.1f} / {r[k]['median']:.1f}" if k in r else "-"

    for r in rows:
        table.add_row(r["variant"], f"{r['parameters'] / 1e6:.2f} M", f"{r['train_seconds']:.0f}", cell(r, "rel_l2"),
                      cell(r, "focal_error_mm"), cell(r, "peak_error"), cell(r, "focal_error_brain_mm"),
                      f"{r['focal_dice']['mean']:.2f}" if "focal_dice" in r else "-")
    Console().print(table)


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
    split: Annotated[str, typer.Option(help="Held-out split to evaluate")] = "test",
    device: Annotated[str, typer.Option(help="cpu or gpu")] = "cpu",
    repeats: Annotated[int, typer.Option(min=1, help="Timed forward passes per variant (the median is reported)")]
    = 5,
    workdir: Annotated[Path | None, typer.Option(help="Keep the training runs here [default: a temporary folder, "
                                                      "removed afterwards]")] = None,
    out: Annotated[Path | None, typer.Option(help="Also write the results as JSON here")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout")] = False,
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

    from rich.console import Console

    from tfus.pipeline.errors import TfusInputError
    from tfus.surrogates.networks.nets.deeptfus_config import PRESETS
    from tfus.workflows.bench.compressed import compressed_table, run_compressed_bench
    from tfus.workflows.demo import _demo_model

    try:
        rank_list = [int(r) for r in ranks.split(",") if r.strip()]
    except ValueError:
        raise TfusInputError(f"--ranks {ranks!r} must be comma-separated integers, e.g. 1,2,4,8") from None
    if preset is not None and preset not in PRESETS:
        raise TfusInputError(f"unknown --preset {preset!r}; use one of: {', '.join(PRESETS)}")
    if out is not None:
        check_output_file(out, (".json",))
    if workdir is not None:
        check_output_dir(workdir)
    base = {"preset": preset} if preset is not None else _demo_model()
    console = err_console()
    tmp = None if workdir is not None else Path(tempfile.mkdtemp(prefix="tfus-bench-compressed-"))
    try:
        res = run_compressed_bench(store, workdir or tmp, base_model=base, ranks=rank_list, epochs=epochs,
                                   batch_size=batch_size, seed=seed, device=device, split=split, repeats=repeats,
                                   say=console.log)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    if tmp is not None:
        for row in res["rows"]:
            row["run"] = None
    if out is not None:
        out.write_text(json.dumps(res, indent=2, default=str) + "\n", encoding="utf-8")
    if as_json:
        print_json(res)
        return
    table, note = compressed_table(res)
    Console().print(table)
    Console().print(note)


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
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout")] = False,
) -> None:
    """Triton kernels vs the best PyTorch path of the same op (every memory layout), forward and forward+backward:
    ms, speed-up, GB/s and % of the device's copy bandwidth measured in the same run.

    Without CUDA only the PyTorch paths run, on small sizes (not a speed claim).

    Example:

      tfus bench kernels --dtype bf16

      tfus bench kernels --op cp_conv3d --size 96 --channels 32 --json
    """
    from rich.console import Console
    from rich.table import Table

    from tfus.workflows.bench.kernels_speed import OPS, KernelBenchConfig, run_kernel_bench

    cfg = KernelBenchConfig(size=size, channels=channels, dtype=dtype, rank=rank, frames=frames, repeats=repeats,
                            warmup=warmup, ops=tuple(op) if op else OPS)
    console = err_console()
    res = run_kernel_bench(cfg, say=console.log)
    if as_json:
        print_json(res)
        return
    bw = res["copy_bandwidth_gbs"]
    title = (f"tfus.kernels on {res['device']}, {res['dtype']}, median of {res['repeats']}; copy bandwidth "
             f"{bw:.0f} GB/s" + ("" if res["cuda"] else " — CPU, PyTorch paths only: NOT a speed claim (Triton's "
                                                       "CPU interpreter is not timed)"))
    table = Table("op", "impl", "layout", "fwd ms", "fwd+bwd ms", "fwd GB/s (% bw)", "fwd+bwd GB/s (% bw)",
                  "fwd TFLOP/s", "speed-up fwd", "speed-up fwd+bwd", "max rel diff", title=title)

    def fmt(value, spec, suffix=""):
        return "-" if value is None else format(value, spec) + suffix

    for o in res["ops"]:
        for r in o["rows"]:
            if "fwd_ms" not in r:
                table.add_row(o["op"], r["impl"], r["layout"], r.get("note", "not available"), *[""] * 7)
                continue
            table.add_row(o["op"], r["impl"], r["layout"], f"{r['fwd_ms']:.3f}", f"{r['fwd_bwd_ms']:.3f}",
                          f"{r['fwd_gbs']:.3g} ({r['fwd_pct_bandwidth']:.2g} %)",
                          f"{r['fwd_bwd_gbs']:.3g} ({r['fwd_bwd_pct_bandwidth']:.2g} %)", f"{r['fwd_tflops']:.3g}",
                          fmt(r["fwd_speedup"], ".2f", "x"), fmt(r["fwd_bwd_speedup"], ".2f", "x"),
                          f"{r['max_rel_diff']:.1e}")
    Console().print(table)
    for o in res["ops"]:
        shape = ", ".join(f"{k}={v}" for k, v in o["shape"].items())
        if o["speedup_fwd"] is None:
            why = "Triton path not available" if res["cuda"] else "no CUDA"
            Console().print(f"{o['op']} ({shape}): Triton / best PyTorch: not measured ({why})")
        else:
            Console().print(f"{o['op']} ({shape}): best Triton vs best PyTorch: fwd {o['speedup_fwd']:.2f}x, "
                            f"fwd+bwd {fmt(o['speedup_fwd_bwd'], '.2f')}x (> 1: Triton faster)")
