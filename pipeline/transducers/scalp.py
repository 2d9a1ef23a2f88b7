"""The scalp surface of a head label map, its outward normals, and which part of it lies over the cranium.

Cranium rule (:func:`cranium_mask`), designed for real heads in RAS (+x right, +y anterior, +z superior, head roughly
upright) and for the phantom:

1. **Ray test.** From each scalp point walk inward along ``-normal`` (steps of half a voxel, up to ``max_depth_mm``,
   default 40 mm). The point passes if the ray meets bone (cortical or trabecular) and, after the bone, brain (label
   4), and never meets background (air) before the first bone except within the first voxel (normal noise). This
   rejects the neck (no bone), the nose and ears (the ray leaves the head through air before any bone: behind the
   pinna, in the nasal cavity), and any point whose inward path misses the brain (jaw, face below the skull base).
   Air *after* the bone is allowed (frontal sinus, mastoid cells).
2. **Plane test.** With ``c`` the brain (label 4) centroid, keep points with
   ``z - c_z >= plane_offset_mm + tan(plane_tilt_deg) * (y - c_y)``: a plane through the brain centroid, tilted so it
   rises towards the face (anterior) and falls towards the occiput. With the defaults (offset 0, tilt 15 degrees) the
   eyes, cheeks, ears and neck (all below the centroid's axial plane, the face also anterior) are excluded; the
   forehead above roughly the upper third of the frontal lobe, the vertex, the temporal squama above the ears and the
   occiput down to ~2-3 cm below the centroid plane remain.

Ears that survive both tests (e.g. a pinna flat against the head) are handled by the sampler: the bowl must clear the
head, so it cannot sit on them.

Example:
    >>> from tfus.pipeline.head.phantom import ellipsoid_head
    >>> from tfus.pipeline.transducers.scalp import scalp_surface, cranium_mask
    >>> head = ellipsoid_head(spacing_mm=4.0)
    >>> surf = scalp_surface(head.labels, head.affine)
    >>> keep = cranium_mask(surf.points, head.labels, head.affine, normals=surf.normals)
    >>> bool(keep.any() and (surf.points[keep, 2] > -30).all())
    True
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.head.labels import Label

#: Smoothing never goes below this many voxels: on coarse grids (3-4 mm) a 2 mm Gaussian leaves staircase normals
#: off by up to ~30 degrees; 1.5 voxels brings the phantom's normals within ~5 degrees of the analytic ones.
MIN_SIGMA_VOXELS = 1.5


def _check(labels: np.ndarray, affine: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    labels = np.asarray(labels)
    affine = np.asarray(affine, dtype=float)
    if labels.ndim != 3:
        raise TfusInputError(f"label map must be 3D, got shape {labels.shape}; pass head.labels")
    if affine.shape != (4, 4) or abs(np.linalg.det(affine[:3, :3])) < 1e-12:
        raise TfusInputError("affine must be an invertible 4x4 voxel-to-world matrix; pass head.affine")
    return labels, affine


def voxel_sizes(affine: np.ndarray) -> np.ndarray:
    """Voxel edge lengths in mm along the three array axes."""
    return np.linalg.norm(np.asarray(affine, dtype=float)[:3, :3], axis=0)


def world_to_voxel(affine: np.ndarray, xyz: np.ndarray) -> np.ndarray:
    """World mm (..., 3) to continuous voxel indices (..., 3)."""
    inv = np.linalg.inv(np.asarray(affine, dtype=float))
    return np.asarray(xyz, dtype=float) @ inv[:3, :3].T + inv[:3, 3]


def voxel_to_world(affine: np.ndarray, ijk: np.ndarray) -> np.ndarray:
    """Voxel indices (..., 3) to world mm (..., 3)."""
    a = np.asarray(affine, dtype=float)
    return np.asarray(ijk, dtype=float) @ a[:3, :3].T + a[:3, 3]


def lookup_labels(labels: np.ndarray, affine: np.ndarray, xyz: np.ndarray, outside: int = 0) -> np.ndarray:
    """Label of the nearest voxel at each world point (..., 3); ``outside`` for points off the grid."""
    ijk = np.rint(world_to_voxel(affine, xyz)).astype(np.int64)
    shape = np.array(labels.shape)
    inside = np.all((ijk >= 0) & (ijk < shape), axis=-1)
    out = np.full(ijk.shape[:-1], outside, dtype=np.int64)
    idx = ijk[inside]
    out[inside] = labels[idx[:, 0], idx[:, 1], idx[:, 2]]
    return out


def solid_head_mask(labels: np.ndarray) -> np.ndarray:
    """Head voxels plus background pockets not connected to the grid border (enclosed air counts as head)."""
    background = np.asarray(labels) == Label.BACKGROUND
    comp, _ = ndimage.label(background)
    border = np.concatenate([comp[0].ravel(), comp[-1].ravel(), comp[:, 0].ravel(), comp[:, -1].ravel(),
                             comp[:, :, 0].ravel(), comp[:, :, -1].ravel()])
    outside = np.isin(comp, np.unique(border[border > 0]))
    return ~outside


def brain_centroid(labels: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """World-mm centroid of the brain (label 4)."""
    labels, affine = _check(labels, affine)
    ijk = np.argwhere(labels == Label.BRAIN)
    if len(ijk) == 0:
        raise TfusInputError("head model has no brain voxels (label 4); rebuild the head with `tfus head build`")
    return voxel_to_world(affine, ijk.mean(axis=0))


@dataclass(frozen=True, eq=False)
class ScalpSurface:
    """Outer head surface: ``points`` (N, 3) world mm (centres of head voxels touching outside air), unit outward
    ``normals`` (N, 3) and the voxel indices ``voxels`` (N, 3)."""

    points: np.ndarray
    normals: np.ndarray
    voxels: np.ndarray

    def __len__(self) -> int:
        return len(self.points)


def _smoothed(solid: np.ndarray, affine: np.ndarray, sigma_mm: float) -> np.ndarray:
    sigma_vox = np.maximum(sigma_mm / voxel_sizes(affine), MIN_SIGMA_VOXELS)
    return ndimage.gaussian_filter(solid.astype(np.float32), sigma=sigma_vox, mode="constant")


def _gradient_normals(smooth: np.ndarray, affine: np.ndarray, ijk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Outward unit normals (minus the world gradient of the smoothed mask) at integer voxels; also the norms."""
    shape = np.array(smooth.shape)
    grad = np.empty((len(ijk), 3))
    for d in range(3):
        step = np.zeros(3, dtype=np.int64)
        step[d] = 1
        hi = np.minimum(ijk + step, shape - 1)
        lo = np.maximum(ijk - step, 0)
        diff = smooth[hi[:, 0], hi[:, 1], hi[:, 2]] - smooth[lo[:, 0], lo[:, 1], lo[:, 2]]
        grad[:, d] = diff / np.maximum(hi[:, d] - lo[:, d], 1)
    world = grad @ np.linalg.inv(np.asarray(affine, dtype=float)[:3, :3])  # A^-T g, row-vector form
    norm = np.linalg.norm(world, axis=1)
    normals = -world / np.where(norm > 0, norm, 1.0)[:, None]
    return normals, norm


