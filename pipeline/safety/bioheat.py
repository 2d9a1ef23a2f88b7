"""Pennes bioheat solver on a box of voxels: alternating-direction implicit steps with tridiagonal factorisations
computed once per step size and reused (LAPACK ``dpttrf`` / ``dpttrs`` through :mod:`scipy.linalg.lapack`).

The equation, for the rise ``theta = T - T_body`` (arterial blood and the body both at ``T_body``)::

    rho c d(theta)/dt = div(k grad theta) - w_b c_b theta + Q(x) f(t)

``Q`` is the heat deposited while the source is on [W/m^3]; ``f(t)`` the protocol's on/off course. Each step
``[t0, t1]`` uses the exact mean of ``f`` over the step (:meth:`Protocol.on_fraction`), so the deposited energy is exact
whatever the step; the pulses within a train are averaged (see :attr:`BioheatSolution.pulse_ripple_bound_c`).

Discretisation: conduction in flux form with harmonic-mean face conductivities; at the box faces either body
temperature one voxel outside (``boundary="body"``) or no flux (``"insulated"``). Time: the Douglas(-Gunn) ADI scheme
with implicitness 1/2 (Crank-Nicolson in each direction, second order) or 1 (first order, strongly damped); the
perfusion term is implicit in the first direction. It is unconditionally stable for any step, conserves
``sum(rho c theta dV)`` exactly when insulated and unperfused, and its fixed point is the discrete steady state.
Each step costs O(voxels): three tridiagonal solves plus one explicit operator application.

Example:
    >>> import numpy as np
    >>> from tfus.pipeline.safety.bioheat import ThermalSettings, solve_bioheat
    >>> from tfus.pipeline.safety.protocol import load_protocol
    >>> q = np.zeros((9, 9, 9)); q[4, 4, 4] = 1e6
    >>> cap, k, perf = np.full(q.shape, 4e6), np.full(q.shape, 0.5), np.zeros(q.shape)
    >>> sol = solve_bioheat(q, cap, k, perf, (1e-3,) * 3, load_protocol("legon2018-1khz"), ThermalSettings())
    >>> round(float(sol.max_rise_c.max()), 3), sol.hottest_time_s
    (0.038, 0.5)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.linalg import lapack

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.safety.protocol import Protocol

__all__ = ["BioheatSolution", "ThermalSettings", "cem43_rate", "solve_bioheat"]


@dataclass(frozen=True)
class ThermalSettings:
    """How to integrate the bioheat equation.

    Attributes:
        max_time_step_s: the longest step [s] (the error is second order in it; see pipeline/safety/README.md).
        steps_per_train: at least this many steps per pulse train (short trains are resolved, long ones use
            ``max_time_step_s``).
        cooling_s: time simulated after the sonication ends [s] (heat keeps spreading; CEM43 keeps growing).
        implicitness: 0.5 (Crank-Nicolson, default) to 1 (backward Euler).
        boundary: ``"body"`` (body temperature just outside the box) or ``"insulated"`` (no heat flux).
        body_temperature_c: body, arterial blood and initial temperature [deg C].
    """

    max_time_step_s: float = 0.5
    steps_per_train: int = 10
    cooling_s: float = 0.0
    implicitness: float = 0.5
    boundary: Literal["body", "insulated"] = "body"
    body_temperature_c: float = 37.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.max_time_step_s) and self.max_time_step_s > 0):
            raise TfusInputError(f"max_time_step_s must be > 0, got {self.max_time_step_s!r}")
        if int(self.steps_per_train) < 1:
            raise TfusInputError(f"steps_per_train must be >= 1, got {self.steps_per_train!r}")
        if not (math.isfinite(self.cooling_s) and self.cooling_s >= 0):
            raise TfusInputError(f"cooling_s must be >= 0, got {self.cooling_s!r}")
        if not 0.5 <= self.implicitness <= 1.0:
            raise TfusInputError(f"implicitness must be in [0.5, 1] (0.5: Crank-Nicolson), got {self.implicitness!r}")
        if self.boundary not in ("body", "insulated"):
            raise TfusInputError(f"boundary must be 'body' or 'insulated', got {self.boundary!r}")
        if not 20.0 <= self.body_temperature_c <= 42.0:
            raise TfusInputError(f"body_temperature_c {self.body_temperature_c!r} is outside 20-42 deg C")


@dataclass(frozen=True, eq=False)
class BioheatSolution:
    """What :func:`solve_bioheat` returns (temperatures as rises over the body temperature, deg C).

    Attributes:
        times_s: step end times (the first entry is 0).
        peak_rise_c: the largest rise in the box at each time.
        max_rise_c: per voxel, the largest rise over the whole run.
        cem43_min: per voxel, the thermal dose in cumulative equivalent minutes at 43 deg C (Sapareto & Dewey 1984).
        rise_at_hottest_c: the rise map at the time the box is hottest.
        hottest_time_s: that time.
        final_rise_c: the rise map at the end of the run.
        pulse_ripple_bound_c: largest extra rise one pulse can add above the pulse-averaged solution,
            ``max(Q) * pulse_duration * (1 - duty) / (rho c)`` (conduction only lowers it).
        body_temperature_c: the baseline temperature.
        label_peak_rise_c: with ``track_labels``, per label value the largest rise among its voxels at each time
            (same times as ``peak_rise_c``); the hottest course of each tissue, used to bound its CEM43 at another
            drive (:mod:`tfus.pipeline.safety.limits`).
    """

    times_s: np.ndarray
    peak_rise_c: np.ndarray
    max_rise_c: np.ndarray
    cem43_min: np.ndarray
    rise_at_hottest_c: np.ndarray
    hottest_time_s: float
    final_rise_c: np.ndarray
    pulse_ripple_bound_c: float
    body_temperature_c: float
    label_peak_rise_c: dict[int, np.ndarray] | None = None


def cem43_rate(temperature_c: np.ndarray) -> np.ndarray:
    """Thermal-dose rate in equivalent minutes at 43 deg C per minute: R^(43 - T), R = 0.5 at/above 43, 0.25 below.

    Sapareto SA, Dewey WC, Int. J. Radiat. Oncol. Biol. Phys. 10(6):787-800, 1984.

    Example:
        >>> cem43_rate(np.array([43.0, 44.0, 41.0])).tolist()
        [1.0, 2.0, 0.0625]
    """
    t = np.asarray(temperature_c, dtype=np.float64)
    log_r = np.where(t >= 43.0, math.log(0.5), math.log(0.25))
    return np.exp((43.0 - t) * log_r)


def _step_edges(protocol: Protocol, settings: ThermalSettings) -> np.ndarray:
    """Step end times: trains and gaps each split evenly, trains into at least ``steps_per_train`` steps."""
    segments: list[tuple[float, float, bool]] = []
    t = 0.0
    for start, end in protocol.train_intervals():
        if start > t:
            segments.append((t, start, False))
        segments.append((start, end, True))
        t = end
    stop = protocol.total_duration_s + settings.cooling_s
    if stop > t:
        segments.append((t, stop, False))
    edges = [0.0]
    period = protocol.pulse_repetition_period_s
    for a, b, on in segments:
        n_pulses = (b - a) / period
        per_step = min(math.floor(settings.max_time_step_s / period + 1e-9),
                       math.floor(n_pulses / settings.steps_per_train))
        if on and per_step >= 1:  # whole pulse periods per step: every full step sees the same on-fraction
            inner = np.arange(1, math.ceil(n_pulses / per_step - 1e-9)) * per_step * period + a
            edges.extend([*inner[inner < b - 1e-9 * period].tolist(), b])
            continue
        n = max(int(math.ceil((b - a) / settings.max_time_step_s - 1e-9)), int(settings.steps_per_train) if on else 1)
        edges.extend(np.linspace(a, b, n + 1)[1:].tolist())
    return np.asarray(edges)


class _Axis:
    """The conduction operator along one axis, in the layout where that axis is last and lines are contiguous."""

    def __init__(self, axis: int, conductivity: np.ndarray, spacing: float, boundary: str) -> None:
        self.axis = axis
        k = np.moveaxis(conductivity, axis, -1)
        self.shape = k.shape
        g = np.zeros(k.shape)
        g[..., :-1] = 2.0 * k[..., :-1] * k[..., 1:] / (k[..., :-1] + k[..., 1:]) / spacing**2
        diag = -(g + np.concatenate([np.zeros(k.shape[:-1] + (1,)), g[..., :-1]], axis=-1))
        if boundary == "body":
            diag[..., 0] -= k[..., 0] / spacing**2
            diag[..., -1] -= k[..., -1] / spacing**2
        self.diag = diag.ravel()
        self.off = g.ravel()[:-1]  # zero at the end of every line: lines do not couple

    def to_layout(self, x: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(np.moveaxis(x, self.axis, -1)).ravel()

    def from_layout(self, y: np.ndarray) -> np.ndarray:
        return np.moveaxis(y.reshape(self.shape), -1, self.axis)

    def apply(self, x: np.ndarray) -> np.ndarray:
        y = self.diag * x
        y[:-1] += self.off * x[1:]
        y[1:] += self.off * x[:-1]
        return y


def _check_inputs(heat: np.ndarray, maps: tuple[np.ndarray, ...], spacing_m: tuple[float, ...]) -> None:
    if heat.ndim != 3:
        raise TfusInputError(f"the heat source must be a 3D volume, got shape {heat.shape}")
    for name, m in zip(("heat source", "heat capacity", "conductivity", "perfusion"), (heat, *maps)):
        if m.shape != heat.shape:
            raise TfusInputError(f"{name} has shape {m.shape}, the heat source {heat.shape}; give maps of one grid")
        if not np.isfinite(m).all():
            raise TfusInputError(f"{name} contains NaN or infinite values; fix the input field or maps")
    if (maps[0] <= 0).any() or (maps[1] <= 0).any() or (maps[2] < 0).any() or (heat < 0).any():
        raise TfusInputError("heat capacity and conductivity must be > 0, perfusion and heat source >= 0")
    if len(spacing_m) != 3 or not all(math.isfinite(s) and s > 0 for s in spacing_m):
        raise TfusInputError(f"voxel spacing must be three positive lengths in m, got {spacing_m!r}")


def solve_bioheat(heat_w_m3: np.ndarray, heat_capacity: np.ndarray, conductivity: np.ndarray, perfusion: np.ndarray,
                  spacing_m: tuple[float, float, float], protocol: Protocol,
                  settings: ThermalSettings | None = None, track_labels: np.ndarray | None = None) -> BioheatSolution:
    """Integrate Pennes' equation over the protocol (and ``settings.cooling_s`` after it) from body temperature.

    Args:
        heat_w_m3: heat deposited while the source is on, Q [W/m^3] (3D).
        heat_capacity: rho c [J/(m^3 K)] per voxel.
        conductivity: k [W/(m K)] per voxel.
        perfusion: w_b c_b [W/(m^3 K)] per voxel (0: none).
        spacing_m: voxel edge lengths along the three array axes [m].
        protocol: the on/off course.
        settings: time stepping and boundaries (default :class:`ThermalSettings`).
        track_labels: optional integer label map of the grid: record each label's largest rise at every step
            (:attr:`BioheatSolution.label_peak_rise_c`; one pass over the volume per step).

    Returns:
        :class:`BioheatSolution`.

    Raises:
        TfusInputError: maps of different shapes, NaN/negative values, bad spacing.

    Example:
        >>> import numpy as np
        >>> from tfus.pipeline.safety.protocol import load_protocol
        >>> ones = np.ones((4, 4, 4))
        >>> legon = load_protocol("legon2018-1khz")
        >>> sol = solve_bioheat(ones * 4e3, ones * 4e6, ones * 0.5, ones * 0, (1e-3,) * 3, legon,
        ...                     ThermalSettings(boundary="insulated"))
        >>> round(float(sol.final_rise_c[0, 0, 0]), 6)  # 4 kW/m^3 x 0.18 s on / 4 MJ/(m^3 K)
        0.00018
    """
    settings = settings or ThermalSettings()
    heat = np.asarray(heat_w_m3, dtype=np.float64)
    cap, k, perf = (np.asarray(m, dtype=np.float64) for m in (heat_capacity, conductivity, perfusion))
    spacing_m = tuple(float(s) for s in spacing_m)
    _check_inputs(heat, (cap, k, perf), spacing_m)
    tracked: dict[int, list[float]] | None = None
    if track_labels is not None:
        track = np.asarray(track_labels)
        if track.shape != heat.shape:
            raise TfusInputError(f"track_labels has shape {track.shape}, the heat source {heat.shape}")
        flat = track.ravel()
        order = np.argsort(flat, kind="stable")  # voxels grouped by label: one gather + reduceat per step
        label_ids, starts = np.unique(flat[order], return_index=True)
        label_ids = [int(v) for v in label_ids]
        tracked = {v: [0.0] for v in label_ids}

    axes = [_Axis(a, k, spacing_m[a], settings.boundary) for a in range(3)]
    cap_l = [ax.to_layout(cap) for ax in axes]
    axes[0].diag = axes[0].diag - axes[0].to_layout(perf)  # perfusion: implicit with the first direction
    w = settings.implicitness
    factors: dict[float, list[tuple[np.ndarray, np.ndarray]]] = {}

    def factorise(dt: float) -> list[tuple[np.ndarray, np.ndarray]]:
        out = []
        for a, ax in enumerate(axes):
            d = cap_l[a] - w * dt * ax.diag
            df, ef, info = lapack.dpttrf(d, -w * dt * ax.off)
            if info != 0:  # cannot happen for positive maps: the matrix is diagonally dominant
                raise RuntimeError(f"tridiagonal factorisation failed (info={info})")
            out.append((df, ef))
        return out

    edges = _step_edges(protocol, settings)
    fractions = protocol.on_fraction(edges)
    theta = np.zeros(heat.shape)
    max_rise = np.zeros(heat.shape)
    rise_hot = np.zeros(heat.shape)
    cem = np.zeros(heat.shape)
    rate_prev = cem43_rate(theta + settings.body_temperature_c)
    peaks = [0.0]
    hottest, t_hot = 0.0, 0.0
    for i, frac in enumerate(fractions):
        dt = float(edges[i + 1] - edges[i])
        key = round(dt, 12)
        if key not in factors:
            factors[key] = factorise(dt)
        f_theta = [ax.apply(ax.to_layout(theta)) for ax in axes]
        total = heat * frac
        for ax, ft in zip(axes, f_theta):
            total += ax.from_layout(ft)
        v = theta + dt * total / cap
        for a, ax in enumerate(axes):
            rhs = cap_l[a] * ax.to_layout(v) - w * dt * f_theta[a]
            sol, info = lapack.dpttrs(*factors[key][a], rhs)
            v = ax.from_layout(sol)
        theta = np.ascontiguousarray(v)
        np.maximum(max_rise, theta, out=max_rise)
        rate = cem43_rate(theta + settings.body_temperature_c)
        cem += 0.5 * (rate_prev + rate) * dt / 60.0
        rate_prev = rate
        peak = float(theta.max())
        peaks.append(peak)
        if tracked is not None:
            for v, m in zip(label_ids, np.maximum.reduceat(theta.ravel()[order], starts)):
                tracked[v].append(float(m))
        if peak > hottest:
            hottest, t_hot = peak, float(edges[i + 1])
            rise_hot = theta.copy()
    ripple = float((heat / cap).max()) * protocol.pulse_duration_s * (1.0 - protocol.duty_cycle)
    if protocol.pulse_duration_s >= protocol.train_duration_s:
        ripple = 0.0  # a single pulse per train: nothing is averaged
    return BioheatSolution(times_s=edges, peak_rise_c=np.asarray(peaks), max_rise_c=max_rise, cem43_min=cem,
                           rise_at_hottest_c=rise_hot, hottest_time_s=t_hot, final_rise_c=theta,
                           pulse_ripple_bound_c=ripple, body_temperature_c=settings.body_temperature_c,
                           label_peak_rise_c=None if tracked is None else
                           {v: np.asarray(c) for v, c in tracked.items()})
