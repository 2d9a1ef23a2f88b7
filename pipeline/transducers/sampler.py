"""Sample transducer poses over the cranium: bowls that sit just off the scalp without touching the head.

For each candidate scalp point ``s`` (outward normal ``n``, over the cranium, see :func:`cranium_mask`):

* no target: the axis is the inward normal ``-n`` and the target is the geometric focus;
* with a target (inside the brain): the axis is ``unit(target - s)``; candidates whose beam would enter more than
  ``max_angle_deg`` (45 degrees) off the normal are skipped.

The apex goes back from ``s`` along ``-axis`` by the smallest standoff ``>= standoff_mm`` (steps of half a voxel, up to
``max_standoff_mm``) at which every bowl surface point (sampled at half a voxel) keeps ``clearance_mm`` from the head.
The head is its solid mask (enclosed air counts as head) with each voxel grown to half a voxel around its centre: the
gap is the exact distance to the nearest outer head voxel centre (k-d tree) minus half a voxel, and any bowl point
whose nearest voxel is head fails outright. Bowl points outside the grid are measured the same way (against the head
voxels the grid holds; an engine pads the grid); ``SampledPose.bowl_in_grid`` records whether the whole bowl lies
inside the head grid. Standoffs are measured from the scalp voxel centre ``s``.

Candidates are visited by farthest-point sampling over the cranium points, starting from a point drawn with
``numpy.random.default_rng(seed)``; a candidate that never clears is dropped and the next farthest is tried, so the
``n`` poses spread evenly and are reproducible from the seed.

Example:
    >>> from tfus.pipeline.head.phantom import ellipsoid_head
    >>> from tfus.pipeline.transducers import load_transducer, sample_poses
    >>> head = ellipsoid_head(spacing_mm=4.0)
    >>> poses = sample_poses(head, load_transducer("itrusst-sc1"), 3, seed=0)
    >>> len(poses), all(p.standoff_mm >= 3.0 for p in poses)
    (3, True)
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.head.labels import Label
from tfus.pipeline.head.model import HeadModel
from tfus.pipeline.io.atomic import atomic_path
from tfus.pipeline.transducers.bowl import BowlTransducer
from tfus.pipeline.transducers.pose import Pose, bowl_local_points, place_local_points
from tfus.pipeline.transducers.scalp import (
    cranium_mask,
    lookup_labels,
    scalp_surface,
    solid_head_mask,
    voxel_sizes,
    voxel_to_world,
    world_to_voxel,
)


@dataclass(frozen=True, eq=False)
class SampledPose:
    """One accepted placement and how it was found (all positions world RAS mm).

    Attributes:
        pose: Apex and target.
        focus: Geometric focus ``apex + R * axis``.
        scalp_point: Scalp point the axis passes through.
        scalp_normal: Outward unit normal there.
        standoff_mm: Distance apex -> scalp point.
        normal_angle_deg: Angle between the outward normal and ``-axis`` (0 when aiming along the normal).
        min_clearance_mm: Smallest gap between a bowl point and the head (half a voxel outside the head voxels).
        bowl_in_grid: Whether every bowl point lies inside the head grid (else an engine must pad the grid).
        focus_label: Label at the geometric focus (-1 off the grid).
        transducer: Transducer name.
    """

    pose: Pose
    focus: np.ndarray
    scalp_point: np.ndarray
    scalp_normal: np.ndarray
    standoff_mm: float
    normal_angle_deg: float
    min_clearance_mm: float
    bowl_in_grid: bool
    focus_label: int
    transducer: str

    @property
    def apex(self) -> np.ndarray:
        return self.pose.apex

    @property
    def target(self) -> np.ndarray:
        return self.pose.target

    @property
    def axis(self) -> np.ndarray:
        return self.pose.axis

    @property
    def apex_target_mm(self) -> float:
        return self.pose.distance_mm


class _Clearance:
    """Bowl-head gap: exact distance to the nearest outer head voxel centre minus half a voxel (k-d tree)."""

    def __init__(self, labels: np.ndarray, affine: np.ndarray) -> None:
        self.affine = affine
        self.half_voxel = float(voxel_sizes(affine).max()) / 2.0
        self.solid = solid_head_mask(labels)
        self.shape = np.array(labels.shape)
        boundary = self.solid & ndimage.binary_dilation(~self.solid, border_value=1)
        self.tree = cKDTree(voxel_to_world(affine, np.argwhere(boundary)))

    def gap(self, points: np.ndarray, bound: float = np.inf) -> tuple[np.ndarray, np.ndarray]:
        """Gap (mm) per point (``-inf`` where the nearest voxel is head; values beyond ``bound`` come back as inf)
        and whether each point lies inside the grid."""
        dist, _ = self.tree.query(points, distance_upper_bound=bound + self.half_voxel)
        gap = dist - self.half_voxel
        ijk = np.rint(world_to_voxel(self.affine, points)).astype(np.int64)
        inside = np.all((ijk >= 0) & (ijk < self.shape), axis=1)
        idx = ijk[inside]
        gap[np.flatnonzero(inside)[self.solid[idx[:, 0], idx[:, 1], idx[:, 2]]]] = -np.inf
        return gap, inside


def _accepted(transducer: BowlTransducer, labels: np.ndarray, affine: np.ndarray, clearance: _Clearance,
              base: np.ndarray, scalp: np.ndarray, normal: np.ndarray, axis: np.ndarray, standoff: float,
              target: np.ndarray | None) -> SampledPose:
    """The :class:`SampledPose` for a bowl that clears the head at ``standoff``."""
    apex = scalp - standoff * axis
    aim = apex + transducer.radius_of_curvature_mm * axis if target is None else target
    pose = Pose(apex=apex, target=aim)
    focus = pose.focus(transducer)
    gap, inside = clearance.gap(base - standoff * axis)
    angle = math.atan2(float(np.linalg.norm(np.cross(axis, normal))), float(np.dot(-axis, normal)))
    return SampledPose(pose=pose, focus=focus, scalp_point=scalp.copy(), scalp_normal=normal.copy(),
                       standoff_mm=standoff, normal_angle_deg=math.degrees(angle), min_clearance_mm=float(gap.min()),
                       bowl_in_grid=bool(inside.all()),
                       focus_label=int(lookup_labels(labels, affine, focus[None], outside=-1)[0]),
                       transducer=transducer.name)


def _check_args(n, standoff_mm, clearance_mm, max_standoff_mm, max_angle_deg) -> None:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise TfusInputError(f"number of poses must be a positive integer, got {n!r}")
    if not (math.isfinite(standoff_mm) and standoff_mm >= 0):
        raise TfusInputError(f"standoff_mm must be >= 0, got {standoff_mm!r}")
    if not (math.isfinite(max_standoff_mm) and max_standoff_mm >= standoff_mm):
        raise TfusInputError(f"the largest standoff ({max_standoff_mm!r} mm, --max-standoff) must be >= the smallest "
                             f"({standoff_mm!r} mm, --standoff)")
    if not (math.isfinite(clearance_mm) and clearance_mm >= 0):
        raise TfusInputError(f"clearance_mm must be >= 0, got {clearance_mm!r}")
    if not 0 < max_angle_deg <= 90:
        raise TfusInputError(f"max_angle_deg must be in (0, 90], got {max_angle_deg!r}")


def sample_poses(head: HeadModel, transducer: BowlTransducer, n: int, *, target=None, seed: int = 0,
                 standoff_mm: float = 3.0, clearance_mm: float = 1.0, max_standoff_mm: float = 30.0,
                 max_angle_deg: float = 45.0, max_attempts: int | None = None) -> list[SampledPose]:
    """Sample ``n`` non-intersecting bowl poses spread over the cranium (method in the module docstring).

    Args:
        head: Head model (labels and affine are used).
        transducer: The bowl.
        n: Number of poses.
        target: Optional aim point (3,) in world mm; must lie in the brain. ``None`` aims along the inward normal.
        seed: Seed of the farthest-point sampling start.
        standoff_mm: Smallest apex-scalp distance tried.
        clearance_mm: Smallest gap kept between every bowl point and the head.
        max_standoff_mm: Largest apex-scalp distance tried.
        max_angle_deg: With a target, largest angle between the beam and the inward normal.
        max_attempts: Candidates tested before giving up (default ``max(50 n, 500)``).

    Returns:
        ``n`` :class:`SampledPose`, in farthest-point order.

    Raises:
        TfusInputError: bad arguments, a target outside the brain, or fewer than ``n`` poses that fit.
    """
    _check_args(n, standoff_mm, clearance_mm, max_standoff_mm, max_angle_deg)
    labels, affine = np.asarray(head.labels), np.asarray(head.affine, dtype=float)
    spacing = float(voxel_sizes(affine).mean())
    points, normals, axes, target = _candidates(labels, affine, target, max_angle_deg)
    if len(points) < n:
        raise TfusInputError(f"transducer {transducer.name} does not fit: only {len(points)} candidate scalp points "
                             f"over the cranium for {n} poses; ask for fewer poses or use a finer head grid")
    fitter = _BowlFitter(transducer, labels, affine, _Clearance(labels, affine), bowl_local_points(transducer, spacing),
                         _standoffs(standoff_mm, max_standoff_mm, spacing), clearance_mm, target)
    limit = max_attempts if max_attempts is not None else max(50 * n, 500)
    chosen, tested = _farthest_point_search(points, lambda i: fitter.fit(points[i], normals[i], axes[i]), n, seed,
                                            limit)
    if len(chosen) < n:
        raise TfusInputError(f"transducer {transducer.name} does not fit: only {len(chosen)} of {n} poses found after "
                             f"testing {tested} of {len(points)} candidate scalp points (standoff {standoff_mm:g}-"
                             f"{max_standoff_mm:g} mm, clearance {clearance_mm:g} mm); use a smaller transducer, a "
                             "larger max_standoff_mm or fewer poses")
    return chosen


def _brain_target(labels: np.ndarray, affine: np.ndarray, target) -> np.ndarray:
    """``target`` as a (3,) float array; a one-line error unless it lies in the brain."""
    target = np.asarray(target, dtype=float).reshape(-1)
    if target.shape != (3,) or not np.all(np.isfinite(target)):
        raise TfusInputError(f"target must be three numbers (x, y, z) in world mm, got {target!r}")
    found = int(lookup_labels(labels, affine, target[None], outside=-1)[0])
    if found != Label.BRAIN:
        names = {int(v): v.name.lower() for v in Label}
        where = "off the head grid" if found < 0 else f"in {names.get(found, f'label {found}')}"
        raise TfusInputError(f"target {target.tolist()} mm is {where}, not in the brain; pick a target inside the "
                             "brain (label 4)")
    return target


def _candidates(labels: np.ndarray, affine: np.ndarray, target,
                max_angle_deg: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Scalp points over the cranium, their outward normals and the beam axis at each: the inward normal, or towards
    ``target`` (points whose beam would enter more than ``max_angle_deg`` off the normal are dropped); and the
    checked target."""
    surface = scalp_surface(labels, affine)
    keep = cranium_mask(surface.points, labels, affine, normals=surface.normals)
    points, normals = surface.points[keep], surface.normals[keep]
    if target is not None:
        target = _brain_target(labels, affine, target)
        axes = target - points
        dist = np.linalg.norm(axes, axis=1)
        axes = axes / np.where(dist > 0, dist, 1.0)[:, None]
        cos = np.einsum("ij,ij->i", -axes, normals)
        ok = (dist > 0) & (cos >= math.cos(math.radians(max_angle_deg)))
        points, normals, axes = points[ok], normals[ok], axes[ok]
        if not ok.any():
            raise TfusInputError(f"no scalp point over the cranium can aim at the target within {max_angle_deg:g} "
                                 "degrees of the normal; pick a target closer to the cortex or raise max_angle_deg")
    else:
        axes = -normals
    if len(points) == 0:
        raise TfusInputError("no scalp point lies over the cranium (bone then brain under the skin, above the brain "
                             "centroid); check the head labels and that the image is in RAS orientation")
    return points, normals, axes, target


