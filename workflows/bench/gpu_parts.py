"""The four measurements of :mod:`tfus.workflows.bench.gpu_check`, each a function ``part(cfg, say) -> dict``.

Each runs in its own child process (the runner time-boxes and isolates it) and reuses the benchmarks it measures:

* :func:`environment`: device, driver, CUDA, torch, Triton, CuPy and tfus's libraries (which are missing);
* :func:`kwave`: :func:`tfus.workflows.bench.kwave_speed.run_speed_bench` (ms/step, FFT floor) per total grid on the
  GPU, and one demo-sized sample end to end through :func:`tfus.pipeline.engines.run.run_simulation` (which calls
  :func:`~tfus.pipeline.engines.kwave.engine.simulate_kwave` with ``KWaveConfig(device=...)``) on CPU and GPU, with the
  fields' agreement;
* :func:`kernels`: :func:`tfus.workflows.bench.kernels_speed.run_kernel_bench` per dtype, summarised against the
  targets (>= 1.5x the best PyTorch path, >= 60 % of the copy bandwidth);
* :func:`predict`: :func:`tfus.workflows.bench.predict_speed.run_predict_bench` (untrained demo DeepTFUS on the device
  vs the simulation on the device), the forward time of untrained DeepTFUS and sep4d models (built through
  :func:`tfus.surrogates.registry.build_model`) on the device vs the CPU, and a short AMP training burst.

A leg that needs CUDA or CuPy where there is none is recorded as ``"skipped: no CUDA ..."`` with the reason; the CPU
legs still run (the CPU rehearsal, ``dry_run``, takes the same paths on tiny sizes).

Example:
    >>> sorted(PART_FUNCTIONS)
    ['environment', 'kernels', 'kwave', 'predict']
"""

from __future__ import annotations

import importlib
import importlib.metadata as metadata
import platform
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

__all__ = ["PART_FUNCTIONS", "compare_fields", "cuda_reason", "cupy_reason"]

SPEEDUP_TARGET = 1.5
BANDWIDTH_TARGET_PCT = 60.0


def cuda_reason() -> str | None:
    """None when torch sees a CUDA device, else why not (one line)."""
    try:
        import torch
    except ImportError as err:
        return f"torch is not importable ({err})"
    if not torch.cuda.is_available():
        return f"no CUDA: torch {torch.__version__} sees no CUDA device"
    return None


def cupy_reason() -> str | None:
    """None when CuPy imports and sees a device, else why not (one line)."""
    try:
        import cupy
    except ImportError as err:
        return f"no CUDA: CuPy is not importable ({str(err).splitlines()[0]})"
    try:
        if cupy.cuda.runtime.getDeviceCount() == 0:
            return "no CUDA: CuPy sees no device"
    except Exception as err:  # CUDARuntimeError without a driver: report, do not crash the part
        return f"no CUDA: CuPy cannot reach a device ({type(err).__name__}: {str(err).splitlines()[0]})"
    return None


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def environment(cfg, say: Callable[[str], None], keep: Callable[[dict], None]) -> dict:
    """Versions of the device stack and of tfus's libraries; ``missing`` lists what is absent."""
    import torch

    from tfus.pipeline.version import versions

    out: dict = {"python": platform.python_version(), "machine": platform.machine(), "torch": torch.__version__,
                 "torch_cuda": torch.version.cuda, "cuda_available": torch.cuda.is_available()}
    missing = []
    if out["cuda_available"]:
        props = torch.cuda.get_device_properties(0)
        out.update(device=props.name, capability=f"{props.major}.{props.minor}", memory_gib=props.total_memory / 2**30,
                   multiprocessors=props.multi_processor_count, device_count=torch.cuda.device_count())
    else:
        out["device"] = f"CPU ({platform.processor() or platform.machine()})"
        missing.append("CUDA device")
    if shutil.which("nvidia-smi"):
        smi = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20, check=False)
        out["nvidia_smi"] = smi.stdout.strip() or smi.stderr.strip()
        if smi.returncode == 0 and smi.stdout.strip():
            out["driver"] = smi.stdout.split(",")[1].strip()
    for name in ("triton", "cupy"):
        try:
            module = importlib.import_module(name)
            out[name] = getattr(module, "__version__", "?")
        except ImportError as err:
            out[name] = None
            missing.append(f"{name} ({str(err).splitlines()[0]})")
    if out["cupy"] is not None:
        reason = cupy_reason()
        if reason is None:
            import cupy

            out["cupy_cuda_runtime"] = cupy.cuda.runtime.runtimeGetVersion()
            out["cupy_cuda_driver"] = cupy.cuda.runtime.driverGetVersion()
        else:
            out["cupy_note"] = reason
    out["libraries"] = versions()
    missing += [f"{k} (not installed)" for k, v in out["libraries"].items() if v == "not installed"]
    out["missing"] = missing
    say(f"environment: {out['device']}, torch {out['torch']}, missing: {', '.join(missing) or 'none'}")
    return out


