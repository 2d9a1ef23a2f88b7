"""Training on a tiny synthetic store (CPU): the loss falls, the run folder is complete and self-describing, a run
stopped after one epoch and resumed equals the uninterrupted run bit for bit, reruns are deterministic, and bad
resumes are one-line errors."""

from __future__ import annotations

import csv
import importlib.util
import json
import math
import shutil

import pytest
import torch

from tests.helpers.synthetic_store import TINY_MODEL, build_store
from tfus.pipeline.errors import TfusInputError
from tfus.surrogates.checkpoint import load_checkpoint, save_checkpoint
from tfus.surrogates.registry import build_model, model_from_checkpoint
from tfus.surrogates.training import TrainConfig, enable_gradient_checkpointing, load_train_config, train
from tfus.surrogates.training.adapter import adapter_for

CONTRACT_DATA = {"store", "grid_shape", "spacing_mm", "frequency_hz", "transducer", "hu_mapping", "n_points",
                 "train_heads", "val_heads", "test_heads", "n_train_samples"}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _cfg(**kw) -> TrainConfig:
    return TrainConfig.from_mapping({"epochs": 2, "batch_size": 2, "lr": 5e-3, "num_workers": 0,
                                     "model": dict(TINY_MODEL), **kw})


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return build_store(tmp_path_factory.mktemp("train") / "s.zarr")


@pytest.fixture(scope="module")
def straight(store, tmp_path_factory):
    """An uninterrupted two-epoch run."""
    out = tmp_path_factory.mktemp("runs") / "straight"
    return out, train(store, out, _cfg(), device="cpu", progress=False)


def _same_rows(a: list[dict], b: list[dict]) -> bool:
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in (*a, *b)]
    return strip[: len(a)] == strip[len(a):]


def _assert_same_training_state(a: dict, b: dict) -> None:
    assert a["state_dict"].keys() == b["state_dict"].keys()
    for key, value in a["state_dict"].items():
        assert torch.equal(value, b["state_dict"][key]), key
    for pa, pb in zip(a["optimizer"]["state"].values(), b["optimizer"]["state"].values(), strict=True):
        assert all(torch.equal(pa[k], pb[k]) for k in pa)
    assert a["scheduler"] == b["scheduler"] and (a["epoch"], a["step"]) == (b["epoch"], b["step"])
    assert _same_rows(a["history"], b["history"])


