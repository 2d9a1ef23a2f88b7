"""Moving volumes between a head grid and a beam box with SimpleITK: HU linearly, labels by nearest neighbour, box
fields back onto the head grid (zero outside the box).

Arrays are indexed ``(i, j, k)`` with a 4x4 RAS affine (as in :class:`~tfus.pipeline.head.HeadModel`); SimpleITK
works in LPS with reversed array axes, which :func:`to_sitk` handles.

Example:
    >>> import numpy as np
    >>> from tfus.pipeline.transducers import BowlTransducer, Pose
    >>> from tfus.pipeline.beam.frame import BeamFrame
    >>> bowl = BowlTransducer("demo", 20.0, 20.0, 5e5, 6e4)
    >>> frame = BeamFrame.from_pose(Pose([0, 0, 20], [0, 0, 0]), bowl, spacing_mm=2.0)
    >>> head = np.ones((30, 30, 40), np.float32)
    >>> affine = np.diag([2.0, 2.0, 2.0, 1.0]); affine[:3, 3] = -30
    >>> to_box(head, affine, frame).shape == frame.shape
    True
"""

from __future__ import annotations

import numpy as np

from tfus.pipeline.beam.frame import BeamFrame
from tfus.pipeline.errors import TfusInputError

_LPS = np.diag([-1.0, -1.0, 1.0])
AIR_HU = -1000.0


def _place(img, affine: np.ndarray):
    """Give a SimpleITK image the spacing, direction and origin (LPS) of a RAS ``affine`` with orthogonal columns."""
    a = np.asarray(affine, float)
    spacing = np.linalg.norm(a[:3, :3], axis=0)
    img.SetSpacing(tuple(float(s) for s in spacing))
    img.SetDirection(tuple(float(v) for v in (_LPS @ a[:3, :3] / spacing).ravel()))
    img.SetOrigin(tuple(float(v) for v in _LPS @ a[:3, 3]))
    return img


def to_sitk(data: np.ndarray, affine: np.ndarray):
    """A SimpleITK image of ``data`` (indexed i, j, k) placed by a RAS ``affine`` (orthogonal columns)."""
    import SimpleITK as sitk

    return _place(sitk.GetImageFromArray(np.ascontiguousarray(np.asarray(data).transpose(2, 1, 0))), affine)


def _reference(shape, affine):
    import SimpleITK as sitk

    return _place(sitk.Image([int(n) for n in shape], sitk.sitkUInt8), affine)


def resample_onto(data: np.ndarray, affine: np.ndarray, shape, target_affine: np.ndarray, *, nearest: bool = False,
                  fill: float = 0.0) -> np.ndarray:
    """``data`` (with ``affine``) sampled on the grid ``(shape, target_affine)``: linear, or nearest-neighbour for
    labels; points outside ``data`` get ``fill``."""
    import SimpleITK as sitk

    if np.asarray(data).ndim != 3:
        raise TfusInputError(f"beam-frame resampling needs a 3D volume, got shape {np.shape(data)}")
    src = np.asarray(data)
    pixel = src.dtype if nearest else np.float32
    img = to_sitk(src.astype(pixel, copy=False), affine)
    interp = sitk.sitkNearestNeighbor if nearest else sitk.sitkLinear
    out = sitk.Resample(img, _reference(shape, target_affine), sitk.Transform(), interp, float(fill),
                        img.GetPixelID())
    return sitk.GetArrayFromImage(out).transpose(2, 1, 0).copy()


def to_box(data: np.ndarray, affine: np.ndarray, frame: BeamFrame, *, nearest: bool = False,
           fill: float = 0.0) -> np.ndarray:
    """A head-grid volume resampled into the beam box (``nearest=True`` for labels; ``fill`` outside the image,
    e.g. :data:`AIR_HU` for HU)."""
    return resample_onto(data, affine, frame.shape, frame.affine, nearest=nearest, fill=fill)


def from_box(field: np.ndarray, frame: BeamFrame, shape, affine: np.ndarray) -> np.ndarray:
    """A box field (e.g. pressure amplitude) on the head grid ``(shape, affine)``: linear, zero outside the box."""
    if tuple(np.shape(field)) != tuple(frame.shape):
        raise TfusInputError(f"box field has shape {np.shape(field)}, the beam box {frame.shape}; pass a field "
                             "simulated or predicted in this frame")
    return resample_onto(np.asarray(field, np.float32), frame.affine, shape, affine, fill=0.0)


def box_outside_image_mm(frame: BeamFrame, shape, affine: np.ndarray) -> float:
    """How far (mm) the beam box reaches outside the image's extent (0 when it lies inside)."""
    a = np.asarray(affine, float)
    inv = np.linalg.inv(a)
    idx = frame.corners_world() @ inv[:3, :3].T + inv[:3, 3]
    lo = np.clip(-0.5 - idx, 0, None)
    hi = np.clip(idx - (np.asarray(shape, float) - 0.5), 0, None)
    spacing = np.linalg.norm(a[:3, :3], axis=0)
    return float(np.max((lo + hi) * spacing))


def check_box_in_image(frame: BeamFrame, shape, affine: np.ndarray, margin_mm: float) -> None:
    """One-line error when the box leaves the head image by more than ``margin_mm``."""
    out = box_outside_image_mm(frame, shape, affine)
    if out > margin_mm:
        raise TfusInputError(f"the beam box leaves the head image by {out:.1f} mm (more than the {margin_mm:g} mm "
                             "margin): aim the transducer more inwards, or pad the head image")


def field_from_box(field, frame: BeamFrame, shape, affine: np.ndarray):
    """A box :class:`~tfus.pipeline.engines.field.SteadyStateField` on the head grid ``(shape, affine)``: amplitude
    and phase through the complex pressure (its real and imaginary parts interpolate smoothly where the amplitude has
    kinks), zero outside the box; ``meta`` keeps the box record."""
    from tfus.pipeline.engines.field import SteadyStateField

    amp, phase = np.asarray(field.amplitude, np.float64), np.asarray(field.phase, np.float64)
    re = from_box((amp * np.cos(phase)).astype(np.float32), frame, shape, affine)
    im = from_box((amp * np.sin(phase)).astype(np.float32), frame, shape, affine)
    meta = {k: v for k, v in field.meta.items() if k not in ("snapshots", "p_max", "p_min")}
    meta["beam_frame"] = frame.to_dict()
    return SteadyStateField(np.hypot(re, im).astype(np.float32), np.arctan2(im, re).astype(np.float32),
                            np.asarray(affine, float), field.frequency_hz, meta)
