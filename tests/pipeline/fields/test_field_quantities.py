"""The public field quantities of :mod:`tfus.pipeline.fields.metrics` agree with the report of ``field_metrics`` and
with their closed forms (MI, Isppa, the -6 dB focal volume, peak maps of snapshots in numpy and torch)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tfus.pipeline.engines.field import MediumGrid, SteadyStateField
from tfus.pipeline.fields import (
    field_metrics,
    focal_region,
    focal_volume_mm3,
    isppa_w_cm2,
    mechanical_index,
    peak_abs,
    peak_negative,
    peak_positive,
    voxel_affine,
)


def test_report_uses_the_public_quantities():
    m = MediumGrid.homogeneous((21, 21, 21), spacing_mm=1.0)
    amp = np.zeros(m.shape)
    amp[8:12, 9:11, 10] = 6e5
    amp[10, 10, 10] = 8e5
    amp[2, 2, 2] = 3e5
    out = field_metrics(SteadyStateField(amp, np.zeros(m.shape), m.affine, 2.5e5), m)
    rho, c = out["density_at_focus_kg_m3"], out["sound_speed_at_focus_m_s"]
    assert out["isppa_w_cm2"] == isppa_w_cm2(8e5, rho, c) == pytest.approx(8e5**2 / (2 * rho * c) / 1e4)
    assert out["mi"] == mechanical_index(8e5, 2.5e5) == pytest.approx(0.8 / math.sqrt(0.25))
    assert out["focal_volume_mm3"] == focal_volume_mm3(amp, affine=m.affine) == 8.0


def test_focal_region_and_volume_under_an_anisotropic_affine():
    p = np.zeros((6, 6, 6))
    p[1:3, 1:4, 1] = 1.0
    p[5, 5, 5] = 0.7
    assert focal_region(p).sum() == 6 and focal_region(p, connected=False).sum() == 7
    assert focal_region(p, level=0.8, connected=False).sum() == 6
    assert focal_volume_mm3(p, spacing=(0.5, 1.0, 3.0)) == pytest.approx(6 * 1.5)
    assert focal_volume_mm3(torch.from_numpy(p), affine=voxel_affine(3, (0.5, 1.0, 3.0))) == pytest.approx(9.0)
    assert voxel_affine(2, 2.0).tolist() == [[2.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 1.0]]


def test_peak_maps_and_mi_of_a_sinusoid_in_numpy_and_torch():
    t = np.arange(40) / 40 / 5e5
    p = np.stack([1e5 + 8e5 * np.sin(2 * np.pi * 5e5 * t), -3e5 * np.sin(2 * np.pi * 5e5 * t)], axis=-1)
    ppp, pnp = peak_positive(p), peak_negative(p)
    np.testing.assert_allclose(ppp, [9e5, 3e5], rtol=1e-12)
    np.testing.assert_allclose(pnp, [7e5, 3e5], rtol=1e-12)
    np.testing.assert_allclose(peak_abs(p), np.maximum(ppp, pnp))
    np.testing.assert_allclose(mechanical_index(pnp, 5e5), pnp / 1e6 / math.sqrt(0.5))
    pt = torch.from_numpy(p)
    assert isinstance(peak_abs(pt), torch.Tensor)
    torch.testing.assert_close(peak_negative(pt[None], time_axis=1)[0], torch.from_numpy(pnp))
    with pytest.raises(ValueError, match="frequency must be positive"):
        mechanical_index(1e6, -1.0)
