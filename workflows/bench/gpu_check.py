"""GPU check in one call: CuPy k-Wave, the Triton kernels and GPU prediction, each part time-boxed, one JSON.

``python -m tfus.workflows.bench.gpu_check --out gpu.json [--dry-run] [--budget-s 480]`` runs four independent parts
(:mod:`tfus.workflows.bench.gpu_parts`), each in its own child process with its own time box:

1. ``environment``: device, driver, CUDA, torch, Triton, CuPy and tfus's libraries, and which are missing;
2. ``kwave``: k-Wave's fast step on the GPU (CuPy) in ms/step at 128^3 and 256^3 total grid (with k-wave-python's own
   step and the FFT floor), and one demo-sized sample end to end on CPU and GPU with the fields' agreement;
3. ``kernels``: ``tfus bench kernels`` at its default GPU sizes, fp32 and bf16: Triton vs the best PyTorch path and %
   of the copy bandwidth, against >= 1.5x and >= 60 %;
4. ``predict``: the shipped beam-frame model vs its beam-box k-Wave run (issue 14's >= 1000x GPU target), untrained
   demo DeepTFUS and sep4d on the GPU vs the CPU, prediction vs the simulation on the GPU, and a short bf16 AMP
   training burst (steps/s, peak memory).

A part that raises, crashes or outlives its box is recorded (``status`` ``failed`` / ``timed_out`` with a one-line
``reason``, plus what it had measured so far under ``data`` with ``partial: true``) and the next one still runs; a
part that finds no time left in the total budget is ``skipped``. A timed-out part's process is killed (the driver
frees its memory). The check reads the device and never changes its
settings (no clocks, no MIG, no persistence mode; ``cudnn.benchmark`` is restored by the kernels bench). The result is
written atomically as one JSON file and printed as a compact table (:func:`render`).

``dry_run=True`` is the CPU rehearsal: tiny sizes, the same code paths, CUDA/CuPy/Triton legs recorded as ``skipped:
no CUDA ...``. The runner forks its children (the parent never initialises CUDA), so each part starts with the
imports already made.

On the device machine: ``workflows/bench/gpu_run.sh`` (wheels for the packages its image lacks come from
``workflows/bench/gpu_wheels.sh``).

Example:
    >>> GpuCheckConfig(dry_run=True).kwave_sizes
    (40,)
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.io.atomic import atomic_write_text

__all__ = ["PARTS", "GpuCheckConfig", "main", "render", "run_gpu_check"]

PARTS = ("environment", "kwave", "kernels", "predict")
#: Seconds per part on an H100/H200 (sum 470 <= the 480 s default budget).
PART_BUDGETS_S = {"environment": 30.0, "kwave": 200.0, "kernels": 120.0, "predict": 120.0}

_GPU = {"kwave_sizes": (128, 256), "kwave_steps": 20, "kwave_warmup": 3, "sample_spacing_mm": 4.0,
        "sample_frequency_hz": 170e3, "sample_kwave": {}, "kernel_size": None, "kernel_channels": None,
        "kernel_repeats": 20, "kernel_warmup": 5, "predict_spacing_mm": 3.0, "predict_frequency_hz": None,
        "predict_preset": "demo", "deeptfus_shape": (56, 64, 56), "sep4d_preset": "demo",
        "sep4d_shape": (44, 52, 44), "sep4d_frames": 16, "predict_repeats": 5, "train_steps": 20, "train_batch": 2}
_DRY = {"kwave_sizes": (40,), "kwave_steps": 5, "kwave_warmup": 1, "sample_spacing_mm": 8.0,
        "sample_frequency_hz": 75e3,
        "sample_kwave": {"pml_size": 8, "domain_crossings": 0.3, "ramp_periods": 0.5, "record_periods": 1},
        "kernel_size": 6, "kernel_channels": 2, "kernel_repeats": 2, "kernel_warmup": 1, "predict_spacing_mm": 16.0,
        "predict_frequency_hz": 40e3, "predict_preset": "tiny", "deeptfus_shape": (8, 8, 8), "sep4d_preset": "tiny",
        "sep4d_shape": (8, 8, 8), "sep4d_frames": 4, "predict_repeats": 1, "train_steps": 2, "train_batch": 1}


@dataclass(frozen=True)
class GpuCheckConfig:
    """What to run and how long each part may take. Sizes left None take the GPU defaults, or tiny ones with
    ``dry_run`` (the CPU rehearsal).

    Attributes:
        dry_run: CPU rehearsal sizes.
        budget_s: total wall time; a part gets at most what is left of it.
        part_budget_s: seconds per part (default :data:`PART_BUDGETS_S`); a float caps every part.
        parts: which of :data:`PARTS` to run, in order.
        kwave_sizes: total grid edges (PML included) timed by the k-Wave speed bench (each >= 34: a 16-point PML).
    """

    dry_run: bool = False
    budget_s: float = 480.0
    part_budget_s: float | Mapping[str, float] | None = None
    parts: tuple[str, ...] = PARTS
    kwave_sizes: tuple[int, ...] | None = None
    kwave_steps: int | None = None
    kwave_warmup: int | None = None
    sample_spacing_mm: float | None = None
    sample_frequency_hz: float | None = None
    sample_kwave: Mapping | None = None
    kernel_size: int | None = None
    kernel_channels: int | None = None
    kernel_repeats: int | None = None
    kernel_warmup: int | None = None
    kernel_dtypes: tuple[str, ...] = ("fp32", "bf16")
    predict_spacing_mm: float | None = None
    predict_frequency_hz: float | None = None
    predict_preset: str | None = None
    deeptfus_shape: tuple[int, ...] | None = None
    sep4d_preset: str | None = None
    sep4d_shape: tuple[int, ...] | None = None
    sep4d_frames: int | None = None
    predict_repeats: int | None = None
    train_steps: int | None = None
    train_batch: int | None = None
    budgets: dict = field(init=False, repr=False)

    def __post_init__(self) -> None:
        defaults = _DRY if self.dry_run else _GPU
        for key, value in defaults.items():
            if getattr(self, key) is None:
                object.__setattr__(self, key, value)
        unknown = [p for p in self.parts if p not in PARTS]
        if unknown or not self.parts:
            raise TfusInputError(f"unknown part(s) {', '.join(unknown) or 'none'}; use some of {', '.join(PARTS)}")
        if not self.budget_s > 0:
            raise TfusInputError(f"--budget-s {self.budget_s} must be > 0; use e.g. 480")
        caps = self.part_budget_s
        budgets = dict(PART_BUDGETS_S)
        if isinstance(caps, Mapping):
            budgets.update({k: float(v) for k, v in caps.items()})
        elif caps is not None:
            budgets = {k: min(v, float(caps)) for k, v in budgets.items()}
        if min(budgets.values()) <= 0:
            raise TfusInputError("part budgets must be > 0 seconds")
        object.__setattr__(self, "budgets", budgets)


def _one_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}".strip().rstrip(":")


def _plain(value):
    """JSON-ready copy: numpy scalars/arrays to Python numbers/lists, tuples to lists, non-finite floats to None."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return _plain(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _child(name: str, cfg: GpuCheckConfig, conn) -> None:
    """Body of a part's process: run it, sending ``("partial", data)`` after each finished step (kept if the part
    later fails or times out) and finally ``("ok", data)`` or ``("failed", reason, traceback)``."""
    from tfus.workflows.bench.gpu_parts import PART_FUNCTIONS

    try:
        data = PART_FUNCTIONS[name](cfg, lambda msg: print(f"  [{name}] {msg}", flush=True),
                                    lambda out: conn.send(("partial", _plain(out))))
        conn.send(("ok", _plain(data)))
    except BaseException as err:  # noqa: B036 - everything a part raises is its result, including SystemExit
        conn.send(("failed", _one_line(err), traceback.format_exc(limit=8)))
    finally:
        conn.close()


