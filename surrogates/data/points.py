"""The transducer as the surrogate sees it: a fixed number of points on the bowl surface, in [-1, 1] grid
coordinates of the field's grid (DeepTFUS's encoder input).

Points are spread evenly over the cap (deterministic: the same pose always gives the same points), so the model
receives position, orientation, aperture and curvature of the bowl.

Example:
    >>> import numpy as np
    >>> from tfus.pipeline.transducers import BowlTransducer, Pose
    >>> bowl = BowlTransducer("b", 30.0, 30.0, 5e5, 6e4)
    >>> affine = np.diag([1.0, 1.0, 1.0, 1.0]); affine[:3, 3] = -32
    >>> pts = transducer_points(bowl, Pose([0, 0, -30.0], [0, 0, 0.0]), affine, (64, 64, 64), n_points=128)
    >>> pts.shape, bool(np.abs(pts).max() <= 1.0)
    ((128, 3), True)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tfus.pipeline.transducers import BowlTransducer, Pose
from tfus.surrogates.normalization import world_to_grid


def transducer_surface_mm(transducer: BowlTransducer, pose: Pose, n_points: int) -> np.ndarray:
    """``n_points`` points (world mm) evenly spread over the bowl cap (Fibonacci spiral in the cap's solid angle)."""
    n = int(n_points)
    if n < 1:
        raise ValueError("n_points must be >= 1")
    r = float(transducer.radius_of_curvature_mm)
    half_angle = float(np.arcsin(min(1.0, transducer.aperture_diameter_mm / (2 * r))))
    k = np.arange(n) + 0.5
    cos_t = 1 - (1 - np.cos(half_angle)) * k / n  # equal-area rings from the apex to the rim
    theta = np.arccos(cos_t)
    phi = k * np.pi * (3 - np.sqrt(5.0))
    # local frame: focus at the origin, apex at -r along the axis
    local = np.stack([r * np.sin(theta) * np.cos(phi), r * np.sin(theta) * np.sin(phi), -r * np.cos(theta)], -1)
    axis = np.asarray(pose.axis, float)
    helper = np.array([1.0, 0, 0]) if abs(axis[0]) < 0.9 else np.array([0, 1.0, 0])
    u = np.cross(axis, helper)
    u /= np.linalg.norm(u)
    v = np.cross(axis, u)
    focus = np.asarray(pose.apex, float) + r * axis
    return focus + local[:, :1] * u + local[:, 1:2] * v + local[:, 2:3] * axis


def transducer_points(transducer: BowlTransducer, pose: Pose, affine: np.ndarray, shape: Sequence[int],
                      n_points: int = 2048) -> np.ndarray:
    """``(n_points, 3)`` float32 bowl-surface points in the [-1, 1] coordinates of a grid (``affine``, ``shape``).
    Points outside the grid (a bowl beyond the field of view) keep coordinates beyond +-1: the encoder still sees
    where the bowl is."""
    pts = transducer_surface_mm(transducer, pose, n_points)
    return world_to_grid(pts, affine, shape).astype(np.float32)
