"""``tfus bench kernels``: each :mod:`tfus.kernels` operator, Triton vs the best PyTorch path for the same op, same run.

Operators and their PyTorch paths (each timed in every layout it has; the fastest is the baseline):

* ``depthwise_conv3d``: ``F.conv3d(groups=C)``, contiguous and ``channels_last_3d`` (cuDNN takes only the latter);
* ``cp_conv3d``: the reference (dense weight rebuilt from the factors + ``F.conv3d``/cuDNN), both layouts;
* ``sep4d_conv``: the reference (three ``F.conv3d`` calls on reshaped views, summed).

The Triton path is the public function with ``TFUS_KERNELS=triton`` (the same call a model makes), the PyTorch one the
same function with ``TFUS_KERNELS=reference``; a Triton operator that has not landed yet gives a 'not available' row.
Times: median over ``repeats`` of CUDA-event-timed calls after ``warmup`` calls (``cudnn.benchmark`` on, default TF32
settings); forward alone, and forward + backward (``autograd.grad`` wrt input, weights and bias).

GB/s counts the bytes the op cannot avoid: forward = input + output + parameters; backward = grad_out + input + grad_in
+ parameters + their gradients (fwd+bwd = the sum). % of bandwidth is against a device-to-device copy of a large
tensor measured in the same run. TFLOP/s counts the dense-equivalent multiply-adds (x2). Without CUDA only the PyTorch
paths run, on small CPU sizes: Triton's CPU interpreter is a correctness tool, never timed.

Example:
    >>> KernelBenchConfig().dtype
    'fp32'
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from tfus.pipeline.errors import TfusInputError

__all__ = ["KernelBenchConfig", "render_kernels", "run_kernel_bench"]

OPS = ("depthwise_conv3d", "cp_conv3d", "sep4d_conv")


@dataclass(frozen=True)
class KernelBenchConfig:
    size: int | None = None  # edge of the 3D volumes [GPU 64, CPU 12]; sep4d uses size // 2 per spatial axis
    channels: int | None = None  # channels of the 3D ops [GPU 32, CPU 4]; sep4d uses channels // 2
    dtype: str = "fp32"
    rank: int = 2  # CP rank
    frames: int = 8  # sep4d time frames
    repeats: int = 20
    warmup: int = 5
    ops: tuple[str, ...] = OPS

    def __post_init__(self) -> None:
        if self.dtype not in ("fp32", "bf16"):
            raise TfusInputError(f"--dtype {self.dtype!r} is not supported; use fp32 or bf16")
        for name in ("size", "channels"):
            value = getattr(self, name)
            if value is not None and value < 2:
                raise TfusInputError(f"--{name} must be >= 2, got {value}")
        if self.rank < 1 or self.frames < 1 or self.repeats < 1 or self.warmup < 0:
            raise TfusInputError("--rank, --frames and --repeats must be >= 1, --warmup >= 0")
        unknown = set(self.ops) - set(OPS)
        if unknown or not self.ops:
            raise TfusInputError(f"--op must be among {', '.join(OPS)}, got {', '.join(sorted(unknown)) or 'none'}")


def _timer(cuda: bool, repeats: int, warmup: int) -> Callable[[Callable[[], object]], float]:
    """Median milliseconds of ``fn()``: CUDA events on a GPU, ``perf_counter`` on CPU."""
    import torch

    def measure(fn: Callable[[], object]) -> float:
        for _ in range(warmup):
            fn()
        times = []
        for _ in range(repeats):
            if cuda:
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                fn()
                end.record()
                end.synchronize()
                times.append(start.elapsed_time(end))
            else:
                t0 = time.perf_counter()
                fn()
                times.append(1e3 * (time.perf_counter() - t0))
        return statistics.median(times)

    return measure


def copy_bandwidth_gbs(device, cuda: bool) -> float:
    """Device copy bandwidth (GB/s, read + write) of a large tensor: the roofline of the GB/s columns."""
    import torch

    src = torch.empty(2**27 if cuda else 2**24, dtype=torch.float32, device=device).normal_()
    dst = torch.empty_like(src)
    ms = _timer(cuda, repeats=10, warmup=3)(lambda: dst.copy_(src))
    return 2 * src.numel() * src.element_size() / (ms * 1e-3) / 1e9


class _Backend:
    """``with _Backend("triton"):`` forces ``TFUS_KERNELS`` for the public operators, restoring it afterwards."""

    def __init__(self, name: str) -> None:
        self.name, self.saved = name, None

    def __enter__(self) -> None:
        self.saved = os.environ.get("TFUS_KERNELS")
        os.environ["TFUS_KERNELS"] = self.name

    def __exit__(self, *exc) -> None:
        if self.saved is None:
            os.environ.pop("TFUS_KERNELS", None)
        else:
            os.environ["TFUS_KERNELS"] = self.saved


def _problem(op: str, cfg: KernelBenchConfig, cuda: bool, device, dtype):
    """(call, x, params, shape description, dense-equivalent MACs, layouts) of one operator."""
    import torch

    import tfus.kernels as K

    size = cfg.size or (64 if cuda else 12)
    chans = cfg.channels or (32 if cuda else 4)
    gen = torch.Generator().manual_seed(0)

    def rand(*shape, scale=1.0):
        return (scale * torch.randn(*shape, generator=gen)).to(device, dtype)

    if op == "depthwise_conv3d":
        x = rand(2, chans, size, size, size)
        params = [rand(chans, 1, 3, 3, 3, scale=27**-0.5), rand(chans)]
        return K.depthwise_conv3d, x, params, {"B": 2, "C": chans, "D=H=W": size, "k": 3}, x.numel() * 27, True
    if op == "cp_conv3d":
        x = rand(2, chans, size, size, size)
        scale = (chans * 27) ** (-1 / 6) / cfg.rank ** (1 / 3)
        params = [rand(cfg.rank, chans, chans, 3, scale=scale) for _ in range(3)] + [rand(chans)]
        return (K.cp_conv3d, x, params, {"B": 2, "Cin=Cout": chans, "D=H=W": size, "k": 3, "rank": cfg.rank},
                x.numel() * chans * 27, True)
    c4, s4 = max(1, chans // 2), max(2, size // 2)
    x = rand(1, c4, cfg.frames, s4, s4, s4)
    params = [rand(c4, c4, 3, 3, scale=(15 * c4) ** -0.5), rand(c4, c4, 3, scale=(15 * c4) ** -0.5),
              rand(c4, c4, 3, scale=(15 * c4) ** -0.5), rand(c4)]
    return (K.sep4d_conv, x, params, {"B": 1, "Cin=Cout": c4, "T": cfg.frames, "Z=Y=X": s4, "k": 3},
            x.numel() * c4 * 15, False)


def _bench_op(op: str, cfg: KernelBenchConfig, cuda: bool, device, dtype, measure, bandwidth: float) -> dict:
    import torch

    call, x, params, shape, macs, has_channels_last = _problem(op, cfg, cuda, device, dtype)
    param_bytes = sum(p.numel() * p.element_size() for p in params)
    x_bytes = x.numel() * x.element_size()
    layouts = ["contiguous", "channels_last_3d"] if has_channels_last else ["contiguous"]
    backends = ["reference", "triton"] if cuda else ["reference"]
    rows, reference_out = [], None
    for backend in backends:
        for layout in layouts:
            xl = x.to(memory_format=torch.channels_last_3d) if layout == "channels_last_3d" else x
            row = {"impl": "triton" if backend == "triton" else "pytorch", "layout": layout, "available": True}
            rows.append(row)
            with _Backend(backend):
                try:
                    out = call(xl, *params)
                except (NotImplementedError, ImportError) as err:
                    row.update(available=False, note=f"not available: {err}")
                    continue
                except Exception as err:  # a kernel that fails to compile or run: report it, keep benchmarking
                    row.update(available=False, note=f"failed: {type(err).__name__}: {str(err).splitlines()[0]}")
                    continue
                out_bytes = out.numel() * out.element_size()
                if reference_out is None:
                    reference_out = out.float()
                row["max_rel_diff"] = float((out.float() - reference_out).abs().max()
                                            / reference_out.abs().max().clamp_min(1e-30))
                row["fwd_ms"] = measure(lambda xl=xl: call(xl, *params))
                xg = xl.detach().requires_grad_()
                pg = [p.detach().requires_grad_() for p in params]
                grad = torch.randn_like(out)

                def fwd_bwd(xg=xg, pg=pg, grad=grad):
                    torch.autograd.grad(call(xg, *pg), [xg, *pg], grad)

                row["fwd_bwd_ms"] = measure(fwd_bwd)
            fwd_bytes = x_bytes + out_bytes + param_bytes
            both_bytes = fwd_bytes + (out_bytes + 2 * x_bytes + 2 * param_bytes)
            for key, ms, nbytes, flops in (("fwd", row["fwd_ms"], fwd_bytes, 2 * macs),
                                           ("fwd_bwd", row["fwd_bwd_ms"], both_bytes, 6 * macs)):
                row[f"{key}_gbs"] = nbytes / (ms * 1e-3) / 1e9
                row[f"{key}_pct_bandwidth"] = 100 * row[f"{key}_gbs"] / bandwidth
                row[f"{key}_tflops"] = flops / (ms * 1e-3) / 1e12
    if not cuda:
        rows.append({"impl": "triton", "layout": "-", "available": False,
                     "note": "not timed: no CUDA"})
    done = [r for r in rows if "fwd_ms" in r]
    result = {"op": op, "shape": shape, "rows": rows}
    for key in ("fwd", "fwd_bwd"):
        best_torch = min((r[f"{key}_ms"] for r in done if r["impl"] == "pytorch"), default=None)
        best_triton = min((r[f"{key}_ms"] for r in done if r["impl"] == "triton"), default=None)
        for r in done:
            r[f"{key}_speedup"] = best_torch / r[f"{key}_ms"] if best_torch else None
        result[f"best_pytorch_{key}_ms"] = best_torch
        result[f"best_triton_{key}_ms"] = best_triton
        result[f"speedup_{key}"] = best_torch / best_triton if best_torch and best_triton else None
    return result


def run_kernel_bench(cfg: KernelBenchConfig, say: Callable[[str], None] = print) -> dict:
    """Time every operator of ``cfg.ops``; return the rows, the ratios and the device's copy bandwidth."""
    import platform

    import torch

    from tfus.pipeline.version import versions

    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    dtype = torch.float32 if cfg.dtype == "fp32" else torch.bfloat16
    measure = _timer(cuda, cfg.repeats, cfg.warmup)
    say("measuring the device's copy bandwidth ...")
    bandwidth = copy_bandwidth_gbs(device, cuda)
    benchmark = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = True
    try:
        ops = []
        for op in cfg.ops:
            say(f"timing {op} ...")
            ops.append(_bench_op(op, cfg, cuda, device, dtype, measure, bandwidth))
    finally:
        torch.backends.cudnn.benchmark = benchmark
    name = torch.cuda.get_device_name(device) if cuda else f"CPU {platform.processor() or platform.machine()}"
    note = ("CUDA events, median of repeats" if cuda else
            "no CUDA: PyTorch reference paths only, on small CPU sizes; Triton's CPU interpreter is not timed and "
            "these timings are not a speed claim")
    return {"device": name, "cuda": cuda, "dtype": cfg.dtype, "repeats": cfg.repeats, "warmup": cfg.warmup,
            "copy_bandwidth_gbs": bandwidth, "tf32": bool(torch.backends.cudnn.allow_tf32), "cudnn_benchmark": True,
            "note": note, "ops": ops, "versions": versions()}


def render_kernels(res: dict) -> list:
    """The results of :func:`run_kernel_bench` as rich renderables: one table of every path, then one line per op.

    Example:
        >>> for item in render_kernels(run_kernel_bench(KernelBenchConfig())):  # doctest: +SKIP
        ...     Console().print(item)
    """
    from rich.table import Table

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
    items: list = [table]
    for o in res["ops"]:
        shape = ", ".join(f"{k}={v}" for k, v in o["shape"].items())
        if o["speedup_fwd"] is None:
            why = "Triton path not available" if res["cuda"] else "no CUDA"
            items.append(f"{o['op']} ({shape}): Triton / best PyTorch: not measured ({why})")
        else:
            items.append(f"{o['op']} ({shape}): best Triton vs best PyTorch: fwd {o['speedup_fwd']:.2f}x, "
                         f"fwd+bwd {fmt(o['speedup_fwd_bwd'], '.2f')}x (> 1: Triton faster)")
    return items
