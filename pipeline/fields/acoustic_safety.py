"""Acoustic safety quantities of a steady-state pressure field, per region, in situ and in free field.

Definitions (units in the names; sources below):

* **pressure**: ``p`` is the steady-state amplitude of a linear continuous-wave simulation or prediction,
  ``p(x, t) = p(x) cos(w t + phi(x))``. Its rarefactional (peak negative) pressure is the same ``p(x)``: the
  **steady-state amplitude is used as the peak negative pressure** (PNP). Nonlinear propagation, which tfus does not
  model, would make the rarefactional peak a little lower than the compressional one at these pressures, so the
  amplitude does not underestimate the PNP of a linear estimate. Pulses are assumed long enough to reach the steady
  state (tFUS pulses are >= 0.1 ms, hundreds of cycles).
* **Isppa** (spatial-peak pulse-average intensity, W/cm^2) = max over the region of the plane-wave intensity
  ``p^2 / (2 rho c)`` with the local density and sound speed (IEC 62359 / the ITRUSST reporting guide's in-situ
  estimate);
* **Ispta** (spatial-peak temporal-average, W/cm^2) = Isppa x the protocol's **duty cycle** (pulse duration x PRF):
  the average over a pulse train, as the ITRUSST reporting checklist defines it;
* **MI** = PNP [MPa] / sqrt(f [MHz]) (IEC 62359 / FDA). In situ (``regions``) it is not derated. The
  **transcranial MI** (``mi_transcranial``; MItc of the ITRUSST consensus) is the largest in-situ MI in the head's
  tissues (skin / scalp, skull, brain): the skull's attenuation is in the simulated field instead of a fixed
  0.3 dB/(cm MHz) derating;
* **-6 dB focal volume** of a region: its voxels above half the region's peak amplitude that are connected (faces,
  edges or corners) to the peak voxel, x the voxel volume; its **centroid** is the mean world position of those voxel
  centres (unweighted); distances to the target are from the peak voxel and from the centroid;
* **at the target**: the values in the voxel nearest to the target point.

Regions (:data:`ACOUSTIC_REGIONS`, labels of :class:`tfus.pipeline.head.labels.Label`): ``brain`` 4, ``skull`` 2+3,
``skin`` 1 (scalp and other soft tissue outside the skull), ``all`` the whole field (coupling water included).
Empty regions are left out.

**Free field** (water-equivalent) values, beside the in-situ ones: the same transducer at the same drive in water,
as the ITRUSST reporting checklist's "free-field acoustic parameters" (what a hydrophone in a water tank measures;
the protocols' ``isppa_free_field_w_cm2`` drive refers to it). Two sources, one definition:
:func:`free_field_from_transducer` (O'Neil's closed form of the bowl, lossless water 1000 kg/m^3, 1500 m/s; k-Wave
reproduces its peak to 0.02 %, see workflows/bench/README.md) or :func:`free_field_from_water_field` (a water
simulation's peak, e.g. ``tfus simulate --water``). Free-field MI is not derated either (the regulatory MI derates
by 0.3 dB/(cm MHz); not derating gives the larger, conservative value).

Sources: Aubry J-F et al., ITRUSST consensus on biophysical safety for transcranial ultrasonic stimulation, arXiv
2311.05359 v3 (2025) (MI / MItc <= 1.9); Martin E et al., ITRUSST standardised reporting of transcranial ultrasound
stimulation parameters, arXiv 2402.10027 (2024) (Isppa, Ispta, free-field and in-situ parameters); IEC 62359.

Every quantity in pressure scales linearly with the drive and every intensity quadratically (linear acoustics):
:meth:`AcousticSafety.scaled` applies a drive factor without recomputing.

Example:
    >>> import numpy as np
    >>> from tfus.pipeline.engines.field import MediumGrid, SteadyStateField
    >>> m = MediumGrid.homogeneous((9, 9, 9), spacing_mm=1.0)
    >>> amp = np.zeros(m.shape); amp[4, 4, 3:6] = 6e5; amp[4, 4, 4] = 1e6
    >>> labels = np.full(m.shape, 4)
    >>> out = acoustic_safety(SteadyStateField(amp, 0 * amp, m.affine, 5e5), m, labels, duty_cycle=0.1)
    >>> b = out.regions["brain"]
    >>> round(b.isppa_w_cm2, 2), round(b.ispta_w_cm2, 3), round(b.mi, 3), b.focal_volume_mm3
    (33.33, 3.333, 1.414, 3.0)
    >>> round(out.scaled(2.0).regions["brain"].isppa_w_cm2, 2)
    133.33
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
from scipy import ndimage

from tfus.pipeline.engines.field import SteadyStateField
from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.fields.metrics import WATER_DENSITY, WATER_SOUND_SPEED, isppa_w_cm2, mechanical_index

__all__ = ["ACOUSTIC_REGIONS", "TISSUE_REGIONS", "AcousticSafety", "FreeFieldAcoustics", "RegionAcoustics",
           "TargetAcoustics", "acoustic_safety", "free_field_from_transducer", "free_field_from_water_field"]

#: Regions reported: label sets (None: every voxel).
ACOUSTIC_REGIONS: dict[str, tuple[int, ...] | None] = {"brain": (4,), "skull": (2, 3), "skin": (1,), "all": None}
#: The head's tissues, over which the transcranial MI is taken.
TISSUE_REGIONS = ("skin", "skull", "brain")


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


@dataclass(frozen=True)
class RegionAcoustics:
    """In-situ quantities of one region (see the module docstring for the definitions).

    Attributes:
        voxels: voxel count of the region.
        peak_pressure_pa: largest amplitude (= peak negative pressure) [Pa]; peak_mm: where (world mm).
        isppa_w_cm2, ispta_w_cm2: spatial-peak pulse- and temporal-average intensity [W/cm^2].
        mi: mechanical index at the peak (in situ, not derated).
        focal_volume_mm3: the -6 dB region around the peak [mm^3]; focal_centroid_mm: its centroid (world mm).
        peak_to_target_mm, centroid_to_target_mm: distances to the target [mm] (None without a target).
    """

    voxels: int
    peak_pressure_pa: float
    peak_mm: tuple[float, float, float]
    isppa_w_cm2: float
    ispta_w_cm2: float
    mi: float
    focal_volume_mm3: float
    focal_centroid_mm: tuple[float, float, float]
    peak_to_target_mm: float | None = None
    centroid_to_target_mm: float | None = None

    def scaled(self, factor: float) -> RegionAcoustics:
        """The same region at ``factor`` x the drive (pressure and MI linear, intensities quadratic)."""
        return replace(self, peak_pressure_pa=self.peak_pressure_pa * factor, mi=self.mi * factor,
                       isppa_w_cm2=self.isppa_w_cm2 * factor**2, ispta_w_cm2=self.ispta_w_cm2 * factor**2)


@dataclass(frozen=True)
class TargetAcoustics:
    """In-situ quantities in the voxel nearest to the target (``label`` its tissue)."""

    target_mm: tuple[float, float, float]
    label: int
    pressure_pa: float
    isppa_w_cm2: float
    ispta_w_cm2: float
    mi: float

    def scaled(self, factor: float) -> TargetAcoustics:
        return replace(self, pressure_pa=self.pressure_pa * factor, mi=self.mi * factor,
                       isppa_w_cm2=self.isppa_w_cm2 * factor**2, ispta_w_cm2=self.ispta_w_cm2 * factor**2)


@dataclass(frozen=True)
class FreeFieldAcoustics:
    """The transducer's field in water at the same drive: its peak and the quantities derived from it.

    Attributes:
        source: ``"oneil"`` (closed form) or ``"water field"`` (a simulation in water).
        peak_pressure_pa, isppa_w_cm2, ispta_w_cm2, mi: as in :class:`RegionAcoustics` (water impedance).
        peak_axial_mm: distance of the peak from the apex (O'Neil only).
    """

    source: str
    peak_pressure_pa: float
    isppa_w_cm2: float
    ispta_w_cm2: float
    mi: float
    peak_axial_mm: float | None = None

    def scaled(self, factor: float) -> FreeFieldAcoustics:
        return replace(self, peak_pressure_pa=self.peak_pressure_pa * factor, mi=self.mi * factor,
                       isppa_w_cm2=self.isppa_w_cm2 * factor**2, ispta_w_cm2=self.ispta_w_cm2 * factor**2)


def _free_field(source: str, peak_pa: float, frequency_hz: float, duty_cycle: float,
                axial_mm: float | None = None) -> FreeFieldAcoustics:
    isppa = float(isppa_w_cm2(peak_pa, WATER_DENSITY, WATER_SOUND_SPEED))
    return FreeFieldAcoustics(source=source, peak_pressure_pa=float(peak_pa), isppa_w_cm2=isppa,
                              ispta_w_cm2=isppa * duty_cycle, mi=float(mechanical_index(peak_pa, frequency_hz)),
                              peak_axial_mm=axial_mm)


def free_field_from_transducer(transducer, duty_cycle: float = 1.0) -> FreeFieldAcoustics:
    """Free-field values of a bowl at its ``source_amplitude_pa`` from O'Neil's closed form (lossless water).

    Example:
        >>> from tfus.pipeline.transducers import load_transducer
        >>> ff = free_field_from_transducer(load_transducer("itrusst-sc1"))  # REFERENCE.md: 1.094 MPa at 61.9 mm
        >>> round(ff.peak_pressure_pa / 1e6, 3), round(ff.peak_axial_mm, 1), round(ff.isppa_w_cm2, 1)
        (1.094, 61.9, 39.9)
    """
    from tfus.pipeline.validation.closed_forms import oneil_reference

    ref = oneil_reference(transducer, sound_speed=WATER_SOUND_SPEED, density=WATER_DENSITY)
    return _free_field("oneil", ref.peak_pa, transducer.frequency_hz, duty_cycle, ref.peak_z_mm)


def free_field_from_water_field(field: SteadyStateField, duty_cycle: float = 1.0) -> FreeFieldAcoustics:
    """Free-field values from a simulation in water at the same drive: its largest amplitude.

    Example:
        >>> f = SteadyStateField(np.array([[1e6, 2e5]]), np.zeros((1, 2)), np.eye(3), 5e5)
        >>> free_field_from_water_field(f).mi == mechanical_index(1e6, 5e5)
        True
    """
    amp = np.abs(np.asarray(field.amplitude, np.float64))
    if amp.size == 0 or not np.isfinite(amp).all():
        raise TfusInputError("the free-field (water) field is empty or holds NaN/infinite values")
    return _free_field("water field", float(amp.max()), field.frequency_hz, duty_cycle)


@dataclass(frozen=True)
class AcousticSafety:
    """In-situ quantities per region, at the target, and in free field, at one drive level.

    Attributes:
        frequency_hz: the sonication frequency.
        duty_cycle: the protocol's duty cycle used for Ispta (1 for a continuous wave).
        regions: per region name (:data:`ACOUSTIC_REGIONS`) its :class:`RegionAcoustics`.
        target: the target voxel's values (None without a target).
        free_field: the water-equivalent values (None when not computed).
    """

    frequency_hz: float
    duty_cycle: float
    regions: dict[str, RegionAcoustics]
    target: TargetAcoustics | None = None
    free_field: FreeFieldAcoustics | None = None

    @property
    def mi_transcranial(self) -> float | None:
        """MItc: the largest in-situ MI over the head's tissues (skin, skull, brain); None without tissue."""
        values = [self.regions[r].mi for r in TISSUE_REGIONS if r in self.regions]
        return max(values) if values else None

    @property
    def mi_transcranial_region(self) -> str | None:
        """The tissue region where MItc is reached."""
        present = [r for r in TISSUE_REGIONS if r in self.regions]
        return max(present, key=lambda r: self.regions[r].mi) if present else None

    def scaled(self, factor: float) -> AcousticSafety:
        """Every quantity at ``factor`` x the drive: pressures and MI x factor, intensities x factor^2; volumes,
        centroids and distances unchanged (linear acoustics)."""
        if not (math.isfinite(factor) and factor > 0):
            raise TfusInputError(f"a drive factor must be a positive number, got {factor!r}")
        return replace(self, regions={k: v.scaled(factor) for k, v in self.regions.items()},
                       target=None if self.target is None else self.target.scaled(factor),
                       free_field=None if self.free_field is None else self.free_field.scaled(factor))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: plain floats, lists and None (non-finite numbers become None)."""
        def clean(d: dict) -> dict:
            return {k: list(v) if isinstance(v, tuple) else (_finite(v) if isinstance(v, float) else v)
                    for k, v in d.items()}

        return {"frequency_hz": self.frequency_hz, "duty_cycle": self.duty_cycle,
                "mi_transcranial": _finite(self.mi_transcranial),
                "mi_transcranial_region": self.mi_transcranial_region,
                "regions": {k: clean(asdict(v)) for k, v in self.regions.items()},
                "target": None if self.target is None else clean(asdict(self.target)),
                "free_field": None if self.free_field is None else clean(asdict(self.free_field))}


def _check(amp: np.ndarray, density, sound_speed, labels) -> None:
    if amp.ndim != 3:
        raise TfusInputError(f"safety quantities need a 3D field, got shape {amp.shape}")
    if not np.isfinite(amp).all():
        raise TfusInputError("the pressure field contains NaN or infinite values; check the simulation or prediction")
    for name, arr in (("density", density), ("sound speed", sound_speed), ("labels", labels)):
        if np.shape(arr) != amp.shape:
            raise TfusInputError(f"{name} has shape {np.shape(arr)}, the field {amp.shape}; give the medium and "
                                 "head of the field's grid")


def _region(amp, intensity, mask, affine, frequency_hz, duty_cycle, target) -> RegionAcoustics:
    masked = np.where(mask, amp, -np.inf)
    ijk = np.unravel_index(int(np.argmax(masked)), amp.shape)
    peak = float(amp[ijk])
    to_world = lambda idx: np.asarray(idx, float) @ affine[:3, :3].T + affine[:3, 3]  # noqa: E731
    structure = ndimage.generate_binary_structure(3, 3)
    comp, _ = ndimage.label(mask & (amp > 0.5 * peak), structure=structure)
    if comp[ijk]:
        inside = np.argwhere(comp == comp[ijk])
    else:  # a zero field: the peak voxel alone
        inside = np.array([ijk])
    voxel_mm3 = abs(float(np.linalg.det(affine[:3, :3])))
    peak_mm, centroid = to_world(ijk), to_world(inside.mean(axis=0))
    isppa = float(intensity[mask].max())
    dist = (lambda p: float(np.linalg.norm(p - target))) if target is not None else (lambda p: None)  # noqa: E731
    return RegionAcoustics(voxels=int(mask.sum()), peak_pressure_pa=peak, peak_mm=tuple(peak_mm.tolist()),
                           isppa_w_cm2=isppa, ispta_w_cm2=isppa * duty_cycle,
                           mi=float(mechanical_index(peak, frequency_hz)),
                           focal_volume_mm3=float(len(inside)) * voxel_mm3, focal_centroid_mm=tuple(centroid.tolist()),
                           peak_to_target_mm=dist(peak_mm), centroid_to_target_mm=dist(centroid))


def acoustic_safety(field: SteadyStateField, medium, labels: np.ndarray | None, *, duty_cycle: float = 1.0,
                    target_mm=None, free_field: FreeFieldAcoustics | None = None) -> AcousticSafety:
    """The acoustic safety quantities of ``field`` per region (see the module docstring).

    Args:
        field: steady-state field (3D amplitude in Pa) at the drive level to report.
        medium: anything with ``density`` and ``sound_speed`` arrays on the field's grid (a
            :class:`~tfus.pipeline.engines.field.MediumGrid` or :class:`~tfus.pipeline.acoustics.AcousticProperties`).
        labels: tissue labels on the field's grid (None: water everywhere, only the ``all`` region).
        duty_cycle: the protocol's duty cycle (0-1] for Ispta.
        target_mm: the aim point (world mm) for distances and the target values; None leaves them out.
        free_field: the water-equivalent values at the same drive (:func:`free_field_from_transducer` or
            :func:`free_field_from_water_field`); the caller chooses the source.

    Raises:
        TfusInputError: a NaN field, shapes that differ, a duty cycle outside (0, 1], a target outside the grid.
    """
    amp = np.abs(np.asarray(field.amplitude, np.float64))
    density = np.asarray(medium.density, np.float64)
    sound_speed = np.asarray(medium.sound_speed, np.float64)
    labels = np.zeros(amp.shape, np.uint8) if labels is None else np.asarray(labels)
    _check(amp, density, sound_speed, labels)
    if not 0 < duty_cycle <= 1:
        raise TfusInputError(f"duty cycle must be in (0, 1], got {duty_cycle!r}")
    affine = np.asarray(field.affine, np.float64)
    intensity = isppa_w_cm2(amp, density, sound_speed)
    target = None if target_mm is None else np.asarray(target_mm, float).reshape(3)
    regions = {}
    for name, values in ACOUSTIC_REGIONS.items():
        mask = np.ones(amp.shape, bool) if values is None else np.isin(labels, values)
        if mask.any():
            regions[name] = _region(amp, intensity, mask, affine, field.frequency_hz, duty_cycle, target)
    at_target = None
    if target is not None:
        ijk = np.rint(np.linalg.solve(affine[:3, :3], target - affine[:3, 3])).astype(int)
        if np.any(ijk < 0) or np.any(ijk >= amp.shape):
            raise TfusInputError(f"target {target.round(1).tolist()} mm lies outside the field's grid")
        idx = tuple(int(i) for i in ijk)
        p = float(amp[idx])
        at_target = TargetAcoustics(target_mm=tuple(target.tolist()), label=int(labels[idx]), pressure_pa=p,
                                    isppa_w_cm2=float(intensity[idx]), ispta_w_cm2=float(intensity[idx]) * duty_cycle,
                                    mi=float(mechanical_index(p, field.frequency_hz)))
    return AcousticSafety(frequency_hz=float(field.frequency_hz), duty_cycle=float(duty_cycle), regions=regions,
                          target=at_target, free_field=free_field)
