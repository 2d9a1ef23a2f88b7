"""Recover a focused bowl's pose and geometry from points on its surface (TFUScapes ``tr_coords``).

The points are fitted with a sphere by least squares: first algebraically (``|p|^2 = 2 c.p + d``, linear in the
centre ``c`` and ``d``), then refined on the geometric distances ``| |p - c| - R |`` (Gauss-Newton via
``scipy.optimize.least_squares``). The sphere centre is the geometric focus, its radius the radius of curvature R.
The axis is the axis of the narrowest cone from the centre that holds every point (the smallest spherical cap
containing them, found by Nelder-Mead from the centroid direction): it depends only on the rim, so an uneven density
of points over the bowl (a voxelised surface has more voxels where it runs oblique to the grid) does not tilt it,
unlike the centroid direction. The apex is ``c - R * axis`` and the aperture twice the largest distance of a point
from the axis. On voxelised bowls the apex comes out within about 0.3 voxel.

Example:
    >>> import numpy as np
    >>> theta, phi = np.meshgrid(np.linspace(0, 0.5, 20), np.linspace(0, 2 * np.pi, 40), indexing="ij")
    >>> d = np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), -np.cos(theta)], -1).reshape(-1, 3)
    >>> fit = fit_bowl(10.0 + 64.0 * d)   # cap of a sphere of R 64 mm around (10, 10, 10), opening towards +z
    >>> round(fit.radius_of_curvature_mm, 3), np.round(fit.apex, 3).tolist(), (np.round(fit.axis, 3) + 0.0).tolist()
    (64.0, [10.0, 10.0, -54.0], [0.0, 0.0, 1.0])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares, minimize

from tfus.pipeline.errors import TfusInputError


@dataclass(frozen=True, eq=False)
class BowlFit:
    """A fitted bowl in the coordinates of the input points (mm when the points are in mm)."""

    centre: np.ndarray  #: sphere centre = geometric focus
    radius_of_curvature_mm: float
    axis: np.ndarray  #: unit vector from the apex towards the focus
    apex: np.ndarray
    aperture_mm: float  #: diameter of the rim: twice the largest point distance from the axis
    rms_residual_mm: float  #: RMS distance of the points from the fitted sphere
    n_points: int

    def as_dict(self) -> dict:
        return {"radius_of_curvature_mm": self.radius_of_curvature_mm, "aperture_mm": self.aperture_mm,
                "rms_residual_mm": self.rms_residual_mm, "n_points": self.n_points}


def fit_sphere(points: np.ndarray) -> tuple[np.ndarray, float]:
    """Least-squares sphere (centre, radius) through ``points`` (N x 3, N >= 4, not coplanar)."""
    p = np.asarray(points, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 3 or len(p) < 4 or not np.isfinite(p).all():
        raise TfusInputError(f"need at least 4 finite 3D points to fit a bowl, got an array of shape {p.shape}")
    shift = p.mean(axis=0)
    scale = float(np.sqrt(((p - shift) ** 2).sum(axis=1).mean())) or 1.0
    q = (p - shift) / scale  # conditioning: centred, unit RMS radius
    a = np.column_stack([2.0 * q, np.ones(len(q))])
    b = (q**2).sum(axis=1)
    sol, _, rank, sv = np.linalg.lstsq(a, b, rcond=None)
    if rank < 4 or sv[-1] < 1e-6 * sv[0]:
        raise TfusInputError("the transducer points are coplanar or collinear: not a focused bowl (cannot fit a "
                             "sphere); check tr_coords")
    c0 = sol[:3]
    r0 = float(np.sqrt(max(sol[3] + c0 @ c0, 0.0)))
    if not np.isfinite(r0) or r0 <= 0 or r0 > 1e4:
        raise TfusInputError("the transducer points are (almost) flat: not a focused bowl; check tr_coords")

    def residual(x: np.ndarray) -> np.ndarray:
        return np.linalg.norm(q - x[:3], axis=1) - x[3]

    x = least_squares(residual, np.append(c0, r0), method="lm", xtol=1e-12, ftol=1e-12).x
    return x[:3] * scale + shift, float(abs(x[3]) * scale)


def fit_bowl(points: np.ndarray) -> BowlFit:
    """Fit a focused bowl (sphere cap) to its surface ``points``; see the module docstring for the method."""
    p = np.asarray(points, dtype=np.float64)
    centre, radius = fit_sphere(p)
    centroid = p.mean(axis=0)
    to_centre = centre - centroid
    depth = float(np.linalg.norm(to_centre))
    if depth < 1e-9 * radius:
        raise TfusInputError("the transducer points surround their sphere centre (a full sphere, not a bowl); "
                             "check tr_coords")
    axis = rim_axis(p - centre, to_centre / depth)
    apex = centre - radius * axis
    rel = p - centre
    radial = rel - np.outer(rel @ axis, axis)
    rms = float(np.sqrt(np.mean((np.linalg.norm(rel, axis=1) - radius) ** 2)))
    return BowlFit(centre=centre, radius_of_curvature_mm=radius, axis=axis, apex=apex,
                   aperture_mm=2.0 * float(np.linalg.norm(radial, axis=1).max()), rms_residual_mm=rms,
                   n_points=len(p))


def rim_axis(rel: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Unit axis ``a`` (pointing from the bowl to its centre) minimising the largest angle between ``-a`` and the
    directions ``rel`` (points minus centre), searched around ``start``."""
    u = rel / np.linalg.norm(rel, axis=1, keepdims=True)
    a0 = np.asarray(start, dtype=np.float64)
    helper = np.eye(3)[int(np.argmin(np.abs(a0)))]
    e1 = np.cross(a0, helper)
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(a0, e1)

    def axis_of(x: np.ndarray) -> np.ndarray:
        a = a0 + x[0] * e1 + x[1] * e2
        return a / np.linalg.norm(a)

    def search(v: np.ndarray) -> np.ndarray:
        result = minimize(lambda x: float(np.max(v @ axis_of(x))), np.zeros(2), method="Nelder-Mead",
                          options={"xatol": 1e-10, "fatol": 1e-14, "maxiter": 4000})
        return axis_of(result.x)

    cos0 = u @ a0  # only the outer part of the bowl can hold the rim: search on it, then check on all points
    outer = u[cos0 >= np.quantile(cos0, 0.7)]
    axis = search(outer)
    if float(np.max(u @ axis)) > float(np.max(outer @ axis)) + 1e-12:
        axis = search(u)
    return axis
