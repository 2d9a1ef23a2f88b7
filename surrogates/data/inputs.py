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

import functools
from dataclasses import dataclass

import numpy as np

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.transducers import BowlTransducer, Pose
from tfus.surrogates.data.points import transducer_points
from tfus.surrogates.data.prior import free_field_prior
from tfus.surrogates.normalization import Normalization


@dataclass(frozen=True, eq=False)
class ModelInputs:
    """``ct``: (1, *spatial) float32 in [0, 1] (plus the free-field prior as a second channel when asked for);
    ``points``: (n_points, 3) float32 in the grid's [-1, 1] frame."""

    ct: np.ndarray
    points: np.ndarray


def model_inputs(hu: np.ndarray, affine: np.ndarray, transducer: BowlTransducer, pose: Pose,
                 normalization: Normalization, n_points: int, free_field: bool = False,
                 prior: np.ndarray | None = None) -> ModelInputs:
    """Normalised CT channel and transducer surface points for one head and pose.

    Args:
        free_field: append the bowl's free field in water (:mod:`tfus.surrogates.data.prior`) as a second channel
            (models configured with ``free_field_prior``); cached per pose and grid in this process.
        prior: with ``free_field``, the water field itself (Pa, on this grid) instead of the Rayleigh sum: the
            beam frame's exact k-Wave water field (:func:`~tfus.surrogates.data.prior.beam_water_amplitude`).
    """
    ct = np.asarray(normalization.ct(np.asarray(hu, np.float32)), np.float32)[None]
    affine = np.asarray(affine, float)
    points = transducer_points(transducer, pose, affine, hu.shape, n_points)
    if free_field and prior is not None:
        if tuple(np.shape(prior)) != tuple(hu.shape):
            raise TfusInputError(f"the prior has shape {np.shape(prior)}, the grid {hu.shape}; it must be the water "
                                 "field of this box")
        field, _ = normalization.field(np.asarray(prior, np.float32))
        ct = np.concatenate([ct, np.asarray(field, np.float32)[None]], axis=0)
    elif free_field:
        key = (transducer, tuple(np.round(pose.apex, 9)), tuple(np.round(pose.target, 9)),
               tuple(np.round(affine, 9).ravel()), tuple(hu.shape), normalization)
        ct = np.concatenate([ct, _cached_prior(*key)], axis=0)
    return ModelInputs(ct=ct, points=points)


@functools.lru_cache(maxsize=64)
def _cached_prior(transducer: BowlTransducer, apex: tuple, target: tuple, affine: tuple, shape: tuple,
                  normalization: Normalization) -> np.ndarray:
    dims = len(shape)
    size = 4 if len(affine) == 16 else dims + 1
    prior = free_field_prior(transducer, Pose(np.array(apex), np.array(target)), np.array(affine).reshape(size, size),
                             shape, normalization)
    prior.setflags(write=False)
    return prior
