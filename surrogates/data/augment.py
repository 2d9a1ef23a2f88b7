"""Mirror augmentation that keeps the head, the field and the transducer consistent.

The steady-state wave equation is symmetric under reflection: mirroring the medium (the CT) and the source (the
bowl) mirrors the field. Flipping voxel axis ``axis`` of a grid (index ``i -> n - 1 - i``) is, in world mm, the map
``M = A F A^-1`` (``A`` the voxel -> world affine, ``F`` the index flip): a reflection through the plane through the
grid centre across that axis when the grid is isotropic (any rotation), the case of every tfus store. Apex and target
go through ``M``; the transducer points are then computed from the mirrored pose exactly as for a real pose, so an
augmented sample equals the sample simulated on the mirrored head.

Axis 0 is left-right (x) for the RAS stores tfus writes and imports; heads are roughly left-right symmetric, so the
mirrored samples look like real heads.

In a beam-frame box (:mod:`tfus.pipeline.beam`) the bowl sits on the box's middle grid line and is symmetric about
it, so every symmetry of the square cross-section (flips of the two lateral axes and their swap: the 8 elements of
the dihedral group D4, :func:`box_symmetry`) maps a box and its field to another exact solution with the transducer
unchanged: eight samples for the price of one simulation.

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

__all__ = ["BOX_SYMMETRIES", "box_symmetry", "mirror_matrix", "mirror_points", "mirror_pose", "mirror_volume"]

#: number of symmetries of a beam box with a square cross-section (:func:`box_symmetry`)
BOX_SYMMETRIES = 8


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


def box_symmetry(volume: np.ndarray, k: int, spatial_dims: int = 3) -> np.ndarray:
    """Symmetry ``k`` (0-7) of a beam box's square cross-section applied to ``volume`` (the last ``spatial_dims``
    axes are spatial; the first two of them are the lateral ones, the last is the beam axis): bit 0 flips lateral
    axis 0, bit 1 flips lateral axis 1, bit 2 swaps them (after the flips). ``k = 0`` is the identity; the eight
    together are the dihedral group D4. A contiguous copy.

    Raises:
        ValueError: ``k`` outside 0-7, or a non-square cross-section with a swap.

    Example:
        >>> v = np.arange(8).reshape(2, 2, 2)
        >>> bool((box_symmetry(box_symmetry(v, 3), 3) == v).all())   # the flips are involutions
        True
    """
    if not 0 <= int(k) < BOX_SYMMETRIES:
        raise ValueError(f"box symmetry index {k} outside 0-{BOX_SYMMETRIES - 1}")
    volume = np.asarray(volume)
    a0 = volume.ndim - spatial_dims
    out = volume
    if k & 1:
        out = np.flip(out, axis=a0)
    if k & 2:
        out = np.flip(out, axis=a0 + 1)
    if k & 4:
        if out.shape[a0] != out.shape[a0 + 1]:
            raise ValueError(f"swapping the lateral axes needs a square cross-section, got {out.shape[a0:a0 + 2]}")
        out = np.swapaxes(out, a0, a0 + 1)
    return np.ascontiguousarray(out)
