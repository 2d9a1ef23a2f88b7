"""Is it safe? One call from a pressure field, its head and a protocol to the acoustic quantities, the temperature
and thermal dose, and the ITRUSST flags with the largest safe drive: :func:`safety_report`.

Steps (each documented where it lives):

1. **Drive.** The field is linear in the source amplitude it was computed at (the transducer's
   ``source_amplitude_pa``); :meth:`Protocol.amplitude_scale` gives the factor to the protocol's drive from the
   simulated source amplitude, the in-situ Isppa (the brain's spatial peak, or the whole field's without brain) or the
   free-field Isppa (:mod:`tfus.pipeline.fields.acoustic_safety`). Every reported quantity is at the protocol's drive.
2. **Acoustics** per region, at the target and in free field (:func:`~tfus.pipeline.fields.acoustic_safety
   .acoustic_safety`; free field from a water simulation when given, else O'Neil's closed form of the bowl).
3. **Thermal** (:func:`~tfus.pipeline.safety.thermal.simulate_thermal`) on a box cut around the heated region: the
   voxels depositing at least ``1e-3`` of the peak heat, padded by ``crop_pad_mm`` (10 mm: > 2.5 brain perfusion
   lengths and > 1.5 diffusion lengths ``sqrt(4 D t)`` of an 80 s sonication), with body temperature at its faces; the
   whole grid is 37 deg C outside it. ``crop_pad_mm=None`` runs on the whole grid.
4. **Flags** (:func:`~tfus.pipeline.safety.limits.check_limits`): per criterion, the binding one and the largest drive.

A field without tissue (``head=None``: water) has no thermal run and only mechanical flags.

Example:
    >>> from tfus.pipeline.safety.report import safety_report
    >>> report = safety_report(field, head, "tbtus-zeng2022", transducer=bowl, pose=pose)   # doctest: +SKIP
    >>> report.limits.ok, report.limits.binding.criterion, report.max_source_amplitude_pa  # doctest: +SKIP
    (True, 'CEM43', 131000.0)
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from tfus.pipeline.engines.field import MediumGrid, SteadyStateField
from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.fields.acoustic_safety import (
    AcousticSafety,
    acoustic_safety,
    free_field_from_transducer,
    free_field_from_water_field,
)
from tfus.pipeline.safety.bioheat import ThermalSettings
from tfus.pipeline.safety.limits import LimitCheck, check_limits
from tfus.pipeline.safety.protocol import Protocol, load_protocol
from tfus.pipeline.safety.thermal import ThermalResult, heat_deposition, simulate_thermal

__all__ = ["HEAT_FRACTION", "SafetyReport", "safety_report", "temperature_rise_path", "write_temperature_rise"]

#: Voxels depositing at least this fraction of the peak heat define the thermal box (before padding).
HEAT_FRACTION = 1e-3


@dataclass(frozen=True, eq=False)
class SafetyReport:
    """Everything :func:`safety_report` found, at the protocol's drive.

    Attributes:
        protocol: the sonication protocol.
        drive_scale: factor from the input field to the protocol's drive.
        simulated_source_pa: the source amplitude the input field was computed at.
        acoustics: acoustic quantities at the drive (:class:`~tfus.pipeline.fields.acoustic_safety.AcousticSafety`).
        thermal: the thermal run at the drive on the thermal box (None: no tissue).
        limits: the flags (:class:`~tfus.pipeline.safety.limits.LimitCheck`).
        temperature_rise_c: rise over body temperature at the hottest time on the field's grid (0 outside the box).
        affine: the field grid's voxel-to-world affine.
        thermal_box: per axis ``[start, stop)`` voxel range of the thermal box on the field grid.
        mapping: the HU -> acoustic mapping of the medium (None when the medium was given).
        timings_s: seconds per stage.
    """

    protocol: Protocol
    drive_scale: float
    simulated_source_pa: float
    acoustics: AcousticSafety
    thermal: ThermalResult | None
    limits: LimitCheck
    temperature_rise_c: np.ndarray
    affine: np.ndarray
    thermal_box: tuple[tuple[int, int], ...]
    mapping: str | None
    timings_s: dict[str, float]

    @property
    def source_amplitude_pa(self) -> float:
        """Source amplitude of the protocol's drive [Pa]."""
        return self.drive_scale * self.simulated_source_pa

    @property
    def max_source_amplitude_pa(self) -> float:
        """Largest source amplitude that keeps every flag green [Pa] (inf: unlimited)."""
        return self.limits.max_scale * self.source_amplitude_pa

    def headline(self) -> str:
        """One line for people: verdict, binding limit, largest drive."""
        b = self.limits.binding
        verdict = "within" if self.limits.ok else "OUTSIDE"
        if b is None:
            return f"{verdict} the ITRUSST levels (nothing to flag)"
        unit = f" {b.unit}" if b.unit else ""
        return (f"{verdict} the ITRUSST levels; binding: {b.group} {b.criterion} {b.value:.3g} "
                f"(level {b.limit:g}{unit}); largest drive x{self.limits.max_scale:.3g} = source "
                f"{self.max_source_amplitude_pa / 1e3:.4g} kPa")

    def to_dict(self) -> dict:
        """JSON-ready summary (no maps): protocol, drive, acoustics, thermal, flags, largest drive, timings."""
        s = self.limits.max_scale
        finite = math.isfinite(s)
        ff = self.acoustics.free_field
        brain = self.acoustics.regions.get("brain")
        thermal = None
        if self.thermal is not None:
            thermal = {**self.thermal.summary(), "box": [list(b) for b in self.thermal_box],
                       "box_shape": [b - a for a, b in self.thermal_box], "steps": int(len(self.thermal.times_s) - 1)}
        return {
            "protocol": self.protocol.model_dump(),
            "drive": {"scale": self.drive_scale, "simulated_source_amplitude_pa": self.simulated_source_pa,
                      "source_amplitude_pa": self.source_amplitude_pa,
                      "free_field_isppa_w_cm2": None if ff is None else ff.isppa_w_cm2,
                      "in_situ_brain_isppa_w_cm2": None if brain is None else brain.isppa_w_cm2},
            "acoustic": self.acoustics.to_dict(),
            "thermal": thermal,
            "limits": self.limits.to_dict(),
            "max_drive": {"scale": s if finite else None,
                          "source_amplitude_pa": self.max_source_amplitude_pa if finite else None,
                          "free_field_isppa_w_cm2": None if ff is None or not finite else ff.isppa_w_cm2 * s * s,
                          "free_field_mi": None if ff is None or not finite else ff.mi * s},
            "medium_mapping": self.mapping,
            "timings_s": dict(self.timings_s),
        }


