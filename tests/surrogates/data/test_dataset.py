"""StoreFieldDataset on tiny synthetic stores: items per the contract, splits by head, complete samples only, the
way back to pascals, mirror augmentation consistent with a mirrored head + pose, worker safety, bad splits."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from tests.helpers.synthetic_store import GRID, SHIFT, TRANSDUCER, build_store
from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.store import bowl_from_record, open_store
from tfus.pipeline.transducers import Pose
from tfus.surrogates.data.augment import mirror_matrix, mirror_pose
from tfus.surrogates.data.dataset import StoreFieldDataset
from tfus.surrogates.data.describe import data_description, fit_normalization, split_peaks
from tfus.surrogates.data.inputs import model_inputs
from tfus.surrogates.normalization import Normalization


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return build_store(tmp_path_factory.mktemp("ds") / "s.zarr", pending=(1,), failed=(2,))


@pytest.fixture(scope="module")
def mirrored_store(tmp_path_factory):
    return build_store(tmp_path_factory.mktemp("ds") / "m.zarr", pending=(1,), failed=(2,), mirror=True)


def _norm(store):
    return fit_normalization(store, "train")


def test_items_follow_the_contract_and_return_to_pascal(store):
    norm = _norm(store)
    ds = StoreFieldDataset(store, "train", n_points=32, normalization=norm)
    group = open_store(store)
    # heads 0 and 1 are train; sample 1 is pending and sample 2 failed, so 0 and 3 remain
    assert ds.indices.tolist() == [0, 3] and len(ds) == 2
    item = ds[1]
    assert item["ct"].shape == (1, *GRID) and item["ct"].dtype == torch.float32
    assert item["points"].shape == (32, 3) and item["target"].shape == (1, *GRID)
    assert item["log_peak"].shape == () and item["affine"].dtype == torch.float64 and int(item["index"]) == 3
    assert float(item["target"].max()) == pytest.approx(1.0) and float(item["target"].min()) >= 0
    pressure = np.asarray(group["pressure"][3])
    assert np.array_equal(item["pressure"][0].numpy(), pressure)
    back = norm.to_pascal(item["target"][0].double(), item["log_peak"].double())
    assert torch.allclose(back, torch.from_numpy(pressure).double(), rtol=1e-4, atol=1e-3 * pressure.max())
    # inputs are exactly what evaluation / predict prepare
    x = model_inputs(np.asarray(group["hu"][1]), np.asarray(group["head_affine"][1]), bowl_from_record(TRANSDUCER),
                     Pose(group["apex"][3], group["target"][3]), norm, 32)
    assert np.array_equal(item["ct"].numpy(), x.ct) and np.array_equal(item["points"].numpy(), x.points)


def test_splits_are_disjoint_by_head(store):
    norm = _norm(store)
    train = StoreFieldDataset(store, "train", 8, norm)
    val = StoreFieldDataset(store, "val", 8, norm)
    assert set(train.heads.tolist()) == {0, 1} and set(val.heads.tolist()) == {2}
    assert not set(train.indices.tolist()) & set(val.indices.tolist())
    assert train.describe() == {"split": "train", "heads": ["head0", "head1"], "n_samples": 2}


def test_normalisation_is_fitted_on_the_training_peaks(store, tmp_path):
    group = open_store(store)
    peaks = np.asarray(group["peak_pressure_pa"][:], float)[[0, 3]]
    norm = _norm(store)
    lg = np.log(peaks / norm.p_ref_pa)
    assert norm.log_peak_mean == pytest.approx(lg.mean()) and norm.log_peak_std == pytest.approx(lg.std())
    # a store without peak records falls back to the field maxima
    bare = build_store(tmp_path / "bare.zarr", pending=(1,), failed=(2,), record_peaks=False)
    assert np.allclose(split_peaks(bare, "train"), peaks, rtol=1e-6)


def test_mirror_augmentation_equals_the_mirrored_head_and_pose(store, mirrored_store):
    norm = _norm(store)
    aug = StoreFieldDataset(store, "train", 48, norm, augment=True, seed=5)
    plain = StoreFieldDataset(mirrored_store, "train", 48, norm)
    flips = {(e, i) for e in range(12) for i in range(len(aug)) if (aug.set_epoch(e), aug.mirrored(i))[1]}
    assert flips and len(flips) < 12 * len(aug)  # some items flipped, some not
    epoch, i = sorted(flips)[0]
    aug.set_epoch(epoch)
    a, b = aug[i], plain[i]
    assert bool(a["mirrored"]) and not bool(b["mirrored"])
    for key in ("ct", "target", "pressure", "points"):
        assert torch.allclose(a[key], b[key], atol=1e-5, rtol=1e-5), key
    assert float(a["log_peak"]) == pytest.approx(float(b["log_peak"]), abs=1e-6)
    # the mirror is a reflection through the grid's x-centre plane
    m = mirror_matrix(np.asarray(open_store(store)["head_affine"][0]), GRID)
    assert np.allclose(m[:3, :3], np.diag([-1.0, 1, 1])) and m[0, 3] == pytest.approx(2 * SHIFT[0])
    pose = aug.pose(i)
    twice = mirror_pose(mirror_pose(pose, a["affine"].numpy(), GRID), a["affine"].numpy(), GRID)
    assert np.allclose(twice.apex, pose.apex) and np.allclose(twice.target, pose.target)


def test_augmentation_draws_depend_on_seed_epoch_and_sample_only(store):
    norm = _norm(store)
    a = StoreFieldDataset(store, "train", 8, norm, augment=True, seed=1)
    b = pickle.loads(pickle.dumps(a))
    draws = []
    for epoch in range(16):
        a.set_epoch(epoch)
        b.set_epoch(epoch)
        draws.append([a.mirrored(i) for i in range(len(a))])
        assert draws[-1] == [b.mirrored(i) for i in range(len(b))]
    flat = [d for row in draws for d in row]
    assert 0.2 < np.mean(flat) < 0.8
    assert not StoreFieldDataset(store, "train", 8, norm).mirrored(0)


def test_dataloader_workers_read_the_same_items(store):
    ds = StoreFieldDataset(store, "train", 16, _norm(store), augment=True, seed=3)
    ds.set_epoch(2)
    state = pickle.loads(pickle.dumps(ds))
    assert state._group is None and len(state) == len(ds)
    direct = [ds[i] for i in range(len(ds))]
    batches = list(DataLoader(ds, batch_size=1, num_workers=2, shuffle=False))
    for item, batch in zip(direct, batches, strict=True):
        for key, value in item.items():
            assert torch.equal(batch[key][0], value), key


def test_bad_splits_are_one_line_errors(store, tmp_path):
    norm = Normalization()
    with pytest.raises(TfusInputError, match="split 'test' .* has no heads"):
        StoreFieldDataset(store, "test", 8, norm)
    with pytest.raises(TfusInputError, match="unknown split"):
        StoreFieldDataset(store, "holdout", 8, norm)
    empty = build_store(tmp_path / "empty.zarr", pending=tuple(range(6)))
    with pytest.raises(TfusInputError, match="no complete samples") as err:
        StoreFieldDataset(empty, "train", 8, norm)
    assert "\n" not in str(err.value)
    with pytest.raises(TfusInputError, match="no complete sample"):
        fit_normalization(empty, "train")


def test_data_description_names_grid_transducer_and_heads(store):
    d = data_description(store, n_points=64, n_train_samples=2)
    assert d["grid_shape"] == list(GRID) and d["spacing_mm"] == 2.0 and d["transducer"] == TRANSDUCER
    assert (d["train_heads"], d["val_heads"], d["test_heads"]) == (["head0", "head1"], ["head2"], [])
    assert d["n_points"] == 64 and d["n_train_samples"] == 2 and math.isclose(d["frequency_hz"], 5e5)
