"""Measurements of a head model: skull volume, cranial skull thickness, bone HU statistics.

Skull thickness is measured along the outward normal of the inner skull surface (the normal of the smoothed brain
mask), from where the ray enters bone to where it leaves it, with trilinear interpolation of the bone mask (so the
result is not quantised to voxels; its error is about half a voxel at each face). Only rays starting on the cranium
(above the axial plane through the brain's centroid) count; the summary is their median.

Example:
    >>> from tfus.pipeline.head.phantom import ellipsoid_head
    >>> m = measure_head(ellipsoid_head(spacing_mm=2.0))
    >>> 5.0 < m["skull_thickness_mm"] < 9.0
    True
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from tfus.pipeline.head.labels import Label, bone_mask
from tfus.pipeline.head.model import HeadModel


def cranial_thickness_mm(head: HeadModel, max_rays: int = 20000, seed: int = 0) -> np.ndarray:
    """Skull thickness (mm) along inner-surface normals over the cranium, one value per ray."""
    s = head.spacing_mm
    brain = head.labels == Label.BRAIN
    bone = bone_mask(head.labels)
    if not brain.any() or not bone.any():
        return np.zeros(0)
    inner = brain & ndi.binary_dilation(bone)  # brain voxels touching bone
    centroid_k = np.argwhere(brain)[:, 2].mean()
    pts = np.argwhere(inner)
    pts = pts[pts[:, 2] >= centroid_k]
    if len(pts) == 0:
        return np.zeros(0)
    if len(pts) > max_rays:
        pts = pts[np.random.default_rng(seed).choice(len(pts), max_rays, replace=False)]
    smooth = ndi.gaussian_filter(brain.astype(np.float32), sigma=2.0 / s)
    grad = np.stack([ndi.map_coordinates(g, pts.T, order=1) for g in np.gradient(smooth)], axis=1)
    norm = np.linalg.norm(grad, axis=1)
    ok = norm > 1e-6
    pts, normal = pts[ok], -grad[ok] / norm[ok, None]  # outward: brain indicator decreases
    step = 0.25  # voxels
    n_steps = int(np.ceil(25.0 / s / step))
    t = np.arange(n_steps) * step - 1.0  # start one voxel inside the brain
    coords = pts[None, :, :] + t[:, None, None] * normal[None, :, :]  # (steps, rays, 3) in voxels
    inside = ndi.map_coordinates(bone.astype(np.float32), coords.reshape(-1, 3).T, order=1, cval=0.0)
    inside = inside.reshape(n_steps, -1) >= 0.5
    entered = np.maximum.accumulate(inside, axis=0)
    first_in = np.argmax(inside, axis=0)
    # first sample after entry that is outside bone
    after = entered & ~inside & (np.arange(n_steps)[:, None] > first_in[None, :])
    has_exit = after.any(axis=0) & inside.any(axis=0)
    first_out = np.argmax(after, axis=0)
    thickness = (first_out - first_in)[has_exit] * step * s
    return thickness.astype(float)


def measure_head(head: HeadModel) -> dict:
    """Summary numbers of a head model (volumes in ml, lengths in mm, HU statistics of bone)."""
    v = head.voxel_volume_ml
    labels = head.labels
    bone = bone_mask(labels)
    thick = cranial_thickness_mm(head)
    bone_hu = head.hu[bone]
    out = {
        "shape": list(head.shape),
        "spacing_mm": head.spacing_mm,
        "head_volume_ml": float((labels != Label.BACKGROUND).sum() * v),
        "brain_volume_ml": float((labels == Label.BRAIN).sum() * v),
        "skull_volume_ml": float(bone.sum() * v),
        "cortical_volume_ml": float((labels == Label.CORTICAL).sum() * v),
        "trabecular_volume_ml": float((labels == Label.TRABECULAR).sum() * v),
        "skull_thickness_mm": float(np.median(thick)) if thick.size else float("nan"),
        "skull_thickness_p10_p90_mm": [float(np.percentile(thick, 10)), float(np.percentile(thick, 90))]
        if thick.size else [float("nan")] * 2,
        "bone_hu": {"mean": float(bone_hu.mean()), "median": float(np.median(bone_hu)),
                    "p5": float(np.percentile(bone_hu, 5)), "p95": float(np.percentile(bone_hu, 95))}
        if bone_hu.size else {},
    }
    return out