def compare_fields(reference: np.ndarray, other: np.ndarray, spacing_mm: float) -> dict:
    """Agreement of two steady-state amplitude fields on one grid: max |difference| over the reference's peak,
    relative difference of the peak (focal) pressure, and the distance between the two peaks in mm.

    Example:
        >>> a = np.zeros((4, 4, 4)); a[1, 2, 3] = 2.0
        >>> compare_fields(a, a, 1.0)["focus_shift_mm"]
        0.0
    """
    ref, oth = np.asarray(reference, np.float64), np.asarray(other, np.float64)
    peak_ref, peak_oth = float(ref.max()), float(oth.max())
    i_ref = np.array(np.unravel_index(int(np.argmax(ref)), ref.shape))
    i_oth = np.array(np.unravel_index(int(np.argmax(oth)), oth.shape))
    return {"max_rel_diff_amplitude": float(np.abs(ref - oth).max() / max(abs(peak_ref), 1e-30)),
            "focal_pressure_pa": [peak_ref, peak_oth],
            "focal_pressure_rel_diff": abs(peak_oth - peak_ref) / max(abs(peak_ref), 1e-30),
            "focus_shift_mm": float(np.linalg.norm(i_ref - i_oth) * spacing_mm)}


def _sample(cfg):
    """(head on its grid, bowl, pose) of the end-to-end sample: the synthetic phantom, the demo's bowl."""
    from tfus.pipeline.head.phantom import ellipsoid_head
    from tfus.pipeline.transducers import brain_centroid, load_transducer, sample_poses

    head = ellipsoid_head(spacing_mm=cfg.sample_spacing_mm)
    bowl = replace(load_transducer("neurofus-ctx250"), frequency_hz=cfg.sample_frequency_hz)
    pose = sample_poses(head, bowl, 1, target=brain_centroid(head.labels, head.affine), seed=0)[0].pose
    return head, bowl, pose


def kwave(cfg, say: Callable[[str], None], keep: Callable[[dict], None]) -> dict:
    """k-Wave fast step per total grid on the GPU (CPU in the rehearsal) and one sample on CPU and GPU."""
    from tfus.pipeline.errors import TfusInputError

    small = [n for n in cfg.kwave_sizes if n < 40]
    if small:
        raise TfusInputError(f"k-Wave speed grid {small[0]}^3 is too small for its 16-point PML; use >= 40")
    gpu_missing = cupy_reason()
    device = "gpu" if gpu_missing is None else "cpu"
    out: dict = {"speed_device": device, "speed": {}}
    if gpu_missing:
        out["gpu"] = f"skipped: {gpu_missing}"
    sizes = sorted(cfg.kwave_sizes)
    _kwave_speed(cfg, sizes[:1], device, out, say, keep)  # the smallest grid, the sample, then the larger grids:
    _kwave_sample(cfg, gpu_missing, out, say, keep)       # a time-out in the largest keeps the rest (``keep``)
    _kwave_speed(cfg, sizes[1:], device, out, say, keep)
    return out


