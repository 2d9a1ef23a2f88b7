"""Engine-independent continuous-wave sources: a focused bowl at a pose, or a point (2D: line) source.

Both are given in world millimetres and hold no grid information, so every engine (k-Wave, FE) takes the same
objects. The driving signal is ``cos(2 pi f t)`` (cosine convention, the phase of :class:`SteadyStateField`).

* :class:`BowlSource` — a :class:`~tfus.pipeline.transducers.bowl.BowlTransducer` at a
  :class:`~tfus.pipeline.transducers.pose.Pose`, with surface pressure amplitude ``p0`` (``source_amplitude_pa``),
  i.e. normal surface velocity ``u0 = p0 / (rho c)``. In 3D the bowl is the spherical cap; in 2D it is the circular
  arc of the same radius and aperture in the x-y plane (the bowl's section through its axis). **2D convention** (the
  same as the k-Wave engine): the pose must lie in the z = 0 plane (apex and target z == 0) and the first two world
  coordinates are used.
* :class:`PointSource` — a monopole of volume-velocity amplitude ``amplitude``: ``Q(x, t) = amplitude *
  cos(2 pi f t) * delta(x - x0)``, in m^3/s in 3D and m^2/s (per metre of line) in 2D, where the point is a line
  source perpendicular to the plane. ``position_mm`` has as many coordinates as the medium has dimensions. Its free
  field is :func:`point_source_field`.

The wave equation every engine solves is ``(1/(rho c^2)) p_tt - div((1/rho) grad p) = dQ/dt``.

Example:
    >>> import numpy as np
    >>> from tfus.pipeline.transducers import BowlTransducer, Pose
    >>> bowl = BowlSource(BowlTransducer("demo", 20.0, 20.0, 3e5, 1e4), Pose([0, 0, 0], [20.0, 0, 0]))
    >>> pts, w = bowl.quadrature(ndim=3, spacing_mm=0.5)
    >>> bool(np.isclose(w.sum(), 2 * np.pi * 20.0 * bowl.transducer.dome_height_mm))  # cap area 2 pi R h
    True
    >>> bool(np.allclose(np.linalg.norm(pts - bowl.pose.focus(bowl.transducer), axis=1), 20.0))
    True
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np
from scipy.special import hankel2

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.transducers.bowl import BowlTransducer
from tfus.pipeline.transducers.pose import Pose, place_local_points

__all__ = ["BowlSource", "PointSource", "Source", "plane_pose_2d", "point_source_field"]


def plane_pose_2d(pose: Pose) -> tuple[np.ndarray, np.ndarray]:
    """Apex and unit axis of a pose for a 2D run (first two coordinates); the pose must lie in the z = 0 plane."""
    if abs(float(pose.apex[2])) > 1e-9 or abs(float(pose.target[2])) > 1e-9:
        raise TfusInputError("a 2D simulation needs a pose in the z = 0 plane (apex and target with z = 0)")
    axis = pose.target[:2] - pose.apex[:2]
    return pose.apex[:2].copy(), axis / np.linalg.norm(axis)


@dataclass(frozen=True, eq=False)
class BowlSource:
    """A focused bowl transducer placed at a pose (world mm). See the module docstring for the 2D convention.

    Example:
        >>> from tfus.pipeline.transducers import BowlTransducer, Pose
        >>> BowlSource(BowlTransducer("b", 30.0, 30.0, 5e5, 6e4), Pose([0, 0, 0], [0, 0, 30])).frequency_hz
        500000.0
    """

    transducer: BowlTransducer
    pose: Pose

    def __post_init__(self) -> None:
        if not isinstance(self.transducer, BowlTransducer):
            raise TfusInputError(f"BowlSource needs a BowlTransducer, got {type(self.transducer).__name__}")
        if not isinstance(self.pose, Pose):
            raise TfusInputError(f"BowlSource needs a Pose (apex and target in mm), got {type(self.pose).__name__}")

    @property
    def frequency_hz(self) -> float:
        return self.transducer.frequency_hz

    def quadrature(self, ndim: int, spacing_mm: float) -> tuple[np.ndarray, np.ndarray]:
        """Quadrature of the radiating surface: points ``(M, ndim)`` in world mm and weights ``(M,)`` in mm^2 (3D,
        area) or mm (2D, arc length), neighbouring points at most ``spacing_mm`` apart along the surface.

        3D: bands of equal polar-angle width, each band's exact area ``2 pi R^2 (cos t0 - cos t1)`` shared by equally
        spaced points on its mid ring (weights sum to the cap area ``2 pi R h``). 2D: midpoint rule in angle on the
        arc (weights sum to the arc length ``2 R asin(a/R)``).
        """
        if ndim not in (2, 3):
            raise TfusInputError(f"a source quadrature is 2D or 3D, got ndim={ndim}")
        if not (math.isfinite(spacing_mm) and spacing_mm > 0):
            raise TfusInputError(f"quadrature spacing must be a positive number of mm, got {spacing_mm!r}")
        r, half = self.transducer.radius_of_curvature_mm, self.transducer.half_angle_rad
        if ndim == 2:
            apex, axis = plane_pose_2d(self.pose)
            normal = np.array([-axis[1], axis[0]])
            n = max(2, math.ceil(2 * half * r / spacing_mm))
            theta = -half + (np.arange(n) + 0.5) * (2 * half / n)
            pts = apex + r * (1 - np.cos(theta))[:, None] * axis + r * np.sin(theta)[:, None] * normal
            return pts, np.full(n, r * 2 * half / n)
        n_theta = max(1, math.ceil(r * half / spacing_mm))
        edges = np.linspace(0.0, half, n_theta + 1)
        rows, weights = [], []
        for j, (t0, t1) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
            tc = 0.5 * (t0 + t1)
            ring = r * math.sin(tc)
            n_phi = max(3, math.ceil(2 * math.pi * ring / spacing_mm))
            phi = (np.arange(n_phi) + 0.5 * (j % 2)) * (2 * math.pi / n_phi)
            rows.append(np.column_stack([np.full(n_phi, r * (1 - math.cos(tc))), ring * np.cos(phi),
                                         ring * np.sin(phi)]))
            weights.append(np.full(n_phi, 2 * math.pi * r * r * (math.cos(t0) - math.cos(t1)) / n_phi))
        local = np.concatenate(rows)
        return place_local_points(local, self.pose.apex, self.pose.axis), np.concatenate(weights)


@dataclass(frozen=True, eq=False)
class PointSource:
    """A monopole (2D: line) source of volume-velocity amplitude ``amplitude`` (m^3/s in 3D, m^2/s in 2D) at
    ``position_mm`` (world mm, one coordinate per medium dimension).

    Example:
        >>> PointSource([0.0, 1.5], 1e-4).position_mm.tolist()
        [0.0, 1.5]
    """

    position_mm: np.ndarray
    amplitude: float = 1.0

    def __post_init__(self) -> None:
        try:
            pos = np.array(self.position_mm, dtype=float).reshape(-1)
        except (TypeError, ValueError):
            raise TfusInputError(f"point source position must be 2 or 3 numbers in mm, got {self.position_mm!r}") \
                from None
        if pos.shape not in ((2,), (3,)) or not np.all(np.isfinite(pos)):
            raise TfusInputError(f"point source position must be 2 or 3 finite numbers in mm, got {self.position_mm!r}")
        amp = self.amplitude
        if isinstance(amp, bool) or not isinstance(amp, numbers.Real) or not math.isfinite(amp) or amp == 0:
            raise TfusInputError(f"point source amplitude must be a nonzero finite number, got {amp!r}")
        pos.setflags(write=False)
        object.__setattr__(self, "position_mm", pos)
        object.__setattr__(self, "amplitude", float(amp))

    @property
    def ndim(self) -> int:
        return int(self.position_mm.shape[0])


Source = BowlSource | PointSource


def point_source_field(source: PointSource, points_mm: np.ndarray, frequency_hz: float, sound_speed: float = 1500.0,
                       density: float = 1000.0) -> np.ndarray:
    """Free-field complex pressure (Pa, cosine convention: ``p(t) = Re(P exp(i w t))``) of a point source.

    3D: ``P = i w rho q exp(-i k r) / (4 pi r)``; 2D (line source): ``P = (w rho q / 4) H0^(2)(k r)``, the
    conjugate of the textbook ``(i/4) H0^(1)(kr)`` Green's function (written for ``exp(-i w t)``) times
    ``i w rho q``. Singular at the source point.

    Example:
        >>> src = PointSource([0.0, 0.0, 0.0], 1e-6)
        >>> p = point_source_field(src, np.array([[10.0, 0, 0]]), 1e6)
        >>> round(float(abs(p[0])), 3)  # w rho q / (4 pi r)
        50000.0
    """
    pts = np.atleast_2d(np.asarray(points_mm, float))
    if pts.shape[1] != source.ndim:
        raise TfusInputError(f"points have {pts.shape[1]} coordinates, the source has {source.ndim}")
    omega = 2 * np.pi * frequency_hz
    k = omega / sound_speed
    r = np.linalg.norm(pts - source.position_mm, axis=1) * 1e-3
    with np.errstate(divide="ignore", invalid="ignore"):
        if source.ndim == 3:
            return 1j * omega * density * source.amplitude * np.exp(-1j * k * r) / (4 * np.pi * r)
        return omega * density * source.amplitude / 4 * hankel2(0, k * r)
