"""The one place that turns a head (HU volume + affine) and a transducer pose into model inputs: used by the training
dataset, evaluation and ``tfus predict`` alike, so a model always sees inputs prepared the same way.

Example:
    >>> import numpy as np
    >>> from tfus.pipeline.transducers import BowlTransducer, Pose
    >>> from tfus.surrogates.normalization import Normalization
    >>> hu = np.zeros((16, 16, 16), np.float32); affine = np.eye(4); affine[:3, 3] = -8
    >>> x = model_inputs(hu, affine, BowlTransducer("b", 10.0, 10.0, 5e5, 6e4), Pose([0, 0, -10.0], [0, 0, 0.0]),
    ...                  Normalization(), n_points=64)
    >>> x.ct.shape, x.points.shape
    ((1, 16, 16, 16), (64, 3))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tfus.pipeline.transducers import BowlTransducer, Pose
from tfus.surrogates.data.points import transducer_points
from tfus.surrogates.normalization import Normalization


@dataclass(frozen=True, eq=False)
class ModelInputs:
    """``ct``: (1, *spatial) float32 in [0, 1]; ``points``: (n_points, 3) float32 in the grid's [-1, 1] frame."""

    ct: np.ndarray
    points: np.ndarray


def model_inputs(hu: np.ndarray, affine: np.ndarray, transducer: BowlTransducer, pose: Pose,
                 normalization: Normalization, n_points: int) -> ModelInputs:
    """Normalised CT channel and transducer surface points for one head and pose."""
    ct = np.asarray(normalization.ct(np.asarray(hu, np.float32)), np.float32)[None]
    points = transducer_points(transducer, pose, np.asarray(affine, float), hu.shape, n_points)
    return ModelInputs(ct=ct, points=points)