def _kwave_speed(cfg, sizes, device: str, out: dict, say, keep) -> None:
    from tfus.workflows.bench.kwave_speed import FFT_ROWS, SpeedConfig, run_speed_bench

    for n in sizes:
        say(f"k-Wave speed, {n}^3 total grid, {device} ...")
        res = run_speed_bench(SpeedConfig(n=n, steps=cfg.kwave_steps, warmup=cfg.kwave_warmup, device=device),
                              say=lambda _msg: None)
        rows = {k: 1e3 * v for k, v in res["seconds_per_step"].items()}
        fast = rows[FFT_ROWS[res["fft_backend"]]]
        out["speed"][f"{n}^3"] = {"ms_per_step": rows, "fast_ms_per_step": fast,
                                  "fast_over_fft_floor": res["fast_over_fft_floor"],
                                  "speedup_vs_kwave_float32": res["speedup_vs_kwave_float32"],
                                  "max_rel_diff_vs_kwave_float64": res["max_rel_diff_vs_kwave_float64"]}
        keep(out)


def _kwave_sample(cfg, gpu_missing: str | None, out: dict, say, keep) -> None:
    """One demo-sized sample end to end (``run_simulation`` -> ``simulate_kwave``) on CPU and GPU, and agreement."""
    from tfus.pipeline.engines.kwave.config import KWaveConfig
    from tfus.pipeline.engines.run import SimulationRequest, run_simulation

    head, bowl, pose = _sample(cfg)
    kw = KWaveConfig(**cfg.sample_kwave)
    fields, timing = {}, {}
    out["sample"] = {"grid": list(head.shape), "spacing_mm": cfg.sample_spacing_mm, "frequency_hz": bowl.frequency_hz,
                     "timing": timing}
    for dev in ("cpu", "gpu"):
        if dev == "gpu" and gpu_missing:
            continue
        say(f"k-Wave sample {list(head.shape)} at {cfg.sample_spacing_mm:g} mm, {dev} ...")
        t0 = time.perf_counter()
        result = run_simulation(SimulationRequest(transducer=bowl, pose=pose, head=head, device=dev, kwave=kw))
        meta = result.field.meta
        timing[dev] = {"wall_s": time.perf_counter() - t0, "steps": meta["steps"], "ms_per_step": meta["ms_per_step"]}
        fields[dev] = result.field.amplitude
        keep(out)
    if "gpu" in fields:
        out["sample"]["agreement_gpu_vs_cpu"] = compare_fields(fields["cpu"], fields["gpu"], cfg.sample_spacing_mm)
        out["sample"]["speedup_gpu_vs_cpu"] = timing["cpu"]["wall_s"] / timing["gpu"]["wall_s"]
    else:
        out["sample"]["agreement_gpu_vs_cpu"] = f"skipped: {gpu_missing}"
    keep(out)


def kernels(cfg, say: Callable[[str], None], keep: Callable[[dict], None]) -> dict:
    """``tfus bench kernels`` per dtype with the ratios and bandwidth shares against the targets."""
    from tfus.workflows.bench.kernels_speed import KernelBenchConfig, run_kernel_bench

    missing = cuda_reason()
    out: dict = {"targets": {"speedup": SPEEDUP_TARGET, "pct_copy_bandwidth": BANDWIDTH_TARGET_PCT}, "runs": {}}
    if missing:
        out["triton"] = f"skipped: {missing}"
    for dtype in cfg.kernel_dtypes:
        say(f"kernels bench, {dtype} ...")
        res = run_kernel_bench(KernelBenchConfig(dtype=dtype, size=cfg.kernel_size, channels=cfg.kernel_channels,
                                                 repeats=cfg.kernel_repeats, warmup=cfg.kernel_warmup),
                               say=lambda _msg: None)
        ops = {}
        for op in res["ops"]:
            triton_rows = [r for r in op["rows"] if r["impl"] == "triton"]
            timed = [r for r in triton_rows if "fwd_ms" in r]
            summary = {"best_pytorch_fwd_ms": op["best_pytorch_fwd_ms"],
                       "best_pytorch_fwd_bwd_ms": op["best_pytorch_fwd_bwd_ms"]}
            if not timed:
                notes = "; ".join(r.get("note", "") for r in triton_rows)
                summary["triton"] = f"skipped: {missing}" if missing else f"failed: {notes}"
            else:
                best = min(timed, key=lambda r: r["fwd_ms"])
                summary.update(speedup_fwd=op["speedup_fwd"], speedup_fwd_bwd=op["speedup_fwd_bwd"],
                               pct_bandwidth_fwd=max(r["fwd_pct_bandwidth"] for r in timed),
                               pct_bandwidth_fwd_bwd=max(r["fwd_bwd_pct_bandwidth"] for r in timed),
                               max_rel_diff=max(r["max_rel_diff"] for r in timed), layout=best["layout"])
                summary["meets_targets"] = bool(
                    min(summary["speedup_fwd"] or 0.0, summary["speedup_fwd_bwd"] or 0.0) >= SPEEDUP_TARGET
                    and min(summary["pct_bandwidth_fwd"], summary["pct_bandwidth_fwd_bwd"]) >= BANDWIDTH_TARGET_PCT)
            ops[op["op"]] = summary
        out["runs"][dtype] = {"device": res["device"], "copy_bandwidth_gbs": res["copy_bandwidth_gbs"], "ops": ops,
                              "raw": res["ops"]}
        keep(out)
    return out


