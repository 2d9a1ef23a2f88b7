"""The crop-cost benchmark on a small phantom: both simulations run, the comparison is made inside the box, and a
box wide enough for the beam keeps the focus (the real-head numbers are `tfus bench beam-crop`)."""

from __future__ import annotations

import numpy as np
import pytest

from tfus.pipeline.head.phantom import PhantomGeometry, ellipsoid_head
from tfus.pipeline.transducers import BowlTransducer, Pose
from tfus.workflows.bench.beam_crop import BeamCropConfig, compare_pose, render


@pytest.mark.slow
def test_compare_pose_on_a_phantom():
    head = ellipsoid_head(spacing_mm=2.0, geometry=PhantomGeometry(radii_mm=(40.0, 46.0, 42.0), margin_mm=6.0,
                                                                   neck_radius_mm=20.0))
    bowl = BowlTransducer("ctx-like", 30.0, 30.0, 2.0e5, 6e4)
    config = BeamCropConfig(spacing_mm=2.0, pml_size=8)
    row = compare_pose(head, bowl, Pose([0.0, 0.0, 50.0], [0.0, 0.0, 10.0]), config)
    assert row["beam_points"] < row["whole_points"]
    for key in ("focal_pressure_error", "focal_position_error_mm", "rel_l2_brain"):
        assert np.isfinite(row[key])
    # at 2 mm the focus of both fields is the same voxel or a neighbour (one voxel diagonal)
    assert row["focal_position_error_mm"] <= 2.0 * np.sqrt(3) + 1e-9
    text = render({"rows": [{"head": "phantom", "pose": 0, **row}], "median_focal_pressure_error": 0.0,
                   "max_focal_pressure_error": 0.0, "median_focal_position_error_mm": 0.0,
                   "max_focal_position_error_mm": 0.0, "speedup": 1.0})
    assert "phantom" in text and "target <= 5 %" in text
