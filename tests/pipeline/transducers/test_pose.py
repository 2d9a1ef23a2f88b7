"""Poses and bowl surface sampling (geometry consistent with O'Neil's bowl)."""

import numpy as np
import pytest
from scipy.spatial import cKDTree

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.transducers import BowlTransducer, Pose, bowl_surface_points, load_transducer, orthonormal_frame


def test_axis_focus_and_distance():
    t = load_transducer("itrusst-sc1")
    pose = Pose(apex=[10.0, 20.0, 30.0], target=[10.0, 20.0 + 3.0, 30.0 + 4.0])
    assert np.allclose(pose.axis, [0, 0.6, 0.8]) and pose.distance_mm == pytest.approx(5.0)
    assert np.allclose(pose.focus(t), pose.apex + 64.0 * pose.axis)
    assert pose == Pose([10, 20, 30], [10, 23, 34]) and pose != Pose([10, 20, 30], [10, 23, 35])


@pytest.mark.parametrize("apex, target", [([0, 0, 0], [0, 0, 0]), ([0, 0], [1, 1, 1]), ([0, 0, np.nan], [1, 1, 1]),
                                          ("abc", [1, 1, 1])])
def test_bad_poses(apex, target):
    with pytest.raises(TfusInputError):
        Pose(apex=apex, target=target)


@pytest.mark.parametrize("radius, aperture", [(64.0, 64.0), (30.0, 60.0), (100.0, 30.0)])
def test_bowl_points_lie_on_the_cap_densely(radius, aperture):
    t = BowlTransducer("b", radius, aperture, 5e5, 1.0)
    pose = Pose(apex=[5.0, -3.0, 80.0], target=[-20.0, 10.0, 0.0])
    spacing = 2.0
    pts = bowl_surface_points(t, pose, spacing)
    focus = pose.focus(t)
    assert np.allclose(np.linalg.norm(pts - focus, axis=1), radius)
    rel = pts - pose.apex
    axial = rel @ pose.axis
    lateral = np.linalg.norm(rel - axial[:, None] * pose.axis, axis=1)
    assert axial.min() == pytest.approx(0.0, abs=1e-9) and axial.max() == pytest.approx(t.dome_height_mm)
    assert lateral.max() == pytest.approx(t.aperture_radius_mm)
    nn, _ = cKDTree(pts).query(pts, k=2)
    assert nn[:, 1].max() <= spacing / 2 + 1e-9
    # a dense random sample of the cap is never far from the sampled points
    rng = np.random.default_rng(0)
    cos_t = rng.uniform(np.cos(t.half_angle_rad), 1.0, 5000)
    phi = rng.uniform(0, 2 * np.pi, 5000)
    w, u, v = orthonormal_frame(pose.axis)
    sin_t = np.sqrt(1 - cos_t**2)
    cap = focus - radius * (cos_t[:, None] * w - sin_t[:, None] * (np.cos(phi)[:, None] * u + np.sin(phi)[:, None] * v))
    d, _ = cKDTree(pts).query(cap)
    assert d.max() <= spacing / 2


def test_frame_is_orthonormal():
    w, u, v = orthonormal_frame([1.0, 2.0, -0.5])
    m = np.stack([w, u, v])
    assert np.allclose(m @ m.T, np.eye(3))


def test_bad_spacing():
    with pytest.raises(TfusInputError, match="spacing_mm"):
        bowl_surface_points(load_transducer("itrusst-sc1"), Pose([0, 0, 1], [0, 0, 0]), 0.0)
