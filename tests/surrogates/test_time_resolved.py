"""Time-resolved physics and inputs: peak positive / negative pressure and the mechanical index of a known sinusoid
(numpy and torch), the time-resolved relative L2, the focused wavefront's path, the source envelope (tone burst and
continuous wave) and the wave channels at chosen points."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.fields import mechanical_index, peak_abs, peak_negative, peak_positive
from tfus.pipeline.transducers import BowlTransducer, Pose
from tfus.surrogates.data.wave_inputs import (
    C_WATER_M_S,
    WaveSource,
    focal_path_mm,
    snapshot_inputs,
    source_envelope,
    to_model_axes,
)
from tfus.surrogates.metrics import time_rel_l2_percent
from tfus.surrogates.normalization import Normalization

F = 5e5


def _sinusoid(n=48):
    """Two voxels over one period: 0.8 MPa about a +0.1 MPa offset, and 0.3 MPa about -0.05 MPa."""
    t = np.arange(n) / n / F
    wave = np.sin(2 * np.pi * F * t + 0.3)
    return np.stack([1e5 + 8e5 * wave, -5e4 + 3e5 * wave], axis=-1)  # (T, 2)


def test_peaks_and_mechanical_index_of_a_sinusoid():
    p = _sinusoid()
    ppp, pnp = peak_positive(p), peak_negative(p)
    np.testing.assert_allclose(ppp, [9e5, 2.5e5], rtol=2e-3)  # 48 samples: the crest within cos(pi/48)
    np.testing.assert_allclose(pnp, [7e5, 3.5e5], rtol=2e-3)
    np.testing.assert_allclose(peak_abs(p), np.maximum(ppp, pnp))
    np.testing.assert_allclose(mechanical_index(pnp, F), pnp / 1e6 / math.sqrt(0.5))
    assert mechanical_index(1e6, 1e6) == pytest.approx(1.0)
    pt = torch.from_numpy(p)
    torch.testing.assert_close(peak_negative(pt), torch.from_numpy(pnp))
    torch.testing.assert_close(peak_abs(pt[None], time_axis=1)[0], torch.from_numpy(peak_abs(p)))
    with pytest.raises(ValueError, match="frequency"):
        mechanical_index(1e6, 0.0)


def test_time_rel_l2():
    p = _sinusoid()
    assert time_rel_l2_percent(p, p) == 0.0
    assert time_rel_l2_percent(1.1 * p, p) == pytest.approx(10.0)
    assert time_rel_l2_percent(torch.from_numpy(-p), p) == pytest.approx(200.0)


def test_focal_path_and_envelope():
    bowl = BowlTransducer("b", 30.0, 20.0, F, 6e4)
    pose = Pose([0.0, 0.0, -30.0], [0.0, 0.0, 0.0])  # focus at the origin, axis +z
    pts = np.array([[0, 0, -30.0], [0, 0, 0.0], [0, 0, 10.0], [0, 0, -10.0], [7.0, 0, 0]])
    d, r = focal_path_mm(pts, bowl, pose)
    np.testing.assert_allclose(d, [0.0, 30.0, 40.0, 20.0, 23.0])  # apex on the bowl; off-axis in the focal plane
    np.testing.assert_allclose(r, [30.0, 0.0, 10.0, 10.0, 7.0])
    burst = WaveSource(F, burst_cycles=4)
    tau = np.array([-1e-7, 0.0, 2 / F, 4 / F, 5 / F])
    np.testing.assert_allclose(source_envelope(tau, burst), [0, 0, 1, 0, 0], atol=1e-12)
    cw = WaveSource(F, burst_cycles=0, ramp_periods=2.0)
    np.testing.assert_allclose(source_envelope(np.array([-1.0, 1 / F, 3 / F]), cw), [0, 0.5, 1])


def test_wave_channels_at_the_focus_and_axes():
    bowl = BowlTransducer("b", 20.0, 16.0, F, 6e4)
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    affine[:3, 3] = [-6.0, -8.0, -10.0]
    shape = (7, 9, 11)  # x, y, z: the world origin is voxel (3, 4, 5)
    pose = Pose([0.0, -20.0, 0.0], [0.0, 0.0, 0.0])  # focus at the origin
    times = np.array([20.0, 21.3, 23.1]) * 1e-6
    source = WaveSource(F, burst_cycles=3)
    x = snapshot_inputs(np.zeros(shape, np.float32), affine, bowl, pose, Normalization(), times, source, n_points=64)
    assert x.ct.shape == (1, 11, 9, 7) and x.geometry.shape == (2, 11, 9, 7) and x.wave.shape == (3, 3, 11, 9, 7)
    tau = times - 20.0e-3 / C_WATER_M_S  # the focus is R from the bowl
    env = source_envelope(tau, source)
    at_focus = x.wave[:, :, 5, 4, 3]  # model axes (z, y, x)
    np.testing.assert_allclose(at_focus[0], env, atol=1e-6)
    np.testing.assert_allclose(at_focus[1], env * np.sin(2 * np.pi * F * tau), atol=1e-5)
    np.testing.assert_allclose(at_focus[2], env * np.cos(2 * np.pi * F * tau), atol=1e-5)
    assert x.geometry[1, 5, 4, 3] == 0.0 and x.geometry[0].sum() == 0  # |x - F| / R; the bowl lies outside
    a = np.arange(24).reshape(2, 3, 4)
    assert to_model_axes(a).shape == (4, 3, 2) and np.array_equal(to_model_axes(to_model_axes(a)), a)
    with pytest.raises(TfusInputError, match="snapshot times"):
        snapshot_inputs(np.zeros(shape, np.float32), affine, bowl, pose, Normalization(), [], source, 64)
