"""Mirror augmentation that keeps the head, the field and the transducer consistent.

The steady-state wave equation is symmetric under reflection: mirroring the medium (the CT) and the source (the
bowl) mirrors the field. Flipping voxel axis ``axis`` of a grid (index ``i -> n - 1 - i``) is, in world mm, the map
``M = A F A^-1`` (``A`` the voxel -> world affine, ``F`` the index flip): a reflection through the plane through the
grid centre across that axis when the grid is isotropic (any rotation), the case of every tfus store. Apex and target
go through ``M``; the transducer points are then computed from the mirrored pose exactly as for a real pose, so an
augmented sample equals the sample simulated on the mirrored head.

Axis 0 is left-right (x) for the RAS stores tfus writes and imports; heads are roughly left-right symmetric, so the
mirrored samples look like real heads.

Example:
    >>> import numpy as np
    >>> from tfus.pipeline.transducers import Pose
    >>> aff = np.diag([2.0, 2.0, 2.0, 1.0]); aff[:3, 3] = [-15.0, -10.0, 0.0]   # x centre at 0 mm for 16 voxels
    >>> mirror_pose(Pose([-20.0, 1, 2], [3.0, 1, 2]), aff, (16, 8, 8)).apex.tolist()
    [20.0, 1.0, 2.0]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tfus.pipeline.transducers import Pose

__all__ = ["mirror_matrix", "mirror_points", "mirror_pose", "mirror_volume"]


def mirror_matrix(affine: np.ndarray, shape: Sequence[int], axis: int = 0) -> np.ndarray:
    """The 4x4 world -> world map that flipping voxel axis ``axis`` of a grid (``affine``, ``shape``) induces."""
    affine = np.asarray(affine, float)
    nd = affine.shape[0] - 1
    flip = np.eye(nd + 1)
    flip[axis, axis] = -1.0
    flip[axis, nd] = float(shape[axis]) - 1.0
    return affine @ flip @ np.linalg.inv(affine)


def mirror_points(points_mm: np.ndarray, affine: np.ndarray, shape: Sequence[int], axis: int = 0) -> np.ndarray:
    """World points ``(..., 3)`` mirrored with :func:`mirror_matrix`."""
    m = mirror_matrix(affine, shape, axis)
    pts = np.asarray(points_mm, float)
    nd = pts.shape[-1]
    return pts @ m[:nd, :nd].T + m[:nd, nd]


def mirror_pose(pose: Pose, affine: np.ndarray, shape: Sequence[int], axis: int = 0) -> Pose:
    """The pose mirrored with the grid: apex and target through :func:`mirror_matrix`."""
    return Pose(mirror_points(pose.apex, affine, shape, axis), mirror_points(pose.target, affine, shape, axis))


def mirror_volume(volume: np.ndarray, axis: int = 0, spatial_dims: int = 3) -> np.ndarray:
    """A contiguous copy of ``volume`` flipped along spatial ``axis`` (the last ``spatial_dims`` axes are spatial)."""
    volume = np.asarray(volume)
    return np.ascontiguousarray(np.flip(volume, axis=volume.ndim - spatial_dims + axis))
