"""CT segmentation on the analytic phantom (known truth) and on the real head CT."""

from __future__ import annotations

import numpy as np
import pytest

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.head.ct import segment_ct
from tfus.pipeline.head.labels import Label, bone_mask


def dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2.0 * np.logical_and(a, b).sum() / (a.sum() + b.sum())


def test_phantom_labels_recovered(phantom_2mm):
    labels = segment_ct(phantom_2mm.hu, 2.0)
    truth = phantom_2mm.labels
    # One voxel (2 mm) of disagreement at each boundary is the grid's limit; these layers are 5-7 mm thick.
    assert dice(bone_mask(labels), bone_mask(truth)) > 0.95
    assert dice(labels == Label.BRAIN, truth == Label.BRAIN) > 0.97
    assert dice(labels == Label.SCALP, truth == Label.SCALP) > 0.9
    assert dice(labels == Label.TRABECULAR, truth == Label.TRABECULAR) > 0.8


def test_gap_in_skull_keeps_cranial_cavity_closed(phantom_2mm):
    """A 16 mm hole through the skull (a burr hole or bone below 300 HU) must not let the brain leak out."""
    hu = phantom_2mm.hu.copy()
    centre = np.array(hu.shape) // 2
    top = np.argwhere(bone_mask(phantom_2mm.labels)[centre[0], centre[1], :]).max()
    hu[centre[0] - 4:centre[0] + 4, centre[1] - 4:centre[1] + 4, top - 6:top + 1] = 40.0  # soft tissue
    labels = segment_ct(hu, 2.0)
    intact = (phantom_2mm.labels == Label.BRAIN).sum()
    assert abs((labels == Label.BRAIN).sum() - intact) / intact < 0.02


def test_no_head_is_refused():
    hu = np.full((60, 60, 60), -1000.0, np.float32)
    hu[25:35, 25:35, 25:35] = 40.0  # 1 ml of tissue
    with pytest.raises(TfusInputError, match="no head"):
        segment_ct(hu, 2.0)


def test_head_without_bone_is_refused(phantom_2mm):
    hu = np.where(phantom_2mm.hu > 300, 40.0, phantom_2mm.hu).astype(np.float32)
    with pytest.raises(TfusInputError, match="bone"):
        segment_ct(hu, 2.0)
