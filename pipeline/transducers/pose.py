"""Where a bowl sits: apex and target in world (RAS) millimetres, and the bowl surface sampled as points.

The bowl axis runs from the apex (centre of the cap) towards the target; the geometric focus is ``apex + R * axis``.
The target is where the user aims; it is the focus only when ``|target - apex| == R``.

Example:
    >>> import numpy as np
    >>> from tfus.pipeline.transducers.bowl import BowlTransducer
    >>> from tfus.pipeline.transducers.pose import Pose, bowl_surface_points
    >>> bowl = BowlTransducer("demo", 64.0, 64.0, 5e5, 6e4)
    >>> pose = Pose(apex=[0, 0, 100], target=[0, 0, 0])
    >>> pose.axis.tolist(), pose.focus(bowl).tolist()
    ([0.0, 0.0, -1.0], [0.0, 0.0, 36.0])
    >>> pts = bowl_surface_points(bowl, pose, spacing_mm=2.0)
    >>> bool(np.allclose(np.linalg.norm(pts - pose.focus(bowl), axis=1), 64.0))
    True
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.transducers.bowl import BowlTransducer


def _vec3(value, what: str) -> np.ndarray:
    try:
        arr = np.array(value, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise TfusInputError(f"pose {what} must be three numbers (x, y, z) in mm, got {value!r}") from None
    if arr.shape != (3,) or not np.all(np.isfinite(arr)):
        raise TfusInputError(f"pose {what} must be three finite numbers (x, y, z) in mm, got {value!r}")
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class Pose:
    """Placement of a bowl: ``apex`` (centre of the cap) and ``target`` (aim point), world RAS mm, shape (3,).

    Example:
        >>> Pose([0, 0, 10], [0, 0, 0]).distance_mm
        10.0
    """

    apex: np.ndarray
    target: np.ndarray

    def __post_init__(self) -> None:
        apex, target = _vec3(self.apex, "apex"), _vec3(self.target, "target")
        if np.linalg.norm(target - apex) < 1e-9:
            raise TfusInputError("pose apex and target coincide; put the target away from the apex")
        object.__setattr__(self, "apex", apex)
        object.__setattr__(self, "target", target)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Pose):
            return NotImplemented
        return bool(np.array_equal(self.apex, other.apex) and np.array_equal(self.target, other.target))

    def __hash__(self) -> int:
        return hash((tuple(self.apex.tolist()), tuple(self.target.tolist())))

    @property
    def axis(self) -> np.ndarray:
        """Unit vector apex -> target."""
        d = self.target - self.apex
        return d / np.linalg.norm(d)

    @property
    def distance_mm(self) -> float:
        """Distance apex -> target in mm."""
        return float(np.linalg.norm(self.target - self.apex))

    def focus(self, transducer: BowlTransducer) -> np.ndarray:
        """Geometric focus ``apex + R * axis`` (world mm)."""
        return self.apex + transducer.radius_of_curvature_mm * self.axis


def orthonormal_frame(axis) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit ``axis`` and two unit vectors ``u, v`` perpendicular to it and to each other (deterministic)."""
    w = np.asarray(axis, dtype=float)
    w = w / np.linalg.norm(w)
    helper = np.eye(3)[int(np.argmin(np.abs(w)))]
    u = np.cross(w, helper)
    u /= np.linalg.norm(u)
    v = np.cross(w, u)
    return w, u, v


def bowl_local_points(transducer: BowlTransducer, spacing_mm: float) -> np.ndarray:
    """Points on the cap in the bowl frame: column 0 axial distance from the apex (towards the focus), columns 1-2
    lateral offsets. Rings of constant polar angle, no two neighbours more than ``spacing_mm / 2`` apart along the
    surface; the apex is the first point."""
    if not (isinstance(spacing_mm, (int, float)) and math.isfinite(spacing_mm) and spacing_mm > 0):
        raise TfusInputError(f"spacing_mm must be a positive number, got {spacing_mm!r}")
    r = transducer.radius_of_curvature_mm
    step = spacing_mm / 2.0
    theta_max = transducer.half_angle_rad
    n_theta = max(1, math.ceil(r * theta_max / step))
    rows = [np.zeros((1, 3))]
    for theta in np.linspace(0.0, theta_max, n_theta + 1)[1:]:
        ring = r * math.sin(theta)
        n_phi = max(6, math.ceil(2 * math.pi * ring / step))
        phi = np.arange(n_phi) * (2 * math.pi / n_phi)
        axial = np.full(n_phi, r * (1.0 - math.cos(theta)))
        rows.append(np.column_stack([axial, ring * np.cos(phi), ring * np.sin(phi)]))
    return np.concatenate(rows)


def place_local_points(local: np.ndarray, apex, axis) -> np.ndarray:
    """World coordinates of bowl-frame points (from :func:`bowl_local_points`) for a given apex and axis."""
    w, u, v = orthonormal_frame(axis)
    return np.asarray(apex, dtype=float) + local[:, :1] * w + local[:, 1:2] * u + local[:, 2:3] * v


def bowl_surface_points(transducer: BowlTransducer, pose: Pose, spacing_mm: float) -> np.ndarray:
    """Points (M, 3) in world mm on the bowl's spherical cap, at most ``spacing_mm / 2`` apart, for intersection tests.

    Every point lies at distance ``R`` from the geometric focus and within the aperture radius of the axis.
    """
    return place_local_points(bowl_local_points(transducer, spacing_mm), pose.apex, pose.axis)
