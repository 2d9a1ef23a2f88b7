"""Closed-form solutions of Pennes' equation and the measurements of the bioheat solver against them.

Closed forms (homogeneous infinite medium, conductivity k, heat capacity rho c, diffusivity D = k / (rho c),
Gaussian heat source ``Q(r) = Q0 exp(-r^2 / (2 sigma^2))`` switched on at t = 0):

* steady state with perfusion ``b = w_b c_b`` (perfusion length ``L = sqrt(k / b)``): the source convolved with the
  Green's function ``exp(-r/L) / (4 pi k r)``, :func:`steady_gaussian_perfused`;
* transient without perfusion: heat released at time t' has spread into a Gaussian of variance
  ``sigma^2 + 2 D (t - t')``; integrated over t', :func:`transient_gaussian`.

Run ``python -m tfus.pipeline.safety.validation`` to print the error table of ``pipeline/safety/README.md`` and the
timing of a 60 x 60 x 80 box over the 80 s theta-burst protocol.

Example:
    >>> round(float(transient_gaussian(0.0, 1e6, 2e-3, 0.5, 1.25e-7, 1e9)[0]), 3)   # -> steady Q0 sigma^2 / k = 8
    7.999
"""

from __future__ import annotations

import math
import time

import numpy as np
from scipy.special import erf, erfcx

from tfus.pipeline.safety.bioheat import ThermalSettings, solve_bioheat
from tfus.pipeline.safety.protocol import Protocol

__all__ = ["continuous_protocol", "gaussian_source", "steady_gaussian_perfused", "transient_gaussian"]


def steady_gaussian_perfused(r: np.ndarray | float, q0: float, sigma: float, k: float, b: float) -> np.ndarray:
    """Steady rise [K] at distance r [m] from a Gaussian source (peak q0 W/m^3, width sigma m), perfusion b W/(m^3 K).

    ``theta(r) = P / (8 pi k r) exp(-r^2 / 2 sigma^2) [erfcx(x1) - erfcx(x2)]``, ``P = q0 (2 pi)^1.5 sigma^3``,
    ``x1,2 = (sigma^2 / L -/+ r) / (sigma sqrt 2)``; at r = 0 the limit.

    Example:
        >>> round(float(steady_gaussian_perfused(0.0, 1e6, 2e-3, 0.5, 1e-12)[0]), 4)  # b -> 0: q0 sigma^2 / k
        8.0
    """
    r = np.atleast_1d(np.asarray(r, dtype=np.float64))
    length = math.sqrt(k / b)
    power = q0 * (2 * math.pi) ** 1.5 * sigma**3
    rs = np.maximum(r, 1e-12)
    x1 = (sigma**2 / length - rs) / (sigma * math.sqrt(2))
    x2 = (sigma**2 / length + rs) / (sigma * math.sqrt(2))
    out = power / (8 * math.pi * k * rs) * np.exp(-(rs**2) / (2 * sigma**2)) * (erfcx(x1) - erfcx(x2))
    centre = power / (k * (2 * math.pi) ** 1.5 * sigma**3) * (
        sigma**2 - sigma**3 * math.sqrt(2 * math.pi) / (2 * length) * erfcx(sigma / (length * math.sqrt(2))))
    return np.where(r < 1e-9 * sigma, centre, out)


def transient_gaussian(r: np.ndarray | float, q0: float, sigma: float, k: float, diffusivity: float,
                       t: float) -> np.ndarray:
    """Rise [K] at distance r and time t of a Gaussian source switched on at 0 in an unperfused infinite medium.

    ``theta(r, t) = q0 sigma^3 / (k r) sqrt(pi/2) [erf(r / (sigma sqrt 2)) - erf(r / (s_t sqrt 2))]`` with
    ``s_t^2 = sigma^2 + 2 D t``; at r = 0, ``q0 sigma^2 / k (1 - sigma / s_t)``.
    """
    r = np.atleast_1d(np.asarray(r, dtype=np.float64))
    s_t = math.sqrt(sigma**2 + 2 * diffusivity * t)
    rs = np.maximum(r, 1e-12)
    out = q0 * sigma**3 / (k * rs) * math.sqrt(math.pi / 2) * (erf(rs / (sigma * math.sqrt(2)))
                                                              - erf(rs / (s_t * math.sqrt(2))))
    centre = q0 * sigma**2 / k * (1 - sigma / s_t)
    return np.where(r < 1e-6 * sigma, centre, out)


