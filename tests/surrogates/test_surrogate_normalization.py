"""Normalisation: CT clipping, the field <-> Pa round trip (numpy and torch, batched), the log-peak scale and
point coordinates in the model's [-1, 1] frame."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tfus.pipeline.errors import TfusInputError
from tfus.surrogates.networks.blocks import grid_coordinates
from tfus.surrogates.normalization import Normalization, grid_to_index, index_to_grid, world_to_grid


def test_ct_clip_and_scale():
    hu = np.array([-1000.0, 0.0, 1000.0, 2000.0, 3000.0])
    assert Normalization().ct(hu).tolist() == [0.0, 0.0, 0.5, 1.0, 1.0]
    assert torch.equal(Normalization().ct(torch.from_numpy(hu)), torch.tensor([0.0, 0.0, 0.5, 1.0, 1.0],
                                                                                dtype=torch.float64))


def test_field_round_trip_to_pascal_numpy_and_torch():
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 4e5, size=(3, 1, 5, 6, 4))
    norm = Normalization().fit_peaks(p.reshape(3, -1).max(1))
    y, peak = norm.field(p, spatial_dims=3)
    assert peak.shape == (3, 1) and np.allclose(y.reshape(3, -1).max(1), 1.0) and y.min() >= 0
    s = norm.log_peak(peak)
    assert np.allclose(s.mean(), 0.0) and np.allclose(norm.peak_pa(s), peak)
    assert np.allclose(norm.to_pascal(y, s, spatial_dims=3), p)
    yt, peak_t = norm.field(torch.from_numpy(p), spatial_dims=3)
    back = norm.to_pascal(yt, norm.log_peak(peak_t), spatial_dims=3)
    assert isinstance(back, torch.Tensor) and torch.allclose(back, torch.from_numpy(p))


def test_to_pascal_takes_the_peak_from_the_scale():
    norm = Normalization(p_ref_pa=1e5)
    y = np.array([[0.0, 0.3], [0.45, 0.9]])  # a map whose maximum is not 1
    out = norm.to_pascal(y, norm.log_peak(np.float64(6e5)))
    assert out.max() == pytest.approx(6e5)
    raw = norm.to_pascal(y, norm.log_peak(np.float64(6e5)), renormalize=False)
    assert raw.max() == pytest.approx(6e5 * (2 ** 0.9 - 1))


def test_errors():
    with pytest.raises(TfusInputError, match="all zero"):
        Normalization().field(np.zeros((4, 4)))
    with pytest.raises(TfusInputError, match="hu_max"):
        Normalization(hu_min=10, hu_max=0)


def test_points_share_the_model_frame():
    shape = (5, 9, 4)
    grid = grid_coordinates(shape).numpy()
    ijk = np.array([[0, 0, 0], [4, 8, 3], [2, 3, 1]])
    assert np.allclose(index_to_grid(ijk, shape), grid[tuple(ijk.T)])
    assert np.allclose(grid_to_index(index_to_grid(ijk, shape), shape), ijk)
    affine = np.array([[0.0, 2.0, 0.0, -8.0], [0.5, 0.0, 0.0, 1.0], [0.0, 0.0, 1.0, 3.0], [0, 0, 0, 1]])
    world = ijk @ affine[:3, :3].T + affine[:3, 3]
    assert np.allclose(world_to_grid(world, affine, shape), grid[tuple(ijk.T)])
