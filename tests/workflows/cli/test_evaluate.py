"""``tfus evaluate``: JSON with rel_l2 / focal_error_mm / peak_error (mean, median) and per-sample rows, a table
without --json, and one-line errors for bad checkpoints, empty splits and stores without complete samples."""

from __future__ import annotations

import json

import pytest

from tests.helpers.inference import GRID, SPACING, TRANSDUCER, make_store
from tfus.pipeline.store import StoreSpec, create_store
from tfus.surrogates.inference import Predictor

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def store(tmp_path_factory, run_dir):
    """Fields are the checkpoint's own predictions: 2 test heads x 3 poses, sample 5 shifted by one voxel."""
    path = tmp_path_factory.mktemp("store") / "s.zarr"
    return make_store(path, Predictor.from_checkpoint(run_dir), roll={5: 1})


def test_evaluate_json(cli, stdout_json, run_dir, store, tmp_path):
    out = tmp_path / "eval.json"
    result = cli("evaluate", run_dir, "--store", store, "--split", "test", "--json", "--out", out)
    assert result.exit_code == 0, (result.exception, result.stderr)
    res = stdout_json(result)
    for key in ("rel_l2", "focal_error_mm", "peak_error"):
        assert {"mean", "median"} <= set(res[key]), key
    assert res["n_samples"] == 6 and len(res["per_sample"]) == 6
    assert res["rel_l2"]["median"] < 1e-3 and res["peak_error"]["mean"] < 1e-3
    assert res["focal_error_mm"]["median"] == 0.0
    shifted = next(r for r in res["per_sample"] if r["index"] == 5)
    assert shifted["focal_error_mm"] in (SPACING, 15 * SPACING) and shifted["rel_l2"] > 1.0
    assert json.loads(out.read_text())["per_sample"] == res["per_sample"]


def test_evaluate_table_and_train_split_warning(cli, run_dir, store):
    result = cli("evaluate", run_dir, "--store", store, "--split", "train")
    assert result.exit_code == 0, (result.exception, result.stderr)
    assert "relative L2" in result.stdout and "focal position error" in result.stdout
    assert "warning" in result.stderr and "head0" in result.stderr
    assert "intracranial focal position error" in result.stdout and "not computed" not in result.stderr


def test_evaluate_table_without_intracranial_labels(cli, stdout_json, run_dir, store, tmp_path):
    """A store whose heads carry no brain label (e.g. imported with threshold labels): the intracranial metrics are
    NaN with n = 0 in JSON and left out of the table with a note, the others unchanged."""
    import shutil

    import numpy as np

    from tfus.pipeline.head.labels import Label
    from tfus.pipeline.store import open_store

    copy = tmp_path / "nobrain.zarr"
    shutil.copytree(store, copy)
    group = open_store(copy, mode="r+")
    labels = np.asarray(group["labels"][:])
    labels[labels == Label.BRAIN] = Label.SCALP
    group["labels"][:] = labels
    res = stdout_json(cli("evaluate", run_dir, "--store", copy, "--split", "test", "--json"))
    assert res["focal_error_brain_mm"]["n"] == 0 and res["rel_l2"]["n"] == 6
    result = cli("evaluate", run_dir, "--store", copy, "--split", "test")
    assert result.exit_code == 0, (result.exception, result.stderr)
    assert "intracranial" not in result.stdout and "focal position error" in result.stdout
    assert "not computed: intracranial focal position error" in result.stderr
    assert "no intracranial label" in result.stderr


def test_evaluate_bad_checkpoint(cli, user_error, store, tmp_path):
    bad = tmp_path / "best.pt"
    bad.write_text("not a checkpoint")
    user_error(cli("evaluate", bad, "--store", store), "not a readable tfus checkpoint")


def test_evaluate_split_without_heads(cli, user_error, run_dir, store):
    user_error(cli("evaluate", run_dir, "--store", store, "--split", "val"), "split 'val'", "no heads")


def test_evaluate_store_without_complete_samples(cli, user_error, run_dir, tmp_path):
    spec = StoreSpec(grid_shape=GRID, spacing_mm=SPACING, frequency_hz=5e5, transducer=TRANSDUCER, with_phase=False)
    path = tmp_path / "pending.zarr"
    create_store(path, spec, head_names=["a", "b"], n_samples=3, splits={"train": [0], "test": [1]},
                 creation_config={})
    user_error(cli("evaluate", run_dir, "--store", path), "no complete samples")
    user_error(cli("evaluate", run_dir, "--store", tmp_path / "missing.zarr"), "no store")
