"""The free-field prior channel: the Rayleigh integral of the bowl in water, on the model's grid."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tfus.pipeline.transducers import BowlTransducer, Pose
from tfus.pipeline.validation.rayleigh import rayleigh_bowl
from tfus.surrogates.data.inputs import model_inputs
from tfus.surrogates.data.prior import axisymmetric_table, free_field_amplitude, free_field_prior
from tfus.surrogates.normalization import Normalization
from tfus.surrogates.registry import build_model

BOWL = BowlTransducer("b", 30.0, 30.0, 5e5, 6e4)  # lambda = 3 mm


def _grid(n: int = 24, spacing: float = 1.5) -> np.ndarray:
    affine = np.diag([spacing, spacing, spacing, 1.0])
    affine[:3, 3] = -spacing * (n - 1) / 2
    return affine


def test_table_equals_the_float64_rayleigh_sum():
    """The (axial, radial) table uses the same quadrature as the validated float64 Rayleigh sum (O'Neil-checked):
    float32 torch differs by rounding only (~1e-7 per term, k r <= 200 rad, phase errors ~1e-5 rad): 1e-4 of the
    peak bounds it."""
    table, step = axisymmetric_table(BOWL, 64.0)
    i = np.arange(0, table.shape[0], 17)
    j = np.arange(0, table.shape[1], 13)
    ii, jj = np.meshgrid(i, j, indexing="ij")
    local = np.stack([-64.0 + step * ii, step * jj, np.zeros(ii.shape)], -1)  # source frame: (axial, u, v)
    ref = np.abs(rayleigh_bowl(BOWL, local, points_per_wavelength=3.0))
    assert np.abs(table[ii, jj] - ref).max() <= 1e-4 * table.max()


def test_grid_values_match_the_rayleigh_sum_within_the_interpolation_bound():
    """Linear interpolation at h = lambda / 8 of a field whose spatial frequencies are at most k errs by at most
    h^2 k^2 / 8 = pi^2 / 128 (7.7 %) of the peak; at the focus the field varies laterally with k sin(theta)
    (theta the bowl's half-angle, 30 degrees here), so the peak errs by at most pi^2 / 128 sin^2(theta) (1.9 %)."""
    affine, n = _grid(), 24
    pose = Pose([3.0, -2.0, -33.0], [0.0, 1.0, 2.0])
    amp = free_field_amplitude(BOWL, pose, affine, (n, n, n))
    idx = np.stack(np.meshgrid(*[np.arange(n)] * 3, indexing="ij"), -1).reshape(-1, 3)
    world = idx @ affine[:3, :3].T + affine[:3, 3]
    ref = np.abs(rayleigh_bowl(BOWL, world, pose=pose, points_per_wavelength=3.0)).reshape(amp.shape)
    assert np.abs(amp - ref).max() <= np.pi**2 / 128 * ref.max()
    sin_theta = BOWL.aperture_diameter_mm / (2 * BOWL.radius_of_curvature_mm)
    assert abs(amp.max() - ref.max()) <= np.pi**2 / 128 * sin_theta**2 * ref.max()


def test_focus_sits_at_the_bowl_focus_and_moves_with_the_pose():
    affine, n = _grid(), 24
    for shift in (0.0, 4.5):
        pose = Pose([shift, 0.0, -30.0], [shift, 0.0, 0.0])  # geometric focus (shift, 0, 0)
        amp = free_field_amplitude(BOWL, pose, affine, (n, n, n))
        peak = np.array(np.unravel_index(int(amp.argmax()), amp.shape), float)
        focus_mm = peak @ affine[:3, :3].T + affine[:3, 3]
        # lateral position exact to half a voxel; a bowl's pressure maximum lies a little before the geometric focus
        assert abs(focus_mm[0] - shift) <= 0.75 and abs(focus_mm[1]) <= 0.75
        assert -6.0 <= focus_mm[2] <= 0.75


def test_prior_is_normalised_like_the_target_and_enters_as_a_second_channel():
    affine, n = _grid(16, 2.0), 16
    pose = Pose([0.0, 0.0, -30.0], [0.0, 0.0, 0.0])
    norm = Normalization()
    prior = free_field_prior(BOWL, pose, affine, (n, n, n), norm)
    assert prior.shape == (1, n, n, n) and prior.dtype == np.float32
    assert prior.max() == pytest.approx(1.0) and prior.min() >= 0.0
    hu = np.zeros((n, n, n), np.float32)
    plain = model_inputs(hu, affine, BOWL, pose, norm, 32)
    with_prior = model_inputs(hu, affine, BOWL, pose, norm, 32, free_field=True)
    assert plain.ct.shape == (1, n, n, n) and with_prior.ct.shape == (2, n, n, n)
    np.testing.assert_array_equal(with_prior.ct[1], prior[0])
    np.testing.assert_array_equal(with_prior.ct[0], plain.ct[0])


def test_deeptfus_with_prior_takes_two_channels():
    model = build_model("deeptfus", {"preset": "tiny", "free_field_prior": True})
    assert model.config.input_channels == 2
    out = model(torch.rand(1, 2, 16, 16, 16), torch.rand(1, 8, 3) * 2 - 1)
    assert out.field.shape == (1, 1, 16, 16, 16)
    with pytest.raises(Exception, match="2"):
        model(torch.rand(1, 1, 16, 16, 16), torch.rand(1, 8, 3))


def test_untrained_residual_model_predicts_the_free_field_and_learns_a_correction():
    model = build_model("deeptfus", {"preset": "tiny", "free_field_prior": True})
    ct = torch.rand(2, 2, 16, 16, 16)
    points = torch.rand(2, 8, 3) * 2 - 1
    out = model(ct, points)
    torch.testing.assert_close(out.field, ct[:, 1:2], rtol=0, atol=0)
    out.field.square().mean().backward()  # the zero-initialised output layer still receives gradients
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.head.parameters())
    plain = build_model("deeptfus", {"preset": "tiny", "free_field_prior": True, "prior_residual": False})
    assert not torch.equal(plain(ct, points).field, ct[:, 1:2])


def test_table_is_cached_on_disk_and_read_back(tmp_path, monkeypatch):
    monkeypatch.setenv("TFUS_CACHE_DIR", str(tmp_path))
    bowl = BowlTransducer("c", 20.0, 20.0, 4e5, 6e4)
    axisymmetric_table.cache_clear()
    table, step = axisymmetric_table(bowl, 64.0)
    files = list(tmp_path.glob("bowl-table-*.npy"))
    assert len(files) == 1 and np.array_equal(np.load(files[0]), table)
    axisymmetric_table.cache_clear()
    again, step2 = axisymmetric_table(bowl, 64.0)  # from the file
    assert step2 == step and np.array_equal(again, table)
    other, _ = axisymmetric_table(BowlTransducer("c", 20.0, 20.0, 4.4e5, 6e4), 64.0)  # another frequency: new file
    assert len(list(tmp_path.glob("bowl-table-*.npy"))) == 2 and other.shape != table.shape
