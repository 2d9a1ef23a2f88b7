"""Flags against the ITRUSST non-significant-risk levels, the binding limit and the largest safe drive.

Levels (Aubry J-F et al., *ITRUSST consensus on biophysical safety for transcranial ultrasonic stimulation*, arXiv
2311.05359 **v3**, 2025; :data:`CONSENSUS`):

* **mechanical**: the mechanical index MI (free field) **or** the transcranial MI (MItc, in situ) <= 1.9;
* **thermal**, per tissue (skin / scalp, skull, brain), any one of: temperature rise <= 2 deg C, **or** absolute
  temperature <= 39 deg C, **or** thermal dose CEM43 <= 2 min (brain), 16 min (bone), 21 min (skin). Earlier versions
  (v1/v2) used CEM43 < 0.25 min for every tissue; pass ``cem43_limits_min`` to apply them.

Each criterion is one :class:`Flag` (green when its value is within its level); a **group** (``mechanical``,
``thermal skin``, ``thermal skull``, ``thermal brain``) is green when any of its criteria is, as the consensus words
it. With the uniform 37 deg C baseline of :mod:`tfus.pipeline.safety.thermal` the rise and the absolute criteria
coincide (both are shown).

**Largest drive.** Every flag also says the drive factor ``max_scale`` (x the drive it was evaluated at) at which
its criterion reaches its level: pressures and MI scale linearly with the source amplitude, intensities and the
temperature rise quadratically (Pennes' equation is linear in the heat, and the heat is quadratic in the pressure),
so MI: ``1.9 / MI``; rise: ``sqrt(2 / rise)``; temperature: ``sqrt((39 - 37) / rise)``. The thermal dose is not a
power law: its factor is found by root finding on the CEM43 of the tissue's hottest course
(:attr:`ThermalResult.region_peak_rise_c` scaled by ``s^2``), an upper bound on the dose of every voxel of the
tissue (equal to it when the hottest voxel stays put, as at a focus), so the factor is conservative; when the flag is
green at the current drive the factor is at least 1. Factors are rounded down by 1e-9 (relative), so a rerun at one
is green despite round-off. A group's factor is the largest of its criteria's, the report's
the smallest over groups (:attr:`LimitCheck.max_scale`), and the criterion that sets it is the **binding** one. The
pulse ripple (:attr:`ThermalResult.pulse_ripple_bound_c`) is not included in the rise.

Example:
    >>> from tfus.pipeline.fields.acoustic_safety import AcousticSafety, RegionAcoustics
    >>> brain = RegionAcoustics(10, 9.5e5, (0.0, 0.0, 0.0), 29.0, 2.9, 1.34, 20.0, (0.0, 0.0, 0.0))
    >>> check = check_limits(AcousticSafety(5e5, 0.1, {"brain": brain}), None)
    >>> check.ok, check.binding.criterion, round(check.max_scale, 3)
    (True, 'MItc', 1.418)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy.optimize import brentq

from tfus.pipeline.fields.acoustic_safety import AcousticSafety
from tfus.pipeline.safety.bioheat import cem43_rate
from tfus.pipeline.safety.thermal import ThermalResult

__all__ = ["CEM43_LIMIT_MIN", "CONSENSUS", "MI_LIMIT", "RISE_LIMIT_C", "TEMPERATURE_LIMIT_C", "Flag", "LimitCheck",
           "cem43_of_course", "check_limits"]

CONSENSUS = ("ITRUSST consensus on biophysical safety for transcranial ultrasonic stimulation, Aubry et al., "
             "arXiv 2311.05359 v3 (2025)")
MI_LIMIT = 1.9
RISE_LIMIT_C = 2.0
TEMPERATURE_LIMIT_C = 39.0
#: CEM43 levels [min] per tissue region (consensus v3).
CEM43_LIMIT_MIN: dict[str, float] = {"skin": 21.0, "skull": 16.0, "brain": 2.0}
_THERMAL_REGIONS = ("skin", "skull", "brain")
_MAX_SEARCH = 1e3  # drive factors beyond this are reported as unlimited (inf)
_MARGIN = 1.0 - 1e-9  # factors are rounded down by this so that a rerun at one lands within its level


@dataclass(frozen=True)
class Flag:
    """One criterion of one group.

    Attributes:
        group: ``mechanical`` or ``thermal <region>``.
        criterion: ``MI (free field)``, ``MItc``, ``temperature rise``, ``temperature`` or ``CEM43``.
        region: where the value is reached (``water`` for free field).
        value, limit, unit: the quantity at the evaluated drive and its level.
        ok: ``value <= limit``.
        max_scale: drive factor (x the evaluated drive) at which the criterion reaches its level (inf: never).
    """

    group: str
    criterion: str
    region: str
    value: float
    limit: float
    unit: str
    ok: bool
    max_scale: float

    def to_dict(self) -> dict:
        d = asdict(self)
        d["max_scale"] = self.max_scale if math.isfinite(self.max_scale) else None
        return d


@dataclass(frozen=True)
class LimitCheck:
    """All flags, the verdict per group and overall, the binding criterion and the largest drive factor."""

    flags: tuple[Flag, ...]
    consensus: str = CONSENSUS

    @property
    def groups(self) -> dict[str, bool]:
        """Per group: green when any of its criteria is."""
        out: dict[str, bool] = {}
        for f in self.flags:
            out[f.group] = out.get(f.group, False) or f.ok
        return out

    @property
    def ok(self) -> bool:
        """Every group green."""
        return all(self.groups.values())

    def _group_best(self) -> dict[str, Flag]:
        best: dict[str, Flag] = {}
        for f in self.flags:
            if f.group not in best or f.max_scale > best[f.group].max_scale:
                best[f.group] = f
        return best

    @property
    def binding(self) -> Flag | None:
        """The criterion that sets :attr:`max_scale` (None without flags)."""
        best = self._group_best()
        return min(best.values(), key=lambda f: f.max_scale) if best else None

    @property
    def max_scale(self) -> float:
        """Largest drive factor (x the evaluated drive) that keeps every group green (inf: unlimited)."""
        return math.inf if self.binding is None else self.binding.max_scale

    def to_dict(self) -> dict:
        binding = self.binding
        return {"consensus": self.consensus, "ok": self.ok, "groups": self.groups,
                "binding": None if binding is None else binding.to_dict(),
                "max_scale": self.max_scale if math.isfinite(self.max_scale) else None,
                "flags": [f.to_dict() for f in self.flags]}


def cem43_of_course(times_s: np.ndarray, rise_c: np.ndarray, body_temperature_c: float = 37.0) -> float:
    """CEM43 [min] of one temperature course (rise over body temperature at ``times_s``), trapezoidal in time as
    the solver integrates it.

    Example:
        >>> round(cem43_of_course(np.array([0.0, 60.0]), np.array([6.0, 6.0])), 6)   # 43 deg C for one minute
        1.0
    """
    rate = cem43_rate(body_temperature_c + np.asarray(rise_c, np.float64))
    return float(np.sum(0.5 * (rate[1:] + rate[:-1]) * np.diff(np.asarray(times_s, np.float64))) / 60.0)


def _power_scale(value: float, limit: float, power: int) -> float:
    """Factor s with value * s^power = limit (inf for a zero value, 0 when the limit is not positive)."""
    if limit <= 0:
        return 0.0
    return math.inf if value <= 0 else (limit / value) ** (1.0 / power) * _MARGIN


def _cem43_scale(times: np.ndarray, course: np.ndarray, body: float, limit: float) -> float:
    def excess(s: float) -> float:
        return math.log(cem43_of_course(times, s * s * course, body)) - math.log(limit)

    if excess(0.0) >= 0:
        return 0.0
    hi = 1.0
    while excess(hi) < 0:
        hi *= 2.0
        if hi > _MAX_SEARCH:
            return math.inf
    return float(brentq(excess, 0.0 if hi == 1.0 else hi / 2, hi, xtol=1e-12, rtol=1e-12)) * _MARGIN


def _thermal_flags(thermal: ThermalResult, cem43_limits: dict[str, float]) -> list[Flag]:
    flags = []
    body = thermal.body_temperature_c
    for region in _THERMAL_REGIONS:
        r = thermal.regions.get(region)
        if r is None:
            continue
        group = f"thermal {region}"
        flags.append(Flag(group, "temperature rise", region, r.max_rise_c, RISE_LIMIT_C, "degC",
                          r.max_rise_c <= RISE_LIMIT_C, _power_scale(r.max_rise_c, RISE_LIMIT_C, 2)))
        flags.append(Flag(group, "temperature", region, r.max_temperature_c, TEMPERATURE_LIMIT_C, "degC",
                          r.max_temperature_c <= TEMPERATURE_LIMIT_C,
                          _power_scale(r.max_rise_c, TEMPERATURE_LIMIT_C - body, 2)))
        limit = cem43_limits[region]
        ok = r.cem43_min <= limit
        course = thermal.region_peak_rise_c.get(region)
        scale = 1.0 if course is None else _cem43_scale(thermal.times_s, course, body, limit)
        flags.append(Flag(group, "CEM43", region, r.cem43_min, limit, "min", ok, max(scale, 1.0) if ok else scale))
    return flags


def check_limits(acoustics: AcousticSafety, thermal: ThermalResult | None, *,
                 cem43_limits_min: dict[str, float] | None = None) -> LimitCheck:
    """Flag the acoustic and thermal quantities of one plan against the consensus levels.

    Args:
        acoustics: the acoustic safety quantities at the drive to judge (free field included when known).
        thermal: the thermal run at that drive (None: mechanical flags only).
        cem43_limits_min: CEM43 levels per region (default :data:`CEM43_LIMIT_MIN`, consensus v3).

    Returns:
        :class:`LimitCheck`.
    """
    flags: list[Flag] = []
    if acoustics.free_field is not None:
        mi = acoustics.free_field.mi
        flags.append(Flag("mechanical", "MI (free field)", "water", mi, MI_LIMIT, "", mi <= MI_LIMIT,
                          _power_scale(mi, MI_LIMIT, 1)))
    mitc = acoustics.mi_transcranial
    if mitc is not None:
        flags.append(Flag("mechanical", "MItc", acoustics.mi_transcranial_region, mitc, MI_LIMIT, "",
                          mitc <= MI_LIMIT, _power_scale(mitc, MI_LIMIT, 1)))
    elif acoustics.free_field is None and "all" in acoustics.regions:
        mi = acoustics.regions["all"].mi
        flags.append(Flag("mechanical", "MI (in situ)", "all", mi, MI_LIMIT, "", mi <= MI_LIMIT,
                          _power_scale(mi, MI_LIMIT, 1)))
    if thermal is not None:
        flags += _thermal_flags(thermal, {**CEM43_LIMIT_MIN, **(cem43_limits_min or {})})
    return LimitCheck(flags=tuple(flags))