def _standoffs(standoff_mm: float, max_standoff_mm: float, spacing: float) -> np.ndarray:
    """Standoffs tried, smallest first: steps of half a voxel from ``standoff_mm``, ending at ``max_standoff_mm``."""
    standoffs = np.arange(standoff_mm, max_standoff_mm + 1e-9, 0.5 * spacing)
    if standoffs[-1] < max_standoff_mm - 1e-9:
        standoffs = np.append(standoffs, max_standoff_mm)
    return standoffs


@dataclass(frozen=True, eq=False)
class _BowlFitter:
    """Finds the smallest standoff at which the bowl on one candidate clears the head."""

    transducer: BowlTransducer
    labels: np.ndarray
    affine: np.ndarray
    clearance: _Clearance
    local: np.ndarray  #: bowl surface points in the bowl frame
    standoffs: np.ndarray
    clearance_mm: float
    target: np.ndarray | None

    def fit(self, scalp: np.ndarray, normal: np.ndarray, axis: np.ndarray) -> SampledPose | None:
        """The pose at the smallest standoff that keeps ``clearance_mm``, or None if none does."""
        base = place_local_points(self.local, scalp, axis)  # the bowl with its apex on the scalp point
        if not self._clears(base - self.standoffs[-1] * axis):
            return None  # does not clear even at the largest standoff: one test instead of one per standoff
        for d in self.standoffs:
            if self._clears(base - d * axis):
                return _accepted(self.transducer, self.labels, self.affine, self.clearance, base, scalp, normal, axis,
                                 float(d), self.target)
        return None

    def _clears(self, bowl: np.ndarray) -> bool:
        return bool(np.all(self.clearance.gap(bowl, bound=self.clearance_mm)[0] >= self.clearance_mm))