def scalp_surface(labels: np.ndarray, affine: np.ndarray, sigma_mm: float = 2.0) -> ScalpSurface:
    """Scalp surface points and outward normals (gradient of the head mask smoothed with a Gaussian of ``sigma_mm``,
    at least :data:`MIN_SIGMA_VOXELS` voxels).

    Enclosed air (sinuses, cavities not open to the outside) is treated as head, so only the outer skin is returned.
    Points where the smoothed gradient vanishes (isolated specks) are dropped.
    """
    labels, affine = _check(labels, affine)
    if not sigma_mm > 0:
        raise TfusInputError(f"sigma_mm must be positive, got {sigma_mm!r}")
    solid = solid_head_mask(labels)
    if not solid.any():
        raise TfusInputError("label map is empty (all background); build a head model first")
    outside = ~solid
    touching = ndimage.binary_dilation(outside, border_value=1) & solid
    ijk = np.argwhere(touching)
    normals, norm = _gradient_normals(_smoothed(solid, affine, sigma_mm), affine, ijk)
    ok = norm > 1e-6 * max(float(norm.max(initial=0.0)), 1e-30)
    return ScalpSurface(points=voxel_to_world(affine, ijk[ok]), normals=normals[ok], voxels=ijk[ok])


def surface_normals(points: np.ndarray, labels: np.ndarray, affine: np.ndarray, sigma_mm: float = 2.0) -> np.ndarray:
    """Outward unit normals at arbitrary world points (nearest voxel of the smoothed solid head mask)."""
    labels, affine = _check(labels, affine)
    ijk = np.clip(np.rint(world_to_voxel(affine, points)).astype(np.int64), 0, np.array(labels.shape) - 1)
    normals, _ = _gradient_normals(_smoothed(solid_head_mask(labels), affine, sigma_mm), affine, ijk)
    return normals


