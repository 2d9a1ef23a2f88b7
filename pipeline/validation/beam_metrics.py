"""ITRUSST beam metrics of a pressure-amplitude field on a grid, and error norms against a reference field.

Definitions follow the published intercomparison code (ucl-bug/transcranial-ultrasound-benchmarks,
``computeDifferenceMetrics.m``), generalised to a beam axis of any direction:

* the **axial coordinate** of a point is its distance from the apex along the beam axis (mm);
* **focus**: the maximum amplitude among voxels with axial coordinate ``>= min_axial_mm`` (and inside ``mask``);
  reported as voxel index, world mm, axial and lateral (distance from the axis) coordinates;
* **-6 dB / -3 dB extents**: profiles through the focus voxel along the axis and along each lateral direction
  (world axes where the beam is grid-aligned), sampled every voxel spacing with linear interpolation; from the focus
  outwards, the first samples at or below ``level * p_focus`` and linear interpolation between them and their
  neighbours give the crossings (as ``fwhm2.m``). -6 dB is ``level = 0.5``; -3 dB is ``1/sqrt(2)`` (the benchmark takes
  the half maximum of ``p**2``). A crossing outside the grid is NaN;
* **-6 dB focal volume**: voxels above half the focal pressure (and inside the search region), connected (faces,
  edges or corners) to the focus voxel, times the voxel volume (mm^3; mm^2 for 2D fields). The benchmark code takes
  the largest such component instead; they differ only when a side lobe region is larger than the focus;
* **L-inf and L2 errors**: over voxels at or beyond the exit plane (axial coordinate ``>= exit_plane_mm``),
  ``100 max|p - p_ref| / max|p_ref|`` and ``100 sqrt(sum (p - p_ref)^2 / sum p_ref^2)`` (percent).

Example:
    >>> import numpy as np
    >>> x = np.arange(0, 80.5, 0.5)[:, None]; y = np.arange(-10, 10.5, 0.5)[None, :]
    >>> p = np.exp(-((x - 60) ** 2) / (2 * 5.0 ** 2) - y ** 2 / (2 * 1.0 ** 2))
    >>> aff = np.array([[0.5, 0, 0], [0, 0.5, -10.0], [0, 0, 1]])
    >>> m = beam_metrics(p, aff, apex_mm=[0, 0], axis=[1, 0])
    >>> m.focus_axial_mm, round(m.axial_6db_length_mm, 2), round(m.lateral_6db_widths_mm[0], 2)
    (60.0, 11.78, 2.38)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import ndimage

from tfus.pipeline.errors import TfusInputError

__all__ = ["LEVEL_3DB", "LEVEL_6DB", "BeamComparison", "BeamMetrics", "axial_coordinate", "beam_metrics",
           "compare_beams", "field_errors", "focal_region_volume", "lateral_directions", "level_crossings"]

LEVEL_6DB = 0.5
LEVEL_3DB = 1.0 / math.sqrt(2.0)


@dataclass(frozen=True)
class BeamMetrics:
    """Focal metrics of one field (mm, Pa); lateral widths follow :func:`lateral_directions` order."""

    focal_pressure_pa: float
    focus_index: tuple[int, ...]
    focus_world_mm: tuple[float, ...]
    focus_axial_mm: float
    focus_lateral_mm: float
    axial_6db_mm: tuple[float, float]
    axial_6db_length_mm: float
    axial_3db_mm: tuple[float, float]
    axial_3db_length_mm: float
    lateral_6db_widths_mm: tuple[float, ...]
    lateral_3db_widths_mm: tuple[float, ...]
    focal_volume_6db_mm3: float

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class BeamComparison:
    """Differences of a field against a reference (the benchmark's cross-comparison metrics)."""

    linf_percent: float
    l2_percent: float
    focal_pressure_diff_percent: float
    focal_position_diff_mm: float
    axial_6db_length_diff_mm: float
    lateral_6db_width_diffs_mm: tuple[float, ...]
    focal_volume_diff_percent: float
    field: BeamMetrics
    reference: BeamMetrics


def _frame(affine, apex_mm, axis, ndim: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    a = np.asarray(affine, float)
    if a.shape != (ndim + 1, ndim + 1):
        raise TfusInputError(f"a {ndim}D field needs a {ndim + 1}x{ndim + 1} affine, got shape {a.shape}")
    apex = np.asarray(apex_mm, float).reshape(-1)
    w = np.asarray(axis, float).reshape(-1)
    if ndim == 2 and apex.size == 3:
        apex, w = apex[:2], w[:2]
    if apex.size != ndim or w.size != ndim or not np.linalg.norm(w) > 0:
        raise TfusInputError(f"apex and axis need {ndim} coordinates (axis non-zero) for a {ndim}D field")
    return a, apex, w / np.linalg.norm(w)


def lateral_directions(axis) -> list[np.ndarray]:
    """Unit vectors perpendicular to the beam axis: for a grid-aligned axis these are the other world axes in order
    (``+x`` beam: ``y`` then ``z``); 2D: the in-plane normal with a non-negative largest component."""
    w = np.asarray(axis, float) / np.linalg.norm(axis)
    if w.size == 2:
        n = np.array([-w[1], w[0]])
        return [n if n[np.argmax(np.abs(n))] > 0 else -n]
    e = np.eye(3)[int(np.argmin(np.abs(w)))]
    u = e - (e @ w) * w
    u /= np.linalg.norm(u)
    return [u, np.cross(w, u)]


def axial_coordinate(shape: tuple[int, ...], affine, apex_mm, axis) -> np.ndarray:
    """Distance (mm) of every voxel from the apex along the axis, built separably (float32, ``shape``)."""
    a, apex, w = _frame(affine, apex_mm, axis, len(shape))
    nd = len(shape)
    out = np.full((1,) * nd, float((a[:nd, nd] - apex) @ w), np.float32)
    for d, n in enumerate(shape):
        step = float(a[:nd, d] @ w)
        out = out + (np.arange(n, dtype=np.float32) * step).reshape([-1 if i == d else 1 for i in range(nd)])
    return out


def level_crossings(values, positions, i_peak: int, level: float = LEVEL_6DB) -> tuple[float, float]:
    """Positions where a 1D profile first falls to ``level * values[i_peak]`` on either side of ``i_peak``
    (linear interpolation between samples; NaN where the profile ends first or is NaN).

    Example:
        >>> level_crossings(np.array([0.0, 0.5, 1.0, 0.6, 0.2]), np.arange(5.0), 2)
        (1.0, 3.25)
    """
    f, x = np.asarray(values, float), np.asarray(positions, float)
    target = level * f[i_peak]

    def walk(step: int) -> float:
        i = i_peak
        while f[i] > target:
            i += step
            if i < 0 or i >= f.size or not np.isfinite(f[i]):
                return math.nan
        j = i - step
        if f[j] == f[i]:
            return float(x[i])
        return float(x[i] + (target - f[i]) * (x[j] - x[i]) / (f[j] - f[i]))

    return walk(-1), walk(1)


def _profile(amplitude: np.ndarray, inv: np.ndarray, centre: np.ndarray, direction: np.ndarray, step: float
             ) -> tuple[np.ndarray, np.ndarray, int]:
    nd = amplitude.ndim
    half = int(math.ceil(np.linalg.norm(np.asarray(amplitude.shape) * step) / step)) + 1
    t = np.arange(-half, half + 1) * step
    world = centre + t[:, None] * direction
    idx = world @ inv[:nd, :nd].T + inv[:nd, nd]
    inside = np.all((idx > -1e-6) & (idx < np.asarray(amplitude.shape) - 1 + 1e-6), axis=1)
    vals = np.full(t.size, np.nan)
    vals[inside] = ndimage.map_coordinates(amplitude, idx[inside].T, order=1, mode="nearest")
    return vals, t, half


def beam_metrics(amplitude: np.ndarray, affine, apex_mm, axis, *, min_axial_mm: float = 0.0,
                 mask: np.ndarray | None = None) -> BeamMetrics:
    """Focal metrics of a pressure-amplitude field (2D or 3D) with a beam axis (see the module docstring).

    Args:
        amplitude: pressure amplitude (Pa), 2D or 3D.
        affine: index -> world mm (``ndim + 1`` square).
        apex_mm, axis: beam origin (world mm) and direction (``ndim`` or, for 2D fields, 3 coordinates with z = 0).
        min_axial_mm: the focus is searched at axial coordinates ``>= min_axial_mm``.
        mask: optional boolean array, ``True`` where the focus may lie (e.g. brain).

    Raises:
        TfusInputError: shapes, or an empty search region.
    """
    p = np.abs(np.asarray(amplitude, float))
    if p.ndim not in (2, 3):
        raise TfusInputError(f"the field must be 2D or 3D, got {p.ndim}D")
    a, apex, w = _frame(affine, apex_mm, axis, p.ndim)
    region = axial_coordinate(p.shape, a, apex, w) >= min_axial_mm
    if mask is not None:
        if np.shape(mask) != p.shape:
            raise TfusInputError(f"mask shape {np.shape(mask)} differs from the field's {p.shape}")
        region &= np.asarray(mask, bool)
    if not region.any():
        raise TfusInputError("no voxel left to search the focus in; lower min_axial_mm or widen the mask")
    flat = int(np.argmax(np.where(region, p, -np.inf)))
    ijk = np.unravel_index(flat, p.shape)
    peak = float(p[ijk])
    nd = p.ndim
    centre = np.asarray(ijk, float) @ a[:nd, :nd].T + a[:nd, nd]
    axial = float((centre - apex) @ w)
    lateral = float(np.linalg.norm((centre - apex) - axial * w))
    step = float(np.mean(np.linalg.norm(a[:nd, :nd], axis=0)))
    inv = np.linalg.inv(a)

    def extents(direction: np.ndarray, level: float) -> tuple[float, float]:
        vals, t, i0 = _profile(p, inv, centre, direction, step)
        vals[i0] = peak
        return level_crossings(vals, t, i0, level)

    ax6, ax3 = extents(w, LEVEL_6DB), extents(w, LEVEL_3DB)
    lat6 = tuple(float(np.subtract(*extents(d, LEVEL_6DB)[::-1])) for d in lateral_directions(w))
    lat3 = tuple(float(np.subtract(*extents(d, LEVEL_3DB)[::-1])) for d in lateral_directions(w))
    volume = focal_region_volume(p, region, ijk, a)
    return BeamMetrics(peak, tuple(int(i) for i in ijk), tuple(float(v) for v in centre), axial, lateral,
                       (axial + ax6[0], axial + ax6[1]), ax6[1] - ax6[0], (axial + ax3[0], axial + ax3[1]),
                       ax3[1] - ax3[0], lat6, lat3, volume)


def focal_region_volume(amplitude: np.ndarray, region: np.ndarray, focus_index, affine,
                        level: float = LEVEL_6DB) -> float:
    """Volume (mm^3; mm^2 in 2D) of the voxels of ``region`` above ``level`` times the amplitude at ``focus_index``
    that are connected (faces, edges or corners) to it.

    Example:
        >>> p = np.zeros((5, 5)); p[1:3, 1:3] = 1.0; p[4, 4] = 1.0
        >>> focal_region_volume(p, np.ones((5, 5), bool), (1, 1), np.diag([0.5, 0.5, 1.0]))
        1.0
    """
    p = np.abs(np.asarray(amplitude, float))
    idx = tuple(int(i) for i in focus_index)
    nd = p.ndim
    a = np.asarray(affine, float)
    structure = ndimage.generate_binary_structure(nd, nd)
    comp, _ = ndimage.label(np.asarray(region, bool) & (p > level * p[idx]), structure=structure)
    if comp[idx] == 0:
        return 0.0
    return float(np.count_nonzero(comp == comp[idx])) * abs(float(np.linalg.det(a[:nd, :nd])))


def field_errors(field: np.ndarray, reference: np.ndarray, affine, apex_mm, axis, *, exit_plane_mm: float = 0.0
                 ) -> tuple[float, float]:
    """``(L-inf %, L2 %)`` of ``field`` against ``reference`` over voxels at axial coordinate ``>= exit_plane_mm``,
    relative to the reference (its maximum there for L-inf, its L2 norm there for L2).

    Example:
        >>> ref = np.ones((4, 4)); f = ref.copy(); f[3, 0] = 1.1
        >>> [round(v, 6) for v in field_errors(f, ref, np.eye(3), [0, 0], [1, 0])]
        [10.0, 2.5]
    """
    f, r = np.abs(np.asarray(field, float)), np.abs(np.asarray(reference, float))
    if f.shape != r.shape:
        raise TfusInputError(f"field shape {f.shape} differs from the reference's {r.shape}; resample first")
    keep = axial_coordinate(r.shape, affine, apex_mm, axis) >= exit_plane_mm
    keep &= np.isfinite(f) & np.isfinite(r)
    if not keep.any():
        raise TfusInputError("no voxel beyond the exit plane; lower exit_plane_mm")
    d, rr = f[keep] - r[keep], r[keep]
    return float(100 * np.max(np.abs(d)) / np.max(rr)), float(100 * np.sqrt(np.sum(d * d) / np.sum(rr * rr)))


def compare_beams(field: np.ndarray, reference: np.ndarray, affine, apex_mm, axis, *, exit_plane_mm: float = 0.0,
                  min_axial_mm: float | None = None, mask: np.ndarray | None = None) -> BeamComparison:
    """Benchmark cross-comparison of ``field`` against ``reference`` (same grid).

    ``min_axial_mm`` defaults to ``exit_plane_mm``; each field's focus is searched on its own (the benchmark takes
    the profiles through the reference focus; with the focal position difference reported both views agree).
    """
    lo = exit_plane_mm if min_axial_mm is None else min_axial_mm
    linf, l2 = field_errors(field, reference, affine, apex_mm, axis, exit_plane_mm=exit_plane_mm)
    m = beam_metrics(field, affine, apex_mm, axis, min_axial_mm=lo, mask=mask)
    ref = beam_metrics(reference, affine, apex_mm, axis, min_axial_mm=lo, mask=mask)
    return BeamComparison(
        linf, l2, 100 * abs(m.focal_pressure_pa - ref.focal_pressure_pa) / ref.focal_pressure_pa,
        float(np.linalg.norm(np.subtract(m.focus_world_mm, ref.focus_world_mm))),
        m.axial_6db_length_mm - ref.axial_6db_length_mm,
        tuple(x - y for x, y in zip(m.lateral_6db_widths_mm, ref.lateral_6db_widths_mm, strict=True)),
        100 * abs(m.focal_volume_6db_mm3 - ref.focal_volume_6db_mm3) / ref.focal_volume_6db_mm3, m, ref)
