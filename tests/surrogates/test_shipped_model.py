"""The model that ships in ``data/models`` (what ``tfus predict --transducer neurofus-ctx250`` uses without a RUN):
its file matches its checksum, it is the angular-spectrum model its card describes, and it predicts a focused beam
through a spherical-shell skull phantom, with the focus past the skull on the bowl axis."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tfus.pipeline.head.labels import Label
from tfus.pipeline.transducers import Pose
from tfus.pipeline.transducers.bowl import load_transducer
from tfus.surrogates.inference import Predictor
from tfus.surrogates.shipped import shipped_model_for


def _shell_head(n: int = 96, spacing: float = 1.5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A head-sized phantom: brain sphere (r 60 mm), 7 mm bone shell (cortical / trabecular / cortical), 4 mm scalp."""
    x = (np.arange(n) - (n - 1) / 2) * spacing
    r = np.sqrt(x[:, None, None] ** 2 + x[None, :, None] ** 2 + x[None, None, :] ** 2)
    labels = np.zeros((n, n, n), np.uint8)
    labels[r < 71.0] = Label.SCALP
    labels[r < 67.0] = Label.CORTICAL
    labels[(r < 65.0) & (r >= 62.0)] = Label.TRABECULAR
    labels[r < 62.0] = Label.CORTICAL
    labels[r < 60.0] = Label.BRAIN
    hu = np.select([labels == Label.CORTICAL, labels == Label.TRABECULAR, labels > 0], [1600.0, 700.0, 40.0], -1000.0)
    affine = np.diag([spacing, spacing, spacing, 1.0])
    affine[:3, 3] = -(n - 1) / 2 * spacing
    return hu.astype(np.float32), labels, affine


def test_shipped_model_predicts_a_focus_through_a_skull_phantom():
    bowl = load_transducer("neurofus-ctx250")
    shipped = shipped_model_for(bowl)  # checks the SHA-256 of model.pt
    ckpt = torch.load(shipped.checkpoint, weights_only=True)
    assert ckpt["model_config"]["beam_prior"] == "angular-spectrum"
    assert "colin27" not in ckpt["data"]["train_heads"]  # the held-out head of its card
    predictor = Predictor.from_checkpoint(shipped.checkpoint)
    hu, labels, affine = _shell_head()
    apex = np.array([0.0, 0.0, 80.0])  # 9 mm of water between the scalp (71 mm) and the apex
    pose = Pose(apex, np.zeros(3))
    pred = predictor.predict_detailed(hu, affine, bowl, pose, labels=labels)
    box = pred.box_pressure
    assert np.isfinite(box).all() and box.max() > 0
    # the maximum inside the brain lies near the bowl axis, past the skull, within the focal region's length
    brain_peak = np.unravel_index(int(np.argmax(np.where(labels == Label.BRAIN, pred.pressure, 0))), hu.shape)
    world = affine[:3, :3] @ np.asarray(brain_peak, float) + affine[:3, 3]
    assert np.hypot(world[0], world[1]) <= 4.5  # three voxels off the axis at most
    depth = apex[2] - world[2]  # from the apex along the axis; the geometric focus is at 63.2 mm
    assert 20.0 <= depth <= 100.0, depth
    # the prior it was shown is the march through this skull: in and out of the cortical bone the pressure is
    # transmitted 2 Zc / (Zs + Zc) x 2 Zb / (Zc + Zb) = 0.71 of it (ITRUSST media), before absorption and the shell's
    # defocusing, so its focus stays below 0.75 of the bowl's free-field peak
    from tfus.pipeline.validation.closed_forms import bowl_axial_complex
    free_peak = float(np.abs(bowl_axial_complex(bowl, np.linspace(30.0, 90.0, 241))).max())
    assert pred.box_prior is not None and pred.box_prior.shape == box.shape
    assert pred.box_prior[:, :, 25:].max() < 0.75 * free_peak
    assert pred.peak_pa == pytest.approx(float(pred.pressure.max()))
