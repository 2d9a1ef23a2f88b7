"""2D line source in water vs the Hankel Green's function, Helmholtz and time domain (steady-state DFT).

Tolerances (max relative complex error at r >= 2 wavelengths, inside the medium grid) are budgets set before
looking at the output:

* dispersion drift ``k r_max |e|``, with ``e`` the largest relative wavenumber error over directions of the scheme
  actually run (:func:`phase_error_range`, from the discrete dispersion relation);
* the source spread: cubic Lagrange weights transmit ``9/8 cos(kh/2) - 1/8 cos(3kh/2)`` of an off-node source at worst
  (half-way between nodes), i.e. lose <= 0.85 % at 8 points per wavelength;
* the absorbing layer: 0.5 % for a 2-wavelength PML (continuous design reflection 1e-6; the rest is its discretisation
  at 8 points per wavelength), 2 % for the 2-wavelength sponge (design round trip 1e-2, plus its gradient and the
  first-order boundary behind it).
"""

from __future__ import annotations

import numpy as np
import pytest

from tfus.pipeline.engines.fem import (
    FemConfig,
    FemHelmholtzConfig,
    PointSource,
    fem_time_steady_state,
    phase_error_range,
    simulate_fem_helmholtz,
    simulate_fem_time,
)
from tfus.pipeline.engines.field import MediumGrid
from tfus.pipeline.engines.sources import point_source_field

F, C = 3e5, 1500.0
LAM = C / F * 1e3  # 5 mm
PPW = 8
H = LAM / PPW
N = 2 * int(round(4 * LAM / H)) + 1  # +-4 wavelengths
SRC = PointSource([0.37 * H, -0.21 * H], 1e-4)  # off-node


def _medium() -> MediumGrid:
    return MediumGrid.homogeneous((N, N), spacing_mm=H)


def _errors(field, medium) -> tuple[float, float, float]:
    pts = medium.index_to_world(np.indices(medium.shape).reshape(2, -1).T)
    r = np.linalg.norm(pts - SRC.position_mm, axis=1)
    far = r >= 2 * LAM
    ref = point_source_field(SRC, pts[far], F)
    z = field.complex.reshape(-1)[far]
    rel = np.abs(z - ref) / np.abs(ref)
    return float(rel.max()), float(np.linalg.norm(z - ref) / np.linalg.norm(ref)), float(r[far].max())


def _cubic_loss(kh: float) -> float:
    return 1.0 - (9 / 8 * np.cos(kh / 2) - 1 / 8 * np.cos(3 * kh / 2))


def test_helmholtz_line_source_matches_hankel():
    m = _medium()
    field = simulate_fem_helmholtz(m, SRC, F, FemHelmholtzConfig(pml_wavelengths=2.0))
    err_max, err_l2, r_max = _errors(field, m)
    k, kh = 2 * np.pi / LAM, 2 * np.pi / PPW
    e = max(abs(v) for v in phase_error_range(PPW, 2, "modified", "lumped", corrected=True))
    tol = k * r_max * e + _cubic_loss(kh) + 0.005
    assert err_max < tol, (err_max, tol)
    assert err_l2 < tol
    assert field.meta["engine"] == "fem-helmholtz" and field.frequency_hz == F


def test_time_domain_line_source_matches_hankel_and_its_exact_steady_state():
    m = _medium()
    calls = []
    cfg = FemConfig(frequency_hz=F, sponge_wavelengths=2.0, progress_every=100)
    field = simulate_fem_time(m, SRC, cfg, progress=lambda done, total: calls.append((done, total)))
    err_max, err_l2, r_max = _errors(field, m)
    k, kh = 2 * np.pi / LAM, 2 * np.pi / PPW
    e = max(abs(v) for v in phase_error_range(PPW, 2, "modified", "lumped", cfl=field.meta["cfl"], corrected=True))
    tol = k * r_max * e + _cubic_loss(kh) + 0.02
    assert err_max < tol, (err_max, tol)
    # steady state: the DFT of the run equals the direct solve of the same discrete scheme (transient left < 1e-3)
    exact = fem_time_steady_state(m, SRC, cfg)
    assert np.abs(field.complex - exact.complex).max() < 1e-3 * np.abs(exact.complex).max()
    # progress: every 100 steps and once at the end; a period is a whole number of steps
    total = field.meta["n_steps"]
    assert calls[-1] == (total, total) and all(t == total for _, t in calls) and len(calls) == -(-total // 100)
    assert abs(field.meta["dt"] * field.meta["steps_per_period"] * F - 1) < 1e-12


def test_uncorrected_galerkin_scheme_is_worse_by_its_dispersion():
    """The plain Q1 scheme (Gauss, consistent mass, linear source weights) drifts in phase as its dispersion
    relation predicts: the error exceeds the corrected scheme's and stays within its own drift budget."""
    m = _medium()
    cfg = FemHelmholtzConfig(pml_wavelengths=2.0, quadrature="gauss", mass="consistent",
                             dispersion_correction=False, source_interpolation="linear")
    err_max, _, r_max = _errors(simulate_fem_helmholtz(m, SRC, F, cfg), m)
    k, kh = 2 * np.pi / LAM, 2 * np.pi / PPW
    lo, hi = phase_error_range(PPW, 2, "gauss", "consistent")
    drift_min = k * 2 * LAM * min(abs(lo), abs(hi))  # at least this phase error at r = 2 wavelengths
    drift_max = k * r_max * max(abs(lo), abs(hi))
    assert 2 * np.sin(drift_min / 2) * 0.9 < err_max
    # chord of the phase drift + linear-weight loss (1 - cos(kh/2) per axis) + mass and group-velocity amplitude
    # factors (~(kh)^2/6 each, the corrections' gamma) + PML allowance
    assert err_max < 2 * np.sin(drift_max / 2) + 2 * (1 - np.cos(kh / 2)) + kh**2 / 3 + 0.005


@pytest.mark.parametrize("quadrature", ["gauss", "modified"])
def test_time_domain_and_helmholtz_agree_for_both_rules(quadrature):
    """Same spatial scheme, different time treatment and absorber: agreement within the absorber allowances."""
    m = MediumGrid.homogeneous((41, 41), spacing_mm=H)
    a = fem_time_steady_state(m, SRC, FemConfig(frequency_hz=F, sponge_wavelengths=2.0, quadrature=quadrature))
    b = simulate_fem_helmholtz(m, SRC, F, FemHelmholtzConfig(pml_wavelengths=2.0, quadrature=quadrature))
    ref = np.abs(b.complex).max()
    assert np.abs(a.complex - b.complex).max() < (0.02 + 0.005) * ref
