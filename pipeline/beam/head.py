"""A head model in a beam box: HU (linear) and labels (nearest) resampled from the head's own grid, outside the
image air (``-1000`` HU, label 0: coupling water in the medium).

Example:
    >>> from tfus.pipeline.head.phantom import ellipsoid_head
    >>> from tfus.pipeline.transducers import BowlTransducer, Pose
    >>> head = ellipsoid_head(spacing_mm=2.0)
    >>> bowl = BowlTransducer("demo", 30.0, 30.0, 2.5e5, 6e4)
    >>> frame = BeamFrame.from_pose(Pose([0, 0, 90], [0, 0, 0]), bowl, spacing_mm=2.0)
    >>> head_in_box(head, frame, max_outside_mm=80).shape == frame.shape
    True
"""

from __future__ import annotations

import numpy as np

from tfus.pipeline.beam.frame import BeamFrame
from tfus.pipeline.beam.resample import AIR_HU, check_box_in_image, to_box
from tfus.pipeline.head.model import HeadModel

# Head images often end at the scalp and the bowl sits outside them: the box may leave the image on the transducer
# side by the bowl's standoff and depth, and beyond the brain by a little. Further out is probably a wrong pose.
MAX_OUTSIDE_MM = 40.0


def head_in_box(head: HeadModel, frame: BeamFrame, max_outside_mm: float = MAX_OUTSIDE_MM) -> HeadModel:
    """``head`` resampled into ``frame``'s box (affine: box index -> the head's world mm); a box leaving the image by
    more than ``max_outside_mm`` is a one-line error."""
    check_box_in_image(frame, head.shape, head.affine, max_outside_mm)
    hu = to_box(head.hu.astype(np.float32), head.affine, frame, fill=AIR_HU)
    labels = to_box(head.labels.astype(np.uint8), head.affine, frame, nearest=True, fill=0)
    meta = {**head.meta, "beam_frame": frame.to_dict()}
    return HeadModel(hu=hu.astype(np.float32), labels=labels.astype(np.uint8), affine=np.asarray(frame.affine, float),
                     meta=meta)
