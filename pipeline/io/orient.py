"""Reorient and resample volumes without moving anatomy: every world (RAS mm) point keeps its content.

* :func:`to_ras` permutes/flips array axes so they run +R, +A, +S (exact, no interpolation).
* :func:`resample_isotropic` puts a volume on an isotropic grid with the same field of view and direction cosines.
* :func:`resample_to` samples any array onto any other grid given both affines (e.g. labels back onto the input image).

Interpolation uses :func:`scipy.ndimage.affine_transform` (order 1 for intensities, order 0 for labels). A voxel is a
cube centred on its index: samples within half a voxel of the outermost voxel centres take the edge value, samples
further out take ``cval``.

Example:
    >>> import numpy as np
    >>> from tfus.pipeline.io.volume import Volume
    >>> vol = Volume(np.zeros((8, 10, 12)), np.diag([-1.0, 1.0, 2.0, 1.0]))
    >>> iso = resample_isotropic(to_ras(vol), 1.0)
    >>> iso.shape, iso.spacing_mm
    ((8, 10, 24), (1.0, 1.0, 1.0))
"""

from __future__ import annotations

import numpy as np

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.io.volume import Volume

#: Largest grid :func:`resample_isotropic` will create (voxels).
MAX_VOXELS = 2**31
_SLAB_VOXELS = 2**21


def to_ras(vol: Volume) -> Volume:
    """Return ``vol`` with array axes permuted/flipped to run +R, +A, +S (closest axes for oblique images).

    Voxel values are moved, not interpolated; the affine is updated so each voxel keeps its world position. A volume
    that is already RAS is returned as is (same object).

    Example:
        >>> import numpy as np
        >>> from tfus.pipeline.io.volume import Volume
        >>> lps = Volume(np.zeros((8, 9, 10)), np.diag([-2.0, -2.0, 2.0, 1.0]))
        >>> ras = to_ras(lps)
        >>> np.diag(ras.affine).tolist(), ras.affine[:3, 3].tolist()
        ([2.0, 2.0, 2.0, 1.0], [-14.0, -16.0, 0.0])
    """
    from nibabel.orientations import apply_orientation, inv_ornt_aff, io_orientation

    ornt = io_orientation(vol.affine)
    if np.array_equal(ornt, [[0, 1], [1, 1], [2, 1]]):
        return vol
    data = np.ascontiguousarray(apply_orientation(vol.data, ornt))
    affine = vol.affine @ inv_ornt_aff(ornt, vol.shape)
    return Volume(data, affine, vol.source, vol.modality)


def isotropic_grid(affine: np.ndarray, shape, spacing_mm: float) -> tuple[tuple[int, int, int], np.ndarray]:
    """Shape and affine of the isotropic grid used by :func:`resample_isotropic`.

    Each axis keeps its direction cosine; the voxel count is ``round(n * old_spacing / spacing_mm)`` and the new grid
    is centred on the old field of view.

    Example:
        >>> import numpy as np
        >>> shape, aff = isotropic_grid(np.diag([1.0, 1.0, 2.0, 1.0]), (8, 8, 8), 1.0)
        >>> shape, float(aff[2, 2]), float(aff[2, 3])
        ((8, 8, 16), 1.0, -0.5)
    """
    spacing_mm = float(spacing_mm)
    if not np.isfinite(spacing_mm) or spacing_mm <= 0:
        raise TfusInputError(f"isotropic spacing must be a positive number of mm, got {spacing_mm}; pass e.g. 0.5")
    affine = np.asarray(affine, dtype=float)
    n_old = np.asarray(shape[:3], dtype=float)
    s_old = np.linalg.norm(affine[:3, :3], axis=0)
    cosines = affine[:3, :3] / s_old
    n_new = np.maximum(1, np.round(n_old * s_old / spacing_mm)).astype(int)
    if float(np.prod(n_new.astype(float))) > MAX_VOXELS:
        raise TfusInputError(f"resampling to {spacing_mm} mm would make a {tuple(int(n) for n in n_new)} grid "
                             f"(over {MAX_VOXELS} voxels); choose a larger spacing")
    offset_along_axes = (n_old - 1) / 2 * s_old - (n_new - 1) / 2 * spacing_mm  # new voxel 0, mm along each axis
    new = np.eye(4)
    new[:3, :3] = cosines * spacing_mm
    new[:3, 3] = affine[:3, 3] + cosines @ offset_along_axes
    return tuple(int(n) for n in n_new), new


