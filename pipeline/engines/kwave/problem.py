"""The k-Wave problem of one run, shared by the native solver (:mod:`.engine`) and the C++ binary (:mod:`.cpp`):
the expanded grid with its time axis, the edge-padded medium, the band-limited bowl (or 2D arc) source from
``kWaveArray`` and its signal (a CW sine with a raised-cosine ramp, or a Hann tone burst), after checking the
preconditions (points per wavelength, the bowl inside the grid, a 2D pose in the z = 0 plane).

Example:
    >>> from tfus.pipeline.transducers import BowlTransducer, Pose
    >>> medium = MediumGrid.homogeneous((32, 20, 20), spacing_mm=0.5)
    >>> run = prepare(medium, BowlTransducer("small", 10.0, 10.0, 1.0e6, 1.0e5),
    ...               Pose(apex=[-6.0, 0, 0], target=[4.0, 0, 0]), KWaveConfig(pml_size=10, domain_crossings=1.0))
    >>> int(run.kgrid.Nx), run.pml, run.frequency_hz
    (52, 10, 1000000.0)
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np

from tfus.pipeline.engines.field import MediumGrid
from tfus.pipeline.engines.kwave.config import KWaveConfig, check_points_per_wavelength, time_axis
from tfus.pipeline.engines.kwave.offgrid import element_grid_weights
from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.kwave_compat import import_kwave_submodule
from tfus.pipeline.transducers import BowlTransducer, Pose, bowl_surface_points

__all__ = ["KWaveProblem", "arc_points", "check_bowl_in_grid", "cw_signal", "prepare", "tone_burst"]


def check_bowl_in_grid(medium: MediumGrid, transducer: BowlTransducer, pose: Pose) -> None:
    """The whole bowl must lie inside the simulation grid (not in the PML)."""
    pts = bowl_surface_points(transducer, pose, medium.spacing_mm) if medium.ndim == 3 else \
        arc_points(transducer, pose, medium.spacing_mm)
    idx = medium.world_to_index(pts)
    if np.any(idx < -0.5) or np.any(idx > np.array(medium.shape) - 0.5):
        raise TfusInputError(f"transducer {transducer.name} lies (partly) outside the simulation grid; move it or "
                             "enlarge the grid")


def arc_points(transducer: BowlTransducer, pose: Pose, spacing_mm: float) -> np.ndarray:
    """Points on the 2D arc (the bowl's section in the x-y plane; poses of 2D runs have z = 0), about half a voxel
    apart.

    Example:
        >>> from tfus.pipeline.transducers import BowlTransducer, Pose
        >>> pts = arc_points(BowlTransducer("b", 10.0, 10.0, 1e6, 1e5), Pose([0, 0, 0], [10.0, 0, 0]), 1.0)
        >>> bool(np.allclose(np.linalg.norm(pts - [10.0, 0], axis=1), 10.0))
        True
    """
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


@dataclass(frozen=True)
class KWaveProblem:
    """A prepared k-Wave run: everything the native step and the C++ binary's input file need.

    Attributes:
        kgrid: k-wave-python ``kWaveGrid`` of the expanded grid (medium + PML on each side), time axis set.
        medium: the medium on the expanded grid (edge-padded; k-Wave's ``kWaveMedium`` fields).
        mask: boolean source mask on the expanded grid.
        index: flat C-order indices of the source points.
        weights: band-limited source weights at ``index``.
        scale: k-Wave's additive pressure-source scaling ``2 dt / (ndim c dx)`` at ``index``.
        signal: the source signal (Pa) per time step.
        dt: time step (s).
        ppp: time steps per period.
        n_steps: time steps of the run.
        pml: PML thickness in voxels.
        frequency_hz: the driving frequency.
        ppw: points per wavelength at the slowest sound speed.
        grid_shape: the expanded grid (PML and FFT padding included).
    """

    kgrid: Any
    medium: SimpleNamespace
    mask: np.ndarray
    index: np.ndarray
    weights: np.ndarray
    scale: np.ndarray
    signal: np.ndarray
    dt: float
    ppp: int
    n_steps: int
    pml: int
    frequency_hz: float
    ppw: float
    grid_shape: tuple[int, ...] = ()


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
            frequency_hz: float | None = None) -> KWaveProblem:
    """Build the k-Wave grid, medium and source for a run and check the preconditions (used by the native solver,
    the C++ binary's input file and the speed benchmark).

    Raises:
        TfusInputError: a 2D run with a pose off the z = 0 plane, too few points per wavelength, a bowl outside the
            grid.

    Example:
        >>> from tfus.pipeline.transducers import BowlTransducer, Pose
        >>> run = prepare(MediumGrid.homogeneous((32, 20, 20), spacing_mm=0.5), BowlTransducer("s", 10.0, 10.0,
        ...               1.0e6, 1.0e5), Pose(apex=[-6.0, 0, 0], target=[4.0, 0, 0]), KWaveConfig(pml_size=10))
        >>> run.signal.shape == (run.n_steps,), run.index.size == run.weights.size
        (True, True)
    """
    kWaveGrid = import_kwave_submodule("kgrid").kWaveGrid  # noqa: N806 - k-wave-python's class names
    kWaveArray = import_kwave_submodule("utils.kwave_array").kWaveArray  # noqa: N806
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
    return KWaveProblem(kgrid=kgrid, medium=kmedium, mask=mask, index=index, weights=weights, scale=scale,
                        signal=signal, dt=dt, ppp=ppp, n_steps=n_steps, pml=pml, frequency_hz=f, ppw=ppw,
                        grid_shape=shape)
