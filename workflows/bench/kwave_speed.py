"""k-Wave step time: tfus's fast step vs plain k-wave-python (NumPy backend) and vs the FFT floor.

The problem is a 3D heterogeneous medium (water with a skull-like shell, Stokes absorption) and a focused bowl sized to
the domain (1 mm grid, 4 points per wavelength in water), on a total grid of ``n``^3 points (PML included). Both
solvers start from the same inputs; the fields after the timed steps must agree to 1e-4 (relative to the peak). The
FFT floor is the time of exactly the real FFTs one fast step
performs (4 forward + 6 inverse for gradient and divergence; the source's k-space correction is applied once at setup),
measured on arrays of the same size with the same backend, one array per transform.

With a user-supplied k-Wave C++ binary (``binary``), the same prepared problem also runs through it
(:mod:`tfus.pipeline.engines.kwave.cpp`) for the same number of steps (``--benchmark``); its row is the binary's own
time-loop time per step (file loading and FFT planning excluded), and its final pressure is compared with the fast
step's. That binary is not tfus code.

Example:
    >>> from tfus.workflows.bench.kwave_speed import SpeedConfig
    >>> SpeedConfig().n
    128
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np


@dataclass(frozen=True)
class SpeedConfig:
    n: int = 128
    steps: int = 20
    warmup: int = 3
    device: str = "cpu"
    rounds: int = 5  # the solvers and the FFT floors are timed in interleaved rounds: min and median of each
    binary: str | None = None  # a k-Wave C++ binary (kspaceFirstOrder-OMP/-CUDA) to time on the same problem
    problem: str = "cube"  # "cube": n^3 total grid; "beam": the CTX-250 beam box at 1.5 mm (skull slab, 250 kHz)

    def __post_init__(self) -> None:
        if self.problem not in ("cube", "beam"):
            from tfus.pipeline.errors import TfusInputError

            raise TfusInputError(f"unknown speed problem {self.problem!r}; use cube or beam")
        if self.steps < self.rounds or self.steps % self.rounds:
            from tfus.pipeline.errors import TfusInputError

            raise TfusInputError(f"--steps {self.steps} must be a multiple of {self.rounds} (timed in {self.rounds} "
                                 "rounds); use e.g. --steps 20")
        if self.binary is not None:
            from tfus.pipeline.engines.kwave.config import check_binary

            object.__setattr__(self, "binary", str(check_binary(self.binary)))


def _problem(n: int):
    from tfus.pipeline.engines.field import MediumGrid
    from tfus.pipeline.engines.kwave.config import KWaveConfig
    from tfus.pipeline.engines.kwave.problem import prepare
    from tfus.pipeline.transducers import BowlTransducer, Pose

    pml = 16
    inner = n - 2 * pml
    spacing = 1.0
    medium = MediumGrid.homogeneous((inner,) * 3, spacing)
    centre = medium.index_to_world(np.array([inner / 2] * 3))
    ijk = np.indices(medium.shape).reshape(3, -1).T
    size = 0.6 * inner * spacing  # bowl radius of curvature = aperture, sized to the domain
    r = np.linalg.norm(medium.index_to_world(ijk) - (centre + [0, 0, 0.9 * size]), axis=1).reshape(medium.shape)
    shell = (r > 0.7 * size) & (r < 0.8 * size)
    c, rho, alpha = medium.sound_speed.copy(), medium.density.copy(), medium.alpha_coeff.copy()
    c[shell], rho[shell], alpha[shell] = 2800.0, 1850.0, 16.0
    medium = MediumGrid(c, rho, alpha, 2.0, medium.affine)
    bowl = BowlTransducer("bench", size, size, 1500.0 / (4 * spacing * 1e-3), 6e4)  # 4 points per wavelength
    z0 = float(medium.index_to_world(np.array([0, 0, 3]))[2])
    apex = np.array([centre[0], centre[1], z0])
    pose = Pose(apex, apex + [0, 0, size])
    run = prepare(medium, bowl, pose, KWaveConfig(pml_size=pml, domain_crossings=0.05, ramp_periods=0.5))
    return medium, bowl, pose, run


def _beam_problem():
    """The CTX-250 bowl at 250 kHz in its 1.5 mm beam box (57 x 57 x 68 + PML, FFT-padded), a 7 mm skull-like slab
    across the beam 20 mm in front of the apex: the size of one sample of the ``beam-ctx250`` dataset."""
    from tfus.pipeline.beam import CANONICAL_POSE, BeamFrame
    from tfus.pipeline.engines.field import MediumGrid
    from tfus.pipeline.engines.kwave.config import KWaveConfig
    from tfus.pipeline.engines.kwave.problem import prepare
    from tfus.pipeline.transducers import load_transducer

    bowl = load_transducer("neurofus-ctx250")
    frame = BeamFrame.from_pose(CANONICAL_POSE, bowl, 1.5)
    water = MediumGrid.homogeneous(frame.shape, 1.5)
    c, rho, alpha = water.sound_speed.copy(), water.density.copy(), water.alpha_coeff.copy()
    k0 = int(frame.apex_index[2] + round(20 / 1.5))
    slab = slice(k0, k0 + int(round(7 / 1.5)))
    c[:, :, slab], rho[:, :, slab], alpha[:, :, slab] = 2800.0, 1850.0, 16.0
    medium = MediumGrid(c, rho, alpha, 2.0, np.asarray(frame.affine, float))
    run = prepare(medium, bowl, CANONICAL_POSE, KWaveConfig(pml_size=10, domain_crossings=0.05, ramp_periods=0.5))
    return medium, bowl, CANONICAL_POSE, run


def _time_steps(sim, steps: int, warmup: int, sync=lambda: None) -> float:
    for _ in range(warmup):
        sim.step()
    sync()
    t0 = time.perf_counter()
    for _ in range(steps):
        sim.step()
    sync()
    return (time.perf_counter() - t0) / steps


def fft_floor(shape: tuple[int, ...], n_forward: int, n_inverse: int, xp=np, repeats: int = 5,
              name: str | None = None) -> float:
    """Seconds for ``n_forward`` rfftn and ``n_inverse`` irfftn on float32 arrays of ``shape`` with a step's backend
    (``name``: ``fftw``/``scipy``; CuPy for CuPy arrays), into preallocated outputs as the step does. Each transform
    gets its own input array, as in the step (the same array over and over would stay in cache and flatter the
    floor)."""
    from tfus.pipeline.engines.kwave.fft import CupyFft, fft_backend
    from tfus.pipeline.engines.kwave.threads import cpu_threads

    backend = fft_backend(shape, np.float32, threads=cpu_threads(), name=name) if xp is np else CupyFft(shape)
    rng = np.random.default_rng(0)
    reals = []
    for _ in range(n_forward):
        a = backend.empty_real(np.float32)
        a[...] = xp.asarray(rng.standard_normal(shape).astype(np.float32))
        reals.append(a)
    spec = backend.rfftn(reals[0])
    specs = [spec.copy() for _ in range(n_inverse)]
    spec_out, real_out = spec.copy(), backend.empty_real(np.float32)
    best = np.inf
    for _ in range(repeats):
        work = [s.copy() for s in specs]  # irfftn overwrites its input
        if xp is not np:  # pragma: no cover - GPU only
            xp.cuda.Stream.null.synchronize()
        t0 = time.perf_counter()
        for a in reals:
            backend.rfftn(a, out=spec_out)
        for s in work:
            backend.irfftn(s, out=real_out)
        if xp is not np:  # pragma: no cover - GPU only
            xp.cuda.Stream.null.synchronize()
        best = min(best, (time.perf_counter() - t0))
    return best


FFT_ROWS = {"fftw": "tfus step (float32, FFTW via pyfftw)", "scipy": "tfus step (float32, scipy.fft)",
            "cupy": "tfus step (float32, CuPy)"}


def run_speed_bench(config: SpeedConfig, say=print) -> dict:
    """Measure and return the table rows (seconds per step: the minimum over the rounds, and the median) and ratios.

    Every solver steps the same prepared problem; the rounds interleave them (tfus with each FFT backend, their FFT
    floors, k-wave-python in float32 and float64) so that load from other processes hits all alike.
    """
    from tfus.pipeline.engines.kwave.stepper import build_simulation
    from tfus.pipeline.kwave_compat import import_kwave

    import_kwave()
    from kwave.solvers.kspace_solver import Simulation

    medium, bowl, pose, run = _problem(config.n) if config.problem == "cube" else _beam_problem()
    pml, alpha = (run.pml,) * 3, (2.0,) * 3
    steps, per_round = config.steps + config.warmup, config.steps // config.rounds
    backends = ("fftw", "scipy") if config.device == "cpu" else ("cupy",)
    fast = {}
    for name in backends:
        sim = build_simulation(run.kgrid, run.medium, pml_size=pml, pml_alpha=alpha, device=config.device,
                               fft=None if name == "cupy" else name)
        sim.setup()
        sim.set_source(run.index, run.weights, run.signal, run.scale)
        fast[sim.fft_name] = sim  # "scipy" when FFTW could not be had (one warning): the row says what ran
    first = next(iter(fast.values()))
    sync = (lambda: None) if config.device == "cpu" else (lambda: first.xp.cuda.Stream.null.synchronize())
    shape = tuple(int(v) for v in run.kgrid.N)
    # one step: rfftn(p) + 3 irfftn (gradients) + 3 (rfftn + irfftn) (divergences) = 4 rfftn + 6 irfftn
    # (the source's k-space correction is applied once at setup; Stokes absorption needs no extra FFT)
    n_fwd, n_inv = 1 + first.ndim, 2 * first.ndim
    signal = run.signal[:steps]
    src = SimpleNamespace(p_mask=run.mask, p=run.weights[:, None] * signal[None, :], p_mode="additive", p0=0)
    sensor = SimpleNamespace(mask=None, record=("p_final",))
    ref = {}
    for dtype in (np.float64, np.float32):
        sim = Simulation(run.kgrid, run.medium, src, sensor, pml_size=pml, pml_alpha=alpha, quiet=True, dtype=dtype,
                         device=config.device)
        sim.setup()
        ref[f"k-wave-python Simulation.step ({np.dtype(dtype).name}, NumPy fftn)"] = sim
    times: dict[str, list[float]] = {}
    for r in range(config.rounds):
        warm = config.warmup if r == 0 else 0
        for name, sim in fast.items():
            times.setdefault(FFT_ROWS[name], []).append(_time_steps(sim, per_round, warm, sync))
            if name != "cupy":
                times.setdefault(floor_row(name, n_fwd + n_inv), []).append(
                    fft_floor(shape, n_fwd, n_inv, repeats=1, name=name))
        for row, sim in ref.items():
            times.setdefault(row, []).append(_time_steps(sim, per_round, warm, sync))
        say(f"round {r + 1} of {config.rounds} timed")
    rows = {row: min(t) for row, t in times.items()}
    medians = {row: float(np.median(t)) for row, t in times.items()}

    def host(a):
        return np.asarray(a.get() if hasattr(a, "get") else a)

    p_ref = host(ref["k-wave-python Simulation.step (float64, NumPy fftn)"].p)
    scale = max(np.abs(p_ref).max(), 1e-30)
    diffs = {name: float(np.abs(host(sim.p) - p_ref).max() / scale) for name, sim in fast.items()}
    best = "fftw" if "fftw" in fast else next(iter(fast))
    t_best = rows[FFT_ROWS[best]]
    res = {"grid": shape, "steps_timed": config.steps, "rounds": config.rounds, "seconds_per_step": rows,
           "median_seconds_per_step": medians, "fft_backend": best,
           "fast_over_fft_floor": t_best / rows.get(floor_row(best, n_fwd + n_inv), np.nan),
           "speedup_vs_kwave_float64": rows["k-wave-python Simulation.step (float64, NumPy fftn)"] / t_best,
           "speedup_vs_kwave_float32": rows["k-wave-python Simulation.step (float32, NumPy fftn)"] / t_best,
           "max_rel_diff_vs_kwave_float64": diffs[best], "max_rel_diff_by_backend": diffs,
           "source_points": int(run.index.size), "total_steps": run.kgrid.Nt}
    if "fftw" in fast and "scipy" in fast:
        res["fftw_speedup_vs_scipy"] = rows[FFT_ROWS["scipy"]] / rows[FFT_ROWS["fftw"]]
    if config.binary is not None:
        loops = []
        for _ in range(config.rounds):
            binary = time_binary(config.binary, run, medium.shape, steps)
            loops.append(binary["loop_s"] / steps)
        rows[BINARY_ROW], medians[BINARY_ROW] = min(loops), float(np.median(loops))
        p_best = host(fast[best].p)
        res["binary"] = {**binary, "steps": steps,
                         "max_rel_diff_vs_fast": float(np.abs(binary["p_final"] - p_best).max()
                                                       / max(np.abs(p_best).max(), 1e-30))}
        del res["binary"]["p_final"]
        res["fast_over_binary"] = t_best / rows[BINARY_ROW]
        say(f"timed the k-Wave binary ({binary['version']})")
    return res


def floor_row(name: str, n: int) -> str:
    return f"FFT floor, {'FFTW' if name == 'fftw' else 'scipy.fft'} (the {n} real FFTs of one step)"


BINARY_ROW = "k-Wave C++ binary (user-supplied, not tfus code)"


def time_binary(binary: str, run, shape: tuple[int, ...], steps: int) -> dict:
    """Run a k-Wave C++ binary on the prepared problem for ``steps`` steps (``--benchmark``), recording only the final
    pressure. Returns its time-loop seconds (its own report; the wall time if it prints none), wall seconds, version
    and ``p_final`` on the whole grid (PML included), C order."""
    import tempfile
    from pathlib import Path

    import h5py

    from tfus.pipeline.engines.kwave.config import KWaveConfig, check_binary
    from tfus.pipeline.engines.kwave.cpp import run_binary, write_input_file
    from tfus.pipeline.engines.kwave.threads import cpu_threads

    path = check_binary(binary)
    with tempfile.TemporaryDirectory(prefix="tfus-kwave-bench-") as tmp:
        input_file = write_input_file(run, shape, KWaveConfig(pml_size=run.pml), Path(tmp))
        output_file = Path(tmp) / "output.h5"
        info = run_binary(path, input_file, output_file, ["--p_final", "--benchmark", str(steps)], steps,
                          cpu_threads())
        with h5py.File(output_file, "r") as f:
            p_final = np.asarray(f["p_final"][...], np.float32)
    p_final = p_final.reshape(p_final.shape[-len(shape):]).transpose()  # k-Wave stores (z, y, x): Fortran order
    loop = info["loop_s"] if info["loop_s"] is not None else info["wall_s"]
    return {"loop_s": loop, "wall_s": info["wall_s"], "version": info["version"], "binary": str(path),
            "threads": cpu_threads(), "p_final": p_final}


def render_speed(res: dict, device: str) -> list:
    """The results of :func:`run_speed_bench` as rich renderables: the step-time table and the ratio lines.

    Example:
        >>> for item in render_speed(run_speed_bench(SpeedConfig(n=48, steps=2)), "cpu"):  # doctest: +SKIP
        ...     Console().print(item)
    """
    from rich.table import Table

    table = Table("solver", "ms / step (min)", "median", title=f"k-Wave step, grid {res['grid']}, {device}, "
                  f"{res.get('rounds', 1)} interleaved rounds")
    medians = res.get("median_seconds_per_step", {})
    for name, sec in res["seconds_per_step"].items():
        table.add_row(name, f"{1e3 * sec:.1f}", f"{1e3 * medians[name]:.1f}" if name in medians else "-")
    line = (f"tfus step ({res.get('fft_backend', 'scipy')}) / its FFT floor: {res['fast_over_fft_floor']:.2f}x "
            f"(target <= 1.3)   speed-up vs k-wave-python float64: {res['speedup_vs_kwave_float64']:.1f}x, float32: "
            f"{res['speedup_vs_kwave_float32']:.1f}x (target >= 3)   max |diff| / max |p|: "
            f"{res['max_rel_diff_vs_kwave_float64']:.1e} (target <= 1e-4)")
    if "fftw_speedup_vs_scipy" in res:
        line += f"   FFTW vs scipy.fft step: {res['fftw_speedup_vs_scipy']:.2f}x (target >= 1.8)"
    if "fast_over_binary" in res:
        line += f"   tfus / k-Wave C++ binary: {res['fast_over_binary']:.2f}x (target <= 0.8)"
    items: list = [table, line]
    if "binary" in res:
        b = res["binary"]
        items.append(f"k-Wave C++ binary: {b['version'] or b['binary']} ({b['threads']} threads; not tfus code): "
                     f"{1e3 * b['loop_s'] / b['steps']:.1f} ms/step from its own time-loop report, "
                     f"{1e3 * b['wall_s'] / b['steps']:.1f} ms/step wall incl. loading and FFT planning; "
                     f"final pressure vs the fast step: max |diff| / max |p| {b['max_rel_diff_vs_fast']:.1e}")
    return items
