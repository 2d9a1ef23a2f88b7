"""O'Neil closed form (explicit and k-wave-python's) reproduces the ITRUSST SC1 numbers; piston; Green's functions."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import hankel1

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.transducers.bowl import BowlTransducer, load_transducer
from tfus.pipeline.validation.beam_metrics import level_crossings
from tfus.pipeline.validation.closed_forms import (
    bowl_axial_complex,
    green_2d,
    green_3d,
    oneil_axial,
    oneil_axial_kwave,
    oneil_lateral,
    oneil_lateral_kwave,
    oneil_reference,
    piston_axial,
    wavenumber,
)


@pytest.fixture(scope="module")
def sc1() -> BowlTransducer:
    return load_transducer("itrusst-sc1")


def test_sc1_published_numbers(sc1):
    """ITRUSST SC1: 1.094 MPa at 61.9 mm, p(R) 1.077 MPa, axial -6 dB 51.8-78.0 mm, lateral -6 dB 4.23 mm."""
    ref = oneil_reference(sc1)
    assert round(ref.peak_pa / 1e6, 3) == 1.094
    assert round(ref.peak_z_mm, 1) == 61.9
    assert round(ref.focal_pressure_pa / 1e6, 3) == 1.077
    assert [round(v, 1) for v in ref.axial_6db_mm] == [51.8, 78.0]
    assert round(ref.lateral_6db_width_mm, 2) == 4.23
    assert ref.axial_3db_mm[0] > ref.axial_6db_mm[0] and ref.axial_3db_mm[1] < ref.axial_6db_mm[1]
    assert ref.lateral_3db_width_mm < ref.lateral_6db_width_mm


def test_explicit_formula_matches_kwave(sc1):
    z = np.linspace(1.0, 120.0, 1191)  # includes z = R = 64 mm exactly
    assert np.any(z == 64.0)
    ours, theirs = oneil_axial(sc1, z), oneil_axial_kwave(sc1, z)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-6)
    r = np.linspace(-8.0, 8.0, 161)  # includes r = 0
    np.testing.assert_allclose(oneil_lateral(sc1, r), np.abs(oneil_lateral_kwave(sc1, r)), rtol=1e-9)  # k-wave: signed


def test_sampled_profile_extent_matches_published(sc1):
    """Linear-interpolated crossings of a 0.05 mm sampled profile give the published extent (0.1 mm precision)."""
    z = np.arange(10.0, 120.0, 0.05)
    p = oneil_axial(sc1, z)
    i = int(np.argmax(p))
    assert [round(v, 1) for v in level_crossings(p, z, i)] == [51.8, 78.0]


def test_exact_axial_integral_is_oneil_when_lossless(sc1):
    z = np.linspace(0.0, 120.0, 2401)
    np.testing.assert_allclose(np.abs(bowl_axial_complex(sc1, z)), oneil_axial(sc1, z), rtol=1e-9, atol=1e-6)
    near = np.abs(bowl_axial_complex(sc1, [64.0 - 1e-9, 64.0, 64.0 + 1e-9]))  # no cancellation at z = R
    np.testing.assert_allclose(near, float(oneil_axial(sc1, 64.0)), rtol=1e-9)
    with pytest.raises(TfusInputError):
        bowl_axial_complex(sc1, [-1.0])


def test_absorbing_water_bm2_number(sc1):
    """ITRUSST BM2 (1 dB/cm water): 539 kPa at 60.65 mm (published precision: 1 kPa, 0.05 mm)."""
    z = np.arange(50.0, 70.0, 0.001)
    p = np.abs(bowl_axial_complex(sc1, z, alpha_db_cm=1.0))
    i = int(np.argmax(p))
    assert round(p[i] / 1e3) == 539
    assert abs(z[i] - 60.65) <= 0.025


def test_piston_on_axis_limits():
    a, f = 10.0, 500e3
    k = wavenumber(f).real
    far = 2000.0
    # far field: |p| -> rho c u0 k a^2 / (2 z)
    assert piston_axial(a, far, f) == pytest.approx(1000 * 1500 * 0.04 * k * (a * 1e-3) ** 2 / (2 * far * 1e-3),
                                                    rel=1e-3)
    z = np.linspace(0.1, 200, 4000)
    assert piston_axial(a, z, f).max() == pytest.approx(2 * 1000 * 1500 * 0.04, rel=1e-4)  # last axial maximum


def test_green_functions():
    k, r = 2 * np.pi / 3e-3, np.array([1e-3, 5e-3, 2e-2])
    np.testing.assert_allclose(green_2d(k, r, convention="exp(-iwt)"), 0.25j * hankel1(0, k * r))
    np.testing.assert_allclose(green_2d(k, r), np.conj(0.25j * hankel1(0, k * r)))
    # far field of the 2D function: |G| ~ 1 / sqrt(8 pi k r)
    assert abs(green_2d(k, 1.0)) == pytest.approx(1 / np.sqrt(8 * np.pi * k), rel=1e-3)
    np.testing.assert_allclose(np.abs(green_3d(k, r)), 1 / (4 * np.pi * r))
    with pytest.raises(TfusInputError):
        green_2d(k, r, convention="physics")
