"""What ``tfus simulate --json`` reports about a steady-state field: the focus a tFUS researcher means.

The **focus** is the maximum pressure amplitude over the voxels where a target can lie:

* in front of the bowl (axial coordinate >= 0 from the apex) and at least ``near_field_mm`` from the bowl surface.
  Default ``max(R / 4, 2 wavelengths in water)`` (16 mm for a 64 mm bowl at 500 kHz): the source voxels, the
  near-field interference close to the cap and the standing waves between the bowl and the scalp lie there, and no
  intracranial target can be that close to the bowl (scalp + skull alone are ~10 mm). Pass ``near_field_mm=0`` to
  disable;
* with a head (``labels``): never in bone (labels 2/3); in the brain (label 4) when the search region holds brain
  voxels (the **intracranial focus**), else in soft tissue, else anywhere but bone.

``focus_region`` says which rule applied; ``global_peak_pressure_pa`` / ``global_peak_mm`` give the unrestricted
maximum (skull or near field), which matters for safety. Reported quantities at the focus:

* ``peak_pressure_pa`` and ``focus_mm`` (world mm), ``focus_index``, ``focus_label``;
* ``focal_volume_mm3``: the -6 dB region (amplitude > half the focal pressure) connected to the focus within the
  search region (26-connectivity), voxel count x voxel volume; 2D fields give ``focal_area_mm2`` instead (and
  ``focal_volume_mm3`` None);
* with a pose: ``focus_axial_mm`` (from the apex along the axis), ``focus_off_axis_mm``, ``focal_length_6db_mm`` and
  ``focal_widths_6db_mm`` (profiles through the focus, :mod:`tfus.pipeline.validation.beam_metrics`);
* ``isppa_w_cm2 = p^2 / (2 rho c)`` with the local density and sound speed of ``medium`` (water 1000 / 1500 when no
  medium is given), in W/cm^2 — the plane-wave intensity of a continuous wave;
* ``mi = p_neg [MPa] / sqrt(f [MHz])``: for a linear continuous wave the peak negative pressure equals the
  amplitude. This is the in-situ (simulated, not derated) value;
* ``focus_distance_to_target_mm``: from ``target_mm``, by default the pose's target.

Every value is a float, int, str, list or None: ``json.dumps`` works as is (NaN becomes None).

Example:
    >>> import numpy as np
    >>> from tfus.pipeline.engines.field import MediumGrid, SteadyStateField
    >>> m = MediumGrid.homogeneous((21, 21, 21), spacing_mm=1.0)
    >>> amp = np.zeros(m.shape); amp[14:17, 10, 10] = 9e5; amp[15, 10, 10] = 1e6
    >>> f = SteadyStateField(amp, np.zeros(m.shape), m.affine, 5e5)
    >>> out = field_metrics(f, m)
    >>> out["peak_pressure_pa"], out["focus_mm"], out["focal_volume_mm3"], round(out["isppa_w_cm2"], 1)
    (1000000.0, [5.0, 0.0, 0.0], 3.0, 33.3)
"""

from __future__ import annotations

import math

import numpy as np

from tfus.pipeline.engines.field import MediumGrid, SteadyStateField
from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.head.labels import Label, bone_mask
from tfus.pipeline.transducers.bowl import BowlTransducer
from tfus.pipeline.transducers.pose import Pose
from tfus.pipeline.validation.beam_metrics import axial_coordinate, beam_metrics, focal_region_volume

__all__ = ["bowl_surface_distance", "default_near_field_mm", "field_metrics"]

WATER_DENSITY, WATER_SOUND_SPEED = 1000.0, 1500.0


def default_near_field_mm(transducer: BowlTransducer, sound_speed: float = WATER_SOUND_SPEED) -> float:
    """``max(R / 4, 2 wavelengths)`` in mm (see the module docstring).

    Example:
        >>> default_near_field_mm(BowlTransducer("b", 64.0, 64.0, 5e5, 6e4))
        16.0
    """
    return max(transducer.radius_of_curvature_mm / 4, 2 * transducer.wavelength_mm(sound_speed))


def _world_axes(shape, affine) -> list[np.ndarray]:
    """Per-dimension world offsets: ``world = sum_d axes[d] + origin`` with broadcastable pieces."""
    a = np.asarray(affine, float)
    nd = len(shape)
    return [np.arange(n)[:, None] * a[:nd, d][None, :] for d, n in enumerate(shape)]


def bowl_surface_distance(shape: tuple[int, ...], affine, transducer: BowlTransducer, pose: Pose) -> np.ndarray:
    """Distance (mm, float32) from every voxel centre to the bowl's spherical cap (2D grids: the z = 0 plane).

    With ``F`` the geometric focus, ``rho = |x - F|`` and ``g`` the angle between ``x - F`` and the direction focus ->
    apex: ``|rho - R|`` when ``g`` is within the half opening angle ``t``, else the distance to the rim circle
    ``sqrt(rho^2 + R^2 - 2 rho R cos(g - t))``.
    """
    nd = len(shape)
    a = np.asarray(affine, float)
    r, half = transducer.radius_of_curvature_mm, transducer.half_angle_rad
    focus, back = pose.focus(transducer)[:nd], -pose.axis[:nd]
    out = np.empty(shape, np.float32)
    rest = np.stack(np.meshgrid(*[np.arange(n) for n in shape[1:]], indexing="ij"), -1).reshape(-1, nd - 1)
    rest_world = rest @ a[:nd, 1:nd].T + a[:nd, nd] - focus
    for i in range(shape[0]):  # slab by slab: bounded memory on 256^3 grids
        v = rest_world + i * a[:nd, 0]
        rho = np.linalg.norm(v, axis=1)
        cos_g = np.clip((v @ back) / np.maximum(rho, 1e-12), -1.0, 1.0)
        g = np.arccos(cos_g)
        rim = np.sqrt(np.maximum(rho**2 + r * r - 2 * rho * r * np.cos(g - half), 0.0))
        out[i] = np.where(g <= half, np.abs(rho - r), rim).reshape(shape[1:])
    return out