def test_loss_falls_and_the_run_folder_describes_itself(store, tmp_path):
    out = tmp_path / "run"
    result = train(store, out, _cfg(epochs=4), device="cpu", progress=False)
    losses = [row["train_loss"] for row in result.history]
    assert losses[-1] < 0.85 * losses[0], losses
    assert {p.name for p in out.iterdir()} - {"tensorboard"} == {"best.pt", "config.json", "last.pt", "log.csv"}
    rows = list(csv.DictReader((out / "log.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4]
    assert {"train_loss", "val_loss", "lr", "val_focal_error_mm", "val_peak_error_percent"} <= set(rows[0])
    val = [row["val_loss"] for row in result.history]
    assert result.best_epoch == 1 + val.index(min(val)) and result.best_loss == pytest.approx(min(val))
    best, last = load_checkpoint(out / "best.pt"), load_checkpoint(out / "last.pt")
    assert best["epoch"] == result.best_epoch and "optimizer" not in best and last["epoch"] == 4
    assert set(best["data"]) >= CONTRACT_DATA and best["data"]["train_heads"] == ["head0", "head1"]
    assert best["data"]["n_points"] == 64 and best["data"]["n_train_samples"] == 4
    assert best["model"] == "deeptfus" and best["model_config"]["width"] == 4
    assert best["normalization"]["log_peak_std"] != 1.0  # fitted on the training peaks
    model = model_from_checkpoint(best)
    assert sum(p.numel() for p in model.parameters()) > 0
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["train_config"]["epochs"] == 4 and cfg["seed"] == 0 and "torch" in cfg["versions"]


def test_resume_after_one_epoch_equals_the_straight_run(store, straight, tmp_path):
    out = tmp_path / "resumed"
    first = train(store, out, _cfg(), device="cpu", stop_after=1, progress=False)
    assert first.epoch == 1 and load_checkpoint(out / "last.pt")["epoch"] == 1
    messages = []
    second = train(store, out, _cfg(num_workers=2), device="cpu", progress=False, say=messages.append)
    assert second.resumed_from == 1 and second.epoch == 2
    assert any("resuming" in m for m in messages)
    _assert_same_training_state(load_checkpoint(straight[0] / "last.pt"), load_checkpoint(out / "last.pt"))
    assert len(list(csv.DictReader((out / "log.csv").open()))) == 2


def test_two_fresh_runs_are_identical_on_cpu(store, straight, tmp_path):
    again = train(store, tmp_path / "again", _cfg(), device="cpu", progress=False)
    _assert_same_training_state(load_checkpoint(straight[0] / "last.pt"), load_checkpoint(tmp_path / "again/last.pt"))
    assert again.best_epoch == straight[1].best_epoch
    # gradient checkpointing recomputes the same operations: the same weights, bit for bit
    train(store, tmp_path / "ckpt", _cfg(grad_checkpoint=True), device="cpu", progress=False)
    _assert_same_training_state(load_checkpoint(straight[0] / "last.pt"), load_checkpoint(tmp_path / "ckpt/last.pt"))
    other = train(store, tmp_path / "seed1", _cfg(seed=1, epochs=1), device="cpu", progress=False)
    assert other.history[0]["train_loss"] != straight[1].history[0]["train_loss"]


def test_without_validation_best_follows_the_training_loss(store, tmp_path):
    result = train(store, tmp_path / "noval", _cfg(val_split=None, augment=False), device="cpu", progress=False)
    assert not any(k.startswith("val_") for k in result.history[0])
    losses = [row["train_loss"] for row in result.history]
    assert result.best_epoch == 1 + losses.index(min(losses))


def test_finished_run_resumes_to_nothing_and_extends(store, straight, tmp_path):
    out = tmp_path / "copy"
    shutil.copytree(straight[0], out)
    done = train(store, out, None, device="cpu", progress=False)
    assert (done.epoch, done.history) == (2, straight[1].history)
    longer = train(store, out, None, epochs=3, device="cpu", progress=False)
    assert longer.epoch == 3 and longer.resumed_from == 2 and len(longer.history) == 3


def test_bad_resumes_are_one_line_errors(store, straight, tmp_path):
    out = tmp_path / "bad"
    shutil.copytree(straight[0], out)
    with pytest.raises(TfusInputError, match="another config .*model"):
        train(store, out, _cfg(model={"preset": "tiny", "width": 8}), device="cpu", progress=False)
    ckpt = load_checkpoint(out / "last.pt")
    save_checkpoint(out / "last.pt", {**ckpt, "model_config": {**ckpt["model_config"], "width": 8}})
    with pytest.raises(TfusInputError, match="does not fit .*another model"):
        train(store, out, None, device="cpu", progress=False)
    save_checkpoint(out / "last.pt", {k: v for k, v in ckpt.items() if k != "optimizer"})
    with pytest.raises(TfusInputError, match="no training state"):
        train(store, out, None, device="cpu", progress=False)
    (out / "last.pt").write_bytes((straight[0] / "last.pt").read_bytes()[:5000])
    with pytest.raises(TfusInputError, match="not a readable tfus checkpoint") as err:
        train(store, out, None, device="cpu", progress=False)
    assert "\n" not in str(err.value)
    other = build_store(tmp_path / "other.zarr", splits={"train": [0], "val": [1, 2]})
    (out / "last.pt").write_bytes((straight[0] / "last.pt").read_bytes())
    with pytest.raises(TfusInputError, match="trained on other data .*train_heads"):
        train(other, out, None, device="cpu", progress=False)
    fresh = train(other, out, _cfg(epochs=1), device="cpu", overwrite=True, progress=False)
    assert fresh.resumed_from is None and load_checkpoint(out / "best.pt")["data"]["train_heads"] == ["head0"]


def test_bad_data_is_a_one_line_error(tmp_path):
    empty = build_store(tmp_path / "empty.zarr", pending=tuple(range(6)))
    with pytest.raises(TfusInputError, match="no complete samples"):
        train(empty, tmp_path / "r1", _cfg(), device="cpu", progress=False)
    store = build_store(tmp_path / "s.zarr")
    with pytest.raises(TfusInputError, match="split 'test' .* has no heads"):
        train(store, tmp_path / "r2", _cfg(train_split="test"), device="cpu", progress=False)
    with pytest.raises(TfusInputError, match="no store at"):
        train(tmp_path / "missing.zarr", tmp_path / "r3", _cfg(), device="cpu", progress=False)
    assert not (tmp_path / "r1").exists() and not (tmp_path / "r2").exists()  # nothing written


def test_gradient_checkpointing_gives_the_same_gradients():
    torch.manual_seed(0)
    plain = build_model("deeptfus", TINY_MODEL)
    ckpt = build_model("deeptfus", TINY_MODEL)
    ckpt.load_state_dict(plain.state_dict())
    assert enable_gradient_checkpointing(ckpt) > 0
    batch = {"ct": torch.rand(2, 1, 16, 16, 16), "points": torch.rand(2, 64, 3) * 2 - 1,
             "target": torch.rand(2, 1, 16, 16, 16), "log_peak": torch.randn(2)}
    adapter = adapter_for("deeptfus")
    for model in (plain, ckpt):
        adapter.loss(adapter.forward(model, batch), batch)["total"].backward()
    for (name, a), b in zip(plain.named_parameters(), ckpt.parameters(), strict=True):
        assert torch.allclose(a.grad, b.grad, rtol=1e-5, atol=1e-7), name
    with pytest.raises(TfusInputError, match="no blocks to checkpoint"):
        enable_gradient_checkpointing(torch.nn.Linear(2, 2))


def test_config_validation(tmp_path):
    assert TrainConfig.from_mapping({"model": {"name": "deeptfus", "conv": "cp:4"}}).model == {"conv": "cp:4"}
    for bad, needle in [({"epoch": 3}, "unknown training config key 'epoch'"),
                        ({"loss": {"alpha": 1, "beta": 2}}, "unknown loss key 'beta'"),
                        ({"loss": {"grad_weight": -1}}, "loss weights must be >= 0"),
                        ({"val_split": "train"}, "is the training split"),
                        ({"scheduler": "step"}, "scheduler"),
                        ({"batch_size": 0}, "batch_size")]:
        with pytest.raises(TfusInputError, match=needle):
            TrainConfig.from_mapping(bad)
    path = tmp_path / "t.yaml"
    path.write_text("epochs: 3\nmodel: {preset: tiny}\nloss: {focal_weight: 0.1}\n")
    cfg = load_train_config(path, model_name="deeptfus", epochs=None)
    assert (cfg.epochs, cfg.model, cfg.loss_config.focal_weight) == (3, {"preset": "tiny"}, 0.1)
    path.write_text("epochs: [3\n")
    with pytest.raises(TfusInputError, match="invalid YAML at line"):
        load_train_config(path)
    with pytest.raises(TfusInputError, match="unknown model 'nope'"):
        train("unused.zarr", tmp_path / "r", TrainConfig(model_name="nope"), device="cpu")
    assert math.isfinite(TrainConfig().lr)


@pytest.mark.skipif(importlib.util.find_spec("tensorboard") is None, reason="tensorboard is not installed")
def test_tensorboard_events_when_installed(store, tmp_path):
    train(store, tmp_path / "tb", _cfg(epochs=1), device="cpu", progress=False)
    assert list((tmp_path / "tb" / "tensorboard").glob("events.out.tfevents.*"))
