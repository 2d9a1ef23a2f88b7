"""Tissue labels of a head model.

Example:
    >>> from tfus.pipeline.head.labels import Label
    >>> int(Label.CORTICAL), Label.BRAIN.name
    (2, 'BRAIN')
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class Label(IntEnum):
    """Label values stored in ``labels.nii.gz``."""

    BACKGROUND = 0  #: air / outside the head (coupling medium in simulations)
    SCALP = 1  #: soft tissue outside the skull (skin, fat, muscle)
    CORTICAL = 2  #: cortical bone (inner and outer tables)
    TRABECULAR = 3  #: trabecular bone (diploe)
    BRAIN = 4  #: intracranial soft tissue: brain and CSF


BONE_LABELS = (Label.CORTICAL, Label.TRABECULAR)


def bone_mask(labels: np.ndarray) -> np.ndarray:
    """Boolean mask of cortical + trabecular bone."""
    return np.isin(labels, [int(v) for v in BONE_LABELS])


def head_mask(labels: np.ndarray) -> np.ndarray:
    """Boolean mask of everything that is not background."""
    return labels != Label.BACKGROUND
