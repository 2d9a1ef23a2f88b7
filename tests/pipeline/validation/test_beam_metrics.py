"""Beam metrics on analytic fields: a Gaussian focus (known widths, volume) and the O'Neil field (known extent)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.transducers.bowl import load_transducer
from tfus.pipeline.validation.beam_metrics import (
    axial_coordinate,
    beam_metrics,
    compare_beams,
    field_errors,
    lateral_directions,
    level_crossings,
)
from tfus.pipeline.validation.closed_forms import oneil_axial

FW6 = 2 * math.sqrt(2 * math.log(2))  # -6 dB (half amplitude) full width of a Gaussian, in sigmas
FW3 = 2 * math.sqrt(math.log(2))  # -3 dB (1/sqrt 2)


def _gaussian(shape, dx, centre, sigmas, origin):
    axes = [origin[d] + dx * np.arange(n) for d, n in enumerate(shape)]
    grids = np.meshgrid(*axes, indexing="ij", sparse=True)
    expo = sum((g - c) ** 2 / (2 * s * s) for g, c, s in zip(grids, centre, sigmas, strict=True))
    affine = np.eye(len(shape) + 1)
    affine[:-1, :-1] *= dx
    affine[:-1, -1] = origin
    return 2e5 * np.exp(-expo), affine


def test_gaussian_focus_3d():
    sig = (4.0, 1.0, 1.5)
    p, aff = _gaussian((121, 41, 41), 0.2, (15.0, 0.0, 0.0), sig, (0.0, -4.0, -4.0))
    m = beam_metrics(p, aff, apex_mm=[0, 0, 0], axis=[1, 0, 0])
    assert m.focal_pressure_pa == pytest.approx(2e5)
    assert m.focus_world_mm == pytest.approx((15.0, 0.0, 0.0)) and m.focus_axial_mm == pytest.approx(15.0)
    assert m.focus_lateral_mm == pytest.approx(0.0, abs=1e-12)
    assert m.axial_6db_length_mm == pytest.approx(FW6 * sig[0], rel=2e-3)
    assert m.axial_6db_mm[0] == pytest.approx(15 - FW6 * sig[0] / 2, rel=2e-3)
    assert m.axial_3db_length_mm == pytest.approx(FW3 * sig[0], rel=2e-3)
    assert m.lateral_6db_widths_mm == pytest.approx((FW6 * sig[1], FW6 * sig[2]), rel=1e-2)  # y then z
    assert m.lateral_3db_widths_mm == pytest.approx((FW3 * sig[1], FW3 * sig[2]), rel=1e-2)
    semi = [s * math.sqrt(2 * math.log(2)) for s in sig]
    assert m.focal_volume_6db_mm3 == pytest.approx(4 / 3 * math.pi * np.prod(semi), rel=0.03)


def test_gaussian_rotated_axis_2d():
    """A beam at 45 degrees: profiles follow the axis, not the grid."""
    dx, n = 0.25, 161
    x = np.arange(n) * dx - 20
    gx, gy = np.meshgrid(x, x, indexing="ij")
    w = np.array([1.0, 1.0]) / math.sqrt(2)
    along = gx * w[0] + gy * w[1]
    across = -gx * w[1] + gy * w[0]
    p = np.exp(-((along - 0.0) ** 2) / (2 * 3.0**2) - across**2 / (2 * 1.0**2))
    aff = np.array([[dx, 0, -20], [0, dx, -20], [0, 0, 1]])
    m = beam_metrics(p, aff, apex_mm=[-10.0, -10.0, 0.0], axis=[1.0, 1.0, 0.0])
    assert m.focus_axial_mm == pytest.approx(10 * math.sqrt(2))
    assert m.axial_6db_length_mm == pytest.approx(FW6 * 3.0, rel=5e-3)
    assert m.lateral_6db_widths_mm[0] == pytest.approx(FW6 * 1.0, rel=1e-2)
    assert m.focal_volume_6db_mm3 == pytest.approx(math.pi * 3.0 * 1.0 * 2 * math.log(2), rel=0.03)  # mm^2


def test_oneil_profile_extent():
    sc1 = load_transducer("itrusst-sc1")
    dx = 0.1
    z = np.arange(-4.0, 120.0 + dx / 2, dx)
    p = oneil_axial(sc1, z)[:, None] * np.ones((1, 3))
    aff = np.array([[dx, 0, -4.0], [0, dx, -0.1], [0, 0, 1]])
    m = beam_metrics(p, aff, [0, 0], [1, 0], min_axial_mm=20.0)
    assert m.focus_axial_mm == pytest.approx(61.9, abs=dx / 2)
    assert [round(v, 1) for v in m.axial_6db_mm] == [51.8, 78.0]


def test_min_axial_and_mask_select_the_focus():
    p = np.zeros((50, 5))
    p[5, 2], p[30, 2], p[40, 2] = 3.0, 2.0, 1.0
    aff = np.diag([1.0, 1.0, 1.0])
    assert beam_metrics(p, aff, [0, 2], [1, 0]).focus_index == (5, 2)
    assert beam_metrics(p, aff, [0, 2], [1, 0], min_axial_mm=10).focus_index == (30, 2)
    mask = np.zeros(p.shape, bool)
    mask[35:] = True
    assert beam_metrics(p, aff, [0, 2], [1, 0], mask=mask).focus_index == (40, 2)
    with pytest.raises(TfusInputError):
        beam_metrics(p, aff, [0, 2], [1, 0], min_axial_mm=100)


def test_crossing_outside_the_grid_is_nan():
    assert all(math.isnan(v) for v in level_crossings(np.ones(5), np.arange(5.0), 2))


def test_errors_and_comparison():
    sig = (4.0, 1.0)
    ref, aff = _gaussian((101, 41), 0.25, (15.0, 0.0), sig, (0.0, -5.0))
    test = 1.05 * ref
    test[:20] += 1e5  # in front of the exit plane (x < 5 mm): ignored
    linf, l2 = field_errors(test, ref, aff, [0, 0], [1, 0], exit_plane_mm=5.0)
    assert linf == pytest.approx(5.0) and l2 == pytest.approx(5.0)
    linf_all, _ = field_errors(test, ref, aff, [0, 0], [1, 0])
    assert linf_all > 40
    shifted, _ = _gaussian((101, 41), 0.25, (16.0, 0.5), sig, (0.0, -5.0))
    cmp = compare_beams(shifted, ref, aff, [0, 0], [1, 0], exit_plane_mm=5.0)
    assert cmp.focal_position_diff_mm == pytest.approx(math.hypot(1.0, 0.5))
    assert cmp.focal_pressure_diff_percent == pytest.approx(0.0, abs=1e-9)
    assert cmp.axial_6db_length_diff_mm == pytest.approx(0.0, abs=0.02)


def test_axial_coordinate_and_lateral_directions():
    ax = axial_coordinate((3, 2, 2), np.diag([2.0, 1.0, 1.0, 1.0]), [1.0, 0, 0], [1, 0, 0])
    assert ax[:, 0, 0].tolist() == [-1.0, 1.0, 3.0]
    u, v = lateral_directions([1.0, 0, 0])
    assert u.tolist() == [0, 1, 0] and v.tolist() == [0, 0, 1]
    (n,) = lateral_directions([0.0, -1.0])
    assert n.tolist() == [1.0, 0.0]
