"""Engine-independent sources: bowl quadrature (3D cap, 2D arc), point sources and their free field."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import hankel1

from tfus.pipeline.engines.sources import BowlSource, PointSource, plane_pose_2d, point_source_field
from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.transducers import BowlTransducer, Pose

BOWL = BowlTransducer("b", 30.0, 40.0, 5e5, 6e4)


def test_cap_quadrature_area_and_geometry():
    pose = Pose([1.0, -2.0, 3.0], [20.0, 10.0, -5.0])
    src = BowlSource(BOWL, pose)
    pts, w = src.quadrature(3, spacing_mm=0.5)
    np.testing.assert_allclose(w.sum(), 2 * math.pi * 30.0 * BOWL.dome_height_mm, rtol=1e-12)
    focus = pose.focus(BOWL)
    np.testing.assert_allclose(np.linalg.norm(pts - focus, axis=1), 30.0, rtol=1e-12)
    lateral = np.linalg.norm(np.cross(pts - pose.apex, pose.axis), axis=1)
    assert lateral.max() <= BOWL.aperture_radius_mm + 1e-9
    # neighbours are at most about the spacing apart: the cap is covered densely
    assert len(pts) > w.sum() / 0.5**2 * 0.9
    # centroid on the axis
    assert np.linalg.norm(np.cross((pts * w[:, None]).sum(0) / w.sum() - pose.apex, pose.axis)) < 1e-9


def test_arc_quadrature_in_2d():
    pose = Pose([0.0, 0.0, 0.0], [0.0, 10.0, 0.0])
    pts, w = BowlSource(BOWL, pose).quadrature(2, spacing_mm=0.25)
    np.testing.assert_allclose(w.sum(), 2 * 30.0 * BOWL.half_angle_rad, rtol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(pts - [0.0, 30.0], axis=1), 30.0)
    assert np.abs(pts[:, 0]).max() <= 20.0 and pts.shape[1] == 2
    apex, axis = plane_pose_2d(pose)
    assert apex.tolist() == [0.0, 0.0] and axis.tolist() == [0.0, 1.0]
    with pytest.raises(TfusInputError, match="z = 0"):
        BowlSource(BOWL, Pose([0, 0, 1.0], [0, 10.0, 1.0])).quadrature(2, 0.5)


def test_point_source_validation():
    assert PointSource((1, 2, 3), 2).amplitude == 2.0
    for bad in ([1.0], [1, 2, 3, 4], [np.nan, 0.0], "here"):
        with pytest.raises(TfusInputError, match="position"):
            PointSource(bad, 1.0)
    for bad in (0.0, np.inf, True, "1"):
        with pytest.raises(TfusInputError, match="amplitude"):
            PointSource([0.0, 0.0], bad)
    with pytest.raises(TfusInputError, match="apex and target coincide"):
        BowlSource(BOWL, Pose([0, 0, 0], [0, 0, 0]))
    with pytest.raises(TfusInputError, match="BowlTransducer"):
        BowlSource("itrusst-sc1", Pose([0, 0, 0], [0, 0, 1]))


def test_point_source_free_fields():
    f, q = 1e6, 1e-6
    k, w = 2 * math.pi * f / 1500.0, 2 * math.pi * f
    p3 = point_source_field(PointSource([0, 0, 0], q), np.array([[0, 0, 10.0]]), f)[0]
    np.testing.assert_allclose(p3, 1j * w * 1000 * q * np.exp(-1j * k * 0.01) / (4 * math.pi * 0.01))
    # 2D: i w rho q times the exp(+iwt) Green's function, the conjugate of the textbook (i/4) H0^(1)(kr)
    p2 = point_source_field(PointSource([0, 0], q), np.array([[3.0, 4.0]]), f)[0]
    np.testing.assert_allclose(p2, 1j * w * 1000 * q * np.conj(1j / 4 * hankel1(0, k * 0.005)))
    with pytest.raises(TfusInputError, match="coordinates"):
        point_source_field(PointSource([0, 0], q), np.zeros((1, 3)), f)
