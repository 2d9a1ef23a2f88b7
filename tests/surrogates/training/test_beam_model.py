"""Beam-frame surrogates on a tiny beam store (generated with k-Wave, :mod:`tests.helpers.beam_fixtures`): the
water-field prior, the box symmetries, the overfit sanity gate, the checkpoint that carries its prior, prediction in
the pose's box mapped back onto the head grid, shipped-model lookup and bad shipped files, the training time limit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.helpers.beam_fixtures import TINY_BEAM_BOX, overfit_tiny
from tfus.pipeline.beam import BeamBox, BeamFrame
from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.store import open_store, read_transducer
from tfus.pipeline.transducers import Pose
from tfus.surrogates.data.augment import BOX_SYMMETRIES, box_symmetry
from tfus.surrogates.data.dataset import StoreFieldDataset
from tfus.surrogates.inference import Predictor
from tfus.surrogates.metrics import sample_metrics
from tfus.surrogates.normalization import Normalization
from tfus.surrogates.shipped import ship_run, shipped_model_for, shipped_models
from tfus.surrogates.training.config import TrainConfig
from tfus.surrogates.training.run import train


def _prediction_metrics(run, store):
    """Training-split metrics of the model and of its prior alone (the water field scaled to the true peak)."""
    predictor = Predictor.from_checkpoint(run)
    ds = StoreFieldDataset(store, "train", 64, predictor.normalization, free_field=True)
    rows = []
    with torch.no_grad():
        for i in range(len(ds)):
            item = ds[i]
            out = predictor.model(item["ct"][None], item["points"][None])
            pred = predictor.normalization.to_pascal(out.field[0, 0], out.log_peak[0]).numpy()
            true = item["pressure"][0].numpy()
            prior = ds.water * (true.max() / ds.water.max())
            rows.append((sample_metrics(pred, true, spacing=3.0), sample_metrics(prior, true, spacing=3.0)))
    return rows


def test_prior_is_the_water_field_of_the_box(tiny_beam_store):
    ds = StoreFieldDataset(tiny_beam_store, "train", 16, Normalization(), free_field=True)
    item = ds[0]
    assert item["ct"].shape[0] == 2 and tuple(item["ct"].shape[1:]) == ds.spec.field_shape
    expected, _ = Normalization().field(ds.water)
    np.testing.assert_allclose(item["ct"][1].numpy(), expected, atol=1e-6)
    # the water field is the bowl's: its maximum lies on the box axis, past the apex (the geometric focus side)
    i, j, k = np.unravel_index(int(ds.water.argmax()), ds.water.shape)
    frame_mid = (ds.spec.field_shape[0] - 1) // 2
    assert abs(i - frame_mid) <= 1 and abs(j - frame_mid) <= 1 and k > 2


def test_box_symmetries_transform_head_and_field_together(tiny_beam_store):
    plain = StoreFieldDataset(tiny_beam_store, "train", 16, Normalization(), free_field=True)
    aug = StoreFieldDataset(tiny_beam_store, "train", 16, Normalization(), augment=True, seed=3, free_field=True)
    seen = set()
    for epoch in range(12):
        aug.set_epoch(epoch)
        k = aug.symmetry(0)
        seen.add(k)
        a, b = aug[0], plain[0]
        np.testing.assert_array_equal(a["target"].numpy(), box_symmetry(b["target"].numpy(), k))
        np.testing.assert_array_equal(a["ct"][0].numpy(), box_symmetry(b["ct"][0].numpy(), k))
        np.testing.assert_array_equal(a["ct"][1].numpy(), b["ct"][1].numpy())  # the prior: the bowl is unchanged
    assert len(seen) > 2 and seen <= set(range(BOX_SYMMETRIES))
    with pytest.raises(ValueError, match="0-7"):
        box_symmetry(np.zeros((3, 3, 3)), 8)


def test_overfit_gate_model_learns_beyond_its_prior(tiny_beam_store, tiny_beam_run):
    """Sanity gate: the network must fit a handful of beam fields far better than its prior alone does. A model
    stuck at its prior (the failure this gate exists for) has the prior's error on every training field."""
    rows = _prediction_metrics(tiny_beam_run, tiny_beam_store)
    model_l2 = np.median([m["rel_l2_percent"] for m, _ in rows])
    prior_l2 = np.median([p["rel_l2_percent"] for _, p in rows])
    peak = np.median([abs(m["peak_error_percent"]) for m, _ in rows])
    assert model_l2 < 0.5 * prior_l2, (model_l2, prior_l2)
    assert peak < 5.0  # the scale head fits three peaks


