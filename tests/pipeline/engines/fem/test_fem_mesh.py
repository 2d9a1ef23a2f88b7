"""FE mesh on the voxel grid: node <-> grid index mapping, padding, element materials, source weights vs skfem probes,
assembled operators vs their closed forms."""

from __future__ import annotations

import numpy as np
import pytest
from skfem import CellBasis

from tfus.pipeline.engines.fem import BowlSource, FemConfig, PointSource, simulate_fem_time
from tfus.pipeline.engines.fem.assembly import (
    assemble,
    boundary_operator,
    lumped_form,
    quadrature_rule,
    stiffness_form,
)
from tfus.pipeline.engines.fem.mesh import build_grid_mesh
from tfus.pipeline.engines.fem.source import interpolation_weights, multilinear_weights
from tfus.pipeline.engines.fem.timedomain import material
from tfus.pipeline.engines.field import MediumGrid
from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.transducers import BowlTransducer, Pose


@pytest.mark.parametrize("shape,pad", [((5, 4), (0, 0)), ((4, 6), (2, 1)), ((4, 3, 5), (1, 0, 2))])
def test_nodes_are_the_voxel_centres_in_grid_order(shape, pad):
    m = MediumGrid.homogeneous(shape, spacing_mm=0.4)
    gm = build_grid_mesh(m, pad)
    assert gm.shape == tuple(n + 2 * p for n, p in zip(shape, pad, strict=True))
    # skfem node k sits at padded grid index node_to_grid[k]: its coordinates are that index times h
    idx = np.array(np.unravel_index(gm.node_to_grid, gm.shape))
    np.testing.assert_allclose(gm.mesh.p, idx * 0.4e-3, atol=1e-15)
    # grid order: reshaping a nodal vector gives the field on the grid
    expect = np.stack(np.meshgrid(*[np.arange(n) * 0.4e-3 for n in gm.shape], indexing="ij"), axis=-1)
    np.testing.assert_allclose(gm.grid_coordinates(), expect, atol=1e-15)
    assert np.array_equal(gm.grid_to_node[gm.node_to_grid], np.arange(gm.n_nodes))
    # the inner block is the medium grid
    inner = np.zeros(gm.shape, bool)
    inner[gm.inner] = True
    assert inner.sum() == np.prod(shape) and gm.padded(np.ones(shape)).shape == gm.shape


def test_output_field_lies_on_the_medium_grid_and_affine():
    """A point source off-centre: the amplitude peaks at its voxel and the field carries the medium's affine."""
    m = MediumGrid.homogeneous((31, 25), spacing_mm=0.5, origin_mm=(-3.0, 2.0))
    src = PointSource([3.5, 6.0], 1e-4)  # index (13, 8)
    f = simulate_fem_time(m, src, FemConfig(frequency_hz=3e5, settle_transits=0.5, sponge_wavelengths=0.5))
    assert f.amplitude.shape == m.shape and np.array_equal(f.affine, m.affine)
    assert np.unravel_index(np.argmax(f.amplitude), m.shape) == (13, 8)
    # the field of a source mirrored about the grid's middle row is the mirror image
    g = simulate_fem_time(m, PointSource([3.5, 2.0 + 24 * 0.5 - 4.0], 1e-4),
                          FemConfig(frequency_hz=3e5, settle_transits=0.5, sponge_wavelengths=0.5))
    np.testing.assert_allclose(g.amplitude, f.amplitude[:, ::-1], rtol=1e-6, atol=1e-6 * f.amplitude.max())


def test_element_materials_are_series_and_parallel_means():
    c = np.full((3, 2), 1500.0)
    rho = np.full((3, 2), 1000.0)
    c[1:], rho[1:] = 3000.0, 2000.0
    m = MediumGrid(c.astype(np.float32), rho.astype(np.float32), np.zeros((3, 2), np.float32), 2.0, np.eye(3))
    gm = build_grid_mesh(m)
    mat = material(m, gm)
    centre_x = gm.mesh.p[0, gm.mesh.t].mean(axis=0)
    mixed = centre_x < 1e-3  # the element between voxel rows 0 (water) and 1
    np.testing.assert_allclose(mat["ak"][mixed], 1 / 1500.0)  # 1 / mean(rho)
    np.testing.assert_allclose(mat["am"][mixed], (1 / (1000 * 1500**2) + 1 / (2000 * 3000**2)) / 2)
    np.testing.assert_allclose(mat["ak"][~mixed], 1 / 2000.0)


def test_anisotropic_or_rotated_grid_is_refused_or_accepted():
    m = MediumGrid.homogeneous((4, 4), spacing_mm=1.0)
    aniso = MediumGrid(m.sound_speed, m.density, m.alpha_coeff, 2.0, np.diag([1.0, 2.0, 1.0]))
    with pytest.raises(TfusInputError, match="isotropic"):
        build_grid_mesh(aniso)
    rot = np.eye(3)
    rot[:2, :2] = [[0.0, -0.5], [0.5, 0.0]]  # rotated 90 degrees, 0.5 mm: fine
    assert build_grid_mesh(MediumGrid(m.sound_speed, m.density, m.alpha_coeff, 2.0, rot)).spacing_m == 0.5e-3