def _start_method() -> str:
    """``spawn``: a forked child cannot use CUDA once the parent has initialised it, nor the OpenMP thread pool of
    FFTW or PyTorch once the parent has used it (it would hang), and the parts are long enough that re-importing in
    each child costs little."""
    return "spawn"


def _run_part(name: str, cfg: GpuCheckConfig, box_s: float) -> dict:
    ctx = multiprocessing.get_context(_start_method())
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(name, cfg, send), name=f"tfus-gpu-check-{name}", daemon=True)
    t0 = time.perf_counter()
    proc.start()
    send.close()
    partial, final = None, None
    while final is None:
        left = box_s - (time.perf_counter() - t0)
        if left <= 0 or not recv.poll(left):
            break
        try:
            message = recv.recv()
        except EOFError:  # the process ended without a final word (killed, segfault, os._exit)
            break
        if message[0] == "partial":
            partial = message[1]
        else:
            final = message
    elapsed = time.perf_counter() - t0
    kept = {} if partial is None else {"data": partial, "partial": True}
    if final is None:
        proc.kill()
        proc.join(10)
        if proc.exitcode not in (None, -9):  # it died by itself: a crash, not a time-out
            return {"status": "failed", "reason": f"process died with exit code {proc.exitcode}",
                    "seconds": elapsed, **kept}
        return {"status": "timed_out", "reason": f"timed out after {box_s:.3g} s (its box)", "seconds": elapsed,
                **kept}
    proc.join(30)
    if final[0] == "ok":
        return {"status": "ok", "reason": None, "seconds": elapsed, "data": final[1]}
    return {"status": "failed", "reason": final[1], "seconds": elapsed, "traceback": final[2], **kept}


