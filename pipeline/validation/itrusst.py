"""ITRUSST transcranial benchmarks BM1-BM6 (Aubry et al., JASA 152:1003, 2022) as media on a grid.

Frame and grid (both 2D and 3D): the world origin is the **bowl apex**, the beam runs along **+x** (the first grid
axis), the geometric focus is at ``(R, 0, 0) = (64, 0, 0)`` mm. Grid nodes lie on multiples of the spacing, so the
apex and the beam axis are grid nodes. The default box spans ``x`` from ``-4`` mm (behind the apex, room for the
bowl's source voxels) to ``120`` mm and ``y`` (and ``z``) over ``+-36`` mm (the rim is at 32 mm). ``ndim=2`` gives the
``x-y`` plane through the axis (the 2D convention of :mod:`tfus.pipeline.engines.sources`: pose in ``z = 0``); it
is *not* axisymmetric — a 2D run is a line-source (cylindrical) bowl, good for fast tests only.

Geometry along the axis (``x`` = distance from the apex, mm), media of :data:`tfus.pipeline.acoustics.itrusst.
ITRUSST_MEDIA` (water 1500/1000/0, skin 1610/1090/0.2 dB/cm, cortical 2800/1850/4, trabecular 2300/1700/8,
brain 1560/1040/0.3), absorption stored as ``alpha_coeff = alpha_500kHz / 0.5**2`` dB/(MHz^2 cm) with y = 2:

* BM1 lossless water; BM2 water absorbing 1 dB/cm at 500 kHz (``alpha_coeff = 4``);
* BM3 cortical plate ``[30, 36.5)``; BM4 flat layers skin ``[26, 30)``, cortical ``[30, 31.5)``, trabecular
  ``[31.5, 35.5)``, cortical ``[35.5, 36.5)``, brain beyond;
* BM5 cortical shell between the spheres of radius 75 and 68.5 mm centred at ``(105, 0, 0)`` (front face at 30 mm
  on the axis, convex towards the transducer), water elsewhere;
* BM6 concentric shells about the same centre: skin ``r in [75, 79)``, cortical ``[73.5, 75)``, trabecular
  ``[69.5, 73.5)``, cortical ``[68.5, 69.5)``, brain ``r < 68.5`` (as the benchmark codes build it: the outer
  table keeps radius 75 and its front face at 30 mm, the skin lies outside it, from 26 mm on the axis).

Voxelisation is point sampling at the voxel centre (no sub-voxel mixing): every interface is represented to within
half a voxel (``staircase_error_mm = spacing / 2``). Flat interfaces at multiples of the spacing fall on nodes; a
node on an interface belongs to the deeper layer, so the effective interface (midway between nodes of different
media) sits half a voxel in front of the nominal one while every layer keeps its exact thickness. This is the
benchmark codes' own rounding (first bone node at ``round(30 / dx)``).

The benchmark comparison data are the pressure amplitude on the ``x-y`` plane through the axis at 0.5 mm spacing,
``x`` in ``[0, 120]`` and ``y`` in ``[-35, 35]`` mm (241 x 141 points); metrics (see
:mod:`tfus.pipeline.validation.beam_metrics`) exclude ``x < 9.5`` mm (the exit plane, index 20 of the published
comparison code) and search the focus at ``x >= 37`` mm (behind the skull; the published code uses this mask for BM1-BM6
alike).

Example:
    >>> bm = itrusst_medium(4, spacing_mm=1.0, ndim=2)
    >>> bm.medium.shape, bm.medium.spacing_mm
    ((125, 73), 1.0)
    >>> i30 = int(round(bm.medium.world_to_index([30.0, 0.0])[0]))
    >>> float(bm.medium.sound_speed[i30, 36]), float(bm.medium.sound_speed[i30 - 1, 36])
    (2800.0, 1610.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from tfus.pipeline.acoustics.itrusst import ITRUSST_FREQUENCY_HZ, ITRUSST_MEDIA
from tfus.pipeline.acoustics.properties import DEFAULT_ALPHA_POWER
from tfus.pipeline.engines.field import MediumGrid
from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.head.labels import Label
from tfus.pipeline.transducers.bowl import BowlTransducer, load_transducer
from tfus.pipeline.transducers.pose import Pose

__all__ = ["BENCHMARKS", "ComparisonPlane", "ItrusstBenchmark", "itrusst_labels", "itrusst_medium"]

#: Short descriptions of the benchmarks implemented here.
BENCHMARKS = {
    1: "BM1 lossless water",
    2: "BM2 absorbing water (1 dB/cm at 500 kHz)",
    3: "BM3 flat cortical plate 6.5 mm, front face at 30 mm",
    4: "BM4 flat layers from 26 mm: skin 4, cortical 1.5, trabecular 4, cortical 1 mm, brain",
    5: "BM5 curved cortical shell 6.5 mm, outer radius 75 mm, front face at 30 mm",
    6: "BM6 curved layered shell (BM4 thicknesses), outer table radius 75 mm at 30 mm",
}

_FLAT = {3: [(30.0, Label.CORTICAL), (36.5, Label.BACKGROUND)],
         4: [(26.0, Label.SCALP), (30.0, Label.CORTICAL), (31.5, Label.TRABECULAR), (35.5, Label.CORTICAL),
             (36.5, Label.BRAIN)]}
_CENTRE_X_MM = 105.0  # 30 mm front face + 75 mm radius
_SHELLS = {5: [(75.0, Label.CORTICAL), (68.5, Label.BACKGROUND)],
           6: [(79.0, Label.SCALP), (75.0, Label.CORTICAL), (73.5, Label.TRABECULAR), (69.5, Label.CORTICAL),
               (68.5, Label.BRAIN)]}
_WATER_BM2_DB_CM = 1.0


@dataclass(frozen=True, eq=False)
class ComparisonPlane:
    """The benchmark's comparison grid: the ``x-y`` plane through the beam axis (``z = 0``), world mm.

    Attributes:
        axial_mm: ``x`` sample positions (0 to 120 mm). lateral_mm: ``y`` positions (-35 to 35 mm).
        spacing_mm: 0.5. exit_plane_mm: error norms are taken at ``x >= exit_plane_mm``.
        focal_min_axial_mm: the focus is searched at ``x >= focal_min_axial_mm`` (behind the skull).
    """

    axial_mm: np.ndarray
    lateral_mm: np.ndarray
    spacing_mm: float = 0.5
    exit_plane_mm: float = 9.5
    focal_min_axial_mm: float = 37.0

    @classmethod
    def default(cls) -> ComparisonPlane:
        return cls(np.round(np.arange(241) * 0.5, 6), np.round(np.arange(-70, 71) * 0.5, 6))

    def points_mm(self, ndim: int = 3) -> np.ndarray:
        """World points ``(n_axial, n_lateral, ndim)`` of the plane (``z = 0`` in 3D)."""
        x, y = np.meshgrid(self.axial_mm, self.lateral_mm, indexing="ij")
        cols = [x, y] + ([np.zeros_like(x)] if ndim == 3 else [])
        return np.stack(cols, axis=-1)


@dataclass(frozen=True, eq=False)
class ItrusstBenchmark:
    """One benchmark set up on a grid: medium, tissue labels (:class:`Label`; water = BACKGROUND), the SC1 bowl at
    its pose (apex at the origin, aimed at the geometric focus ``(64, 0, 0)``) and the comparison plane."""

    bm: int
    description: str
    medium: MediumGrid
    labels: np.ndarray
    transducer: BowlTransducer
    pose: Pose
    plane: ComparisonPlane
    staircase_error_mm: float

    def source(self):
        """The bowl as an engine source (:class:`tfus.pipeline.engines.sources.BowlSource`)."""
        from tfus.pipeline.engines.sources import BowlSource

        return BowlSource(self.transducer, self.pose)


def _labels(bm: int, x: np.ndarray, r_squared_lateral: np.ndarray) -> np.ndarray:
    """Labels from (broadcastable) axial positions and squared lateral distances (mm, mm^2)."""
    shape = np.broadcast_shapes(np.shape(x), np.shape(r_squared_lateral))
    out = np.zeros(shape, np.uint8)
    tol = 1e-9  # nodes on an interface belong to the deeper layer despite rounding
    if bm in _FLAT:
        xb = np.broadcast_to(x, shape)
        for start, label in _FLAT[bm]:
            out[xb >= start - tol] = int(label)
    elif bm in _SHELLS:
        r2 = ((np.asarray(x) - _CENTRE_X_MM) ** 2 + r_squared_lateral).astype(np.float64)
        r2 = np.broadcast_to(r2, shape)
        for radius, label in _SHELLS[bm]:
            out[r2 < (radius + tol) ** 2] = int(label)
    return out


def itrusst_labels(bm: int, points_mm: np.ndarray) -> np.ndarray:
    """Tissue label (uint8) of benchmark ``bm`` at world points ``(..., 2 or 3)`` (x = axial from the apex).

    Example:
        >>> itrusst_labels(6, np.array([[27.0, 0.0], [33.0, 0.0], [50.0, 0.0]])).tolist()
        [1, 3, 4]
    """
    _check_bm(bm)
    pts = np.asarray(points_mm, float)
    return _labels(bm, pts[..., 0], (pts[..., 1:] ** 2).sum(-1))


def _check_bm(bm: int) -> None:
    if bm not in BENCHMARKS:
        raise TfusInputError(f"unknown ITRUSST benchmark {bm!r}; implemented: 1-6 (BM7-9 need the CT skulls)")


def itrusst_medium(bm: int, spacing_mm: float, frequency_hz: float = ITRUSST_FREQUENCY_HZ, *, ndim: int = 3,
                   axial_range_mm: tuple[float, float] = (-4.0, 120.0), lateral_half_width_mm: float = 36.0
                   ) -> ItrusstBenchmark:
    """Build benchmark ``bm`` (1-6) on an isotropic grid (see the module docstring for frame and geometry).

    Args:
        bm: benchmark number 1-6.
        spacing_mm: grid spacing (e.g. 0.5 = 6 points per wavelength in water at 500 kHz).
        frequency_hz: drive frequency; absorption follows ``alpha_coeff * f_MHz**2`` (the benchmark defines 500 kHz).
        ndim: 3 (box) or 2 (the x-y plane through the axis).
        axial_range_mm: x extent; the start is rounded outwards to a multiple of the spacing.
        lateral_half_width_mm: y (and z) half extent, rounded outwards.

    Returns:
        :class:`ItrusstBenchmark`.

    Raises:
        TfusInputError: unknown benchmark, bad spacing, dimension or extents.
    """
    _check_bm(bm)
    if not (isinstance(spacing_mm, (int, float)) and math.isfinite(spacing_mm) and spacing_mm > 0):
        raise TfusInputError(f"spacing_mm must be a positive number, got {spacing_mm!r}")
    if ndim not in (2, 3):
        raise TfusInputError(f"ndim must be 2 or 3, got {ndim!r}")
    x0, x1 = axial_range_mm
    if not (x0 < 0 < x1 and lateral_half_width_mm > 0):
        raise TfusInputError("axial_range_mm must contain the apex (x = 0) and lateral_half_width_mm be positive")
    dx = float(spacing_mm)
    i0, i1 = math.ceil(-x0 / dx - 1e-9), math.ceil(x1 / dx - 1e-9)
    j0 = math.ceil(lateral_half_width_mm / dx - 1e-9)
    shape = (i0 + i1 + 1,) + (2 * j0 + 1,) * (ndim - 1)
    affine = np.eye(ndim + 1)
    affine[:ndim, :ndim] *= dx
    affine[:ndim, ndim] = [-i0 * dx] + [-j0 * dx] * (ndim - 1)
    axes = [(np.arange(n) - off) * dx for n, off in zip(shape, [i0] + [j0] * (ndim - 1), strict=True)]
    grids = np.meshgrid(*axes, indexing="ij", sparse=True)
    labels = _labels(bm, grids[0], sum(g * g for g in grids[1:]))
    c, rho, alpha = (np.zeros(len(Label), np.float32) for _ in range(3))
    for label, medium in ITRUSST_MEDIA.items():
        c[int(label)], rho[int(label)] = medium.sound_speed, medium.density
        alpha[int(label)] = medium.alpha_db_cm / (ITRUSST_FREQUENCY_HZ / 1e6) ** DEFAULT_ALPHA_POWER
    if bm == 2:
        alpha[int(Label.BACKGROUND)] = _WATER_BM2_DB_CM / (ITRUSST_FREQUENCY_HZ / 1e6) ** DEFAULT_ALPHA_POWER
    medium = MediumGrid(c[labels], rho[labels], alpha[labels], DEFAULT_ALPHA_POWER, affine)
    transducer = replace(load_transducer("itrusst-sc1"), frequency_hz=float(frequency_hz))
    pose = Pose([0.0, 0.0, 0.0], [transducer.radius_of_curvature_mm, 0.0, 0.0])
    return ItrusstBenchmark(bm, BENCHMARKS[bm], medium, labels, transducer, pose, ComparisonPlane.default(), dx / 2)