def test_checkpoint_carries_the_prior_and_predicts_in_the_box(tiny_beam_store, tiny_beam_run):
    ckpt = torch.load(tiny_beam_run / "best.pt", weights_only=True)
    assert ckpt["data"]["frame"] == "beam" and ckpt["prior"].shape == tuple(ckpt["data"]["grid_shape"])
    assert ckpt["data"]["simulation"]["engine"] == "kwave"
    predictor = Predictor.from_checkpoint(tiny_beam_run)
    group = open_store(tiny_beam_store)
    s = int(np.flatnonzero(np.asarray(group["status"][:]) == 1)[0])
    h = int(group["head_index"][s])
    hu, affine = np.asarray(group["hu"][h], np.float32), np.asarray(group["head_affine"][h], float)
    pose = Pose(np.asarray(group["apex"][s], float), np.asarray(group["target"][s], float))
    bowl = read_transducer(group)
    pred = predictor.predict_detailed(hu, affine, bowl, pose)
    frame = BeamFrame.from_pose(pose, bowl, 3.0, BeamBox(**TINY_BEAM_BOX))
    np.testing.assert_allclose(pred.frame.affine, frame.affine)
    assert pred.pressure.shape == hu.shape and pred.box_pressure.shape == frame.shape
    # mapped back: zero far outside the box, the box's peak survives the linear resampling within its grid error
    assert pred.pressure.max() == pytest.approx(pred.box_pressure.max(), rel=0.25)
    world = np.stack(np.meshgrid(*[np.arange(n) for n in hu.shape], indexing="ij"), -1).reshape(-1, 3)
    box_idx = frame.world_to_box(world @ affine[:3, :3].T + affine[:3, 3])
    outside = np.any((box_idx < -1) | (box_idx > np.asarray(frame.shape)), axis=1).reshape(hu.shape)
    assert outside.any() and float(pred.pressure[outside].max()) == 0.0


