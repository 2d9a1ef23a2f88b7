"""The beam frame: a box aligned with the bowl axis, in which every sample has the transducer in the same place.

For a pose (apex, target) and a bowl, the frame is right-handed with ``z`` along the bowl axis (apex -> target),
``x`` the world axis least parallel to it made perpendicular, ``y = z x x``. The box depends on the bowl, the spacing
and the :class:`BeamBox` extents only (never on the target distance), so all samples of a transducer share one box
and one free-field prior:

- laterally ``x, y`` in ``[-W, W]`` with ``W = aperture / 2 + lateral_margin_mm``, an odd number of points so the
  axis runs through the middle grid line;
- axially ``z`` from ``-behind_mm`` (behind the apex) to ``R + beyond_focus_mm`` (past the geometric focus).

Defaults (``BeamBox()``): 10 mm lateral margin, 5 mm behind the apex, 30 mm beyond the focus. The box's affine maps
box indices ``(i, j, k)`` to world RAS millimetres of the input image, so a box field is written as a NIfTI that
overlays the head directly, and :mod:`.resample` maps it back to the head grid.

Example:
    >>> from tfus.pipeline.transducers import BowlTransducer, Pose
    >>> bowl = BowlTransducer("demo", 60.0, 60.0, 2.5e5, 6e4)
    >>> frame = BeamFrame.from_pose(Pose([0, 0, 80], [0, 0, 0]), bowl, spacing_mm=1.5)
    >>> frame.shape
    (55, 55, 65)
    >>> frame.box_to_world(frame.apex_index).round(6).tolist()
    [0.0, 0.0, 80.0]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.transducers import BowlTransducer, Pose


@dataclass(frozen=True)
class BeamBox:
    """Extents of the beam box around a bowl, in mm.

    Attributes:
        lateral_margin_mm: added to the aperture radius on each side of the axis.
        behind_mm: water behind the apex (the bowl's back).
        beyond_focus_mm: past the geometric focus ``apex + R * axis``.
    """

    lateral_margin_mm: float = 10.0
    behind_mm: float = 5.0
    beyond_focus_mm: float = 30.0

    def __post_init__(self) -> None:
        for key in ("lateral_margin_mm", "behind_mm", "beyond_focus_mm"):
            value = getattr(self, key)
            if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise TfusInputError(f"beam box {key} must be a number >= 0 (mm), got {value!r}")


def beam_axes(axis: np.ndarray) -> np.ndarray:
    """A right-handed orthonormal basis (columns x, y, z) with ``z`` along ``axis``."""
    z = np.asarray(axis, float) / np.linalg.norm(axis)
    ref = np.eye(3)[int(np.argmin(np.abs(z)))]  # the world axis least parallel to z
    x = ref - np.dot(ref, z) * z
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    return np.column_stack([x, y, z])


@dataclass(frozen=True, eq=False)
class BeamFrame:
    """A beam box: ``shape`` grid points at ``spacing_mm``, ``affine`` mapping box indices to world RAS mm.

    Attributes:
        affine: 4x4, columns 0-2 the frame axes times the spacing, column 3 the world position of index (0, 0, 0).
        shape: (nx, ny, nz), nx = ny odd.
        spacing_mm: isotropic spacing.
        apex_index: box index of the bowl apex (on the middle grid line, at ``k = behind / spacing``).
    """

    affine: np.ndarray
    shape: tuple[int, int, int]
    spacing_mm: float
    apex_index: np.ndarray

    @classmethod
    def from_pose(cls, pose: Pose, transducer: BowlTransducer, spacing_mm: float,
                  box: BeamBox = BeamBox()) -> BeamFrame:
        """The frame of ``transducer`` at ``pose`` (apex and axis; the target sets only the direction)."""
        if not (isinstance(spacing_mm, int | float) and math.isfinite(spacing_mm) and spacing_mm > 0):
            raise TfusInputError(f"beam frame spacing must be a positive number of mm, got {spacing_mm!r}")
        half = transducer.aperture_radius_mm + box.lateral_margin_mm
        n_half = int(math.ceil(half / spacing_mm - 1e-9))
        n_behind = int(math.ceil(box.behind_mm / spacing_mm - 1e-9))
        n_front = int(math.ceil((transducer.radius_of_curvature_mm + box.beyond_focus_mm) / spacing_mm - 1e-9))
        shape = (2 * n_half + 1, 2 * n_half + 1, n_behind + n_front + 1)
        apex_index = np.array([n_half, n_half, n_behind], float)
        rot = beam_axes(pose.axis)
        affine = np.eye(4)
        affine[:3, :3] = rot * spacing_mm
        affine[:3, 3] = pose.apex - affine[:3, :3] @ apex_index
        apex_index.setflags(write=False)
        affine.setflags(write=False)
        return cls(affine, shape, float(spacing_mm), apex_index)

    @property
    def rotation(self) -> np.ndarray:
        """Frame axes as columns (x, y, z = bowl axis)."""
        return np.asarray(self.affine)[:3, :3] / self.spacing_mm

    def box_to_world(self, ijk: np.ndarray) -> np.ndarray:
        """Box indices (..., 3) to world mm (..., 3)."""
        a = np.asarray(self.affine)
        return np.asarray(ijk, float) @ a[:3, :3].T + a[:3, 3]

    def world_to_box(self, xyz: np.ndarray) -> np.ndarray:
        """World mm (..., 3) to continuous box indices (..., 3)."""
        a = np.asarray(self.affine)
        return (np.asarray(xyz, float) - a[:3, 3]) @ self.rotation / self.spacing_mm

    def corners_world(self) -> np.ndarray:
        """The box's 8 corner points in world mm."""
        n = np.array(self.shape) - 1
        ijk = np.array([[i, j, k] for i in (0, n[0]) for j in (0, n[1]) for k in (0, n[2])], float)
        return self.box_to_world(ijk)

    def to_dict(self) -> dict:
        """Plain record (JSON): affine, shape, spacing, apex index."""
        return {"affine": np.asarray(self.affine).tolist(), "shape": list(self.shape), "spacing_mm": self.spacing_mm,
                "apex_index": np.asarray(self.apex_index).tolist()}
