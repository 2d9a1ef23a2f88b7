"""The fast off-grid source weights equal k-wave-python's kWaveArray (same integration points, same stencil)."""

from __future__ import annotations

import numpy as np
import pytest

from tfus.pipeline.engines.kwave.offgrid import element_grid_weights, star_offsets
from tfus.pipeline.kwave_compat import import_kwave


@pytest.mark.parametrize("ndim,tol", [(3, 0.05), (2, 0.01), (2, 0.2)])
def test_equals_kwave_array(ndim, tol):
    import_kwave()
    from kwave.kgrid import kWaveGrid
    from kwave.utils.kwave_array import kWaveArray

    shape = [30, 26, 22][:ndim]
    kgrid = kWaveGrid(shape, [1e-3] * ndim)
    karray = kWaveArray(bli_tolerance=tol, upsampling_rate=10)
    if ndim == 3:  # off-axis, off-grid bowl whose rim leaves the grid (integration points are trimmed)
        karray.add_bowl_element([-0.0095, 0.0013, -0.0007], 0.016, 0.02, [0.0065, 0.002, 0.001])
    else:
        karray.add_arc_element([-0.0095, 0.0013], 0.016, 0.02, [0.0065, 0.002])
    ref = np.asarray(karray.get_element_grid_weights(kgrid, 0))
    ref_mask = np.asarray(karray.get_array_binary_mask(kgrid), bool)
    weights, mask = element_grid_weights(karray, kgrid)
    assert weights.shape == ref.shape
    assert np.abs(weights - ref).max() <= 1e-12 * np.abs(ref).max()
    assert np.array_equal(mask, ref_mask)


def test_star_stencil_matches_kwave_definition():
    offs = star_offsets(3, 0.05)  # d = ceil(1 / (0.05 pi)) = 7
    assert np.abs(offs).max() == 7
    assert np.all(np.abs(np.prod(offs, axis=1)) <= 7)
    assert (offs == 0).all(axis=1).sum() == 1