def _search_region(shape, affine, labels, transducer, pose, near_field_mm) -> tuple[np.ndarray, str, float | None]:
    region = np.ones(shape, bool)
    near = None
    if transducer is not None and pose is not None:
        near = default_near_field_mm(transducer) if near_field_mm is None else float(near_field_mm)
        apex, axis = pose.apex[: len(shape)], pose.axis[: len(shape)]
        region &= axial_coordinate(shape, affine, apex, axis) >= 0
        if near > 0:
            region &= bowl_surface_distance(shape, affine, transducer, pose) >= near
    name = "medium"
    if labels is not None:
        region &= ~bone_mask(labels)
        for candidate, label_name in ((labels == Label.BRAIN, "brain"), (labels != Label.BACKGROUND, "soft tissue")):
            if (region & candidate).any():
                region &= candidate
                name = label_name
                break
    if not region.any():
        raise TfusInputError("no voxel is left to search the focus in (all bone or near the bowl); lower "
                             "near_field_mm or enlarge the grid")
    return region, name, near


def _clean(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def field_metrics(field: SteadyStateField, medium: MediumGrid | None = None, *,
                  transducer: BowlTransducer | None = None, pose: Pose | None = None, labels: np.ndarray | None = None,
                  target_mm=None, near_field_mm: float | None = None) -> dict:
    """Focal metrics of a steady-state field as a JSON-ready dict (see the module docstring for every key).

    Args:
        field: the steady-state field (amplitude in Pa, 2D or 3D).
        medium: the medium it was computed in (local rho, c for Isppa); None means water.
        transducer, pose: the bowl and its placement (enable the near-field rule and the axial metrics).
        labels: tissue labels on the field grid (enable the bone / intracranial rules).
        target_mm: aim point (world mm); default the pose's target.
        near_field_mm: exclusion distance from the bowl surface; default :func:`default_near_field_mm`.

    Raises:
        TfusInputError: shapes differ, or nothing is left to search.
    """
    amp = np.abs(np.asarray(field.amplitude, float))
    shape, nd = amp.shape, amp.ndim
    for name, arr in (("medium", None if medium is None else medium.sound_speed), ("labels", labels)):
        if arr is not None and np.shape(arr) != shape:
            raise TfusInputError(f"{name} shape {np.shape(arr)} differs from the field's {shape}")
    affine = np.asarray(field.affine, float)
    region, region_name, near = _search_region(shape, affine, labels, transducer, pose, near_field_mm)
    ijk = np.unravel_index(int(np.argmax(np.where(region, amp, -np.inf))), shape)
    peak = float(amp[ijk])
    to_world = lambda idx: np.asarray(idx, float) @ affine[:nd, :nd].T + affine[:nd, nd]  # noqa: E731
    focus = to_world(ijk)
    g_ijk = np.unravel_index(int(np.argmax(amp)), shape)
    rho = WATER_DENSITY if medium is None else float(medium.density[ijk])
    c = WATER_SOUND_SPEED if medium is None else float(medium.sound_speed[ijk])
    volume = focal_region_volume(amp, region, ijk, affine)
    out = {
        "peak_pressure_pa": peak,
        "focus_mm": focus.tolist(),
        "focus_index": [int(i) for i in ijk],
        "focus_region": region_name,
        "focus_label": None if labels is None else int(labels[ijk]),
        "focal_volume_mm3": volume if nd == 3 else None,
        "isppa_w_cm2": peak**2 / (2 * rho * c) / 1e4,
        "mi": peak / 1e6 / math.sqrt(field.frequency_hz / 1e6),
        "frequency_hz": float(field.frequency_hz),
        "density_at_focus_kg_m3": rho,
        "sound_speed_at_focus_m_s": c,
        "global_peak_pressure_pa": float(amp[g_ijk]),
        "global_peak_mm": to_world(g_ijk).tolist(),
        "near_field_exclusion_mm": near,
    }
    if nd == 2:
        out["focal_area_mm2"] = volume
    target = pose.target if target_mm is None and pose is not None else target_mm
    if target is not None:
        target = np.asarray(target, float).reshape(-1)[:nd]
        out["focus_distance_to_target_mm"] = float(np.linalg.norm(focus - target))
    if pose is not None:
        bm = beam_metrics(amp, affine, pose.apex[:nd], pose.axis[:nd], min_axial_mm=-math.inf, mask=region)
        out.update(focus_axial_mm=bm.focus_axial_mm, focus_off_axis_mm=bm.focus_lateral_mm,
                   focal_length_6db_mm=bm.axial_6db_length_mm, focal_widths_6db_mm=list(bm.lateral_6db_widths_mm))
    return {k: _clean(v) for k, v in out.items()}
