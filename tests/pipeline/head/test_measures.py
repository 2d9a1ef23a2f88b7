"""Skull volume and thickness against the phantom's analytic values."""

from __future__ import annotations

import numpy as np
import pytest

from tfus.pipeline.head.measures import cranial_thickness_mm, measure_head
from tfus.pipeline.head.phantom import PhantomGeometry, ellipsoid_head


def analytic_skull_volume_ml(g: PhantomGeometry) -> float:
    outer = np.prod([r - g.scalp_mm for r in g.radii_mm])
    inner = np.prod([r - g.scalp_mm - g.skull_thickness_mm for r in g.radii_mm])
    return 4.0 / 3.0 * np.pi * (outer - inner) / 1000.0


@pytest.mark.parametrize("spacing", [1.0, 2.0])
def test_skull_volume_matches_ellipsoid_shells(spacing):
    g = PhantomGeometry()
    m = measure_head(ellipsoid_head(spacing, g))
    # voxelising a 7 mm shell: the error is a fraction of a voxel over its two surfaces
    expected = analytic_skull_volume_ml(g)
    assert m["skull_volume_ml"] == pytest.approx(expected, rel=0.5 * spacing / g.skull_thickness_mm)


@pytest.mark.parametrize("spacing,thickness", [(1.0, 7.0), (1.0, 4.0), (2.0, 9.0)])
def test_thickness_along_normals(spacing, thickness):
    g = PhantomGeometry(outer_table_mm=thickness / 4, diploe_mm=thickness / 2, inner_table_mm=thickness / 4)
    t = cranial_thickness_mm(ellipsoid_head(spacing, g))
    # offset ellipsoids are nearly parallel surfaces (<3 % thickness variation for these radii); each face is located
    # to within half a voxel
    assert np.median(t) == pytest.approx(thickness, abs=spacing)


def test_summary_keys(phantom_2mm):
    m = measure_head(phantom_2mm)
    for key in ("skull_volume_ml", "skull_thickness_mm", "brain_volume_ml", "bone_hu"):
        assert key in m
