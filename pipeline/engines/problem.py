"""From a head model (or plain water) and a transducer pose to the medium an engine runs on, with the physical
preconditions checked up front: the bowl outside the head and clear of the skull, inside the grid.

Example:
    >>> from tfus.pipeline.transducers import load_transducer, Pose
    >>> bowl = load_transducer("itrusst-sc1")
    >>> m = water_medium(bowl, Pose([0, 0, 0], [0, 0, 64.0]), spacing_mm=2.0)
    >>> m.ndim, m.spacing_mm
    (3, 2.0)
"""

from __future__ import annotations

import numpy as np

from tfus.pipeline.acoustics import map_properties
from tfus.pipeline.engines.field import MediumGrid
from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.head.labels import Label
from tfus.pipeline.head.model import HeadModel
from tfus.pipeline.transducers import BowlTransducer, Pose, bowl_surface_points

COUPLINGS = ("water", "brain")
WATER = (1500.0, 1000.0, 0.0)


def head_on_grid(head: HeadModel, spacing_mm: float | None) -> HeadModel:
    """The head model resampled to ``spacing_mm`` (labels nearest, HU linear); unchanged if already there."""
    if spacing_mm is None or abs(spacing_mm - head.spacing_mm) < 1e-6:
        return head
    from tfus.pipeline.io import resample_to
    from tfus.pipeline.io.orient import isotropic_grid

    shape, affine = isotropic_grid(head.affine, head.shape, spacing_mm)
    hu = resample_to(head.hu, head.affine, shape, affine, order=1, cval=-1000.0)
    labels = resample_to(head.labels, head.affine, shape, affine, order=0, cval=0)
    return HeadModel(hu=hu.astype(np.float32), labels=labels.astype(np.uint8), affine=affine, meta=dict(head.meta))


def medium_from_head(head: HeadModel, mapping: str = "itrusst", coupling: str = "water") -> MediumGrid:
    """Acoustic medium on the head grid: tissue properties from the named HU mapping; outside the head the coupling
    medium (``water``, or ``brain``-like soft tissue)."""
    if coupling not in COUPLINGS:
        raise TfusInputError(f"unknown coupling {coupling!r}; use one of {', '.join(COUPLINGS)}")
    props = map_properties(head.hu, head.labels, mapping)
    c, rho, alpha = (np.array(a, np.float32) for a in (props.sound_speed, props.density, props.alpha_coeff))
    outside = head.labels == Label.BACKGROUND
    if coupling == "brain":
        brain = head.labels == Label.BRAIN
        if brain.any():
            c[outside], rho[outside], alpha[outside] = (float(np.median(a[brain])) for a in (c, rho, alpha))
    else:
        c[outside], rho[outside], alpha[outside] = WATER
    return MediumGrid(c, rho, alpha, float(props.alpha_power), np.asarray(head.affine, float))


def check_pose_outside_head(head: HeadModel, transducer: BowlTransducer, pose: Pose) -> None:
    """Refuse a bowl that touches the head or a target outside the grid."""
    pts = bowl_surface_points(transducer, pose, head.spacing_mm)
    idx = np.rint(head.world_to_voxel(pts)).astype(int)
    inside = np.all((idx >= 0) & (idx < np.array(head.shape)), axis=1)
    labels = head.labels[tuple(idx[inside].T)]
    if np.any(np.isin(labels, [Label.CORTICAL, Label.TRABECULAR])):
        raise TfusInputError(f"transducer {transducer.name} intersects the skull at this pose; move the apex "
                             "outward (e.g. use a pose from `tfus transducers sample`)")
    if np.any(labels != Label.BACKGROUND):
        raise TfusInputError(f"transducer {transducer.name} lies inside the head at this pose; move the apex "
                             "outward so the bowl clears the scalp (coupling standoff)")
    t = np.rint(head.world_to_voxel(pose.target)).astype(int)
    if np.any(t < 0) or np.any(t >= np.array(head.shape)):
        raise TfusInputError("the target lies outside the head model's grid; give a target inside the head")


def water_medium(transducer: BowlTransducer, pose: Pose, spacing_mm: float, margin_mm: float = 6.0,
                 beyond_focus: float = 0.6) -> MediumGrid:
    """A water box auto-sized around the beam: the bowl, the focal region and ``beyond_focus`` * R past the focus,
    plus ``margin_mm``, aligned with the world axes (grid origin on a multiple of the spacing)."""
    r = transducer.radius_of_curvature_mm
    focus = pose.focus(transducer)
    rim = bowl_surface_points(transducer, pose, max(spacing_mm, 1.0))
    far = focus + beyond_focus * r * pose.axis
    pts = np.vstack([rim, focus[None], far[None], pose.apex[None]])
    lo = np.floor((pts.min(axis=0) - margin_mm) / spacing_mm) * spacing_mm
    hi = np.ceil((pts.max(axis=0) + margin_mm) / spacing_mm) * spacing_mm
    shape = tuple(int(round(v)) + 1 for v in (hi - lo) / spacing_mm)
    return MediumGrid.homogeneous(shape, spacing_mm, *WATER, alpha_power=2.0, origin_mm=tuple(lo))


def pad_for_bowl(head: HeadModel, transducer: BowlTransducer, pose: Pose, margin_mm: float = 3.0
                 ) -> tuple[HeadModel, tuple[slice, ...]]:
    """The head model padded with air (coupling water in the medium) so the whole bowl lies ``margin_mm`` inside the
    grid, and the slices that cut the original grid back out of the padded one. Head images often end at the scalp;
    a transducer sits outside them."""
    pts = bowl_surface_points(transducer, pose, head.spacing_mm)
    idx = head.world_to_voxel(pts)
    m = margin_mm / head.spacing_mm
    lo = np.maximum(0, np.ceil(-(idx.min(axis=0) - m))).astype(int)
    hi = np.maximum(0, np.ceil(idx.max(axis=0) + m - (np.array(head.shape) - 1))).astype(int)
    if not lo.any() and not hi.any():
        return head, tuple(slice(None) for _ in range(3))
    pad = tuple(zip(lo.tolist(), hi.tolist(), strict=True))
    affine = np.array(head.affine, float)
    affine[:3, 3] = head.voxel_to_world(-lo.astype(float))
    padded = HeadModel(hu=np.pad(head.hu, pad, constant_values=-1000.0),
                       labels=np.pad(head.labels, pad, constant_values=0), affine=affine, meta=dict(head.meta))
    crop = tuple(slice(int(a), int(a) + n) for a, n in zip(lo, head.shape, strict=True))
    return padded, crop