def _same_grid(shape_a, affine_a, shape_b, affine_b) -> bool:
    return tuple(shape_a) == tuple(shape_b) and np.allclose(np.asarray(affine_a, float), np.asarray(affine_b, float),
                                                            atol=1e-3)


def _describe(shape, affine) -> str:
    spacing = np.linalg.norm(np.asarray(affine, float)[:3, :3], axis=0)
    return f"{list(shape)} at {np.round(spacing, 3).tolist()} mm"


def _properties(medium: MediumGrid, box: tuple[slice, ...]):
    from tfus.pipeline.acoustics import AcousticProperties

    return AcousticProperties(np.asarray(medium.sound_speed[box], np.float64), np.asarray(medium.density[box],
                              np.float64), np.asarray(medium.alpha_coeff[box], np.float64), medium.alpha_power,
                              "simulation medium")


def _thermal_box(heat: np.ndarray, affine: np.ndarray, pad_mm: float | None) -> tuple[slice, ...]:
    if pad_mm is None or heat.max() <= 0:
        return tuple(slice(0, n) for n in heat.shape)
    hot = np.argwhere(heat >= HEAT_FRACTION * heat.max())
    spacing = np.linalg.norm(np.asarray(affine, float)[:3, :3], axis=0)
    pad = np.ceil(pad_mm / spacing).astype(int)
    lo = np.maximum(hot.min(0) - pad, 0)
    hi = np.minimum(hot.max(0) + 1 + pad, heat.shape)
    return tuple(slice(int(a), int(b)) for a, b in zip(lo, hi))


