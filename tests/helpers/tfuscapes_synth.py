"""Tiny synthetic TFUScapes releases: ``.npz`` files with ``ct`` (HU), ``pmap`` (Pa) and ``tr_coords`` (integer voxel
indices of a bowl surface), laid out as ``data/<SUBJECT>/exp_<k>.npz`` like the public release, with the truth the
importer must recover (world mm under its documented affine: spacing * (index - (shape - 1) / 2))."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tfus.pipeline.head.phantom import ellipsoid_head

SPACING_MM = 8.0  #: the phantom at 8 mm is 27 x 32 x 29 voxels and still segments with segment_ct
#: sqrt(3)/2 voxel: the largest displacement of one point when a surface point is rounded to a voxel index; no
#: fitted quantity should be off by more than that.
ROUNDING_VOXELS = float(np.sqrt(3.0) / 2.0)


def phantom_ct(spacing_mm: float = SPACING_MM) -> np.ndarray:
    return ellipsoid_head(spacing_mm=spacing_mm).hu.astype(np.float32)


def to_world(ijk, shape, spacing_mm: float = SPACING_MM) -> np.ndarray:
    return spacing_mm * (np.asarray(ijk, dtype=float) - (np.asarray(shape, dtype=float) - 1.0) / 2.0)


def cap_points(centre, axis, radius: float, aperture: float, step: float = 0.25) -> np.ndarray:
    """Integer voxel indices of a sphere cap (centre and sizes in voxels; ``axis`` points from the bowl to its
    centre): a dense polar grid of surface points, rounded and deduplicated like a voxelised transducer."""
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    e1 = np.cross(axis, np.eye(3)[int(np.argmin(np.abs(axis)))])
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(axis, e1)
    half = np.arcsin(aperture / 2.0 / radius)
    pts = []
    for theta in np.arange(0.0, half + 1e-9, step / radius):
        n_phi = max(1, int(np.ceil(2 * np.pi * radius * np.sin(theta) / step)))
        for phi in np.linspace(0, 2 * np.pi, n_phi, endpoint=False):
            d = -np.cos(theta) * axis + np.sin(theta) * (np.cos(phi) * e1 + np.sin(phi) * e2)
            pts.append(np.asarray(centre, float) + radius * d)
    return np.unique(np.rint(pts).astype(np.int64), axis=0)


def focus_field(shape, peak_ijk, peak_pa: float = 2.0e5, width: float = 2.0) -> np.ndarray:
    """A Gaussian pressure blob whose maximum is exactly at voxel ``peak_ijk``."""
    grids = np.meshgrid(*[np.arange(n) for n in shape], indexing="ij")
    r2 = sum((g - c) ** 2 for g, c in zip(grids, peak_ijk))
    return (peak_pa * np.exp(-r2 / (2 * width**2)) + 10.0).astype(np.float32)


def write_npz(path: Path, compressed: bool = False, **arrays) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    (np.savez_compressed if compressed else np.savez)(path, **arrays)
    return path


#: per-sample bowl (voxels): centre, axis (bowl -> centre), radius, aperture; and the pressure peak voxel
POSES = [
    ((13, 16, 14), (1.0, 0.0, 0.0), 10.0, 12.0, (14, 16, 14)),
    ((13, 16, 14), (1.0, 1.0, 0.0), 10.0, 12.0, (12, 17, 14)),
    ((13, 15, 14), (0.0, -1.0, 1.0), 10.0, 12.0, (13, 15, 15)),
]


def make_release(root: Path, subjects=("A00000001", "A00000002"), per_subject: int = 2) -> list[dict]:
    """Write ``root/data/<SUBJECT>/exp_<k>.npz``; returns the truth per sample in import order."""
    ct = phantom_ct()
    truth = []
    for s, subject in enumerate(subjects):
        ct_s = ct + 7.0 * s  # each subject its own CT, identical across its samples
        for k in range(per_subject):
            centre, axis, radius, aperture, peak = POSES[(s + k) % len(POSES)]
            tr = cap_points(centre, axis, radius, aperture)
            pmap = focus_field(ct.shape, peak)
            write_npz(root / "data" / subject / f"exp_{k}.npz", compressed=bool(k % 2), ct=ct_s, pmap=pmap,
                      tr_coords=tr)
            a = np.asarray(axis, float) / np.linalg.norm(axis)
            truth.append({"sample": f"{subject}/exp_{k}", "subject": subject,
                          "centre": to_world(centre, ct.shape),
                          "apex": to_world(np.asarray(centre) - radius * a, ct.shape),
                          "radius_mm": radius * SPACING_MM, "aperture_mm": aperture * SPACING_MM,
                          "focus": to_world(peak, ct.shape), "peak_pa": float(pmap.max())})
    return truth
