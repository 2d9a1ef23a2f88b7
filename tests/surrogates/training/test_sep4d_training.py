"""The time-resolved dataset and training on a tiny synthetic tone-burst store (CPU): items are the stored snapshots
in model axes divided by their peak, mirrored consistently, cut into z-slabs; the tiny model's loss falls; Tetris
(stage 2d+t, then a full run initialised from it) starts stage 2 exactly at the stage-1 network; the training
validation metrics agree with ``evaluate``; one-line errors for stores without snapshots and misused options."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from tests.helpers.synthetic_store import build_store
from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.store import open_store
from tfus.surrogates.checkpoint import load_checkpoint
from tfus.surrogates.data.snapshots import StoreSnapshotDataset
from tfus.surrogates.data.wave_inputs import to_model_axes
from tfus.surrogates.evaluation import evaluate
from tfus.surrogates.normalization import Normalization
from tfus.surrogates.registry import build_model_with_config, model_from_checkpoint
from tfus.surrogates.training import TrainConfig, train
from tfus.surrogates.training.adapter import adapter_for

T = 4
TINY = {"preset": "tiny", "n_points": 64}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return build_store(tmp_path_factory.mktemp("sep4d") / "s.zarr", snapshots=T)


def _cfg(**kw) -> TrainConfig:
    return TrainConfig.from_mapping({"epochs": 2, "batch_size": 2, "lr": 5e-3, "num_workers": 0,
                                     "model_name": "sep4d", "model": dict(TINY), **kw})


def test_items_are_the_normalised_snapshots_in_model_axes(store):
    ds = StoreSnapshotDataset(store, "train", 64, Normalization(), augment=True, seed=3)
    ds.normalization = ds.fit_normalization()
    group = open_store(store)
    seen = set()
    for epoch in range(4):
        ds.set_epoch(epoch)
        for i in range(len(ds)):
            item = ds[i]
            s = int(item["index"])
            snaps = np.asarray(group["snapshots"][s])
            if bool(item["mirrored"]):
                snaps = snaps[:, ::-1]
            expected = to_model_axes(snaps) / np.abs(snaps).max()
            np.testing.assert_allclose(item["target"][0].numpy(), expected, atol=1e-6)
            assert float(item["peak_pa"]) == pytest.approx(np.abs(snaps).max())
            np.testing.assert_array_equal(item["times"].numpy(), group["snapshot_times"][s])
            assert item["wave"].shape == (3, T, 16, 16, 16) and item["geometry"].shape == (2, 16, 16, 16)
            seen.add(bool(item["mirrored"]))
    assert seen == {False, True}
    peaks = ds.snapshot_peaks()
    assert ds.normalization.log_peak_mean == pytest.approx(float(np.mean(np.log(peaks / 1e6))))
    entry = ds.data_entry()["snapshots"]
    assert entry["n_snapshots"] == T and entry["source"]["burst_cycles"] == 3 and len(entry["times_s"]) == T


def test_slabs_are_z_ranges_of_the_whole_item(store):
    whole = StoreSnapshotDataset(store, "train", 64, Normalization())
    slabs = StoreSnapshotDataset(store, "train", 64, Normalization(), slab=3, seed=1)
    starts = set()
    for epoch in range(3):
        slabs.set_epoch(epoch)
        a, b = whole[1], slabs[1]
        z0 = int(b["z0"])
        starts.add(z0)
        for key in ("ct", "geometry", "wave", "target"):
            assert b[key].shape[-3] == 3
            torch.testing.assert_close(b[key], a[key][..., z0: z0 + 3, :, :])
        assert float(b["log_peak"]) == float(a["log_peak"])  # the whole sample's normalisation
        torch.testing.assert_close(b["target_energy"], a["target"].double().square().mean().float())
        torch.testing.assert_close(b["target_grad_energy"], a["target_grad_energy"])
    assert len(starts) > 1
    # the loss weighs a slab against the whole sample: silence costs the slab's share of the energy, not 1
    adapter = adapter_for("sep4d", _cfg(loss={"alpha": 0.0}).loss_config)
    for item in (a, b):
        batch = {k: v[None] for k, v in item.items()}
        silent = SimpleNamespace(field=torch.zeros_like(batch["target"]), log_peak=batch["log_peak"])
        terms = adapter.loss(silent, batch)
        share = float(item["target"].double().square().mean() / item["target_energy"])
        assert float(terms["weighted"]) == pytest.approx(share, rel=1e-5)
        assert float(terms["scale"]) == 0.0
    assert share < 1 and float(adapter.loss(SimpleNamespace(field=torch.zeros_like(a["target"][None]),
                                                            log_peak=None), {k: v[None] for k, v in a.items()}
                                            )["gradient"]) == pytest.approx(1.0, rel=1e-5)
    with pytest.raises(TfusInputError, match="slab 17"):
        StoreSnapshotDataset(store, "train", 64, Normalization(), slab=17)


def test_loss_falls_and_validation_metrics_match_evaluate(store, tmp_path):
    out = tmp_path / "run"
    result = train(store, out, _cfg(epochs=4, loss={"alpha": 2.0}), device="cpu", progress=False)
    losses = [row["train_loss"] for row in result.history]
    # from silence (the zero-initialised head) the epoch loss falls every epoch; how far one net can fit is
    # test_sep4d_overfit's question
    assert all(b < a for a, b in zip(losses, losses[1:])), losses
    row = result.history[-1]
    assert {"val_time_rel_l2_percent", "val_focal_error_mm", "val_rel_l2_percent"} <= set(row)
    ckpt = load_checkpoint(out / "last.pt")
    assert ckpt["model"] == "sep4d" and ckpt["data"]["snapshots"]["n_snapshots"] == T
    # the Predictor path (evaluate) reproduces the training loop's validation metric on the same weights
    res = evaluate(out / "last.pt", store, split="val")
    assert res["time_rel_l2"]["mean"] == pytest.approx(row["val_time_rel_l2_percent"], rel=1e-4)
    assert res["rel_l2"]["mean"] == pytest.approx(row["val_rel_l2_percent"], rel=1e-4)
    assert res["units"]["time_rel_l2"] == "%" and res["mi_true"]["n"] == res["n_samples"]


def test_tetris_stage_two_starts_at_the_stage_one_network(store, tmp_path):
    one = train(store, tmp_path / "s1", _cfg(stage="2d+t", slab=2), device="cpu", progress=False)
    assert one.epoch == 2
    first = load_checkpoint(tmp_path / "s1" / "best.pt")
    assert first["model_config"]["z_branch"] is False
    assert not any(k.endswith("w_z") for k in first["state_dict"])
    said = []
    train(store, tmp_path / "s2", _cfg(epochs=1, init_from=str(tmp_path / "s1" / "best.pt")), device="cpu",
          progress=False, say=said.append)
    assert any("z-branch kernels start at zero" in m for m in said)
    # the stage-2 network as initialised equals the stage-1 network
    flat = model_from_checkpoint(first).eval()
    full, _ = build_model_with_config("sep4d", {**TINY, "z_branch": True})
    full.load_init_weights(first["state_dict"])
    full.eval()
    batch = StoreSnapshotDataset(store, "val", 64, Normalization())[0]
    args = [batch[k][None] for k in ("ct", "geometry", "wave")]
    torch.testing.assert_close(full(*args).field, flat(*args).field, rtol=0, atol=0)
    second = load_checkpoint(tmp_path / "s2" / "best.pt")
    assert second["model_config"]["z_branch"] is True
    assert any(v.abs().sum() > 0 for k, v in second["state_dict"].items() if k.endswith("w_z"))  # it trained


def test_misuse_is_one_line(store, tmp_path):
    plain = build_store(tmp_path / "plain.zarr")
    with pytest.raises(TfusInputError, match="stores no snapshots"):
        train(plain, tmp_path / "r", _cfg(), device="cpu", progress=False)
    with pytest.raises(TfusInputError, match="needs a model with a z-branch"):
        train(store, tmp_path / "r2", TrainConfig.from_mapping({"stage": "2d+t", "num_workers": 0,
                                                                 "model": {"preset": "tiny"}}),
              device="cpu", progress=False)
    with pytest.raises(TfusInputError, match="z-branch off"):
        _cfg(stage="2d+t", model={**TINY, "z_branch": True})
    with pytest.raises(TfusInputError, match="focal_weight"):
        adapter_for("sep4d", _cfg(loss={"focal_weight": 0.1}).loss_config)
    train(plain, tmp_path / "d", TrainConfig.from_mapping({"epochs": 1, "num_workers": 0, "val_metrics": False,
                                                           "model": {"preset": "tiny", "n_points": 64}}),
          device="cpu", progress=False)
    with pytest.raises(TfusInputError, match="holds a deeptfus model"):
        train(store, tmp_path / "r3", _cfg(init_from=str(tmp_path / "d")), device="cpu", progress=False)
