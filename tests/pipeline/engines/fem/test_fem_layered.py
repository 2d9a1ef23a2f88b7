"""Heterogeneous media: a bone plate in water at normal incidence vs the 1D transmission coefficient, and the explicit
solver vs the Helmholtz solver on a layered 2D medium.

The plate test runs in a 3-node-wide strip with rigid side walls (only axis 0 absorbs): a line source there launches
a plane wave (the first cross mode is cut off and decays within a few cells), so the field beyond the plate divided by
the field without the plate is the plate's transmission coefficient T (transfer matrix of the 1D wave equation,
continuity of p and (1/rho) dp/dx). The voxel picture puts the interfaces half-way between voxel centres, so a plate
of n voxels is n h thick. The element materials are the exact 1D series/parallel means, so the interface error is
second order: budget ``(k_w h)^2 / 8`` (1.9 % at 16 points per wavelength in water) in |T|, and half of it in rad.
"""

from __future__ import annotations

import numpy as np
import pytest

from tfus.pipeline.engines.fem import (
    FemConfig,
    FemHelmholtzConfig,
    PointSource,
    fem_time_steady_state,
    simulate_fem_helmholtz,
    simulate_fem_time,
)
from tfus.pipeline.engines.field import MediumGrid

F = 3e5
WATER = (1500.0, 1000.0)
BONE = (2800.0, 1850.0)  # cortical bone (ITRUSST benchmark)


def plate_transmission(thickness_m: float, frequency_hz: float) -> complex:
    """Pressure transmission coefficient of a plate (BONE) in WATER, exp(+i w t), incident wave exp(-i k x)."""
    w = 2 * np.pi * frequency_hz
    (c1, r1), (c2, r2) = WATER, BONE
    k1, k2, d = w / c1, w / c2, thickness_m
    e2m, e2p, e1 = np.exp(-1j * k2 * d), np.exp(1j * k2 * d), np.exp(-1j * k1 * d)
    # unknowns R, A, B, T: p = exp(-ik1x) + R exp(ik1x) | A exp(-ik2x) + B exp(ik2x) | T exp(-ik1x)
    a = np.array([[-1, 1, 1, 0],
                  [-k1 / r1, -k2 / r2, k2 / r2, 0],
                  [0, e2m, e2p, -e1],
                  [0, k2 / r2 * e2m, -k2 / r2 * e2p, -k1 / r1 * e1]], complex)
    return complex(np.linalg.solve(a, np.array([1, -k1 / r1, 0, 0], complex))[3])


def _strip(ppw: int, plate: bool) -> tuple[MediumGrid, slice]:
    lam = WATER[0] / F * 1e3
    h = lam / ppw
    nx = int(round(12 * lam / h)) + 1
    c, rho = np.full((nx, 3), WATER[0], np.float32), np.full((nx, 3), WATER[1], np.float32)
    i1, n_plate = int(round(5 * lam / h)), int(round(6.5 / h))
    if plate:
        c[i1 : i1 + n_plate], rho[i1 : i1 + n_plate] = BONE
    affine = np.diag([h, h, 1.0])
    beyond = slice(i1 + n_plate + ppw, nx)  # from one wavelength past the plate
    return MediumGrid(c, rho, np.zeros_like(c), 2.0, affine), beyond


def _transmission(ppw: int, run) -> tuple[complex, complex]:
    lam = WATER[0] / F * 1e3
    src = PointSource([2 * lam, lam / ppw], 1e-4)  # middle row of the strip
    water, beyond = _strip(ppw, plate=False)
    plated, _ = _strip(ppw, plate=True)
    ratio = run(plated, src).complex[beyond, 1] / run(water, src).complex[beyond, 1]
    n_plate = int(round(6.5 / (lam / ppw)))
    return complex(np.mean(ratio)), plate_transmission(n_plate * lam / ppw * 1e-3, F)


def _budget(ppw: int) -> float:
    return (2 * np.pi / ppw) ** 2 / 8


@pytest.mark.parametrize("ppw", [8, 16, 24])
def test_plate_transmission_helmholtz(ppw):
    cfg = FemHelmholtzConfig(absorbing_axes=(0,), pml_wavelengths=2.0)
    fe, ref = _transmission(ppw, lambda m, s: simulate_fem_helmholtz(m, s, F, cfg))
    assert abs(abs(fe) / abs(ref) - 1) < _budget(ppw), (fe, ref)
    assert abs(np.angle(fe / ref)) < _budget(ppw) / 2


def test_plate_transmission_time_domain():
    cfg = FemConfig(frequency_hz=F, absorbing_axes=(0,), sponge_wavelengths=2.0)
    fe, ref = _transmission(16, lambda m, s: simulate_fem_time(m, s, cfg))
    assert abs(abs(fe) / abs(ref) - 1) < _budget(16) + 0.02, (fe, ref)  # + the sponge allowance
    assert abs(np.angle(fe / ref)) < _budget(16) / 2 + 0.02


def test_plane_wave_amplitude_in_the_strip():
    """rho c times the volume flux per unit width, half to each side: p = rho c q / (2 W), W = 2 h node to node."""
    m, beyond = _strip(12, plate=False)
    h = m.spacing_mm * 1e-3
    field = simulate_fem_helmholtz(m, PointSource([10.0, m.spacing_mm], 1e-4), F,
                                   FemHelmholtzConfig(absorbing_axes=(0,), pml_wavelengths=2.0))
    expect = WATER[1] * WATER[0] * 1e-4 / (2 * 2 * h)
    np.testing.assert_allclose(field.amplitude[beyond], expect, rtol=0.005)


def test_time_domain_equals_its_steady_state_and_helmholtz_on_a_layered_medium():
    """Point source near a bone layer and a soft-tissue layer (2D, 12 points per wavelength in water): the explicit
    run's DFT equals the direct steady-state solve of the same scheme (the transient left after 1.5 crossings:
    budget 1e-3 of the peak), and the Helmholtz solver (same spatial scheme, PML instead of sponge) agrees within the
    two absorbers' allowances (2 % + 0.5 % of the peak)."""
    h = 5.0 / 12
    n = 73
    m0 = MediumGrid.homogeneous((n, n), spacing_mm=h)
    x = (np.arange(n) - n // 2) * h
    c, rho = m0.sound_speed.copy(), m0.density.copy()
    c[(x > 2) & (x < 6)], rho[(x > 2) & (x < 6)] = BONE
    c[(x > -8) & (x < -6)], rho[(x > -8) & (x < -6)] = 1600.0, 1100.0
    m = MediumGrid(c, rho, m0.alpha_coeff, 2.0, m0.affine)
    src = PointSource([-3.1, 0.4], 1e-4)
    cfg = FemConfig(frequency_hz=F, sponge_wavelengths=2.0)
    td = simulate_fem_time(m, src, cfg)
    peak = np.abs(td.complex).max()
    assert np.abs(td.complex - fem_time_steady_state(m, src, cfg).complex).max() < 1e-3 * peak
    hz = simulate_fem_helmholtz(m, src, F, FemHelmholtzConfig(pml_wavelengths=2.0))
    assert np.abs(td.complex - hz.complex).max() < 0.025 * peak
    assert td.meta["cfl"] < 0.95 * 0.866  # the density contrast lowers the certified limit below the uniform one
