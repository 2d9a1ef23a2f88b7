"""The crop-cost benchmark on a small phantom: both simulations run, the comparison is made inside each box, a box
wide enough for the beam keeps the focus, the whole-head field is simulated once per pose (and cached), and the
options are checked (the real-head numbers are `tfus bench beam-crop`)."""

from __future__ import annotations

import numpy as np
import pytest

from tfus.pipeline.beam import BeamBox, BeamFrame
from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.head.phantom import PhantomGeometry, ellipsoid_head
from tfus.pipeline.transducers import BowlTransducer, Pose
from tfus.workflows.bench.beam_crop import (
    BeamCropConfig,
    compare_boxes,
    compare_pose,
    focal_centroid,
    refined_peak,
    render,
    summarise,
    whole_head,
    widest_first,
)


@pytest.mark.slow
def test_compare_pose_on_a_phantom(tmp_path):
    head = ellipsoid_head(spacing_mm=2.0, geometry=PhantomGeometry(radii_mm=(40.0, 46.0, 42.0), margin_mm=6.0,
                                                                   neck_radius_mm=20.0))
    bowl = BowlTransducer("ctx-like", 30.0, 30.0, 2.0e5, 6e4)
    pose = Pose([0.0, 0.0, 50.0], [0.0, 0.0, 10.0])
    config = BeamCropConfig(spacing_mm=2.0, pml_size=8, boxes=(BeamBox(), BeamBox(20.0, 5.0, 40.0)),
                            whole_cache=str(tmp_path))
    whole = whole_head(head, bowl, pose, config, key="phantom")
    again = whole_head(head, bowl, pose, config, key="phantom")  # from the cache: the stored run time comes back
    assert len(list(tmp_path.glob("whole-*.npz"))) == 1
    assert again.seconds == whole.seconds and np.array_equal(again.amplitude, whole.amplitude)
    rows = compare_boxes(head, bowl, pose, config, whole, {"head": "phantom", "pose": 0})
    default, wide = rows
    # the default box against the wide one (same lattice): the crop alone, focus within one voxel diagonal
    assert "crop_rel_l2_brain" not in wide and np.isfinite(default["crop_rel_l2_brain"])
    assert default["crop_focal_position_error_mm"] <= 2.0 * np.sqrt(3) + 1e-9
    single = compare_pose(head, bowl, pose, config, whole=whole)  # the first box alone, as in the rows
    assert single["focal_pressure_error"] == pytest.approx(default["focal_pressure_error"], abs=1e-6)
    assert default["beam_points"] < wide["beam_points"] < default["whole_points"]
    assert default["whole_s"] == wide["whole_s"] == whole.seconds  # one whole-head run for both boxes
    assert default["whole_cpu_s"] == again.cpu_seconds > 0 and default["beam_cpu_s"] > 0
    for row in rows:
        for key in ("focal_pressure_error", "focal_position_error_mm", "focal_centroid_error_mm", "rel_l2_brain",
                    "rel_l2_box", "rel_l2_brain_round_trip", "focal_pressure_error_own_grid",
                    "focal_position_error_own_grid_mm", "focal_pressure_error_subvoxel",
                    "focal_position_error_subvoxel_mm"):
            assert np.isfinite(row[key])
        # at 2 mm the focus of both fields is the same voxel or a neighbour (one voxel diagonal)
        assert row["focal_position_error_mm"] <= 2.0 * np.sqrt(3) + 1e-9
    stats = summarise(rows)
    assert [s["box"]["lateral_margin_mm"] for s in stats] == [10.0, 20.0] and stats[0]["poses"] == 1
    text = render({"rows": rows, "boxes": stats})
    assert "phantom" in text and "target <= 5 %" in text and "20/5/40" in text


def test_focal_centroid_is_the_centre_of_the_half_maximum_region_around_the_peak():
    """A blob symmetric about a point between voxels has its -6 dB centroid there (exactly, by symmetry); a second,
    disconnected blob above half the peak is not part of the focal region."""
    i, j, k = np.meshgrid(*(np.arange(24.0),) * 3, indexing="ij")
    amp = np.exp(-((i - 8.5) ** 2 + (j - 10) ** 2 + (k - 12) ** 2) / 8.0)
    amp += 0.9 * np.exp(-((i - 20) ** 2 + (j - 10) ** 2 + (k - 12) ** 2) / 2.0)
    np.testing.assert_allclose(focal_centroid(amp, np.ones(amp.shape, bool)), [8.5, 10.0, 12.0], atol=1e-12)
    # masked out, the main blob gives way to the second one
    mask = i > 15
    np.testing.assert_allclose(focal_centroid(amp, mask), [20.0, 10.0, 12.0], atol=1e-12)


def test_refined_peak_is_exact_for_a_quadratic_peak():
    """A separable quadratic peak off the voxel centres: the parabola through three samples per axis is the field
    itself, so the refined position and value are exact."""
    i, j, k = np.meshgrid(*(np.arange(9.0),) * 3, indexing="ij")
    centre, top = np.array([4.3, 3.8, 4.45]), 7.0
    amp = top - 0.2 * (i - centre[0]) ** 2 - 0.1 * (j - centre[1]) ** 2 - 0.3 * (k - centre[2]) ** 2
    value, at = refined_peak(amp, np.array(np.unravel_index(np.argmax(amp), amp.shape)))
    np.testing.assert_allclose(at, centre, atol=1e-12)
    assert value == pytest.approx(top, abs=1e-12)


def test_boxes_of_one_pose_share_a_lattice():
    """Boxes of different extents put the apex on a grid point with the same axes, so every point of the smaller
    box is a point of the wider one (what makes the ``crop_*`` comparison exact)."""
    bowl = BowlTransducer("ctx-like", 63.2, 64.0, 1.25e5, 6e4)
    pose = Pose([63.6, -6.2, 59.1], [14.9, -13.8, 19.5])
    small = BeamFrame.from_pose(pose, bowl, 3.0, BeamBox())
    wide = BeamFrame.from_pose(pose, bowl, 3.0, BeamBox(20.0, 10.0, 50.0))
    ijk = np.argwhere(np.ones(small.shape, bool)).astype(float)
    at = wide.world_to_box(small.box_to_world(ijk))
    np.testing.assert_allclose(at, np.round(at), atol=1e-9)
    assert np.all(at >= 0) and np.all(at <= np.array(wide.shape) - 1)
    order = list(widest_first((BeamBox(), BeamBox(20.0, 10.0, 50.0), BeamBox(0.0, 0.0, 0.0)), bowl, pose, 3.0))
    assert order == [1, 0, 2]


def test_config_checks_boxes_and_pose_indices():
    with pytest.raises(TfusInputError, match="at least one beam box"):
        BeamCropConfig(boxes=())
    with pytest.raises(TfusInputError, match="pose indices"):
        BeamCropConfig(poses_per_head=3, pose_indices=(3,))


@pytest.mark.parametrize(("args", "needles"), [
    (("--box", "10,5"), ("--box", "LATERAL,BEHIND,BEYOND")),
    (("--box", "10,5,x"), ("--box",)),
    (("--box", "10,-5,30"), ("behind_mm", ">= 0")),
    (("--box", "10,5,30", "--lateral-margin", "20"), ("--box", "not both")),
    (("--poses", "2", "--pose-index", "2"), ("pose indices", "0 to 1")),
])
def test_cli_rejects_bad_boxes_and_poses(cli, user_error, args, needles):
    user_error(cli("bench", "beam-crop", *args), *needles)