def _farthest_point_search(points: np.ndarray, attempt, n: int, seed: int,
                           limit: int) -> tuple[list[SampledPose], int]:
    """Visit candidates in farthest-point order (random start from ``seed``; random while none is accepted) until
    ``n`` are accepted by ``attempt(i)`` or ``limit`` were tested; returns the accepted poses and the count tested."""
    rng = np.random.default_rng(seed)
    alive = np.ones(len(points), dtype=bool)
    min_dist = np.full(len(points), np.inf)
    chosen: list[SampledPose] = []
    tested = 0
    nxt = int(rng.integers(len(points)))
    give_up_after = min(limit, 100)  # no pose at all in the first 100 spread-out candidates: the bowl does not fit
    while len(chosen) < n and tested < limit and (chosen or tested < give_up_after):
        alive[nxt] = False
        tested += 1
        result = attempt(nxt)
        if result is not None:
            chosen.append(result)
            min_dist = np.minimum(min_dist, np.linalg.norm(points - points[nxt], axis=1))
        if not alive.any():
            break
        if chosen:
            nxt = int(np.argmax(np.where(alive, min_dist, -1.0)))
        else:
            nxt = int(rng.choice(np.flatnonzero(alive)))
    return chosen, tested


CSV_COLUMNS = ("apex_x", "apex_y", "apex_z", "target_x", "target_y", "target_z", "focus_x", "focus_y", "focus_z",
               "normal_angle_deg", "standoff_mm", "scalp_x", "scalp_y", "scalp_z", "normal_x", "normal_y", "normal_z",
               "apex_target_mm", "min_clearance_mm", "bowl_in_grid", "focus_label", "transducer")
