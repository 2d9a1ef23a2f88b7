"""Binary morphology in millimetres (via Euclidean distance transforms, exact for any radius) and connected
components, used by the CT and T1 segmentations.

Example:
    >>> import numpy as np
    >>> m = np.zeros((9, 9, 9), bool); m[4, 4, 4] = True
    >>> int(dilate(m, 1.0, spacing=1.0).sum())  # a ball of radius 1 voxel: 7 voxels
    7
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi


def distance_mm(mask: np.ndarray, spacing: float) -> np.ndarray:
    """Distance (mm) of every voxel outside ``mask`` to the nearest voxel of ``mask`` (0 inside)."""
    if not mask.any():
        return np.full(mask.shape, np.inf, np.float32)
    return ndi.distance_transform_edt(~mask, sampling=spacing).astype(np.float32)


def depth_mm(mask: np.ndarray, spacing: float) -> np.ndarray:
    """Distance (mm) of every voxel inside ``mask`` to the nearest voxel outside it (0 outside). Voxels beyond the
    array edge count as outside."""
    padded = np.pad(mask, 1)
    return ndi.distance_transform_edt(padded, sampling=spacing)[1:-1, 1:-1, 1:-1].astype(np.float32)


def dilate(mask: np.ndarray, radius_mm: float, spacing: float) -> np.ndarray:
    """Dilation by a ball of ``radius_mm``."""
    return distance_mm(mask, spacing) <= radius_mm


def erode(mask: np.ndarray, radius_mm: float, spacing: float) -> np.ndarray:
    """Erosion by a ball of ``radius_mm`` (the array edge counts as outside)."""
    return depth_mm(mask, spacing) > radius_mm


def close(mask: np.ndarray, radius_mm: float, spacing: float) -> np.ndarray:
    """Closing (dilate then erode) by a ball of ``radius_mm``; the array is padded so the edge does not erode."""
    pad = int(np.ceil(radius_mm / spacing)) + 1
    padded = np.pad(mask, pad)
    grown = dilate(padded, radius_mm, spacing)
    out = ~dilate(~grown, radius_mm, spacing)
    return out[pad:-pad, pad:-pad, pad:-pad]


def open_(mask: np.ndarray, radius_mm: float, spacing: float) -> np.ndarray:
    """Opening (erode then dilate) by a ball of ``radius_mm``."""
    return dilate(erode(mask, radius_mm, spacing), radius_mm, spacing) & mask


def largest_component(mask: np.ndarray) -> np.ndarray:
    """The largest 6-connected component of ``mask`` (empty if ``mask`` is empty)."""
    lab, n = ndi.label(mask)
    if n == 0:
        return np.zeros_like(mask, dtype=bool)
    sizes = np.bincount(lab.ravel())
    sizes[0] = 0
    return lab == int(np.argmax(sizes))


def remove_small(mask: np.ndarray, min_voxels: int) -> np.ndarray:
    """Drop 26-connected components smaller than ``min_voxels``."""
    lab, n = ndi.label(mask, structure=np.ones((3, 3, 3)))
    if n == 0:
        return mask.copy()
    sizes = np.bincount(lab.ravel())
    keep = sizes >= min_voxels
    keep[0] = False
    return keep[lab]


def fill_holes(mask: np.ndarray, slicewise_axis: int | None = None) -> np.ndarray:
    """Fill enclosed cavities in 3D; with ``slicewise_axis`` also fill holes in each 2D slice along that axis."""
    out = ndi.binary_fill_holes(mask)
    if slicewise_axis is not None:
        moved = np.moveaxis(out, slicewise_axis, 0)
        filled = np.stack([ndi.binary_fill_holes(s) for s in moved])
        out = np.moveaxis(filled, 0, slicewise_axis)
    return out
