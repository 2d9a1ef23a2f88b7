"""The beam frame and moving volumes between head grids and boxes: geometry of the box, and round trips of a smooth
field and a labelled object through rotated, oblique and flipped affines (tolerances from linear interpolation)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from tfus.pipeline.beam import (
    BeamBox,
    BeamFrame,
    box_outside_image_mm,
    check_box_in_image,
    from_box,
    to_box,
)
from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.transducers import BowlTransducer, Pose

BOWL = BowlTransducer("test", 30.0, 24.0, 5e5, 6e4)
SPACING = 1.5
SIGMA = 8.0  # mm, the smooth test field's width
CENTRE = np.array([3.0, -2.0, 5.0])


def _affine(kind: str, shape) -> np.ndarray:
    """Head-grid affines: axis-aligned, flipped (two axes reversed), oblique (rotated 35 deg about a tilted axis);
    each centred on the world origin."""
    lin = np.eye(3) * SPACING
    if kind == "flipped":
        lin = np.diag([-SPACING, SPACING, -SPACING])
    elif kind == "oblique":
        lin = Rotation.from_rotvec(np.radians(35) * np.array([1.0, 2.0, 0.5]) / np.linalg.norm([1, 2, 0.5])
                                   ).as_matrix() * SPACING
    a = np.eye(4)
    a[:3, :3] = lin
    a[:3, 3] = -lin @ ((np.array(shape) - 1) / 2)
    return a


def _world(shape, affine) -> np.ndarray:
    ijk = np.stack(np.meshgrid(*[np.arange(n) for n in shape], indexing="ij"), axis=-1).astype(float)
    return ijk @ affine[:3, :3].T + affine[:3, 3]


def _gauss(xyz) -> np.ndarray:
    return np.exp(-np.sum((xyz - CENTRE) ** 2, axis=-1) / (2 * SIGMA**2))


# linear interpolation error <= h^2/8 * sum over axes of |d2f/dx2|; for the Gaussian |f''| <= 1/sigma^2 per axis.
# Each resampling adds that bound (of the axis spacing along every direction: h^2/8 * 3/sigma^2).
INTERP = SPACING**2 / 8 * 3 / SIGMA**2

POSES = [Pose([0, 0, 35], [0, 0, 0]), Pose([20, 25, -15], [0, 0, 0]), Pose([-30, 5, 12], [0, -3, 4])]


@pytest.mark.parametrize("pose", POSES, ids=["down", "oblique", "sideways"])
def test_frame_geometry(pose):
    frame = BeamFrame.from_pose(pose, BOWL, SPACING)
    rot = frame.rotation
    np.testing.assert_allclose(rot.T @ rot, np.eye(3), atol=1e-12)
    assert np.linalg.det(rot) == pytest.approx(1.0)  # right-handed
    np.testing.assert_allclose(rot[:, 2], pose.axis, atol=1e-12)
    np.testing.assert_allclose(frame.box_to_world(frame.apex_index), pose.apex, atol=1e-9)
    focus_idx = frame.world_to_box(pose.focus(BOWL))
    centre = (frame.shape[0] - 1) / 2
    np.testing.assert_allclose(focus_idx[:2], [centre, centre], atol=1e-9)  # on the middle grid line
    assert frame.shape[0] == frame.shape[1] and frame.shape[0] % 2 == 1
    # extents: lateral >= aperture/2 + margin, axial from behind the apex to past the focus
    box = BeamBox()
    assert centre * SPACING >= BOWL.aperture_radius_mm + box.lateral_margin_mm
    assert frame.apex_index[2] * SPACING >= box.behind_mm
    assert (frame.shape[2] - 1 - focus_idx[2]) * SPACING >= box.beyond_focus_mm - 1e-9
    np.testing.assert_allclose(frame.world_to_box(frame.box_to_world([[1.0, 2.0, 3.0]])), [[1.0, 2.0, 3.0]])


def test_box_does_not_depend_on_target_distance():
    near = BeamFrame.from_pose(Pose([0, 0, 35], [0, 0, 30]), BOWL, SPACING)
    far = BeamFrame.from_pose(Pose([0, 0, 35], [0, 0, -50]), BOWL, SPACING)
    assert near.shape == far.shape
    np.testing.assert_allclose(near.affine, far.affine)


@pytest.mark.parametrize("kind", ["aligned", "flipped", "oblique"])
@pytest.mark.parametrize("pose", POSES[:2], ids=["down", "oblique"])
def test_smooth_field_round_trip(kind, pose):
    shape = (70, 66, 74)
    affine = _affine(kind, shape)
    head_field = _gauss(_world(shape, affine)).astype(np.float32)
    frame = BeamFrame.from_pose(pose, BOWL, SPACING, BeamBox(lateral_margin_mm=6, beyond_focus_mm=10))
    assert box_outside_image_mm(frame, shape, affine) == 0.0
    box = to_box(head_field, affine, frame)
    np.testing.assert_allclose(box, _gauss(_world(frame.shape, frame.affine)), atol=INTERP)
    back = from_box(box, frame, shape, affine)
    # compare where the head point lies inside the box by more than one voxel (the edge cells interpolate with 0)
    idx = frame.world_to_box(_world(shape, affine))
    inside = np.all((idx > 1) & (idx < np.array(frame.shape) - 2), axis=-1)
    assert inside.sum() > 1000
    np.testing.assert_allclose(back[inside], head_field[inside], atol=2 * INTERP)
    outside = np.any((idx < -1) | (idx > np.array(frame.shape)), axis=-1)
    assert np.all(back[outside] == 0)


@pytest.mark.parametrize("kind", ["aligned", "flipped", "oblique"])
def test_labelled_sphere_keeps_its_voxels(kind):
    shape = (60, 60, 60)
    affine = _affine(kind, shape)
    radius = 9.0
    dist_head = np.linalg.norm(_world(shape, affine) - CENTRE, axis=-1)
    labels = np.where(dist_head <= radius, 4, 0).astype(np.uint8)
    frame = BeamFrame.from_pose(POSES[0], BOWL, SPACING, BeamBox(lateral_margin_mm=5, beyond_focus_mm=15))
    box = to_box(labels, affine, frame, nearest=True)
    assert box.dtype == np.uint8 and set(np.unique(box)) <= {0, 4}
    dist_box = np.linalg.norm(_world(frame.shape, frame.affine) - CENTRE, axis=-1)
    # nearest neighbour moves a point by at most half a head-voxel diagonal
    slack = SPACING * math.sqrt(3) / 2
    assert np.all(box[dist_box <= radius - slack] == 4)
    assert np.all(box[dist_box > radius + slack] == 0)
    back = from_box(box.astype(np.float32), frame, shape, affine)
    idx = frame.world_to_box(_world(shape, affine))
    inside = np.all((idx > 1) & (idx < np.array(frame.shape) - 2), axis=-1)
    core = inside & (dist_head <= radius - 2 * slack)
    assert core.sum() > 100 and np.all(back[core] > 0.5)
    assert np.all(back[dist_head > radius + 2 * slack] < 0.5)


def test_box_leaving_the_image_is_one_line_error():
    shape = (40, 40, 40)
    affine = _affine("aligned", shape)  # +-29 mm
    frame = BeamFrame.from_pose(Pose([0, 0, 25], [0, 0, 0]), BOWL, SPACING)
    out = box_outside_image_mm(frame, shape, affine)
    # the image ends 30 mm from the centre (39/2 voxels + half a voxel); the box's far end is 25 - (R + 30) = -35 mm
    assert out == pytest.approx(5.0)
    with pytest.raises(TfusInputError, match=r"leaves the head image by \d+\.\d mm"):
        check_box_in_image(frame, shape, affine, margin_mm=4)
    check_box_in_image(frame, shape, affine, margin_mm=out + 0.1)


def test_bad_box_settings():
    with pytest.raises(TfusInputError, match="behind_mm must be a number >= 0"):
        BeamBox(behind_mm=-1)
    with pytest.raises(TfusInputError, match="spacing must be a positive number"):
        BeamFrame.from_pose(POSES[0], BOWL, 0.0)
    frame = BeamFrame.from_pose(POSES[0], BOWL, SPACING)
    with pytest.raises(TfusInputError, match="box field has shape"):
        from_box(np.zeros((3, 3, 3)), frame, (10, 10, 10), np.eye(4))
