"""``tfus train --model sep4d``, ``tfus evaluate`` and ``tfus predict`` with a time-resolved run on a tiny synthetic
tone-burst store: the run trains through the common machinery, evaluation adds the time-resolved metrics, and
prediction writes the peak-pressure map plus a 4D NIfTI of the snapshots on the head's grid and world space with the
snapshot spacing as its time step."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest

from tests.helpers.inference import make_head
from tests.helpers.synthetic_store import SHIFT, build_store, train_yaml
from tfus.pipeline.fields import peak_abs
from tfus.pipeline.head.model import HeadModel
from tfus.surrogates.checkpoint import load_checkpoint

T = 4


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def trained(tmp_path_factory, runner):
    from tfus.workflows.cli import app

    root = tmp_path_factory.mktemp("cli_sep4d")
    store = build_store(root / "s.zarr", snapshots=T)
    cfg = train_yaml(root / "train.yaml", epochs=1, model={"preset": "tiny", "n_points": 64})
    result = runner.invoke(app, [str(a) for a in ("train", "--store", store, "--out", root / "run", "--config", cfg,
                                                  "--model", "sep4d", "--device", "cpu", "--json", "--quiet")])
    assert result.exit_code == 0, (result.output, result.stderr)
    return store, root / "run", result


def test_train_and_evaluate_a_time_resolved_run(trained, cli, stdout_json):
    store, run, result = trained
    assert "training sep4d" in result.stderr and stdout_json(result)["epoch"] == 1
    assert load_checkpoint(run / "best.pt")["model"] == "sep4d"
    ev = cli("evaluate", run, "--store", store, "--split", "val", "--json")
    assert ev.exit_code == 0, (ev.output, ev.stderr)
    res = stdout_json(ev)
    assert res["n_samples"] == 2 and res["model"]["model"] == "sep4d"
    for key in ("rel_l2", "focal_error_mm", "peak_error", "time_rel_l2", "peak_negative_error", "mi_true"):
        assert res[key]["n"] == 2 and np.isfinite(res[key]["mean"]), key
    table = cli("evaluate", run, "--store", store, "--split", "val")
    assert table.exit_code == 0 and "relative L2 over all snapshots" in table.stdout


def test_predict_writes_the_peak_map_and_the_4d_snapshots(trained, cli, stdout_json, tmp_path):
    _, run, _ = trained
    head_dir = tmp_path / "head"
    make_head(shape=(16, 16, 14), shift=tuple(SHIFT)).save(head_dir)
    head = HeadModel.load(head_dir)
    out = tmp_path / "field.nii.gz"
    apex, target = SHIFT + np.array([0.0, 0.0, -30.0]), SHIFT
    result = cli("predict", run, "--head", head_dir, "--position", *apex.tolist(), "--target", *target.tolist(),
                 "--out", out, "--json")
    assert result.exit_code == 0, (result.output, result.stderr)
    summary = stdout_json(result)
    peak_img, snap_img = nib.load(str(out)), nib.load(str(tmp_path / "field_snapshots.nii.gz"))
    assert peak_img.shape == head.shape and snap_img.shape == (*head.shape, T)
    np.testing.assert_allclose(peak_img.affine, head.affine, atol=1e-5)
    np.testing.assert_allclose(snap_img.affine, head.affine, atol=1e-5)
    times = np.asarray(load_checkpoint(run / "best.pt")["data"]["snapshots"]["times_s"])
    zooms = snap_img.header.get_zooms()
    assert zooms[:3] == pytest.approx(peak_img.header.get_zooms()) and zooms[3] == pytest.approx(
        np.mean(np.diff(times)), rel=1e-5)
    assert float(snap_img.header["toffset"]) == pytest.approx(times[0], rel=1e-5)
    assert snap_img.header.get_xyzt_units() == ("mm", "sec")
    snaps = np.moveaxis(np.asarray(snap_img.dataobj), -1, 0)
    np.testing.assert_allclose(np.asarray(peak_img.dataobj), peak_abs(snaps), rtol=1e-6)
    record = json.loads((tmp_path / "field.json").read_text())
    tr = record["time_resolved"]
    assert tr == summary["time_resolved"] and tr["n_snapshots"] == T
    assert tr["mechanical_index"] == pytest.approx(tr["peak_negative_pa"] / 1e6 / np.sqrt(0.5))
    assert tr["peak_negative_pa"] == pytest.approx(float(-snaps.min()), rel=1e-5)


def test_a_head_larger_than_the_trained_window_is_predicted_by_sliding_windows(trained):
    """Heads beyond the trained grid go through 4D sliding windows (time uncut): snapshots on the whole head grid,
    the peak map their max |p|; the window count is what MONAI's 50 % overlap tiling of the grid gives."""
    from tfus.pipeline.transducers import Pose
    from tfus.surrogates.inference import Predictor

    _, run, _ = trained
    predictor = Predictor.from_checkpoint(run)
    grid = tuple(predictor.data.grid_shape)
    head = make_head(shape=(grid[0] + 7, grid[1], grid[2] + 3), shift=tuple(SHIFT))
    pose = Pose(SHIFT + np.array([0.0, 0.0, -30.0]), SHIFT)
    pred = predictor.predict_detailed(head.hu, head.affine, predictor.trained_transducer(), pose)
    # per axis: ceil((size - roi) / (roi / 2)) + 1 windows (roi 16: 23 -> 2, 16 -> 1, 19 -> 2)
    assert pred.windows == 4 and not pred.padded
    assert pred.snapshots.shape == (T, *head.shape) and np.isfinite(pred.snapshots).all()
    np.testing.assert_allclose(pred.pressure, peak_abs(pred.snapshots), rtol=1e-6)