def gaussian_source(n: int, dx: float, q0: float, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """A cube of n^3 voxels (n odd) of edge dx [m] with a centred Gaussian source: (Q map, distance map)."""
    c = (np.arange(n) - n // 2) * dx
    r = np.sqrt(c[:, None, None] ** 2 + c[None, :, None] ** 2 + c[None, None, :] ** 2)
    return q0 * np.exp(-(r**2) / (2 * sigma**2)), r


def continuous_protocol(duration_s: float) -> Protocol:
    """A continuous-wave protocol (100 % duty cycle) of the given length, for validation runs."""
    return Protocol(name="cw", pulse_duration_ms=1e3 * duration_s, duty_cycle_percent=100.0,
                    train_duration_s=duration_s, train_repetition_interval_s=duration_s, total_duration_s=duration_s,
                    source_amplitude_pa=1.0)


# --- measurements (used by tests/pipeline/safety and by the README table) --------------------------------------------
_K, _CAP, _SIGMA, _Q0 = 0.51, 1046.0 * 3630.0, 2e-3, 2e6  # brain-like medium, 2 mm Gaussian, 2 MW/m^3 peak
_PERF = 37011.0  # brain perfusion w_b c_b [W/(m^3 K)] (tissues.THERMAL_TISSUES[4])


def steady_error(dx: float, half_width: float = 16e-3) -> float:
    """Max error of the discrete steady state (perfused), relative to the closed-form peak."""
    n = 2 * int(round(half_width / dx)) + 1
    q, r = gaussian_source(n, dx, _Q0, _SIGMA)
    ones = np.ones(q.shape)
    settings = ThermalSettings(max_time_step_s=50.0, steps_per_train=1, implicitness=1.0)
    sol = solve_bioheat(q, ones * _CAP, ones * _K, ones * _PERF, (dx,) * 3, continuous_protocol(2500.0), settings)
    exact = steady_gaussian_perfused(r, _Q0, _SIGMA, _K, _PERF)
    return float(np.abs(sol.final_rise_c - exact).max() / exact.max())


def transient_error(dx: float, dt: float, t_end: float = 20.0, half_width: float = 12e-3) -> float:
    """Max error of the unperfused transient at ``t_end``, relative to the closed-form peak (Crank-Nicolson)."""
    n = 2 * int(round(half_width / dx)) + 1
    q, r = gaussian_source(n, dx, _Q0, _SIGMA)
    ones = np.ones(q.shape)
    settings = ThermalSettings(max_time_step_s=dt, steps_per_train=1)
    sol = solve_bioheat(q, ones * _CAP, ones * _K, ones * 0.0, (dx,) * 3, continuous_protocol(t_end), settings)
    exact = transient_gaussian(r, _Q0, _SIGMA, _K, _K / _CAP, t_end)
    return float(np.abs(sol.final_rise_c - exact).max() / exact.max())


def timing_box(shape: tuple[int, int, int] = (60, 60, 80), dx: float = 0.5e-3) -> tuple[float, float, float]:
    """Wall and CPU seconds to run the 80 s theta-burst protocol on a layered head-like box (layers at fixed voxel
    indices along the last axis), and its peak rise [K]."""
    from tfus.pipeline.safety.protocol import load_protocol
    from tfus.pipeline.safety.tissues import tissue_maps

    labels = np.zeros(shape, dtype=np.int16)
    z = np.arange(shape[2])
    labels[..., (z >= 10) & (z < 18)] = 1
    labels[..., (z >= 18) & (z < 21)] = 2
    labels[..., (z >= 21) & (z < 27)] = 3
    labels[..., (z >= 27) & (z < 29)] = 2
    labels[..., z >= 29] = 4
    q, _ = gaussian_source(max(shape), dx, 5e6, 3e-3)
    q = q[: shape[0], : shape[1], : shape[2]]
    cap, k, perf = tissue_maps(labels)
    start, cpu = time.perf_counter(), time.process_time()
    sol = solve_bioheat(q, cap, k, perf, (dx,) * 3, load_protocol("tbtus-zeng2022"), track_labels=labels)
    return time.perf_counter() - start, time.process_time() - cpu, float(sol.max_rise_c.max())


def main() -> None:  # pragma: no cover - a measurement script
    print("| case | dx (mm) | dt (s) | max error (% of peak) |")
    print("|---|---|---|---|")
    for dx in (1e-3, 0.5e-3):
        err = 100 * steady_error(dx)
        print(f"| steady, perfused (backward Euler to steady state) | {dx * 1e3:g} | - | {err:.3f} |")
    for dx, dt in ((1e-3, 0.5), (0.5e-3, 0.5), (0.5e-3, 2.0), (0.5e-3, 4.0)):
        print(f"| transient, unperfused, t = 20 s (Crank-Nicolson) | {dx * 1e3:g} | {dt:g} | "
              f"{100 * transient_error(dx, dt):.3f} |")
    for shape, dx in (((60, 60, 80), 0.5e-3), ((57, 57, 68), 1.5e-3)):
        wall, cpu, peak = timing_box(shape, dx)
        print(f"timing: {'x'.join(map(str, shape))} box at {dx * 1e3:g} mm, tbtus-zeng2022 (80 s, 200 steps): "
              f"{wall:.2f} s wall, {cpu:.2f} s CPU, peak rise {peak:.3f} K")


if __name__ == "__main__":  # pragma: no cover
    main()
