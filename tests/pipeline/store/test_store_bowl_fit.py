"""Sphere-cap fit of transducer points: recovers the generating bowl from voxelised (rounded) surface points."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers.tfuscapes_synth import ROUNDING_VOXELS, cap_points
from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.store import fit_bowl


@pytest.mark.parametrize(("axis", "radius", "aperture"), [
    ((1, 0, 0), 10.0, 12.0), ((1, 1, 0), 10.0, 12.0), ((0.3, -0.5, 0.8), 14.0, 16.0), ((0, 0, -1), 30.0, 30.0),
    ((-2, 1, 3), 64.0, 64.0),
])
def test_voxelised_bowl_is_recovered_within_the_rounding_error(axis, radius, aperture):
    centre = np.array([40.3, 41.7, 39.2])  # off-grid: the rounding differs from point to point
    pts = cap_points(centre, axis, radius, aperture)
    fit = fit_bowl(pts)
    a = np.asarray(axis, float) / np.linalg.norm(axis)
    tol = ROUNDING_VOXELS  # no quantity may move by more than one point's rounding displacement
    assert fit.radius_of_curvature_mm == pytest.approx(radius, abs=tol)
    assert np.linalg.norm(fit.centre - centre) <= tol
    assert np.linalg.norm(fit.apex - (centre - radius * a)) <= tol
    assert fit.aperture_mm == pytest.approx(aperture, abs=2 * tol)  # a diameter: both rims may be off
    max_tilt = tol / radius  # radians: a larger tilt would move the apex (R from the centre) by more than tol
    assert np.arccos(np.clip(fit.axis @ a, -1, 1)) <= max_tilt
    assert fit.rms_residual_mm <= 0.5 and fit.n_points == len(pts)


def test_exact_points_are_recovered_exactly():
    theta, phi = np.meshgrid(np.linspace(0, 0.6, 15), np.linspace(0, 2 * np.pi, 30, endpoint=False), indexing="ij")
    d = np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)], -1).reshape(-1, 3)
    fit = fit_bowl(np.array([1.0, -2.0, 3.0]) + 50.0 * d)  # bowl above its centre, facing -z
    np.testing.assert_allclose(fit.centre, [1.0, -2.0, 3.0], atol=1e-6)
    np.testing.assert_allclose(fit.apex, [1.0, -2.0, 53.0], atol=1e-6)
    np.testing.assert_allclose(fit.axis, [0.0, 0.0, -1.0], atol=1e-8)
    assert fit.radius_of_curvature_mm == pytest.approx(50.0, abs=1e-6)
    assert fit.aperture_mm == pytest.approx(2 * 50.0 * np.sin(0.6), abs=1e-6)


@pytest.mark.parametrize(("points", "needle"), [
    (np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0], [2, 3, 0]]), "coplanar"),
    (np.zeros((3, 3)), "at least 4"),
    (np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [np.nan, 1, 1]]), "finite"),
])
def test_degenerate_points_are_refused(points, needle):
    with pytest.raises(TfusInputError, match=needle):
        fit_bowl(points)