def _warm_imports() -> list[str]:
    """Import what the parts import (no CUDA initialised: torch, k-Wave, the benches), so forked parts start warm.
    Returns the one-line reasons of the imports that failed (a part that needs one then records its own failure)."""
    import importlib

    failed = []
    for module in ("torch", "tfus.workflows.bench.gpu_parts", "tfus.workflows.bench.kwave_speed",
                   "tfus.workflows.bench.kernels_speed", "tfus.workflows.bench.predict_speed",
                   "tfus.pipeline.engines.run", "tfus.surrogates.registry", "tfus.surrogates.networks.nets"):
        try:
            importlib.import_module(module)
        except Exception as err:  # recorded in the result; the parts report their own failure
            failed.append(f"{module}: {_one_line(err)}")
    try:
        from tfus.pipeline.kwave_compat import import_kwave

        import_kwave()
    except Exception as err:  # as above
        failed.append(f"kwave: {_one_line(err)}")
    return failed


def run_gpu_check(cfg: GpuCheckConfig, say: Callable[[str], None] = print) -> dict:
    """Run every part of ``cfg.parts`` in its own time-boxed process; return the whole record.

    Example:
        >>> result = run_gpu_check(GpuCheckConfig(dry_run=True, parts=("environment",)), say=lambda m: None)
        >>> result["parts"]["environment"]["status"]
        'ok'
    """
    t_start = time.perf_counter()
    started = datetime.now(UTC).isoformat(timespec="seconds")
    import_errors = _warm_imports()
    parts = {}
    for name in cfg.parts:
        left = cfg.budget_s - (time.perf_counter() - t_start)
        box = min(cfg.budgets[name], left)
        if left < min(1.0, cfg.budgets[name]):  # under a second left: not worth a process
            parts[name] = {"status": "skipped", "reason": "skipped: the total budget is spent", "seconds": 0.0}
            say(f"{name}: skipped (total budget spent)")
            continue
        say(f"{name}: running (box {box:.0f} s) ...")
        parts[name] = _run_part(name, cfg, box)
        say(f"{name}: {parts[name]['status']} in {parts[name]['seconds']:.1f} s"
            + (f" ({parts[name]['reason']})" if parts[name]["reason"] else ""))
    config = {f.name: getattr(cfg, f.name) for f in fields(cfg) if f.init}
    return _plain({"check": "tfus gpu check", "started_utc": started, "dry_run": cfg.dry_run,
                   "wall_s": time.perf_counter() - t_start, "budget_s": cfg.budget_s, "part_budgets_s": cfg.budgets,
                   "config": config, "import_errors": import_errors, "parts": parts})


def _fmt(value, digits: int = 3) -> str:
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return "-" if value is None else str(value)