_REQUIRED = CSV_COLUMNS[:11]


def poses_to_csv(path: str | Path, poses: list[SampledPose]) -> None:
    """Write poses to CSV (columns :data:`CSV_COLUMNS`, full float precision), atomically."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_COLUMNS)
        for p in poses:
            row = [*p.apex, *p.target, *p.focus, p.normal_angle_deg, p.standoff_mm, *p.scalp_point, *p.scalp_normal,
                   p.apex_target_mm, p.min_clearance_mm]
            writer.writerow([repr(float(v)) for v in row] + [int(p.bowl_in_grid), p.focus_label, p.transducer])


def read_poses_csv(path: str | Path) -> list[SampledPose]:
    """Read a CSV written by :func:`poses_to_csv`; only the first 11 columns are required (others default)."""
    path = Path(path)
    if not path.is_file():
        raise TfusInputError(f"pose file {path} not found; write one with `poses_to_csv`")
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        rows = list(reader)
    missing = [c for c in _REQUIRED if c not in header]
    if missing:
        raise TfusInputError(f"{path}: missing column {missing[0]!r}; required: {', '.join(_REQUIRED)}")
    return [_row_to_pose(row, path, line) for line, row in enumerate(rows, start=2)]


def _row_to_pose(row: dict, path: Path, line: int) -> SampledPose:
    try:
        f = {k: float(v) for k, v in row.items() if k in CSV_COLUMNS[:-3] and v not in (None, "")}

        def vec(prefix: str) -> np.ndarray:
            if f"{prefix}_x" not in f and prefix in ("scalp", "normal"):
                return np.full(3, np.nan)
            return np.array([f[f"{prefix}_x"], f[f"{prefix}_y"], f[f"{prefix}_z"]])

        return SampledPose(
            pose=Pose(apex=vec("apex"), target=vec("target")), focus=vec("focus"), scalp_point=vec("scalp"),
            scalp_normal=vec("normal"), standoff_mm=f["standoff_mm"], normal_angle_deg=f["normal_angle_deg"],
            min_clearance_mm=f.get("min_clearance_mm", math.nan),
            bowl_in_grid=(row.get("bowl_in_grid") or "1").strip() not in ("0", "False", "false"),
            focus_label=int(row.get("focus_label") or -1), transducer=row.get("transducer") or "")
    except (KeyError, ValueError) as err:
        raise TfusInputError(f"{path}: bad or missing value on line {line} ({err}); rewrite the file with "
                             "`poses_to_csv`") from None
