"""Temperature rise and thermal dose of a sonication: a steady-state pressure field -> heat -> Pennes bioheat.

Heat deposition (plane-wave, absorption-only model, as in BabelBrain and PRESTUS)::

    I = p^2 / (2 rho c)            time-average intensity while the source is on [W/m^2], p the steady-state amplitude
    alpha = alpha_dB_cm(f) * 100 / (20 log10 e)      [Np/m], from the medium's absorption at the frequency
    Q = 2 alpha I                  [W/m^3], multiplied by the protocol's on/off course f(t)

``p`` must already be at the protocol's drive level (multiply the simulated field by
:meth:`Protocol.amplitude_scale`). The medium's ``alpha`` is the attenuation used by the acoustic simulation; in bone
part of it is scattering, so treating it all as absorption overestimates bone heating (conservative for safety).
The thermal properties come from the labels (:mod:`tfus.pipeline.safety.tissues`), the solver from
:mod:`tfus.pipeline.safety.bioheat`.

Example:
    >>> import numpy as np
    >>> from tfus.pipeline.acoustics import AcousticProperties
    >>> from tfus.pipeline.safety import load_protocol, simulate_thermal
    >>> labels = np.full((12, 12, 12), 4); p = np.zeros(labels.shape); p[6, 6, 6] = 1e6
    >>> medium = AcousticProperties(np.full(p.shape, 1560.0), np.full(p.shape, 1040.0), np.full(p.shape, 1.2), 2.0, "x")
    >>> r = simulate_thermal(p, medium, labels, np.diag([0.5, 0.5, 0.5, 1.0]), 500e3, load_protocol("tbtus-zeng2022"))
    >>> round(r.regions["brain"].max_rise_c, 2), r.hottest_time_s
    (0.02, 80.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from tfus.pipeline.acoustics.properties import AcousticProperties
from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.safety.bioheat import BioheatSolution, ThermalSettings, solve_bioheat
from tfus.pipeline.safety.protocol import Protocol
from tfus.pipeline.safety.tissues import THERMAL_TISSUES, ThermalTissue, tissue_maps

__all__ = ["THERMAL_REGIONS", "RegionThermal", "ThermalResult", "heat_deposition", "simulate_thermal"]

_NP_PER_DB = math.log(10.0) / 20.0

#: Regions reported, as label sets (tfus.pipeline.head.labels.Label values).
THERMAL_REGIONS: dict[str, tuple[int, ...]] = {
    "skin": (1,),
    "skull_cortical": (2,),
    "skull_trabecular": (3,),
    "skull": (2, 3),
    "brain": (4,),
    "water": (0,),
    "all": (0, 1, 2, 3, 4),
}


def _intensity(pressure_pa: np.ndarray, density: np.ndarray, sound_speed: np.ndarray) -> np.ndarray:
    """Plane-wave time-average intensity p^2 / (2 rho c) [W/m^2] of a steady-state amplitude p [Pa]."""
    return np.square(pressure_pa) / (2.0 * density * sound_speed)


def heat_deposition(pressure_pa: np.ndarray, medium: AcousticProperties, frequency_hz: float) -> np.ndarray:
    """Heat deposited while the source is on, Q = 2 alpha I [W/m^3] (float64), from a steady-state amplitude.

    Example:
        >>> import numpy as np
        >>> from tfus.pipeline.acoustics import AcousticProperties
        >>> m = AcousticProperties(np.full(1, 1500.0), np.full(1, 1000.0), np.full(1, 4.0), 2.0, "x")
        >>> round(float(heat_deposition(np.array([1e6]), m, 500e3)[0]))  # 1 dB/cm (11.5 Np/m), 33.3 W/cm^2
        7675284
    """
    p = np.asarray(pressure_pa, dtype=np.float64)
    if p.shape != medium.shape:
        raise TfusInputError(f"pressure field {p.shape} and medium {medium.shape} differ; give both on one grid")
    if not np.isfinite(p).all():
        raise TfusInputError("the pressure field contains NaN or infinite values; check the simulation or prediction")
    alpha_np_m = medium.absorption_db_cm(frequency_hz).astype(np.float64) * 100.0 * _NP_PER_DB
    intensity = _intensity(p, medium.density.astype(np.float64), medium.sound_speed.astype(np.float64))
    return 2.0 * alpha_np_m * intensity


@dataclass(frozen=True)
class RegionThermal:
    """Thermal summary of one region.

    Attributes:
        max_temperature_c: the highest temperature any voxel of the region reaches [deg C].
        max_rise_c: the highest rise over body temperature [deg C].
        cem43_min: the largest thermal dose of a voxel, CEM43 [min].
        voxels: number of voxels in the region.
    """

    max_temperature_c: float
    max_rise_c: float
    cem43_min: float
    voxels: int


@dataclass(frozen=True, eq=False)
class ThermalResult:
    """Outcome of :func:`simulate_thermal`.

    Attributes:
        regions: per region name (:data:`THERMAL_REGIONS`, empty regions left out) its :class:`RegionThermal`.
        temperature_at_hottest_c: temperature map [deg C] at the time the box is hottest.
        hottest_time_s: that time [s].
        max_rise_c: per-voxel largest rise [deg C]; cem43_min: per-voxel thermal dose [min].
        times_s, peak_rise_c: the largest rise in the box over time.
        pulse_ripple_bound_c: bound on the rise the pulse averaging smooths away (see :class:`BioheatSolution`).
        affine: the grid's voxel-to-world affine (mm), for writing NIfTI maps.
        region_peak_rise_c: per region (as ``regions``), the largest rise among its voxels at each of ``times_s``.
        body_temperature_c: the baseline temperature [deg C].
    """

    regions: dict[str, RegionThermal]
    temperature_at_hottest_c: np.ndarray
    hottest_time_s: float
    max_rise_c: np.ndarray
    cem43_min: np.ndarray
    times_s: np.ndarray
    peak_rise_c: np.ndarray
    pulse_ripple_bound_c: float
    affine: np.ndarray
    region_peak_rise_c: dict[str, np.ndarray] = field(default_factory=dict)
    body_temperature_c: float = 37.0

    def summary(self) -> dict:
        """Plain JSON-ready numbers: per-region maxima, hottest time, ripple bound."""
        return {"hottest_time_s": self.hottest_time_s, "pulse_ripple_bound_c": self.pulse_ripple_bound_c,
                "regions": {k: vars(v).copy() for k, v in self.regions.items()}}


def _spacing_m(affine: np.ndarray) -> tuple[float, float, float]:
    a = np.asarray(affine, dtype=np.float64)
    if a.shape != (4, 4) or not np.isfinite(a).all():
        raise TfusInputError(f"the affine must be a finite 4x4 matrix, got shape {a.shape}")
    spacing = np.linalg.norm(a[:3, :3], axis=0) / 1e3
    if (spacing <= 0).any():
        raise TfusInputError("the affine has a zero-length voxel axis; fix the image header")
    return tuple(float(s) for s in spacing)


def _regions(labels: np.ndarray, sol: BioheatSolution) -> dict[str, RegionThermal]:
    out = {}
    for name, values in THERMAL_REGIONS.items():
        mask = np.isin(labels, values)
        n = int(mask.sum())
        if n:
            rise = float(sol.max_rise_c[mask].max())
            out[name] = RegionThermal(max_temperature_c=sol.body_temperature_c + rise, max_rise_c=rise,
                                      cem43_min=float(sol.cem43_min[mask].max()), voxels=n)
    return out


def simulate_thermal(pressure_pa: np.ndarray, medium: AcousticProperties, labels: np.ndarray, affine: np.ndarray,
                     frequency_hz: float, protocol: Protocol, settings: ThermalSettings | None = None,
                     tissues: dict[int, ThermalTissue] | None = None) -> ThermalResult:
    """Temperature and thermal dose over a sonication, per region.

    Args:
        pressure_pa: steady-state pressure amplitude [Pa] at the protocol's drive level (3D).
        medium: acoustic properties on the same grid (density, sound speed, absorption).
        labels: head-model labels on the same grid (0 water, 1 skin/scalp, 2/3 cortical/trabecular bone, 4 brain).
        affine: voxel-to-world affine in mm (NIfTI); the voxel spacing is read from it.
        frequency_hz: the sonication frequency [Hz].
        protocol: timing (the drive must already be applied to ``pressure_pa``).
        settings: time stepping and boundaries (default :class:`ThermalSettings`).
        tissues: thermal properties per label (default :data:`~tfus.pipeline.safety.tissues.THERMAL_TISSUES`).

    Returns:
        :class:`ThermalResult`.

    Raises:
        TfusInputError: a field of another grid than the labels/medium, NaN values, unknown labels, bad affine.
    """
    labels = np.asarray(labels)
    if labels.shape != np.shape(pressure_pa):
        raise TfusInputError(f"labels {labels.shape} and pressure field {np.shape(pressure_pa)} differ; give the "
                             "head of the field's grid")
    heat = heat_deposition(pressure_pa, medium, frequency_hz)
    cap, k, perf = tissue_maps(labels, tissues or THERMAL_TISSUES)
    sol = solve_bioheat(heat, cap, k, perf, _spacing_m(affine), protocol, settings, track_labels=labels)
    courses = sol.label_peak_rise_c or {}
    region_courses = {name: np.max([courses[v] for v in values if v in courses], axis=0)
                      for name, values in THERMAL_REGIONS.items() if any(v in courses for v in values)}
    return ThermalResult(regions=_regions(labels, sol), region_peak_rise_c=region_courses,
                         body_temperature_c=sol.body_temperature_c,
                         temperature_at_hottest_c=sol.rise_at_hottest_c + sol.body_temperature_c,
                         hottest_time_s=sol.hottest_time_s, max_rise_c=sol.max_rise_c, cem43_min=sol.cem43_min,
                         times_s=sol.times_s, peak_rise_c=sol.peak_rise_c,
                         pulse_ripple_bound_c=sol.pulse_ripple_bound_c, affine=np.asarray(affine, dtype=np.float64))
