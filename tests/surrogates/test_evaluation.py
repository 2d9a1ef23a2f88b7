"""evaluate(): the metrics plumbing on stores whose fields are the checkpoint's own predictions (so the answer is
known: zero error, or exactly one voxel of focal error where a field is shifted) and its one-line errors."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers.inference import POSES, SPACING, make_store
from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.store import StoreSpec, create_store
from tfus.surrogates.evaluation import evaluate

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def store(tmp_path_factory, predictor):
    """Heads 1 and 2 are the test split; sample 4 (head 1) is shifted by one voxel along x, sample 8 (head 2) is
    pending and sample 7 failed, so 4 test samples are complete."""
    path = tmp_path_factory.mktemp("store") / "s.zarr"
    return make_store(path, predictor, shifts={2: (3.0, -2.0, 1.0)}, roll={4: 1}, pending=(8,), failed=(7,))


def test_perfect_predictions_give_zero_error(run_dir, store, predictor):
    res = evaluate(run_dir, store, split="test", predictor=predictor)
    for key in ("rel_l2", "focal_error_mm", "peak_error"):
        assert set(res[key]) >= {"mean", "median"}
    rows = {r["index"]: r for r in res["per_sample"]}
    assert sorted(rows) == [3, 4, 5, 6] and res["n_samples"] == 4
    assert res["heads"] == ["head1", "head2"] and res["train_heads_evaluated"] == []
    for i in (3, 5, 6):
        assert rows[i]["rel_l2"] < 1e-3 and rows[i]["focal_error_mm"] == 0.0 and rows[i]["peak_error"] < 1e-3
        assert rows[i]["focal_error_brain_mm"] == 0.0 and rows[i]["peak_error_brain"] < 1e-3
        assert 0 < rows[i]["peak_brain_true_pa"] <= rows[i]["peak_true_pa"]
        assert rows[i]["focal_dice"] == 1.0 and rows[i]["focal_iou"] == 1.0 and rows[i]["focal_volume_error"] == 0.0
    # the shifted field: same peak, focus exactly one voxel (2 mm) away unless it sat on the wrap-around edge
    assert rows[4]["peak_error"] < 1e-3 and rows[4]["rel_l2"] > 1.0
    assert rows[4]["focal_error_mm"] in (SPACING, SPACING * 15)
    assert res["focal_error_mm"]["median"] == 0.0
    assert res["focal_error_mm"]["mean"] == pytest.approx(rows[4]["focal_error_mm"] / 4)
    assert res["rel_l2"]["n"] == 4 and res["predict_seconds"]["mean"] > 0
    assert res["units"]["rel_l2"] == "%" and res["model"]["model"] == "deeptfus"
    assert res["units"]["focal_error_brain_mm"] == "mm" and res["focal_error_brain_mm"]["n"] == 4


def test_evaluating_the_training_split_is_flagged(run_dir, store, predictor):
    res = evaluate(run_dir, store, split="train", predictor=predictor)
    assert res["n_samples"] == len(POSES) and res["train_heads_evaluated"] == ["head0"]
    assert res["rel_l2"]["median"] < 1e-3


def test_split_without_heads(run_dir, store):
    with pytest.raises(TfusInputError, match="split 'val' .* has no heads"):
        evaluate(run_dir, store, split="val")
    with pytest.raises(TfusInputError, match="unknown split"):
        evaluate(run_dir, store, split="holdout")


def test_store_without_complete_samples(tmp_path, run_dir):
    from tests.helpers.inference import GRID, TRANSDUCER

    spec = StoreSpec(grid_shape=GRID, spacing_mm=SPACING, frequency_hz=5e5, transducer=TRANSDUCER, with_phase=False)
    path = tmp_path / "empty.zarr"
    create_store(path, spec, head_names=["a", "b"], n_samples=2, splits={"train": [0], "test": [1]},
                 creation_config={})
    with pytest.raises(TfusInputError, match="no complete samples in split 'test'"):
        evaluate(run_dir, path)


def test_store_of_another_transducer(tmp_path, predictor):
    """A store simulated with another bowl cannot be evaluated with this model (one line, both values)."""
    from tests.helpers.inference import GRID, TRANSDUCER
    from tfus.pipeline.store import SampleRecord, mark_samples, write_sample_fields

    spec = StoreSpec(grid_shape=GRID, spacing_mm=SPACING, frequency_hz=2.5e5,
                     transducer={**TRANSDUCER, "frequency_hz": 2.5e5}, with_phase=False)
    path = tmp_path / "other.zarr"
    group = create_store(path, spec, head_names=["a"], n_samples=1, splits={"test": [0]}, creation_config={})
    write_sample_fields(path, 0, np.ones(GRID, np.float32))
    mark_samples(group, [SampleRecord(0, 0, (0, 0, -30), (0, 0, 0), (0, 0, 0), "kwave", 1.0, 1.0)])
    with pytest.raises(TfusInputError, match="250 kHz.*500 kHz"):
        evaluate("unused", path, predictor=predictor)
