"""Predictor: a checkpoint -> pressure (Pa) on any head grid in the head's world space; sliding window on larger
grids, air padding on smaller ones, resampling for other spacings; one-line errors for what it was not trained on."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from tests.helpers.inference import GRID, POSES, SPACING, TRANSDUCER, make_head, tiny_parts
from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.io import resample_to
from tfus.pipeline.store import bowl_from_record
from tfus.pipeline.transducers import Pose
from tfus.surrogates.data.points import transducer_points
from tfus.surrogates.inference import Predictor
from tfus.surrogates.windows import pad_to_shape, sliding_window_fields, window_points

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def bowl():
    return bowl_from_record(TRANSDUCER, 5e5)


def test_prediction_is_pascal_on_the_head_grid(predictor, bowl):
    head = make_head()
    out = predictor.predict_detailed(head.hu, head.affine, bowl, POSES[0])
    assert out.pressure.shape == head.shape and out.pressure.dtype == np.float32
    assert np.isfinite(out.pressure).all() and out.pressure.min() >= 0
    np.testing.assert_array_equal(out.affine, head.affine)
    assert (out.windows, out.resampled, out.padded) == (1, False, False)
    # the peak is the scale head's prediction in Pa (renormalised map), of the order of the training peaks
    assert 1e4 < out.peak_pa < 1e8
    assert out.peak_pa == pytest.approx(float(out.pressure.max()))
    np.testing.assert_array_equal(predictor.predict(head.hu, head.affine, bowl, POSES[0]), out.pressure)
    # another pose gives another field: the prediction depends on the transducer
    other = predictor.predict(head.hu, head.affine, bowl, POSES[1])
    assert np.abs(other - out.pressure).max() > 1e-3 * out.peak_pa


def test_checkpoint_round_trip_gives_the_in_memory_model(predictor, bowl):
    parts = tiny_parts()
    direct = Predictor(parts["_module"], parts["_norm"], parts["data"])
    head = make_head()
    np.testing.assert_allclose(direct.predict(head.hu, head.affine, bowl, POSES[2]),
                               predictor.predict(head.hu, head.affine, bowl, POSES[2]), rtol=1e-5)
    assert not predictor.model.training


def test_world_space_shift(predictor, bowl):
    """A head moved in world space with the pose moved alike gives the same field on the moved grid."""
    shift = np.array([7.3, -11.0, 2.5])
    base = make_head()
    moved = make_head(shift=tuple(shift))
    np.testing.assert_array_equal(base.hu, moved.hu)
    pose = POSES[1]
    a = predictor.predict(base.hu, base.affine, bowl, pose)
    b = predictor.predict(moved.hu, moved.affine, bowl, Pose(pose.apex + shift, pose.target + shift))
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4 * a.max())
    # moving only the head (not the pose) changes the field
    c = predictor.predict(moved.hu, moved.affine, bowl, pose)
    assert np.abs(c - a).max() > 1e-3 * a.max()


def test_window_points_are_the_windows_own_frame(bowl):
    full, roi, start = (28, 20, 16), GRID, (9, 4, 0)
    affine = np.diag([SPACING] * 3 + [1.0])
    pts = transducer_points(bowl, POSES[0], affine, full, 64)
    window_affine = affine.copy()
    window_affine[:3, 3] = affine[:3, :3] @ np.asarray(start, float)
    expected = transducer_points(bowl, POSES[0], window_affine, roi, 64)
    got = window_points(torch.from_numpy(pts).double(), full, start, roi).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_larger_grid_uses_sliding_windows(predictor, bowl):
    head = make_head(shape=(28, 20, 16))
    out = predictor.predict_detailed(head.hu, head.affine, bowl, POSES[0])
    assert out.windows > 1 and not out.resampled
    assert out.pressure.shape == (28, 20, 16) and np.isfinite(out.pressure).all() and out.pressure.max() > 0


def test_sliding_window_fields_blend_a_local_function_exactly():
    """Windows of a voxel-wise function, Gaussian-blended, give the function on the whole grid: every window that
    covers a voxel agrees there, and the blend is a weighted mean of equal values. Multi-channel out, odd sizes."""
    x = torch.rand(1, 3, 13, 9, 11, generator=torch.Generator().manual_seed(0))
    calls = []

    def fn(w):
        calls.append(tuple(w.shape))
        return torch.cat([w[:, :1] * w[:, 1:2], w[:, 2:] - 1.0], dim=1)

    out, windows = sliding_window_fields(x, (8, 8, 8), fn, overlap=0.5, sw_batch_size=2)
    torch.testing.assert_close(out, torch.cat([x[:, :1] * x[:, 1:2], x[:, 2:] - 1.0], dim=1), rtol=0, atol=1e-6)
    assert windows == sum(c[0] for c in calls) > 1 and all(c[2:] == (8, 8, 8) for c in calls)


def test_smaller_grid_is_padded_with_air_and_cropped_back(predictor, bowl):
    head = make_head(shape=(12, 16, 10))
    out = predictor.predict_detailed(head.hu, head.affine, bowl, POSES[0])
    assert out.padded and out.windows == 1 and out.pressure.shape == (12, 16, 10)
    # the same as predicting the explicitly padded head (in world space) and cutting the head grid out of it
    hu, affine, crop = pad_to_shape(head.hu, head.affine, GRID)
    assert hu.shape == GRID and (hu[0] == -1000).all()
    full = predictor.predict(hu, affine, bowl, POSES[0])
    np.testing.assert_allclose(out.pressure, full[crop], rtol=1e-5)


def test_other_spacing_is_resampled_to_the_trained_one_and_back(predictor, bowl):
    """The same sphere on a 1 mm grid: predicted on the trained 2 mm grid (head_on_grid) and resampled back onto the
    1 mm grid, in the same world space: the focus lands where the 2 mm prediction puts it."""
    from tfus.pipeline.engines.problem import head_on_grid

    fine = make_head(shape=(32, 32, 32), spacing=1.0)
    coarse = make_head()
    out = predictor.predict_detailed(fine.hu, fine.affine, bowl, POSES[0])
    assert out.resampled and out.windows == 1 and not out.padded
    assert out.pressure.shape == (32, 32, 32)
    np.testing.assert_array_equal(out.affine, fine.affine)
    # exactly: the prediction on the resampled head, interpolated back onto the head's own grid
    down = head_on_grid(fine, SPACING)
    np.testing.assert_array_equal(down.affine, coarse.affine)
    back = resample_to(predictor.predict(down.hu, down.affine, bowl, POSES[0]), down.affine, fine.shape, fine.affine)
    np.testing.assert_allclose(out.pressure, np.maximum(back, 0), rtol=1e-5, atol=1e-3)
    # and in world space it agrees with the prediction on the sphere built at 2 mm
    ref = predictor.predict(coarse.hu, coarse.affine, bowl, POSES[0])
    focus_fine = fine.voxel_to_world(np.unravel_index(out.pressure.argmax(), fine.shape))
    focus_coarse = coarse.voxel_to_world(np.unravel_index(ref.argmax(), coarse.shape))
    assert np.linalg.norm(focus_fine - focus_coarse) <= SPACING * np.sqrt(3)
    assert out.peak_pa == pytest.approx(ref.max(), rel=0.15)


def test_source_amplitude_scales_linearly(predictor, bowl):
    head = make_head()
    a = predictor.predict(head.hu, head.affine, bowl, POSES[0])
    b = predictor.predict(head.hu, head.affine, replace(bowl, source_amplitude_pa=1.2e5), POSES[0])
    np.testing.assert_allclose(b, 2 * a, rtol=1e-5)


@pytest.mark.parametrize("change, needles", [
    ({"radius_of_curvature_mm": 30.0}, ["radius of curvature", "30 mm", "20 mm"]),
    ({"aperture_diameter_mm": 12.0}, ["aperture", "12 mm", "20 mm"]),
    ({"frequency_hz": 2.5e5}, ["250 kHz", "500 kHz", "--frequency"]),
])
def test_untrained_transducer_is_refused(predictor, bowl, change, needles):
    head = make_head()
    with pytest.raises(TfusInputError) as err:
        predictor.predict(head.hu, head.affine, replace(bowl, **change), POSES[0])
    message = str(err.value)
    assert "\n" not in message and all(n in message for n in needles), message
    # within tolerance is fine (a fitted bowl is never exactly the preset)
    predictor.predict(head.hu, head.affine, replace(bowl, radius_of_curvature_mm=20.1), POSES[0])


def test_corrupted_and_foreign_checkpoints(tmp_path, run_dir):
    bad = tmp_path / "garbage.pt"
    bad.write_bytes(b"\x00not a checkpoint" * 10)
    with pytest.raises(TfusInputError, match="not a readable tfus checkpoint"):
        Predictor.from_checkpoint(bad)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    with pytest.raises(TfusInputError, match="not a tfus surrogate checkpoint"):
        Predictor.from_checkpoint(foreign)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes((run_dir / "best.pt").read_bytes()[:2000])
    with pytest.raises(TfusInputError):
        Predictor.from_checkpoint(truncated)
    # weights of another architecture under a deeptfus config
    from tfus.surrogates.checkpoint import save_checkpoint

    parts = tiny_parts()
    parts["model_config"] = {**parts["model_config"], "width": 8}
    other = tmp_path / "other.pt"
    save_checkpoint(other, {k: v for k, v in parts.items() if not k.startswith("_")})
    with pytest.raises(TfusInputError, match="do not fit"):
        Predictor.from_checkpoint(other)
    # a checkpoint of a model this tfus does not know
    parts = tiny_parts()
    parts["model"] = "fno9000"
    unknown = tmp_path / "unknown.pt"
    save_checkpoint(unknown, {k: v for k, v in parts.items() if not k.startswith("_")})
    with pytest.raises(TfusInputError, match="unknown model 'fno9000'"):
        Predictor.from_checkpoint(unknown)
    # a data entry without the training grid
    parts = tiny_parts()
    del parts["data"]["grid_shape"]
    nogrid = tmp_path / "nogrid.pt"
    save_checkpoint(nogrid, {k: v for k, v in parts.items() if not k.startswith("_")})
    with pytest.raises(TfusInputError, match="grid_shape"):
        Predictor.from_checkpoint(nogrid)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error when CUDA is missing")
def test_gpu_without_cuda_is_a_clear_error(run_dir):
    with pytest.raises(TfusInputError, match="no CUDA device"):
        Predictor.from_checkpoint(run_dir, device="gpu")
    with pytest.raises(TfusInputError, match="unknown device"):
        Predictor.from_checkpoint(run_dir, device="tpu")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_gpu_matches_cpu(run_dir, predictor, bowl):  # pragma: no cover - GPU only
    head = make_head()
    gpu = Predictor.from_checkpoint(run_dir, device="gpu")
    np.testing.assert_allclose(gpu.predict(head.hu, head.affine, bowl, POSES[0]),
                               predictor.predict(head.hu, head.affine, bowl, POSES[0]), rtol=1e-3, atol=1.0)
