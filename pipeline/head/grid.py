"""Put a head model on a fixed grid shape (a dataset's common grid): centre the cranium, pad with air, crop the rest.

Every head of a dataset store shares one grid shape and spacing (each keeps its own affine, so world coordinates stay
those of its image). The skull and brain must fit; scalp, face and neck beyond the grid are cropped.

Example:
    >>> from tfus.pipeline.head.phantom import ellipsoid_head
    >>> head = fit_to_grid(ellipsoid_head(spacing_mm=4.0), (48, 52, 44))
    >>> head.shape
    (48, 52, 44)
"""

from __future__ import annotations

import numpy as np

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.head.labels import Label
from tfus.pipeline.head.model import HeadModel

AIR_HU = -1000.0


def fit_to_grid(head: HeadModel, shape: tuple[int, int, int], name: str = "head") -> HeadModel:
    """The head on a grid of ``shape`` voxels at its own spacing, the bounding box of skull + brain centred.

    Raises:
        TfusInputError: the skull and brain do not fit in ``shape``.
    """
    shape = tuple(int(s) for s in shape)
    inner = np.isin(head.labels, [Label.CORTICAL, Label.TRABECULAR, Label.BRAIN])
    if not inner.any():
        raise TfusInputError(f"{name}: no skull or brain voxels; check the image (is it a head CT or T1?)")
    idx = np.argwhere(inner)
    lo, hi = idx.min(0), idx.max(0) + 1
    extent = hi - lo
    if np.any(extent > np.array(shape)):
        need = [int(e) for e in extent]
        raise TfusInputError(f"{name}: skull and brain span {need} voxels at {head.spacing_mm:g} mm but the grid is "
                             f"{list(shape)}; enlarge grid.shape or the spacing")
    start = lo + (extent - np.array(shape)) // 2  # first source voxel of the new grid (may be negative: padding)
    hu = np.full(shape, AIR_HU, np.float32)
    labels = np.zeros(shape, np.uint8)
    src_lo = np.maximum(start, 0)
    src_hi = np.minimum(start + np.array(shape), head.shape)
    dst_lo = src_lo - start
    dst_hi = dst_lo + (src_hi - src_lo)
    src = tuple(slice(a, b) for a, b in zip(src_lo, src_hi))
    dst = tuple(slice(a, b) for a, b in zip(dst_lo, dst_hi))
    hu[dst] = head.hu[src]
    labels[dst] = head.labels[src]
    affine = np.array(head.affine, float)
    affine[:3, 3] = head.voxel_to_world(start.astype(float))
    meta = dict(head.meta)
    meta["grid_fit"] = {"shape": list(shape), "offset_voxels": [int(v) for v in start]}
    return HeadModel(hu=hu, labels=labels, affine=affine, meta=meta)
