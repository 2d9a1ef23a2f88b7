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

The field quantities themselves are public, for any field (surrogates' predictions included):

* :func:`isppa_w_cm2` and :func:`mechanical_index` (``MI = PNP [MPa] / sqrt(f [MHz])``, IEC 62359 / FDA; in situ,
  not derated);
* :func:`focal_region` (the -6 dB region connected to the maximum) and :func:`focal_volume_mm3`, with
  :func:`voxel_affine` for the voxel -> world geometry from a spacing;
* from time-resolved pressure ``(..., T, *S)`` (numpy arrays or torch tensors in, the same kind out):
  :func:`peak_positive` ``max_t p``, :func:`peak_negative` ``-min_t p`` (a magnitude, as the MI uses it) and
  :func:`peak_abs` ``max_t |p|`` (the peak-pressure map). The peaks are those of the snapshots given: snapshots
  spaced wider than the carrier's half period miss the true crest (a tone burst sampled every ~0.75 period
  under-reads it by up to ~30 %, ~10 % typically); the k-Wave engine's ``meta["p_max"] / ["p_min"]`` hold the
  every-step peaks where that matters.

Example:
    >>> import numpy as np
    >>> from tfus.pipeline.engines.field import MediumGrid, SteadyStateField
    >>> m = MediumGrid.homogeneous((21, 21, 21), spacing_mm=1.0)
    >>> amp = np.zeros(m.shape); amp[14:17, 10, 10] = 9e5; amp[15, 10, 10] = 1e6
    >>> f = SteadyStateField(amp, np.zeros(m.shape), m.affine, 5e5)
    >>> out = field_metrics(f, m)
    >>> out["peak_pressure_pa"], out["focus_mm"], out["focal_volume_mm3"], round(out["isppa_w_cm2"], 1)
    (1000000.0, [5.0, 0.0, 0.0], 3.0, 33.3)
    >>> t = np.arange(64) / 64 / 5e5                        # one period of 500 kHz, 64 samples
    >>> p = 2e5 + 1e6 * np.sin(2 * np.pi * 5e5 * t)          # 1 MPa sinusoid on a 0.2 MPa offset
    >>> float(peak_positive(p)), float(peak_negative(p)), round(float(mechanical_index(peak_negative(p), 5e5)), 4)
    (1200000.0, 800000.0, 1.1314)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import ndimage

from tfus.pipeline.engines.field import MediumGrid, SteadyStateField
from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.head.labels import Label, bone_mask
from tfus.pipeline.transducers.bowl import BowlTransducer
from tfus.pipeline.transducers.pose import Pose
from tfus.pipeline.validation.beam_metrics import LEVEL_6DB, axial_coordinate, beam_metrics, focal_region_volume

__all__ = ["bowl_surface_distance", "default_near_field_mm", "field_metrics", "focal_region", "focal_volume_mm3",
           "isppa_w_cm2", "mechanical_index", "peak_abs", "peak_negative", "peak_positive", "voxel_affine"]

WATER_DENSITY, WATER_SOUND_SPEED = 1000.0, 1500.0


def default_near_field_mm(transducer: BowlTransducer, sound_speed: float = WATER_SOUND_SPEED) -> float:
    """``max(R / 4, 2 wavelengths)`` in mm (see the module docstring).

    Example:
        >>> default_near_field_mm(BowlTransducer("b", 64.0, 64.0, 5e5, 6e4))
        16.0
    """
    return max(transducer.radius_of_curvature_mm / 4, 2 * transducer.wavelength_mm(sound_speed))


def isppa_w_cm2(pressure_pa, density_kg_m3: float = WATER_DENSITY, sound_speed_m_s: float = WATER_SOUND_SPEED):
    """Spatial-peak pulse-average intensity ``p^2 / (2 rho c)`` in W/cm^2 of a continuous wave of amplitude
    ``pressure_pa`` (elementwise; water by default): the plane-wave intensity.

    Example:
        >>> round(isppa_w_cm2(1e6), 2)
        33.33
    """
    return pressure_pa**2 / (2 * density_kg_m3 * sound_speed_m_s) / 1e4