def resample_isotropic(vol: Volume, spacing_mm: float, order: int = 1, cval: float | None = None) -> Volume:
    """Resample ``vol`` onto an isotropic grid of ``spacing_mm`` covering the same field of view.

    Args:
        vol: input volume (any orientation; direction cosines are kept).
        spacing_mm: new voxel size in mm.
        order: spline order, 1 (linear) for intensities, 0 (nearest) for label maps.
        cval: value for samples outside the input; default the volume's minimum (air for CT, background for MR).

    Returns:
        A new :class:`Volume`; a world point maps to the same anatomy in both volumes.

    Example:
        >>> import numpy as np
        >>> from tfus.pipeline.io.volume import Volume
        >>> vol = Volume(np.arange(8 * 8 * 4, dtype=float).reshape(8, 8, 4), np.diag([0.5, 0.5, 1.0, 1.0]))
        >>> resample_isotropic(vol, 1.0).shape
        (4, 4, 4)
    """
    shape, affine = isotropic_grid(vol.affine, vol.shape, spacing_mm)
    if cval is None:
        cval = float(np.min(vol.data))
    data = resample_to(vol.data, vol.affine, shape, affine, order=order, cval=cval)
    return Volume(data, affine, vol.source, vol.modality)


def resample_to(data: np.ndarray, affine: np.ndarray, target_shape, target_affine: np.ndarray, order: int = 1,
                cval: float = 0.0) -> np.ndarray:
    """Sample ``data`` (on grid ``affine``) at every voxel centre of the grid (``target_shape``, ``target_affine``).

    Args:
        data: 3D array; order 0 keeps its dtype (labels), higher orders return float32 (float64 for float64 input).
        affine: voxel -> world affine of ``data``.
        target_shape: 3 ints, shape of the output.
        target_affine: voxel -> world affine of the output grid.
        order: spline order 0-5 (0 nearest for labels, 1 linear for intensities).
        cval: value for output voxels whose centre lies more than half a voxel outside ``data``.

    Example:
        >>> import numpy as np
        >>> labels = np.zeros((8, 8, 8), np.uint8); labels[4, 4, 4] = 7
        >>> up = resample_to(labels, np.eye(4), (16, 16, 16), np.diag([0.5, 0.5, 0.5, 1.0]), order=0)
        >>> up.dtype, int(up[8, 8, 8])
        (dtype('uint8'), 7)
    """
    from scipy import ndimage

    data = np.asarray(data)
    if data.ndim != 3:
        raise TfusInputError(f"resample_to needs a 3D array, got shape {data.shape}; pass one 3D volume")
    if int(order) not in range(6):
        raise TfusInputError(f"interpolation order must be 0-5, got {order}; use 0 for labels, 1 for intensities")
    order = int(order)
    target_shape = tuple(int(n) for n in target_shape)
    if len(target_shape) != 3 or min(target_shape) < 1:
        raise TfusInputError(f"target shape must be three positive ints, got {target_shape}")
    src_from_tgt = np.linalg.inv(np.asarray(affine, dtype=float)) @ np.asarray(target_affine, dtype=float)
    out_dtype = data.dtype if order == 0 else np.promote_types(data.dtype, np.float32)
    work = data.astype(np.uint8) if data.dtype == bool else data
    if order > 1:
        work = ndimage.spline_filter(work, order=order, output=np.float64, mode="nearest")
    # affine_transform computes each sample's coordinates on the fly (no coordinate arrays), so memory is the output
    # alone. It interpolates in float64 and casts on write, as the old astype did.
    out = ndimage.affine_transform(work, src_from_tgt[:3, :3], offset=src_from_tgt[:3, 3], output_shape=target_shape,
                                   output=out_dtype if order else work.dtype, order=order, mode="nearest",
                                   prefilter=False)
    out = out.astype(out_dtype, copy=False)
    out[_outside(src_from_tgt, data.shape, target_shape)] = cval
    return out


def _outside(src_from_tgt: np.ndarray, src_shape, target_shape: tuple[int, int, int]) -> np.ndarray:
    """Target voxels whose centre maps more than half a voxel outside a ``src_shape`` grid (with 1e-6 tolerance).

    scipy's modes cannot express this rule (``constant`` stops at the outermost centres, ``grid-constant`` blends in
    ``cval`` over the last half voxel), so it is applied as a mask, built in slabs along the first axis to bound
    memory (one source axis at a time, one float64 slab of at most ``_SLAB_VOXELS``).
    """
    outside = np.zeros(target_shape, dtype=bool)
    j = np.arange(target_shape[1], dtype=float)[None, :, None]
    k = np.arange(target_shape[2], dtype=float)[None, None, :]
    eps = 1e-6
    step = max(1, _SLAB_VOXELS // (target_shape[1] * target_shape[2]))
    for start in range(0, target_shape[0], step):
        i = np.arange(start, min(start + step, target_shape[0]), dtype=float)[:, None, None]
        slab = outside[start:start + i.shape[0]]
        for m, n in zip(src_from_tgt[:3], src_shape, strict=True):
            c = m[0] * i + m[1] * j + m[2] * k + m[3]
            slab |= (c < -0.5 - eps) | (c > n - 0.5 + eps)
    return outside
