"""The separable-4D surrogate on a beam-frame store: ``tfus generate`` with snapshots in the beam boxes, ``tfus train
--model sep4d`` and ``tfus evaluate`` with their existing commands, and prediction in the pose's box mapped back onto
the head grid, snapshots included."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from tests.helpers.beam_fixtures import TINY_BEAM_BOX
from tests.helpers.tiny_dataset import write_tiny_dataset
from tfus.pipeline.store import open_store, read_transducer
from tfus.pipeline.transducers import Pose

T = 4

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_torch_thread")]


@pytest.fixture(scope="module")
def beam_run(tmp_path_factory, runner):
    from tfus.workflows.cli import app

    root = tmp_path_factory.mktemp("sep4d_beam")
    config = write_tiny_dataset(root / "data", frame="beam", box=TINY_BEAM_BOX, per_head=3)
    spec = yaml.safe_load(config.read_text(encoding="utf-8"))
    spec["simulation"]["kwave"]["snapshots"] = T
    config.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    store = root / "beam4.zarr"
    generated = runner.invoke(app, ["generate", str(config), "--store", str(store)])
    assert generated.exit_code == 0, (generated.output, generated.stderr)
    train = root / "train.yaml"
    train.write_text(yaml.safe_dump({"epochs": 1, "batch_size": 2, "model": {"preset": "tiny", "n_points": 64},
                                     "val_split": None, "num_workers": 0, "augment": True}), encoding="utf-8")
    result = runner.invoke(app, [str(a) for a in ("train", "--store", store, "--out", root / "run", "--config", train,
                                                  "--model", "sep4d", "--device", "cpu", "--quiet")])
    assert result.exit_code == 0, (result.output, result.stderr)
    return store, root / "run"


def test_sep4d_trains_and_evaluates_on_a_beam_store(beam_run, cli, stdout_json):
    store, run = beam_run
    group = open_store(store)
    assert group.attrs["frame"] == "beam" and group["snapshots"].shape[1] == T
    ev = cli("evaluate", run, "--store", store, "--split", "test", "--json")
    assert ev.exit_code == 0, (ev.output, ev.stderr)
    res = stdout_json(ev)
    assert res["model"]["model"] == "sep4d" and res["model"]["trained_on"]["grid_shape"] == list(
        group.attrs["box_shape"])  # trained on the boxes, not the head grid
    for key in ("rel_l2", "time_rel_l2", "peak_negative_error"):
        assert res[key]["n"] == res["n_samples"] > 0 and np.isfinite(res[key]["mean"]), key


def test_sep4d_predicts_snapshots_in_the_box_mapped_onto_the_head(beam_run):
    from tfus.surrogates.inference import Predictor

    store, run = beam_run
    group = open_store(store)
    predictor = Predictor.from_checkpoint(run)
    s = int(np.flatnonzero(np.asarray(group["status"][:]) == 1)[0])
    h = int(group["head_index"][s])
    hu, affine = np.asarray(group["hu"][h], np.float32), np.asarray(group["head_affine"][h], float)
    pose = Pose(np.asarray(group["apex"][s], float), np.asarray(group["target"][s], float))
    pred = predictor.predict_detailed(hu, affine, read_transducer(group), pose)
    assert pred.frame is not None and pred.box_pressure.shape == tuple(group.attrs["box_shape"])
    assert pred.snapshots.shape == (T, *hu.shape) and pred.pressure.shape == hu.shape
    assert len(pred.snapshot_times_s) == T
    # the peak map is the snapshots' peak in the box, mapped back (linear interpolation lowers a peak, never raises)
    assert pred.pressure.max() <= pred.box_pressure.max() * (1 + 1e-5)