def mechanical_index(peak_negative_pa, frequency_hz: float):
    """``MI = PNP [MPa] / sqrt(f [MHz])`` (elementwise; PNP in Pa, as :func:`peak_negative` returns it; for a
    linear continuous wave the amplitude).

    Example:
        >>> mechanical_index(1e6, 2.5e5)
        2.0
    """
    if not frequency_hz > 0:
        raise ValueError(f"frequency must be positive, got {frequency_hz}")
    return peak_negative_pa / 1e6 / math.sqrt(frequency_hz / 1e6)


def _is_tensor(x) -> bool:
    """A torch tensor (duck-typed: the pipeline does not import torch)."""
    return hasattr(x, "detach") and hasattr(x, "amax")


def peak_positive(snapshots, time_axis: int = 0):
    """``max_t p`` (Pa) of snapshots with time on ``time_axis``.

    Example:
        >>> float(peak_positive(np.array([-2.0, 1.0, 3.0])))
        3.0
    """
    return snapshots.amax(dim=time_axis) if _is_tensor(snapshots) else np.max(snapshots, axis=time_axis)


def peak_negative(snapshots, time_axis: int = 0):
    """``-min_t p`` (Pa; positive for a rarefaction).

    Example:
        >>> float(peak_negative(np.array([-2.0, 1.0, 3.0])))
        2.0
    """
    return -(snapshots.amin(dim=time_axis) if _is_tensor(snapshots) else np.min(snapshots, axis=time_axis))


def peak_abs(snapshots, time_axis: int = 0):
    """``max_t |p|`` (Pa): the peak-pressure map.

    Example:
        >>> float(peak_abs(np.array([-4.0, 1.0, 3.0])))
        4.0
    """
    a = snapshots.abs() if _is_tensor(snapshots) else np.abs(snapshots)
    return peak_positive(a, time_axis)


def _as_array(x) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().float().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def voxel_affine(ndim: int, spacing: float | Sequence[float] = 1.0, affine=None) -> np.ndarray:
    """The ``(ndim+1) x (ndim+1)`` voxel -> world affine: ``affine`` if given, else ``diag(spacing)``.

    Example:
        >>> voxel_affine(2, spacing=(0.5, 2.0)).tolist()
        [[0.5, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 1.0]]
    """
    if affine is not None:
        a = np.asarray(affine, float)
        if a.shape != (ndim + 1, ndim + 1):
            raise TfusInputError(f"a {ndim}D field needs a {ndim + 1}x{ndim + 1} affine, got {a.shape}")
        return a
    steps = np.broadcast_to(np.asarray(spacing, float), (ndim,))
    return np.diag([*steps, 1.0])


def focal_region(field, level: float = LEVEL_6DB, connected: bool = True) -> np.ndarray:
    """Boolean mask of the voxels above ``level`` times the maximum, connected (faces, edges or corners) to the
    maximum unless ``connected=False``.

    Example:
        >>> p = np.zeros((5, 5)); p[1:3, 1:3] = 1.0; p[4, 4] = 0.9
        >>> int(focal_region(p).sum()), int(focal_region(p, connected=False).sum())
        (4, 5)
    """
    f = _as_array(field)
    mask = f > level * f.max()
    peak = np.unravel_index(np.argmax(f), f.shape)
    mask[peak] = True
    if not connected:
        return mask
    comp, _ = ndimage.label(mask, structure=ndimage.generate_binary_structure(f.ndim, f.ndim))
    return comp == comp[peak]


def focal_volume_mm3(field, spacing: float | Sequence[float] = 1.0, affine=None, level: float = LEVEL_6DB,
                     connected: bool = True) -> float:
    """Volume (mm^3; mm^2 for 2D fields) of the -6 dB focal region (:func:`focal_region`).

    Example:
        >>> p = np.zeros((5, 5, 5)); p[1:3, 1:3, 2] = 1.0
        >>> focal_volume_mm3(p, spacing=(0.5, 0.5, 2.0))
        2.0
    """
    f = _as_array(field)
    a = voxel_affine(f.ndim, spacing, affine)
    return float(np.count_nonzero(focal_region(f, level, connected)) * abs(np.linalg.det(a[: f.ndim, : f.ndim])))


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
        "isppa_w_cm2": isppa_w_cm2(peak, rho, c),
        "mi": mechanical_index(peak, field.frequency_hz),
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