@pytest.mark.parametrize("shape", [(6, 5), (5, 4, 6)])
def test_multilinear_weights_are_the_skfem_shape_functions(shape):
    gm = build_grid_mesh(MediumGrid.homogeneous(shape, spacing_mm=1.0))
    rng = np.random.default_rng(0)
    pts_idx = rng.uniform(0, np.array(shape) - 1, size=(40, len(shape)))
    idx, w = multilinear_weights(pts_idx, shape)
    mine = np.zeros((40, gm.n_nodes))
    np.put_along_axis(mine, idx, w, axis=1)
    basis = CellBasis(gm.mesh, gm.element)
    probes = basis.probes(pts_idx.T * 1e-3).toarray()[:, gm.grid_to_node]  # skfem node order -> grid order
    np.testing.assert_allclose(mine, probes, atol=1e-12)


def test_cubic_weights_reproduce_cubics_and_fall_back_on_thin_axes():
    rng = np.random.default_rng(1)
    pts = rng.uniform(0, 6, size=(30, 2))
    idx, w = interpolation_weights(pts, (7, 7), order=3)
    i, j = np.unravel_index(idx, (7, 7))
    np.testing.assert_allclose(np.sum(w * i**3 * j**2, axis=1), pts[:, 0] ** 3 * pts[:, 1] ** 2, rtol=1e-10)
    idx, w = interpolation_weights(np.array([[2.4, 1.3]]), (7, 3), order=3)  # 3 nodes: quadratic on axis 1
    assert idx.shape == (1, 12) and np.isclose(w.sum(), 1.0)


def test_operators_match_closed_forms():
    h, n = 0.5e-3, 6
    gm = build_grid_mesh(MediumGrid.homogeneous((n, n), spacing_mm=0.5))
    ones = np.ones(gm.mesh.nelements)
    ops = {}
    for kind in ("gauss", "modified"):
        ops[kind] = assemble(gm, quadrature_rule(kind, 2), matrices={"K": (stiffness_form(), {"ak": ones})},
                             vectors={"g": (lumped_form(), {"am": ones})})
    # lumped mass: h^2 per interior node, total area
    np.testing.assert_allclose(ops["gauss"]["g"].sum(), ((n - 1) * h) ** 2)
    np.testing.assert_allclose(ops["gauss"]["g"].reshape(n, n)[2, 2], h * h)
    # interior stencils (dimensionless in 2D): Gauss Q1 = 8/3 centre, -1/3 neighbours; the modified rule
    # (1D mass weights 1/12, 5/6, 1/12 across the derivative) = 10/3 centre, -2/3 edges, -1/6 corners
    centre = np.ravel_multi_index((2, 2), (n, n))
    for kind, (c0, edge, corner) in {"gauss": (8 / 3, -1 / 3, -1 / 3), "modified": (10 / 3, -2 / 3, -1 / 6)}.items():
        row = ops[kind]["K"][centre].toarray().reshape(n, n)[1:4, 1:4]
        np.testing.assert_allclose(row, [[corner, edge, corner], [edge, c0, edge], [corner, edge, corner]], atol=1e-12)
    # lumped boundary mass: sum = perimeter of the absorbing faces
    b = boundary_operator(gm, (0, 1), np.ones(gm.shape), lumped=True)
    np.testing.assert_allclose(b.sum(), 4 * (n - 1) * h)
    b0 = boundary_operator(gm, (0,), np.ones(gm.shape), lumped=True).reshape(n, n)
    np.testing.assert_allclose(b0.sum(), 2 * (n - 1) * h)
    np.testing.assert_allclose(b0[1:-1], 0.0, atol=1e-15)  # only the two faces of axis 0


def test_bowl_load_is_the_calibrated_monopole_sheet():
    """Without the dispersion correction the load sums to q * area with q = 2 u0 = 2 p0 / (rho c)."""
    from tfus.pipeline.engines.fem.timedomain import build_time_system

    bowl = BowlTransducer("b", 6.0, 6.0, 5e5, 1e4)
    m = MediumGrid.homogeneous((20, 15, 15), spacing_mm=0.5)  # lateral +-3.5 mm; the rim is at +-3 mm
    system = build_time_system(m, BowlSource(bowl, Pose([-4.5, 0, 0], [1.5, 0, 0])),
                               FemConfig(sponge_wavelengths=0.5, dispersion_correction=False))
    area_m2 = 2 * np.pi * 6.0 * bowl.dome_height_mm * 1e-6
    np.testing.assert_allclose(system.load.sum(), 2 * 1e4 / (1000 * 1500) * area_m2, rtol=1e-9)
