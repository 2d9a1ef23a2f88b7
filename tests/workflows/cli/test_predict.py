"""``tfus predict``: a tiny checkpoint and head model -> the same outputs and JSON keys as ``tfus simulate``, on the
head's grid and world space; one-line errors for bad checkpoints, untrained transducers and a missing GPU."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest
import torch

from tests.helpers.inference import POSES, TRANSDUCER, make_head
from tfus.pipeline.store import bowl_from_record
from tfus.surrogates.inference import Predictor

SIMULATE_KEYS = {"peak_pressure_pa", "focus_mm", "focal_volume_mm3", "isppa_w_cm2", "mi"}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def head_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("head") / "sphere"
    make_head(shape=(20, 16, 14), shift=(5.0, -3.0, 2.0)).save(path)
    return path


def _pose_args(pose):
    return ["--position", *pose.apex.tolist(), "--target", *pose.target.tolist()]


def test_predict_writes_the_simulate_outputs(cli, stdout_json, run_dir, head_dir, tmp_path):
    out = tmp_path / "field.nii.gz"
    result = cli("predict", run_dir, "--head", head_dir, *_pose_args(POSES[0]), "--out", out, "--json")
    assert result.exit_code == 0, (result.exception, result.stderr)
    metrics = stdout_json(result)
    assert SIMULATE_KEYS | {"predict_seconds"} <= set(metrics)
    assert metrics["predict_seconds"] > 0 and metrics["peak_pressure_pa"] > 0
    img = nib.load(str(out))
    from tfus.pipeline.head.model import HeadModel

    head = HeadModel.load(head_dir)
    assert img.shape == head.shape and img.get_data_dtype() == np.float32
    np.testing.assert_allclose(img.affine, head.affine, atol=1e-5)
    # the written field is the Predictor's (sliding window: the head grid is larger than the trained 16^3 along x)
    expected = Predictor.from_checkpoint(run_dir).predict(head.hu, head.affine, bowl_from_record(TRANSDUCER, 5e5),
                                                          POSES[0])
    np.testing.assert_allclose(np.asarray(img.dataobj), expected, rtol=1e-4, atol=1e-3)
    # the focus reported is inside the head grid, in world mm
    assert metrics["focal_volume_mm3"] is None or metrics["focal_volume_mm3"] > 0
    assert (tmp_path / "field.png").stat().st_size > 1000
    record = json.loads((tmp_path / "field.json").read_text())
    assert record["metrics"] == {k: v for k, v in metrics.items() if k != "predict_seconds"}
    assert record["surrogate"]["model"] == "deeptfus" and record["surrogate"]["windows"] > 1
    assert record["request"]["transducer"]["radius_of_curvature_mm"] == 20.0


def test_predict_defaults_to_the_trained_transducer_and_takes_png(cli, run_dir, head_dir, tmp_path):
    out, png = tmp_path / "f.nii", tmp_path / "slices.png"
    result = cli("predict", run_dir / "best.pt", "--head", head_dir, *_pose_args(POSES[1]), "--out", out, "--png",
                 png)
    assert result.exit_code == 0, (result.exception, result.stderr)
    assert out.is_file() and png.is_file() and result.stdout == ""
    assert "predicted in" in result.stderr


def test_predict_bad_checkpoint(cli, user_error, head_dir, tmp_path):
    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"PK\x03\x04 truncated zip")
    out = tmp_path / "o" / "f.nii.gz"
    user_error(cli("predict", bad, "--head", head_dir, *_pose_args(POSES[0]), "--out", out), "checkpoint")
    user_error(cli("predict", tmp_path, "--head", head_dir, *_pose_args(POSES[0]), "--out", out), "best.pt")
    assert not out.parent.exists()


@pytest.mark.parametrize("extra, needles", [
    (["--transducer", "itrusst-sc1"], ["radius of curvature", "64 mm", "20 mm"]),
    (["--frequency", "250000"], ["250 kHz", "500 kHz"]),
])
def test_predict_untrained_transducer(cli, user_error, run_dir, head_dir, tmp_path, extra, needles):
    out = tmp_path / "f.nii.gz"
    user_error(cli("predict", run_dir, "--head", head_dir, *_pose_args(POSES[0]), "--out", out, *extra), *needles)
    assert not out.exists()


def test_predict_bowl_inside_the_head(cli, user_error, run_dir, head_dir, tmp_path):
    out = tmp_path / "f.nii.gz"
    user_error(cli("predict", run_dir, "--head", head_dir, "--position", 5, -3, 2, "--target", 5, -3, 10, "--out",
                   out), "move the apex outward")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error when CUDA is missing")
def test_predict_gpu_without_cuda(cli, user_error, run_dir, head_dir, tmp_path):
    out = tmp_path / "f.nii.gz"
    user_error(cli("predict", run_dir, "--head", head_dir, *_pose_args(POSES[0]), "--out", out, "--device", "gpu"),
               "no CUDA device")
    assert not out.exists()


def test_predict_field_library_call_matches_the_command(cli, run_dir, head_dir, tmp_path):
    """A notebook user gets the command's field and record from ``predict_field`` (no files written)."""
    from tfus.pipeline.errors import TfusInputError
    from tfus.surrogates.inference import predict_field

    result = predict_field(run_dir, head_dir, POSES[0])
    assert list(tmp_path.iterdir()) == []
    expected = Predictor.from_checkpoint(run_dir).predict(result.head.hu, result.head.affine,
                                                          bowl_from_record(TRANSDUCER, 5e5), POSES[0])
    np.testing.assert_allclose(result.field.amplitude, expected, rtol=1e-4, atol=1e-3)
    assert SIMULATE_KEYS <= set(result.metrics) and result.time_resolved is None
    assert sorted(result.record) == ["metrics", "request", "surrogate", "versions"]
    assert result.record["request"]["run"] == str(run_dir) and result.record["request"]["device"] == "cpu"
    out = tmp_path / "field.nii.gz"
    assert cli("predict", run_dir, "--head", head_dir, *_pose_args(POSES[0]), "--out", out).exit_code == 0
    record = json.loads((tmp_path / "field.json").read_text())
    assert set(record) == set(result.record) and record["request"] == result.record["request"]
    np.testing.assert_allclose(nib.load(str(out)).get_fdata(), result.field.amplitude, rtol=1e-6)
    with pytest.raises(TfusInputError, match="--frequency must be positive"):
        predict_field(run_dir, head_dir, POSES[0], frequency_hz=-1.0)