def _model_inputs(name: str, model, shape: tuple[int, ...], frames: int, batch: int, device, gen):
    """Random inputs of the model's input shape (DeepTFUS: CT + surface points; sep4d: CT, geometry, wave)."""
    import torch

    cfg = model.config

    def rand(*s):
        return torch.rand(*s, generator=gen).to(device)

    if name == "deeptfus":
        return (rand(batch, cfg.input_channels, *shape), rand(batch, min(cfg.n_points, 512), 3) * 2 - 1)
    return (rand(batch, 1, *shape), rand(batch, cfg.geometry_channels, *shape),
            rand(batch, cfg.wave_channels, frames, *shape))


def _time_forward(model, inputs, repeats: int, cuda: bool) -> float:
    """Median seconds of one no-grad forward pass (after one warm-up)."""
    import torch

    times = []
    with torch.no_grad():
        for i in range(repeats + 1):
            if cuda:
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            model(*inputs)
            if cuda:
                torch.cuda.synchronize()
            if i:
                times.append(time.perf_counter() - t0)
    return float(np.median(times))


def _train_burst(name: str, model, shape, frames, cfg, device, cuda: bool, gen) -> dict:
    """``cfg.train_steps`` optimizer steps on random data (bf16 autocast on CUDA): steps/s and peak memory."""
    import contextlib

    import torch

    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    inputs = _model_inputs(name, model, shape, frames, cfg.train_batch, device, gen)
    target = None
    amp = torch.autocast(device_type="cuda", dtype=torch.bfloat16) if cuda else contextlib.nullcontext()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    warmup, t0 = 2, None
    for step in range(warmup + cfg.train_steps):
        if step == warmup:
            if cuda:
                torch.cuda.synchronize()
            t0 = time.perf_counter()
        with amp:
            field = model(*inputs)[0]
        if target is None:
            target = torch.rand(field.shape, generator=gen).to(device)
        loss = torch.nn.functional.mse_loss(field.float(), target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    if cuda:
        torch.cuda.synchronize()
    seconds = time.perf_counter() - t0
    out = {"steps": cfg.train_steps, "batch": cfg.train_batch, "steps_per_s": cfg.train_steps / seconds,
           "amp": "bf16 autocast" if cuda else "off (CPU: the training loop autocasts on CUDA only)",
           "final_loss": float(loss.detach())}
    out["peak_memory_gib"] = torch.cuda.max_memory_allocated() / 2**30 if cuda else None
    if not np.isfinite(out["final_loss"]):
        raise FloatingPointError(f"{name} training burst: non-finite loss")
    return out


def predict(cfg, say: Callable[[str], None], keep: Callable[[dict], None]) -> dict:
    """Prediction vs simulation on the device, model forward on device vs CPU, and the AMP training burst."""
    import torch

    from tfus.surrogates.registry import build_model
    from tfus.workflows.bench.predict_speed import PredictBenchConfig, run_predict_bench

    missing = cuda_reason()
    cuda = missing is None
    sim_device = "gpu" if cupy_reason() is None else "cpu"
    device = torch.device("cuda" if cuda else "cpu")
    out: dict = {"device": str(device), "models": "untrained (built through tfus.surrogates.registry.build_model; "
                 "timings do not depend on the weights)"}
    if missing:
        out["gpu"] = f"skipped: {missing}"
    keys = ("grid", "spacing_mm", "model", "model_note", "parameters", "device", "sim_device", "simulation_seconds",
            "simulation_ms_per_step", "predict_seconds_median", "speedup")
    # first the shipped beam-frame model (issue 14's GPU target: >= 1000x its beam-box k-Wave run), on a phantom head
    from tfus.pipeline.errors import TfusInputError
    from tfus.pipeline.transducers.bowl import load_transducer
    from tfus.surrogates.shipped import shipped_model_for

    say(f"prediction vs simulation (the shipped neurofus-ctx250 model, {device} / k-Wave {sim_device}) ...")
    try:
        if getattr(cfg, "dry_run", False):  # its beam box has one size, the full one: not a rehearsal's
            raise TfusInputError("dry run (the shipped model's beam box is full size; `tfus bench predict` tests "
                                 "that path)")
        shipped = shipped_model_for(load_transducer("neurofus-ctx250"))
        res = run_predict_bench(PredictBenchConfig(run=str(shipped.checkpoint), device=str(device),
                                                   sim_device=sim_device, repeats=cfg.predict_repeats, warmup=1),
                                say=lambda _msg: None)
        out["shipped_vs_simulation"] = {k: res[k] for k in keys}
    except TfusInputError as err:
        out["shipped_vs_simulation"] = f"skipped: {err}"
    keep(out)
    say(f"prediction vs simulation (DeepTFUS {cfg.predict_preset}, {device} / k-Wave {sim_device}) ...")
    res = run_predict_bench(PredictBenchConfig(device=str(device), sim_device=sim_device,
                                               spacing_mm=cfg.predict_spacing_mm,
                                               frequency_hz=cfg.predict_frequency_hz, repeats=cfg.predict_repeats,
                                               warmup=1), say=lambda _msg: None)
    out["predict_vs_simulation"] = {k: res[k] for k in keys}
    keep(out)
    gen = torch.Generator().manual_seed(0)
    out["models_timed"] = {}
    for name, preset, shape, frames in (("deeptfus", cfg.predict_preset, cfg.deeptfus_shape, 0),
                                        ("sep4d", cfg.sep4d_preset, cfg.sep4d_shape, cfg.sep4d_frames)):
        say(f"{name} ({preset}) forward, {device} vs cpu, and a training burst ...")
        torch.manual_seed(0)
        model = build_model(name, {"preset": preset}).eval()
        row: dict = {"preset": preset, "input_shape": list(shape), "frames": frames or None,
                     "parameters": sum(p.numel() for p in model.parameters())}
        inputs = _model_inputs(name, model, shape, frames, 1, "cpu", gen)
        row["forward_cpu_s"] = _time_forward(model, inputs, cfg.predict_repeats, cuda=False)
        if cuda:
            model = model.to(device)
            row["forward_gpu_s"] = _time_forward(model, [x.to(device) for x in inputs], cfg.predict_repeats, True)
            row["speedup_gpu_vs_cpu"] = row["forward_cpu_s"] / row["forward_gpu_s"]
        else:
            row["forward_gpu_s"] = f"skipped: {missing}"
        out["models_timed"][name] = row
        keep(out)
        row["train_burst"] = _train_burst(name, model, shape, frames, cfg, device, cuda, gen)
        out["models_timed"][name] = row
        keep(out)
        del model
        if cuda:
            torch.cuda.empty_cache()
    return out


PART_FUNCTIONS: dict[str, Callable] = {"environment": environment, "kwave": kwave, "kernels": kernels,
                                       "predict": predict}