def safety_report(field: SteadyStateField, head, protocol: Protocol | str | Path, *, transducer,
                  pose=None, target_mm=None, medium: MediumGrid | None = None, mapping: str = "itrusst",
                  free_field: SteadyStateField | None = None, settings: ThermalSettings | None = None,
                  crop_pad_mm: float | None = 10.0) -> SafetyReport:
    """Acoustic quantities, temperature and ITRUSST flags of one sonication plan (see the module docstring).

    Args:
        field: steady-state field (3D amplitude, Pa) at the transducer's ``source_amplitude_pa``.
        head: the :class:`~tfus.pipeline.head.model.HeadModel` on the field's grid (None: water only).
        protocol: a :class:`Protocol`, a preset name or a YAML path.
        transducer: the :class:`~tfus.pipeline.transducers.BowlTransducer` that made the field (its source amplitude
            and geometry; the field's frequency wins).
        pose: the transducer pose (its target is the default ``target_mm``).
        target_mm: the aim point (world mm).
        medium: the acoustic medium on the field's grid (default: from ``head`` with ``mapping``).
        mapping: HU -> acoustic mapping when the medium is built from the head.
        free_field: a water simulation of the same transducer at the same drive (default: O'Neil's closed form).
        settings: thermal time stepping (default :class:`ThermalSettings`).
        crop_pad_mm: padding of the thermal box around the heated region (None: the whole grid).

    Raises:
        TfusInputError: a NaN field, a head or medium of another grid, a bad protocol, a target outside the grid.
    """
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    protocol = load_protocol(protocol)
    amp = np.abs(np.asarray(field.amplitude, np.float64))
    affine = np.asarray(field.affine, np.float64)
    if amp.ndim != 3:
        raise TfusInputError(f"a safety report needs a 3D field, got shape {amp.shape}")
    if not np.isfinite(amp).all():
        raise TfusInputError("the pressure field contains NaN or infinite values; check the simulation or prediction")
    if head is not None and not _same_grid(head.shape, head.affine, amp.shape, affine):
        raise TfusInputError(f"the field ({_describe(amp.shape, affine)}) and the head "
                             f"({_describe(head.shape, head.affine)}) are on different grids; give the head the field "
                             "was computed on (or rebuild it with `tfus head build --spacing`)")
    if medium is None:
        if head is not None:
            from tfus.pipeline.engines.problem import medium_from_head

            medium = medium_from_head(head, mapping)
        else:
            medium = MediumGrid(np.full(amp.shape, 1500.0, np.float32), np.full(amp.shape, 1000.0, np.float32),
                                np.zeros(amp.shape, np.float32), 2.0, affine)
            mapping = "water"
    else:
        mapping = None
        if not _same_grid(medium.shape, medium.affine, amp.shape, affine):
            raise TfusInputError(f"the medium ({_describe(medium.shape, medium.affine)}) and the field "
                                 f"({_describe(amp.shape, affine)}) are on different grids")
    labels = None if head is None else np.asarray(head.labels)
    if target_mm is None and pose is not None:
        target_mm = pose.target
    bowl = replace(transducer, frequency_hz=float(field.frequency_hz))
    duty = protocol.duty_cycle
    ff = free_field_from_water_field(free_field, duty) if free_field is not None else \
        free_field_from_transducer(bowl, duty)
    at_source = acoustic_safety(field, medium, labels, duty_cycle=duty, target_mm=target_mm, free_field=ff)
    reference = at_source.regions.get("brain") or at_source.regions["all"]
    scale = protocol.amplitude_scale(simulated_source_pa=bowl.source_amplitude_pa,
                                     simulated_isppa_in_situ_w_cm2=reference.isppa_w_cm2,
                                     simulated_isppa_free_field_w_cm2=ff.isppa_w_cm2)
    acoustics = at_source.scaled(scale)
    timings["acoustics"] = time.perf_counter() - t0

    thermal = None
    rise = np.zeros(amp.shape, np.float32)
    box = tuple(slice(0, 0) for _ in amp.shape)
    has_tissue = labels is not None and bool(np.any(labels != 0))
    if has_tissue:
        t0, cpu = time.perf_counter(), time.process_time()
        pressure = amp * scale
        props = _properties(medium, tuple(slice(None) for _ in amp.shape))
        box = _thermal_box(heat_deposition(pressure, props, bowl.frequency_hz), affine, crop_pad_mm)
        box_affine = affine.copy()
        box_affine[:3, 3] = affine[:3, :3] @ np.array([b.start for b in box], float) + affine[:3, 3]
        thermal = simulate_thermal(pressure[box], _properties(medium, box), labels[box], box_affine,
                                   bowl.frequency_hz, protocol, settings)
        rise[box] = thermal.temperature_at_hottest_c - thermal.body_temperature_c
        timings["thermal"] = time.perf_counter() - t0
        timings["thermal_cpu"] = time.process_time() - cpu
    limits = check_limits(acoustics, thermal)
    return SafetyReport(protocol=protocol, drive_scale=float(scale), simulated_source_pa=bowl.source_amplitude_pa,
                        acoustics=acoustics, thermal=thermal, limits=limits, temperature_rise_c=rise, affine=affine,
                        thermal_box=tuple((b.start, b.stop) for b in box), mapping=mapping, timings_s=timings)


def temperature_rise_path(field_path: str | Path) -> Path:
    """``OUT_temperature_rise.nii.gz`` beside a field file ``OUT.nii[.gz]``.

    Example:
        >>> temperature_rise_path("plans/field.nii.gz").as_posix()
        'plans/field_temperature_rise.nii.gz'
    """
    stem = str(field_path).removesuffix(".gz").removesuffix(".nii")
    return Path(stem + "_temperature_rise.nii.gz")


def write_temperature_rise(field_path: str | Path, report: SafetyReport, shape=None, affine=None) -> Path:
    """Write the rise at the hottest time (deg C over body temperature, float32 NIfTI, atomic) beside
    ``field_path``; on ``(shape, affine)`` when given (e.g. the head grid of a beam-frame field: linear, 0 outside),
    else on the report's grid. Returns the path written."""
    from tfus.pipeline.fields.output import write_field

    rise, grid_affine = report.temperature_rise_c, report.affine
    if shape is not None and not _same_grid(shape, affine, rise.shape, grid_affine):
        from tfus.pipeline.beam.resample import resample_onto

        rise, grid_affine = resample_onto(rise, grid_affine, shape, affine, fill=0.0), np.asarray(affine, float)
    path = temperature_rise_path(field_path)
    write_field(path, rise, grid_affine)
    return path
