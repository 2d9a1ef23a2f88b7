"""Continuous-wave focused-bowl simulation with k-wave-python's pseudospectral solver.

The domain is the medium's grid; a PML is added outside it. The bowl is an off-grid band-limited source
(``kWaveArray``), driven by a sine with a raised-cosine ramp. The run lasts long enough for the field to be steady
(:class:`~tfus.pipeline.engines.kwave.config.KWaveConfig`), then amplitude and phase are accumulated by a single-bin
DFT over whole periods.

Example:
    >>> import numpy as np
    >>> from tfus.pipeline.engines.field import MediumGrid
    >>> from tfus.pipeline.transducers import BowlTransducer, Pose
    >>> bowl = BowlTransducer("small", 10.0, 10.0, 1.0e6, 1.0e5)
    >>> medium = MediumGrid.homogeneous((32, 20, 20), spacing_mm=0.5)
    >>> pose = Pose(apex=[-6.0, 0, 0], target=[4.0, 0, 0])
    >>> field = simulate_kwave(medium, bowl, pose, KWaveConfig(pml_size=10, domain_crossings=1.0))
    >>> field.amplitude.shape
    (32, 20, 20)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import SimpleNamespace

import numpy as np

from tfus.pipeline.engines.field import MediumGrid, SteadyStateField
from tfus.pipeline.engines.kwave.config import KWaveConfig, check_points_per_wavelength, time_axis
from tfus.pipeline.engines.steady_state import DFTAccumulator
from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.kwave_compat import import_kwave
from tfus.pipeline.transducers import BowlTransducer, Pose, bowl_surface_points


def _xp(device: str):
    if device == "gpu":
        try:
            import cupy
        except ImportError as err:
            raise TfusInputError("--device gpu needs CuPy: pip install 'tfus[gpu]' on a machine with CUDA") from err
        if cupy.cuda.runtime.getDeviceCount() == 0:  # pragma: no cover - GPU only
            raise TfusInputError("--device gpu: no CUDA device found; use --device cpu")
        return cupy  # pragma: no cover - GPU only
    return np


def check_bowl_in_grid(medium: MediumGrid, transducer: BowlTransducer, pose: Pose) -> None:
    """The whole bowl must lie inside the simulation grid (not in the PML)."""
    pts = bowl_surface_points(transducer, pose, medium.spacing_mm) if medium.ndim == 3 else \
        _arc_points(transducer, pose, medium.spacing_mm)
    idx = medium.world_to_index(pts)
    if np.any(idx < -0.5) or np.any(idx > np.array(medium.shape) - 0.5):
        raise TfusInputError(f"transducer {transducer.name} lies (partly) outside the simulation grid; move it or "
                             "enlarge the grid")


def _arc_points(transducer: BowlTransducer, pose: Pose, spacing_mm: float) -> np.ndarray:
    """Points on the 2D arc (the bowl's section in the x-y plane; poses of 2D runs have z = 0)."""
    axis = pose.axis[:2]
    normal = np.array([-axis[1], axis[0]])
    centre = pose.apex[:2] + transducer.radius_of_curvature_mm * axis
    half = transducer.half_angle_rad
    n = max(3, int(np.ceil(2 * half * transducer.radius_of_curvature_mm / (spacing_mm / 2))))
    theta = np.linspace(-half, half, n)
    r = transducer.radius_of_curvature_mm
    return centre[None] - r * np.cos(theta)[:, None] * axis[None] + r * np.sin(theta)[:, None] * normal[None]


def _kgrid_coordinates(kgrid, medium: MediumGrid, pml: int, xyz_mm: np.ndarray) -> list[float]:
    """World mm -> k-Wave grid coordinates (m, centred on the expanded grid)."""
    idx = medium.world_to_index(np.asarray(xyz_mm, float)[: medium.ndim]) + pml
    vecs = [kgrid.x_vec, kgrid.y_vec, kgrid.z_vec][: medium.ndim]
    dx = medium.spacing_mm * 1e-3
    return [float(np.ravel(v)[0]) + float(i) * dx for v, i in zip(vecs, idx)]


def cw_signal(n_steps: int, dt: float, frequency_hz: float, amplitude: float, ramp_periods: float) -> np.ndarray:
    """``amplitude * ramp(t) * sin(2 pi f t)`` at t = n dt, with a raised-cosine ramp over ``ramp_periods``."""
    t = np.arange(n_steps) * dt
    ramp_t = ramp_periods / frequency_hz
    ramp = np.ones_like(t) if ramp_t == 0 else np.where(t < ramp_t, 0.5 * (1 - np.cos(np.pi * t / ramp_t)), 1.0)
    return amplitude * ramp * np.sin(2 * np.pi * frequency_hz * t)


def tone_burst(n_steps: int, dt: float, frequency_hz: float, amplitude: float, cycles: int) -> np.ndarray:
    """``amplitude * hann * sin(2 pi f t)`` over ``cycles`` periods, then zero."""
    t = np.arange(n_steps) * dt
    length = cycles / frequency_hz
    window = np.where(t < length, np.sin(np.pi * t / length) ** 2, 0.0)
    return amplitude * window * np.sin(2 * np.pi * frequency_hz * t)


def fft_friendly(n: int) -> int:
    """The smallest size >= ``n`` whose prime factors are all <= 7 (FFTW and pocketfft are fastest there).

    Example:
        >>> fft_friendly(97), fft_friendly(128), fft_friendly(85)
        (98, 128, 90)
    """
    m = max(1, int(n))
    while True:
        r = m
        for p in (2, 3, 5, 7):
            while r % p == 0:
                r //= p
        if r == 1:
            return m
        m += 1


def prepare(medium: MediumGrid, transducer: BowlTransducer, pose: Pose, config: KWaveConfig,
            frequency_hz: float | None = None):
    """Build the k-Wave grid, medium and source for a run and check the preconditions; returns a namespace with the
    simulation inputs (used by :func:`simulate_kwave` and by the speed benchmark)."""
    import_kwave()
    from kwave.kgrid import kWaveGrid
    from kwave.utils.kwave_array import kWaveArray

    from tfus.pipeline.engines.kwave.offgrid import element_grid_weights

    f = float(frequency_hz or transducer.frequency_hz)
    if medium.ndim == 2 and (abs(pose.apex[2]) > 1e-9 or abs(pose.target[2]) > 1e-9):
        raise TfusInputError("a 2D simulation needs a pose in the z = 0 plane")
    c_min, c_max = float(medium.sound_speed.min()), float(medium.sound_speed.max())
    ppw = check_points_per_wavelength(c_min, f, medium.spacing_mm)
    check_bowl_in_grid(medium, transducer, pose)
    dx = medium.spacing_mm * 1e-3
    pml = config.pml_size
    total = [n + 2 * pml for n in medium.shape]
    extra = [fft_friendly(t) - t for t in total] if config.fft_padding else [0] * medium.ndim
    shape = tuple(t + e for t, e in zip(total, extra))
    kgrid = kWaveGrid(list(shape), [dx] * medium.ndim)
    dt, ppp = time_axis(f, medium.spacing_mm, c_max, config.cfl)
    diagonal = float(np.linalg.norm(np.array(medium.shape) * dx))
    settle = config.ramp_periods / f + config.domain_crossings * diagonal / c_min
    n_steps = int(np.ceil(settle / dt / ppp)) * ppp + config.record_periods * ppp
    kgrid.setTime(n_steps, dt)

    def pad(a):  # the PML on both sides; FFT padding (copies of the far face) before the far PML
        return np.pad(np.asarray(a, np.float32), [(pml, pml + e) for e in extra], mode="edge")

    alpha = pad(medium.alpha_coeff)
    kmedium = SimpleNamespace(sound_speed=pad(medium.sound_speed), density=pad(medium.density),
                              alpha_coeff=alpha if np.any(alpha > 0) else 0, alpha_power=float(medium.alpha_power),
                              alpha_mode=None, BonA=0)

    karray = kWaveArray(bli_tolerance=config.bli_tolerance, upsampling_rate=config.upsampling_rate)
    apex = _kgrid_coordinates(kgrid, medium, pml, pose.apex)
    focus = _kgrid_coordinates(kgrid, medium, pml, pose.focus(transducer))
    r_m, d_m = transducer.radius_of_curvature_mm * 1e-3, transducer.aperture_diameter_mm * 1e-3
    if medium.ndim == 3:
        karray.add_bowl_element(apex, r_m, d_m, focus)
    else:
        karray.add_arc_element(apex, r_m, d_m, focus)
    # = karray.get_array_binary_mask / get_distributed_source_signal(order="C"), in O(points x stencil)
    grid_weights, mask = element_grid_weights(karray, kgrid)
    index = np.flatnonzero(mask.ravel(order="C"))
    weights = grid_weights.ravel(order="C")[index]
    c_src = kmedium.sound_speed.ravel()[index].astype(float)
    scale = 2 * dt / (medium.ndim * c_src * dx)  # k-Wave's additive pressure-source scaling
    if config.burst_cycles > 0:
        signal = tone_burst(n_steps, dt, f, transducer.source_amplitude_pa, config.burst_cycles)
    else:
        signal = cw_signal(n_steps, dt, f, transducer.source_amplitude_pa, config.ramp_periods)
    return SimpleNamespace(kgrid=kgrid, medium=kmedium, mask=mask, index=index, weights=weights, scale=scale,
                           signal=signal, dt=dt, ppp=ppp, n_steps=n_steps, pml=pml, frequency_hz=f, ppw=ppw,
                           grid_shape=shape)


def simulate_kwave(medium: MediumGrid, transducer: BowlTransducer, pose: Pose, config: KWaveConfig = KWaveConfig(),
                   frequency_hz: float | None = None,
                   progress: Callable[[int, int], None] | None = None) -> SteadyStateField:
    """Steady-state CW field of ``transducer`` at ``pose`` in ``medium`` (amplitude in Pa, phase in rad). With
    ``config.binary`` set, the same problem runs through that k-Wave C++ binary (:mod:`.cpp`)."""
    if config.binary is not None:
        from tfus.pipeline.engines.kwave.cpp import simulate_kwave_cpp

        return simulate_kwave_cpp(medium, transducer, pose, config, frequency_hz, progress)
    from tfus.pipeline.engines.kwave.stepper import build_simulation
    from tfus.pipeline.engines.kwave.threads import cpu_threads

    t_start = time.perf_counter()
    run = prepare(medium, transducer, pose, config, frequency_hz)
    xp = _xp(config.device)
    sim = build_simulation(run.kgrid, run.medium, pml_size=(run.pml,) * medium.ndim,
                           pml_alpha=(config.pml_alpha,) * medium.ndim, device=config.device)
    sim.setup()
    sim.set_source(run.index, run.weights, run.signal, run.scale)
    interior = tuple(slice(run.pml, run.pml + n) for n in medium.shape)
    acc = DFTAccumulator(medium.shape, run.frequency_hz, run.dt, xp=xp)
    burst = config.burst_cycles > 0
    record_from = 0 if burst else run.n_steps - config.record_periods * run.ppp
    snap_steps = set()
    if config.snapshots > 0:
        first, span = (0, run.n_steps) if burst else (run.n_steps - run.ppp, run.ppp)
        snap_steps = {first + int(round(k * span / config.snapshots)) for k in range(config.snapshots)}
    p_max = xp.zeros(medium.shape, np.float32) if burst else None
    p_min = xp.zeros(medium.shape, np.float32) if burst else None
    snapshots = []
    t_setup = time.perf_counter()
    for n in range(run.n_steps):
        sim.step()
        if n >= record_from:
            acc.add(sim.p[interior], (n + 1) * run.dt)
        if burst:
            xp.maximum(p_max, sim.p[interior], out=p_max)
            xp.minimum(p_min, sim.p[interior], out=p_min)
        if n in snap_steps:
            snap = sim.p[interior]
            snapshots.append(np.asarray(snap.get() if hasattr(snap, "get") else snap, np.float32).copy())
        if progress is not None:
            progress(n + 1, run.n_steps)
    amplitude, phase = acc.result()
    t_end = time.perf_counter()
    if not np.all(np.isfinite(amplitude)):
        raise TfusInputError("the simulation diverged (non-finite pressure); lower the CFL number or check the "
                             "medium for extreme values")
    meta = {"engine": "kwave", "backend": f"k-wave-python native ({config.device})", "fft_backend": sim.fft_name,
            "threads": cpu_threads() if config.device == "cpu" else None, "dt_s": run.dt,
            "steps": run.n_steps, "grid_shape": list(run.grid_shape), "points_per_period": run.ppp,
            "points_per_wavelength": run.ppw,
            "source_points": int(run.index.size), "config": config.__dict__, "setup_s": t_setup - t_start,
            "run_s": t_end - t_setup, "ms_per_step": 1e3 * (t_end - t_setup) / run.n_steps}
    if snapshots:
        meta["snapshots"] = np.stack(snapshots)
        meta["snapshot_dt_s"] = run.dt * (run.n_steps if burst else run.ppp) / config.snapshots
        meta["snapshot_times_s"] = np.array([(n + 1) * run.dt for n in sorted(snap_steps)])  # time after step n
    if burst:
        meta["p_max"] = np.asarray(p_max.get() if hasattr(p_max, "get") else p_max)
        meta["p_min"] = np.asarray(p_min.get() if hasattr(p_min, "get") else p_min)
    return SteadyStateField(amplitude=amplitude, phase=phase, affine=np.asarray(medium.affine, float),
                            frequency_hz=run.frequency_hz, meta=meta)