def test_shipped_model_lookup_and_bad_files(tiny_beam_store, tiny_beam_run, tmp_path):
    bowl = read_transducer(open_store(tiny_beam_store))
    ship_run(tiny_beam_run, tmp_path / "tiny-model", bowl.name)
    assert [m.name for m in shipped_models(tmp_path)] == ["tiny-model"]
    assert shipped_model_for(bowl, tmp_path).checkpoint == tmp_path / "tiny-model" / "model.pt"
    from dataclasses import replace
    with pytest.raises(TfusInputError, match="no shipped model .*shipped: tiny-model"):
        shipped_model_for(replace(bowl, frequency_hz=bowl.frequency_hz * 2), tmp_path)
    (tmp_path / "tiny-model" / "model.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(TfusInputError, match="corrupt"):
        shipped_model_for(bowl, tmp_path)
    (tmp_path / "tiny-model" / "model.pt").unlink()
    with pytest.raises(TfusInputError, match="missing"):
        shipped_model_for(bowl, tmp_path)


def test_time_limit_stops_training(tiny_beam_store, tmp_path):
    cfg = TrainConfig(epochs=50, batch_size=3, model={"preset": "tiny", "free_field_prior": True}, val_split=None,
                      num_workers=0, time_limit_min=1e-6)
    result = train(tiny_beam_store, tmp_path / "run", cfg, progress=False)
    assert result.epoch == 1  # the first epoch always runs; its time says the next would pass the limit


def test_learning_curve_subset_is_seeded_and_fits_its_own_peaks(tiny_beam_store):
    ds = StoreFieldDataset(tiny_beam_store, "train", 16, Normalization())
    full = ds.fit_normalization()
    first = StoreFieldDataset(tiny_beam_store, "train", 16, Normalization())
    first.limit(2, seed=5)
    again = StoreFieldDataset(tiny_beam_store, "train", 16, Normalization())
    again.limit(2, seed=5)
    assert len(first) == 2 and first.indices.tolist() == again.indices.tolist()
    assert set(first.indices.tolist()) < set(ds.indices.tolist())
    peaks = [float(np.max(open_store(tiny_beam_store)["pressure"][int(s)])) for s in first.indices]
    assert first.fit_normalization().log_peak_mean == pytest.approx(np.mean(np.log(np.array(peaks) / 1e6)))
    assert full.log_peak_mean != first.fit_normalization().log_peak_mean


def test_a_box_far_outside_the_head_image_is_a_one_line_error(tiny_beam_store, tiny_beam_run):
    predictor = Predictor.from_checkpoint(tiny_beam_run)
    group = open_store(tiny_beam_store)
    hu, affine = np.asarray(group["hu"][0], np.float32), np.asarray(group["head_affine"][0], float)
    bowl = read_transducer(group)
    far = affine[:3, 3] - 200.0  # 200 mm beyond the image corner, aimed away from the head
    with pytest.raises(TfusInputError, match="leaves the head image"):
        predictor.predict_detailed(hu, affine, bowl, Pose(far, far - 10.0))


def test_angular_prior_is_the_march_through_each_samples_head(tiny_beam_store):
    from tfus.pipeline.beam import CANONICAL_POSE
    from tfus.surrogates.data.prior import beam_angular_amplitude

    plain = StoreFieldDataset(tiny_beam_store, "train", 16, Normalization(), free_field=True,
                              beam_prior="angular-spectrum")
    assert plain.water is None and plain.prior_amplitude() is None  # per pose: nothing to ship in the checkpoint
    group = open_store(tiny_beam_store)
    frame = BeamFrame.from_pose(CANONICAL_POSE, plain.transducer, 3.0, BeamBox(**TINY_BEAM_BOX))
    priors = []
    for i in range(2):
        s = int(plain.indices[i])
        amp = beam_angular_amplitude(group["box_hu"][s], group["box_labels"][s], plain.transducer, 3.0,
                                     float(frame.apex_index[2]), plain.spec.hu_mapping)
        expected, _ = Normalization().field(amp)
        np.testing.assert_allclose(plain[i]["ct"][1].numpy(), expected, atol=1e-6)
        priors.append(amp)
    assert not np.allclose(priors[0], priors[1])  # each pose's own skull, unlike the water prior
    aug = StoreFieldDataset(tiny_beam_store, "train", 16, Normalization(), augment=True, seed=3, free_field=True,
                            beam_prior="angular-spectrum")
    for epoch in range(6):
        aug.set_epoch(epoch)
        k = aug.symmetry(0)
        np.testing.assert_array_equal(aug[0]["ct"][1].numpy(), box_symmetry(plain[0]["ct"][1].numpy(), k))
    with pytest.raises(TfusInputError, match="unknown beam prior"):
        StoreFieldDataset(tiny_beam_store, "train", 16, Normalization(), free_field=True, beam_prior="ray")


def test_angular_prior_model_overfits_and_predicts_with_labels(tiny_beam_store, tmp_path):
    """The overfit sanity gate for the ``beam-has`` preset (against its own, better prior), and prediction, which
    needs the head's labels for the march."""

    out = overfit_tiny(tiny_beam_store, tmp_path / "has", "beam-has")
    ckpt = torch.load(out / "best.pt", weights_only=True)
    assert ckpt["model_config"]["beam_prior"] == "angular-spectrum" and "prior" not in ckpt
    predictor = Predictor.from_checkpoint(out)
    ds = StoreFieldDataset(tiny_beam_store, "train", 64, predictor.normalization, free_field=True,
                           beam_prior="angular-spectrum")
    model_l2, prior_l2 = [], []
    with torch.no_grad():
        for i in range(len(ds)):
            item = ds[i]
            o = predictor.model(item["ct"][None], item["points"][None])
            prior = ds.angular_prior(int(ds.indices[i]))
            # the scale head predicts the peak relative to the prior's
            assert float(item["peak_ref"]) == pytest.approx(float(prior.max()))
            pred = predictor.normalization.to_pascal(o.field[0, 0], o.log_peak[0]).numpy() * float(prior.max())
            true = item["pressure"][0].numpy()
            model_l2.append(sample_metrics(pred, true, spacing=3.0)["rel_l2_percent"])
            prior_l2.append(sample_metrics(prior * (true.max() / prior.max()), true, spacing=3.0)["rel_l2_percent"])
    assert np.median(model_l2) < 0.5 * np.median(prior_l2), (model_l2, prior_l2)

    group = open_store(tiny_beam_store)
    s = int(ds.indices[0])
    h = int(group["head_index"][s])
    hu, labels = np.asarray(group["hu"][h], np.float32), np.asarray(group["labels"][h])
    affine = np.asarray(group["head_affine"][h], float)
    pose = Pose(np.asarray(group["apex"][s], float), np.asarray(group["target"][s], float))
    bowl = read_transducer(group)
    with pytest.raises(TfusInputError, match="labels"):
        predictor.predict_detailed(hu, affine, bowl, pose)
    pred = predictor.predict_detailed(hu, affine, bowl, pose, labels=labels)
    assert pred.box_pressure.shape == ds.spec.field_shape and pred.pressure.shape == hu.shape
    # a training pose: the prediction in the box (built from the head grid, as the store's was) has the fitted peak
    assert pred.box_pressure.max() == pytest.approx(float(np.max(group["pressure"][s])), rel=0.25)


def test_evaluate_prior_scores_the_water_and_the_angular_spectrum_priors(tiny_beam_store):
    from tfus.pipeline.head.labels import Label
    from tfus.pipeline.store import SampleStore
    from tfus.surrogates.data.prior import beam_angular_amplitude
    from tfus.surrogates.evaluation import evaluate_prior

    water = evaluate_prior(tiny_beam_store, split="test")
    has = evaluate_prior(tiny_beam_store, split="test", prior="angular-spectrum", scale=0.5)
    assert water["prior"] == "water" and has["prior"] == "angular-spectrum"
    assert water["n_samples"] == has["n_samples"] == len(SampleStore(tiny_beam_store, "test")) > 0
    item = SampleStore(tiny_beam_store, "test")[0]
    bowl = read_transducer(open_store(tiny_beam_store))
    frame = BeamFrame.from_pose(Pose([0, 0, 0.0], [0, 0, 1.0]), bowl, 3.0, BeamBox(**TINY_BEAM_BOX))
    field = 0.5 * beam_angular_amplitude(item["hu"], item["labels"], bowl, 3.0, float(frame.apex_index[2]),
                                         "itrusst")
    m = sample_metrics(field, np.asarray(item["pressure"]), affine=item["affine"],
                       mask=np.asarray(item["labels"]) == Label.BRAIN)
    assert has["per_sample"][0]["rel_l2"] == pytest.approx(m["rel_l2_percent"])
    assert has["per_sample"][0]["peak_error"] == pytest.approx(m["peak_error_percent"])
    with pytest.raises(TfusInputError, match="unknown beam prior"):
        evaluate_prior(tiny_beam_store, prior="ray")
    # the march's best single amplitude factor: the median of field peak over march peak
    from tfus.surrogates.evaluation import mean_transmission
    ratios = []
    for i in range(len(SampleStore(tiny_beam_store, "test"))):
        it = SampleStore(tiny_beam_store, "test")[i]
        march = beam_angular_amplitude(it["hu"], it["labels"], bowl, 3.0, float(frame.apex_index[2]), "itrusst")
        ratios.append(float(np.max(it["pressure"])) / float(march.max()))
    assert mean_transmission(tiny_beam_store, "test", prior="angular-spectrum") == pytest.approx(np.median(ratios))


def test_validation_heads_are_taken_out_of_the_training_split(tiny_beam_store, tmp_path):
    ds = StoreFieldDataset(tiny_beam_store, "train", 8, Normalization())
    names = list(open_store(tiny_beam_store).attrs["head_names"])
    (held,) = {names[h] for h in ds.heads}  # the tiny store trains on one head
    kept = StoreFieldDataset(tiny_beam_store, "train", 8, Normalization())
    kept.select_heads([held], keep=True)
    np.testing.assert_array_equal(kept.indices, ds.indices)
    with pytest.raises(TfusInputError, match="no samples of split 'train' are left"):
        ds.select_heads([held], keep=False)
    with pytest.raises(TfusInputError, match="'nobody' is not in split 'train'"):
        ds.select_heads(["nobody"])
    out = tmp_path / "val"
    with pytest.raises(TfusInputError, match="keep at least one training head"):
        train(tiny_beam_store, out, TrainConfig(epochs=1, model={"preset": "beam-has"}, val_heads=[held],
                                                num_workers=0), progress=False)
    assert not out.exists()  # checked before anything is written
