"""Time step: the certified (element eigenvalue) bound holds and is tight; leapfrog is bounded at it and blows up
just above the true limit. The dispersion analysis matches the assembled operators."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse.linalg as spla

from tfus.pipeline.engines.fem import FemConfig, PointSource
from tfus.pipeline.engines.fem.assembly import assemble, lumped_form, quadrature_rule, stiffness_form
from tfus.pipeline.engines.fem.dispersion import correction_factors, discrete_symbols
from tfus.pipeline.engines.fem.mesh import build_grid_mesh
from tfus.pipeline.engines.fem.timedomain import build_time_system
from tfus.pipeline.engines.field import MediumGrid


def _largest_eigenvalue(system) -> float:
    s = 1.0 / np.sqrt(system.mass)
    a = system.stiffness.multiply(s[:, None]).multiply(s[None, :]).tocsr()
    return float(spla.eigsh(a, k=1, which="LA", tol=1e-8, return_eigenvectors=False)[0])


def _layered(shape) -> MediumGrid:
    m = MediumGrid.homogeneous(shape, spacing_mm=0.5)
    c, rho = m.sound_speed.copy(), m.density.copy()
    c[shape[0] // 3 : shape[0] // 2], rho[shape[0] // 3 : shape[0] // 2] = 2800.0, 1850.0
    return MediumGrid(c, rho, m.alpha_coeff, 2.0, m.affine)


@pytest.mark.parametrize("quadrature,limit", [("modified", np.sqrt(3) / 2), ("gauss", 1.0)])
@pytest.mark.parametrize("shape", [(40, 36), (14, 12, 13)])
def test_certified_time_step_is_a_tight_bound(quadrature, limit, shape):
    src = PointSource([0.0] * len(shape), 1e-6)
    cfg = FemConfig(frequency_hz=2e5, quadrature=quadrature, sponge_wavelengths=0, dispersion_correction=False)
    system = build_time_system(MediumGrid.homogeneous(shape, spacing_mm=0.5), src, cfg)
    h = 0.5e-3
    # uniform medium: the bound is limit * h / c, the checkerboard mode's, which the grid (natural boundary
    # conditions) holds exactly: the bound is the true limit
    np.testing.assert_allclose(system.meta["dt_stable"], limit * h / 1500.0, rtol=1e-9)
    dt_true = 2.0 / np.sqrt(_largest_eigenvalue(system))
    assert system.meta["dt_stable"] * (1 - 1e-9) <= dt_true < 1.06 * system.meta["dt_stable"]
    layered = build_time_system(_layered(shape), src, cfg)
    dt_true = 2.0 / np.sqrt(_largest_eigenvalue(layered))
    assert layered.meta["dt_stable"] * (1 - 1e-9) <= dt_true < 1.5 * layered.meta["dt_stable"]


def _march(system, dt: float, steps: int) -> float:
    """Free leapfrog (no damping, no source) from a random start; returns the final max |p| / initial."""
    rng = np.random.default_rng(0)
    p_prev = rng.standard_normal(system.gm.n_nodes)
    p = p_prev.copy()
    c = dt * dt / system.mass
    start = np.abs(p).max()
    for _ in range(steps):
        p, p_prev = 2 * p - p_prev - c * (system.stiffness @ p), p
        if not np.abs(p).max() < 1e12 * start:
            return np.inf
    return float(np.abs(p).max() / start)


def test_leapfrog_is_bounded_at_the_certified_step_and_blows_up_above_the_true_limit():
    cfg = FemConfig(frequency_hz=2e5, sponge_wavelengths=0, absorbing_boundary=False)
    system = build_time_system(_layered((30, 28)), PointSource([0.0, 0.0], 1e-6), cfg)
    assert _march(system, system.meta["dt_stable"], 3000) < 10.0
    dt_true = 2.0 / np.sqrt(_largest_eigenvalue(system))
    assert _march(system, 1.03 * dt_true, 3000) > 1e6


@pytest.mark.parametrize("quadrature", ["modified", "gauss"])
def test_dispersion_symbols_are_those_of_the_assembled_operators(quadrature):
    """K and the lumped mass applied to a plane wave at an interior node give the symbols of the analysis."""
    n, h = 12, 1.0
    gm = build_grid_mesh(MediumGrid.homogeneous((n, n, n), spacing_mm=h))
    ones = np.ones(gm.mesh.nelements)
    ops = assemble(gm, quadrature_rule(quadrature, 3), matrices={"K": (stiffness_form(), {"ak": ones})},
                   vectors={"g": (lumped_form(), {"am": ones})})
    xi = np.array([0.7, -0.3, 1.1])
    wave = np.exp(1j * np.tensordot(xi, np.indices((n, n, n)), axes=1)).reshape(-1)
    centre = np.ravel_multi_index((6, 6, 6), (n, n, n))
    h_m = h * 1e-3
    ratio = (ops["K"] @ wave)[centre] / (ops["g"][centre] * wave[centre]) * h_m**2
    stiff, mass = discrete_symbols(xi, quadrature, "lumped")
    np.testing.assert_allclose(ratio, stiff / mass, rtol=1e-10)


def test_correction_factors_make_the_axis_wavenumber_exact():
    kh = np.array([0.3, 0.8, 1.2])
    for mass in ("lumped", "consistent"):
        alpha, gamma = correction_factors(kh, "modified", mass)
        for x, a in zip(kh, alpha, strict=True):
            stiff, m = discrete_symbols(np.array([x, 0.0]), "modified", mass)
            np.testing.assert_allclose(stiff, a * x * x * m, rtol=1e-12)
    np.testing.assert_allclose(correction_factors(kh, "gauss", "lumped")[1], np.sin(kh) / kh)
