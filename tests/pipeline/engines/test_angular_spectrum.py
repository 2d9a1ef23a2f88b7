"""The hybrid angular spectrum against closed forms: a Gaussian beam in water (the exact propagator against the
paraxial solution, whose own error at w0 = 4 wavelengths is ~(lambda / (pi w0))^2 ~ 0.6 %), single-pass transmission
and phase delay through a plate at normal incidence, and the bowl's on-axis field in water against the exact
Rayleigh integral (O'Neil) in the beam frame."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tfus.pipeline.acoustics.properties import AcousticProperties
from tfus.pipeline.beam.angular import beam_angular_spectrum, beam_start_plane
from tfus.pipeline.engines.angular_spectrum import DB_PER_NEPER, hybrid_angular_spectrum
from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.transducers.bowl import load_transducer
from tfus.pipeline.validation.closed_forms import bowl_axial_complex

F, C0, RHO0 = 5e5, 1500.0, 1000.0
WAVELENGTH_MM = C0 / F * 1e3  # 3 mm
DX = WAVELENGTH_MM / 6  # 6 points per wavelength


def _gaussian(n: int, w0_mm: float) -> np.ndarray:
    x = (np.arange(n) - (n - 1) / 2) * DX
    return np.exp(-(x[:, None] ** 2 + x[None, :] ** 2) / w0_mm ** 2).astype(complex)


def _medium(shape, c=C0, rho=RHO0, alpha=0.0):
    return np.full(shape, c), np.full(shape, rho), np.full(shape, alpha)


def test_gaussian_beam_in_water_follows_the_paraxial_solution():
    n, nz, w0 = 128, 240, 4 * WAVELENGTH_MM  # the grid is 5.3 w0 wide: the beam is not truncated (8e-4 at the edge)
    p = hybrid_angular_spectrum(_gaussian(n, w0), *_medium((n, n, nz)), spacing_mm=DX, frequency_hz=F)
    z = np.arange(nz) * DX
    z_r = math.pi * w0 ** 2 / WAVELENGTH_MM  # Rayleigh range, 151 mm; the march covers 120 mm (axis falls to 0.78)
    expected = 1.0 / np.sqrt(1 + (z / z_r) ** 2)
    centre = n // 2 - 1 if n % 2 == 0 else n // 2
    on_axis = np.abs(p[centre:centre + 2, centre:centre + 2, :]).mean(axis=(0, 1)) / np.abs(p[centre, centre, 0])
    # the four voxels around the axis sit DX/sqrt(2) off it: exp(-(DX^2/2)/w(z)^2) changes by < 1e-3 along z
    np.testing.assert_allclose(on_axis, expected, rtol=0.01)
    # the energy flux through a plane is conserved in a lossless medium (nothing reaches the absorbing padding)
    flux = (np.abs(p) ** 2).sum(axis=(0, 1))
    np.testing.assert_allclose(flux, flux[0], rtol=0.01)


@pytest.mark.parametrize(("c1", "rho1", "alpha1"), [(2800.0, 1850.0, 4.0), (2300.0, 1700.0, 8.0)])
def test_plate_at_normal_incidence_gives_single_pass_transmission_and_delay(c1, rho1, alpha1):
    n, nz, w0 = 160, 40, 6 * WAVELENGTH_MM  # a broad beam (the plate's own diffraction is negligible), untruncated
    plate = slice(10, 22)  # 12 planes = 6 mm of bone
    c, rho, alpha = _medium((n, n, nz))
    c[:, :, plate], rho[:, :, plate], alpha[:, :, plate] = c1, rho1, alpha1
    source = _gaussian(n, w0)
    water = hybrid_angular_spectrum(source, *_medium((n, n, nz)), spacing_mm=DX, frequency_hz=F)
    bone = hybrid_angular_spectrum(source, c, rho, alpha, spacing_mm=DX, frequency_hz=F)
    ratio = bone[n // 2, n // 2, 30] / water[n // 2, n // 2, 30]
    d = 12 * DX * 1e-3
    z0, z1 = RHO0 * C0, rho1 * c1
    amplitude = 4 * z0 * z1 / (z0 + z1) ** 2 * math.exp(-alpha1 * 100 / DB_PER_NEPER * d)
    phase = -2 * math.pi * F * d * (1 / c1 - 1 / C0)  # exp(+iwt): a faster plate advances the phase
    assert abs(ratio) == pytest.approx(amplitude, rel=0.01)
    assert np.angle(ratio * np.exp(-1j * phase)) == pytest.approx(0.0, abs=0.05)


def test_reflection_from_a_bone_half_space_has_the_normal_incidence_coefficient():
    """With ``reflections``, in front of a half-space the field over the incident one is ``1 + R exp(2ik(z - z_i))``:
    the reflected part has modulus ``R = (Z1 - Z0) / (Z0 + Z1)`` everywhere in front (a broad beam, so diffraction
    does not change it over the 15 mm in front of the interface)."""
    n, nz, w0 = 160, 60, 6 * WAVELENGTH_MM
    c, rho, alpha = _medium((n, n, nz))
    c[:, :, 40:], rho[:, :, 40:] = 2800.0, 1850.0
    source = _gaussian(n, w0)
    water = hybrid_angular_spectrum(source, *_medium((n, n, nz)), spacing_mm=DX, frequency_hz=F)
    both = hybrid_angular_spectrum(source, c, rho, alpha, spacing_mm=DX, frequency_hz=F, reflections=True)
    one_way = hybrid_angular_spectrum(source, c, rho, alpha, spacing_mm=DX, frequency_hz=F)
    r = (2800.0 * 1850.0 - C0 * RHO0) / (2800.0 * 1850.0 + C0 * RHO0)
    reflected = both[n // 2, n // 2, 5:38] / water[n // 2, n // 2, 5:38] - 1.0
    np.testing.assert_allclose(np.abs(reflected), r, rtol=0.02)
    # a wave travelling back: exp(+ikz) over the incident exp(-ikz) turns by -2 k dz per plane towards the source
    turn = np.angle(reflected[:-1] / reflected[1:])
    np.testing.assert_allclose(turn, -2 * 2 * math.pi / WAVELENGTH_MM * DX, atol=0.05)
    # behind the interface the transmitted wave is the one-way march's (no second reflection)
    np.testing.assert_allclose(both[:, :, 41:], one_way[:, :, 41:], atol=1e-5 * float(np.abs(one_way).max()))


def test_bowl_in_water_matches_the_exact_on_axis_integral():
    bowl = load_transducer("neurofus-ctx250")  # 250 kHz: 6 mm wavelength, 1.5 mm grid (4 points per wavelength)
    shape, spacing, apex_k = (57, 57, 68), 1.5, 4.0
    props = AcousticProperties(np.full(shape, C0), np.full(shape, RHO0), np.zeros(shape), 2.0, "water")
    amp = beam_angular_spectrum(bowl, shape, spacing, apex_k, props)
    start = beam_start_plane(bowl, spacing, apex_k)
    z = (np.arange(start, shape[2]) - apex_k) * spacing
    exact = np.abs(bowl_axial_complex(bowl, z))
    axis = amp[28, 28, start:]
    peak = float(exact.max())
    # the march is exact in water; what it adds is the start plane's sampling at 4 points per wavelength
    assert float(axis.max()) == pytest.approx(peak, rel=0.02)
    assert abs(z[int(axis.argmax())] - z[int(exact.argmax())]) <= spacing
    np.testing.assert_allclose(axis, exact, atol=0.03 * peak)
    # behind the start plane (inside the cavity, here more than a wavelength from the cap) the Rayleigh sum itself
    behind = float(abs(bowl_axial_complex(bowl, [(start - 1 - apex_k) * spacing])[0]))
    assert amp[28, 28, start - 1] == pytest.approx(behind, abs=0.03 * peak)


def test_bad_inputs_are_one_line_errors():
    c, rho, alpha = _medium((8, 8, 6))
    with pytest.raises(TfusInputError, match="cross-section"):
        hybrid_angular_spectrum(np.ones((8, 7)), c, rho, alpha, spacing_mm=1.0, frequency_hz=F)
    with pytest.raises(TfusInputError, match="> 0"):
        hybrid_angular_spectrum(np.ones((8, 8)), c * 0, rho, alpha, spacing_mm=1.0, frequency_hz=F)
    with pytest.raises(TfusInputError, match="off the grid"):
        hybrid_angular_spectrum(np.ones((8, 8)), c, rho, alpha, spacing_mm=1.0, frequency_hz=F, start=6)
    bowl = load_transducer("neurofus-ctx250")
    props = AcousticProperties(c, rho, alpha, 2.0, "water")
    with pytest.raises(TfusInputError, match="shape"):
        beam_angular_spectrum(bowl, (8, 8, 7), 1.5, 4.0, props)
    with pytest.raises(TfusInputError, match="rim"):
        beam_angular_spectrum(bowl, (8, 8, 6), 1.5, 4.0, props)