def ray_reaches_brain(points: np.ndarray, normals: np.ndarray, labels: np.ndarray, affine: np.ndarray,
                      max_depth_mm: float = 40.0) -> np.ndarray:
    """Ray test of :func:`cranium_mask` (step 1) for each point: bone, then brain, along ``-normal``."""
    labels, affine = _check(labels, affine)
    points = np.asarray(points, dtype=float).reshape(-1, 3)
    normals = np.asarray(normals, dtype=float).reshape(-1, 3)
    spacing = float(voxel_sizes(affine).min())
    depths = np.arange(0.0, max_depth_mm + 1e-9, spacing / 2.0)
    chunk = max(1, 2_000_000 // len(depths))
    if len(points) > chunk:  # bound the memory of the (N, depths, 3) sample array
        return np.concatenate([ray_reaches_brain(points[i:i + chunk], normals[i:i + chunk], labels, affine,
                                                 max_depth_mm) for i in range(0, len(points), chunk)])
    samples = points[:, None, :] - depths[None, :, None] * normals[:, None, :]
    lab = lookup_labels(labels, affine, samples, outside=int(Label.BACKGROUND))
    k = np.arange(len(depths))[None, :]
    bone = np.isin(lab, [int(Label.CORTICAL), int(Label.TRABECULAR)])
    has_bone = bone.any(axis=1)
    first_bone = np.where(has_bone, bone.argmax(axis=1), len(depths))[:, None]
    brain = lab == Label.BRAIN
    grace = depths[None, :] <= spacing  # the first voxel may graze air when the normal is noisy
    air_before = ((lab == Label.BACKGROUND) & (k < first_bone) & ~grace).any(axis=1)
    brain_before = (brain & (k < first_bone)).any(axis=1)
    brain_after = (brain & (k > first_bone)).any(axis=1)
    return has_bone & brain_after & ~brain_before & ~air_before


def cranium_mask(points: np.ndarray, labels: np.ndarray, affine: np.ndarray, normals: np.ndarray | None = None, *,
                 max_depth_mm: float = 40.0, plane_offset_mm: float = 0.0, plane_tilt_deg: float = 15.0,
                 sigma_mm: float = 2.0) -> np.ndarray:
    """Boolean mask (N,) of scalp points over the cranium where a transducer can sit (rule in the module docstring).

    Args:
        points: (N, 3) scalp points in world RAS mm (e.g. ``scalp_surface(...).points``).
        labels: Label map (0 background, 1 scalp, 2 cortical, 3 trabecular, 4 brain).
        affine: Voxel-to-world 4x4 affine.
        normals: Outward unit normals at the points; computed from the label map when omitted.
        max_depth_mm: How far the inward ray may go to find bone and then brain.
        plane_offset_mm: Height of the cut plane above the brain centroid.
        plane_tilt_deg: Tilt of the cut plane (rises anteriorly by ``tan(tilt)`` mm per mm).
        sigma_mm: Smoothing for normals computed here.
    """
    labels, affine = _check(labels, affine)
    points = np.asarray(points, dtype=float).reshape(-1, 3)
    if normals is None:
        normals = surface_normals(points, labels, affine, sigma_mm)
    rel = points - brain_centroid(labels, affine)
    above = rel[:, 2] >= plane_offset_mm + math.tan(math.radians(plane_tilt_deg)) * rel[:, 1]
    keep = np.zeros(len(points), dtype=bool)
    if above.any():
        keep[above] = ray_reaches_brain(points[above], np.asarray(normals)[above], labels, affine, max_depth_mm)
    return keep
