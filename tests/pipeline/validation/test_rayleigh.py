"""Rayleigh integral: converged, equal to O'Neil on the axis, close to it in the focal plane (derived bound), BM2."""

from __future__ import annotations

import numpy as np
import pytest

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.transducers.bowl import load_transducer
from tfus.pipeline.transducers.pose import Pose
from tfus.pipeline.validation.closed_forms import bowl_axial_complex, oneil_axial, oneil_lateral, piston_axial
from tfus.pipeline.validation.rayleigh import bowl_quadrature, disc_quadrature, rayleigh_bowl, rayleigh_disc


@pytest.fixture(scope="module")
def sc1():
    return load_transducer("itrusst-sc1")


def test_quadrature_areas(sc1):
    _, w = bowl_quadrature(sc1, 3.0, 4.0)
    assert w.sum() == pytest.approx(2 * np.pi * 64.0 * sc1.dome_height_mm, rel=1e-12)
    _, w = disc_quadrature(10.0, 3.0, 4.0)
    assert w.sum() == pytest.approx(np.pi * 100.0, rel=1e-12)
    with pytest.raises(TfusInputError):
        bowl_quadrature(sc1, 3.0, 1.0)


def test_on_axis_equals_oneil(sc1):
    """On the axis O'Neil's formula is the exact integral, so only the quadrature error remains (<< 1e-6)."""
    z = np.linspace(10.0, 120.0, 111)
    p = rayleigh_bowl(sc1, np.column_stack([z, np.zeros_like(z)]))
    np.testing.assert_allclose(np.abs(p), oneil_axial(sc1, z), rtol=0, atol=1e-6 * 1.1e6)
    np.testing.assert_allclose(p, bowl_axial_complex(sc1, z), rtol=0, atol=1e-6 * 1.1e6)  # phase too


def test_focal_plane_within_oneil_error_bound(sc1):
    """O'Neil's J1 formula weights the cap by its projection (sin t cos t dt, scaled to agree at r = 0) where the
    integral has sin t dt; with |J0| <= 1 the two differ by at most the relative L1 distance of the weights (3.6 %
    of p(R) for SC1), plus the dropped Fresnel phase k r^2 sin^2(t_max) / (2R) and the 1/r amplitude change
    r sin(t_max) / R. Measured: 1.3 % of p(R) within r <= 3 mm, -6 dB width 4.18 vs 4.23 mm."""
    r_mm = np.linspace(0.0, 3.0, 31)
    p = np.abs(rayleigh_bowl(sc1, np.column_stack([np.full_like(r_mm, 64.0), r_mm]), points_per_wavelength=6))
    ref = oneil_lateral(sc1, r_mm)
    rr, h, a = 64.0, sc1.dome_height_mm, 32.0
    t = np.linspace(0.0, sc1.half_angle_rad, 20001)
    c = 2 * rr * h / a**2
    weights = np.trapezoid(np.abs(np.sin(t) * (1 - c * np.cos(t))), t) / (1 - np.cos(t[-1]))
    k = 2 * np.pi / 3.0  # 1/mm
    s = np.sin(sc1.half_angle_rad)
    bound = weights + k * r_mm**2 * s**2 / (2 * rr) + r_mm * s / rr
    assert np.all(np.abs(p - ref) <= bound * ref[0])
    assert np.max(np.abs(p - ref)) / ref[0] < 0.02  # what the brief expects near the focus
    assert p[0] == pytest.approx(ref[0], rel=1e-6)  # exact on the axis


def test_converged_off_axis(sc1):
    pts = np.array([[40.0, 6.0, 0.0], [64.0, 2.0, 1.0], [90.0, 10.0, -3.0]])
    coarse = rayleigh_bowl(sc1, pts, points_per_wavelength=6, chunk_elements=10_000)
    fine = rayleigh_bowl(sc1, pts, points_per_wavelength=10)
    np.testing.assert_allclose(coarse, fine, rtol=0, atol=1e-6 * 1.1e6)


def test_pose_and_frame_agree(sc1):
    pose = Pose([10.0, -5.0, 3.0], [10.0, 59.0, 3.0])  # axis +y
    local = np.array([[60.0, 1.0, 0.5], [64.0, 0.0, 0.0]])
    world = pose.apex + local[:, :1] * pose.axis + np.outer(np.hypot(local[:, 1], local[:, 2]), [1.0, 0, 0])
    np.testing.assert_allclose(np.abs(rayleigh_bowl(sc1, world, pose=pose, points_per_wavelength=4)),
                               np.abs(rayleigh_bowl(sc1, local, points_per_wavelength=4)), rtol=1e-9)


def test_bm2_absorbing_water(sc1):
    """ITRUSST BM2: 539 kPa at 60.65 mm from the apex in 1 dB/cm water."""
    z = np.arange(60.0, 61.3, 0.05)
    p = np.abs(rayleigh_bowl(sc1, np.column_stack([z, np.zeros_like(z)]), alpha_db_cm=1.0, points_per_wavelength=4))
    i = int(np.argmax(p))
    assert round(p[i] / 1e3) == 539
    assert z[i] == pytest.approx(60.65, abs=0.026)


def test_disc_on_axis_is_piston_formula():
    z = np.linspace(5.0, 100.0, 20)
    p = rayleigh_disc(10.0, 500e3, np.column_stack([z, np.zeros_like(z)]), points_per_wavelength=6)
    np.testing.assert_allclose(np.abs(p), piston_axial(10.0, z, 500e3), rtol=0, atol=1e-6 * 1.2e5)