def _part_lines(name: str, data: dict) -> list[str]:
    lines = []
    if name == "environment":
        lines.append(f"  device {data.get('device')}, driver {_fmt(data.get('driver'))}, "
                     f"CUDA {_fmt(data.get('torch_cuda'))}, torch {data.get('torch')}, "
                     f"Triton {_fmt(data.get('triton'))}, CuPy {_fmt(data.get('cupy'))}")
        lines.append(f"  missing: {', '.join(data.get('missing') or []) or 'none'}")
    elif name == "kwave":
        for grid, row in data.get("speed", {}).items():
            lines.append(f"  {grid} ({data['speed_device']}): fast step {_fmt(row['fast_ms_per_step'])} ms/step, "
                         f"{_fmt(row['fast_over_fft_floor'])}x FFT floor, {_fmt(row['speedup_vs_kwave_float32'])}x "
                         f"k-wave-python f32, diff {_fmt(row['max_rel_diff_vs_kwave_float64'])}")
        sample = data.get("sample", {})
        for dev, t in sample.get("timing", {}).items():
            lines.append(f"  sample {sample['grid']} {dev}: {_fmt(t['wall_s'])} s, {_fmt(t['ms_per_step'])} ms/step")
        lines += _measured_or_reason("GPU vs CPU", sample.get("agreement_gpu_vs_cpu"), lambda a: (
            f"max rel diff {_fmt(a['max_rel_diff_amplitude'])}, focal pressure {_fmt(a['focal_pressure_rel_diff'])}, "
            f"focus shift {_fmt(a['focus_shift_mm'])} mm"))
    elif name == "kernels":
        for dtype, run in data.get("runs", {}).items():
            lines.append(f"  {dtype}: copy bandwidth {_fmt(run['copy_bandwidth_gbs'])} GB/s")
            for op, s in run["ops"].items():
                if "speedup_fwd" in s:
                    lines.append(f"    {op}: {_fmt(s['speedup_fwd'])}x / {_fmt(s['speedup_fwd_bwd'])}x (fwd / fwd+bwd)"
                                 f", {_fmt(s['pct_bandwidth_fwd'])} / {_fmt(s['pct_bandwidth_fwd_bwd'])} % bw, err "
                                 f"{_fmt(s['max_rel_diff'])}, targets {'met' if s['meets_targets'] else 'NOT met'}")
                else:
                    lines.append(f"    {op}: pytorch {_fmt(s['best_pytorch_fwd_ms'])} ms fwd; triton {s['triton']}")
    elif name == "predict":
        pv = data.get("predict_vs_simulation", {})
        lines.append(f"  predict {_fmt(pv.get('predict_seconds_median'))} s ({pv.get('device')}) vs simulate "
                     f"{_fmt(pv.get('simulation_seconds'))} s ({pv.get('sim_device')}): {_fmt(pv.get('speedup'))}x")
        lines += _measured_or_reason("shipped model", data.get("shipped_vs_simulation"), lambda v: (
            f"{_fmt(v.get('predict_seconds_median'))} s ({v.get('device')}) vs its beam box "
            f"{_fmt(v.get('simulation_seconds'))} s ({v.get('sim_device')}): {_fmt(v.get('speedup'))}x"))
        for model, row in data.get("models_timed", {}).items():
            burst = row.get("train_burst", {})
            lines.append(f"  {model} ({row['preset']}): forward cpu {_fmt(row['forward_cpu_s'])} s, gpu "
                         f"{_fmt(row.get('forward_gpu_s'))}; train {_fmt(burst.get('steps_per_s'))} steps/s, peak "
                         f"{_fmt(burst.get('peak_memory_gib'))} GiB")
    return lines


def _measured_or_reason(label: str, value, describe: Callable[[dict], str]) -> list[str]:
    """One indented line: ``describe(value)`` for a measurement (a dict), the value itself for a skip reason."""
    if isinstance(value, dict):
        return [f"  {label}: {describe(value)}"]
    return [f"  {label}: {value}"] if value else []


def render(result: dict) -> str:
    """A compact text table of a :func:`run_gpu_check` record (one block per part).

    Example:
        >>> render({"dry_run": True, "wall_s": 1.0, "budget_s": 9.0, "parts": {}}).splitlines()[0]
        'tfus GPU check (dry run): 1.0 s of 9 s'
    """
    head = f"tfus GPU check{' (dry run)' if result.get('dry_run') else ''}: {result['wall_s']:.1f} s of " \
           f"{result['budget_s']:g} s"
    lines = [head]
    for name, part in result["parts"].items():
        lines.append(f"{name:<12} {part['status']:<9} {part['seconds']:6.1f} s  {part.get('reason') or ''}".rstrip())
        if "data" in part:
            lines += _part_lines(name, part["data"])
    return "\n".join(lines)


def write_result(result: dict, out: str | Path) -> Path:
    """Write the record as JSON, atomically (temp file then rename)."""
    atomic_write_text(out, json.dumps(result, indent=1, allow_nan=False) + "\n")
    return Path(out)


def main(argv: list[str] | None = None) -> int:
    """``python -m tfus.workflows.bench.gpu_check --out gpu.json [--dry-run] [--budget-s 480] [--parts a,b]``."""
    parser = argparse.ArgumentParser(prog="python -m tfus.workflows.bench.gpu_check",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="JSON file to write (atomically)")
    parser.add_argument("--dry-run", action="store_true", help="CPU rehearsal: tiny sizes, CUDA legs skipped")
    parser.add_argument("--budget-s", type=float, default=480.0, help="total wall-time budget in seconds")
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated subset of {','.join(PARTS)}")
    args = parser.parse_args(argv)
    try:
        cfg = GpuCheckConfig(dry_run=args.dry_run, budget_s=args.budget_s,
                             parts=tuple(p.strip() for p in args.parts.split(",") if p.strip()))
        if Path(args.out).is_dir():
            raise TfusInputError(f"--out {args.out} is a folder; give a file name such as gpu.json")
    except TfusInputError as err:
        print(f"error: {err}")
        return 2
    result = run_gpu_check(cfg)
    write_result(result, args.out)
    print(render(result))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
