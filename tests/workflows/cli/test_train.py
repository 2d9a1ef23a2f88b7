"""``tfus train``: a run from the command line, its resume and ``--overwrite``, the one-line user errors, and DDP
through ``torchrun`` with two CPU processes (gloo) equal to one process with the same global batch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.helpers.synthetic_store import build_store, train_yaml
from tfus.pipeline.store import write_sample_fields
from tfus.surrogates.checkpoint import load_checkpoint
from tfus.surrogates.data.dataset import StoreFieldDataset
from tfus.surrogates.normalization import Normalization
from tfus.surrogates.registry import build_model, model_from_checkpoint
from tfus.surrogates.training import TrainConfig, train

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return build_store(tmp_path_factory.mktemp("cli_train") / "s.zarr")


def test_train_runs_resumes_and_overwrites(cli, stdout_json, store, tmp_path):
    cfg = train_yaml(tmp_path / "train.yaml", epochs=1)
    out = tmp_path / "run"
    first = cli("train", "--store", store, "--out", out, "--config", cfg, "--device", "cpu", "--json")
    assert first.exit_code == 0, (first.output, first.stderr)
    summary = stdout_json(first)
    assert (summary["epoch"], summary["resumed_from"], summary["world_size"]) == (1, None, 1)
    assert "training deeptfus" in first.stderr and "epoch 1/1" in first.stderr
    assert (out / "best.pt").is_file() and (out / "log.csv").is_file()

    more = cli("train", "--store", store, "--out", out, "--config", cfg, "--epochs", 2, "--device", "cpu", "--json")
    assert more.exit_code == 0, (more.output, more.stderr)
    assert "resuming" in more.stderr and stdout_json(more)["epoch"] == 2 and stdout_json(more)["resumed_from"] == 1

    again = cli("train", "--store", store, "--out", out, "--config", cfg, "--device", "cpu", "--overwrite", "--json")
    assert again.exit_code == 0, (again.output, again.stderr)
    assert stdout_json(again)["resumed_from"] is None and load_checkpoint(out / "last.pt")["epoch"] == 1


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_gpu_without_cuda_is_a_user_error(cli, user_error, nothing_written, store, tmp_path):
    result = cli("train", "--store", store, "--out", tmp_path / "run", "--device", "gpu")
    user_error(result, "no CUDA device", "--device cpu")
    nothing_written(tmp_path / "run")


def test_bad_inputs_are_user_errors(cli, user_error, nothing_written, store, tmp_path):
    cfg = train_yaml(tmp_path / "train.yaml")
    empty = build_store(tmp_path / "empty.zarr", pending=tuple(range(6)))
    user_error(cli("train", "--store", empty, "--out", tmp_path / "r1", "--config", cfg, "--device", "cpu"),
               "no complete samples")
    no_heads = train_yaml(tmp_path / "test.yaml", train_split="test")
    user_error(cli("train", "--store", store, "--out", tmp_path / "r2", "--config", no_heads, "--device", "cpu"),
               "split 'test'", "no heads")
    nothing_written(tmp_path / "r1")
    nothing_written(tmp_path / "r2")
    bad_key = train_yaml(tmp_path / "bad.yaml", learning_rate=1.0)
    user_error(cli("train", "--store", store, "--out", tmp_path / "r3", "--config", bad_key), "learning_rate")
    user_error(cli("train", "--store", tmp_path / "nope.zarr", "--out", tmp_path / "r4", "--config", cfg),
               "no store at")
    run = tmp_path / "r5"
    run.mkdir()
    (run / "last.pt").write_bytes(b"PK\x03\x04 this is not a checkpoint")
    user_error(cli("train", "--store", store, "--out", run, "--config", cfg, "--device", "cpu"),
               "not a readable tfus checkpoint")
    user_error(cli("train", "--store", store, "--out", tmp_path / "r6", "--model", "unet9"), "unknown model 'unet9'")
    zero = build_store(tmp_path / "zero.zarr")
    write_sample_fields(zero, 1, np.zeros((16, 16, 16), np.float32))  # a damaged sample, read in a worker process
    workers = train_yaml(tmp_path / "workers.yaml", num_workers=2)
    damaged = cli("train", "--store", zero, "--out", tmp_path / "r7", "--config", workers, "--device", "cpu")
    # found while training (after the start line): exit 2 and the worker's error as one line, no traceback
    assert damaged.exit_code == 2 and "Traceback" not in damaged.stderr + damaged.output
    last_line = damaged.stderr.strip().splitlines()[-1]
    assert last_line.startswith("error: sample 1 of") and "all zero" in last_line, damaged.stderr


def test_torchrun_two_cpu_processes_train_the_same_weights(store, tmp_path):
    cfg = train_yaml(tmp_path / "ddp.yaml", batch_size=1, augment=True)
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "tfus.workflows.cli", "train", "--store", str(store), "--out", str(out), "--config", str(cfg),
           "--device", "cpu", "--json"]
    proc = subprocess.run(cmd, capture_output=True, text=True, encoding="utf-8", errors="replace", timeout=300,
                          env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout)  # one JSON document: only rank 0 printed
    assert summary["world_size"] == 2 and summary["epoch"] == 2
    assert {p.name for p in out.iterdir()} - {"tensorboard"} == {"best.pt", "config.json", "last.pt", "log.csv"}
    assert len((out / "log.csv").read_text().splitlines()) == 3  # header + 2 epochs, written once
    assert proc.stderr.count("epoch 2/2: train loss") == 1, proc.stderr  # one process reports
    last = load_checkpoint(out / "last.pt")
    digests = last["ddp"]["weights_sha256"]
    assert last["ddp"]["world_size"] == 2 and len(digests) == 2 and digests[0] == digests[1]
    # two processes with batch 1 each = one process with batch 2 (the same samples per step, gradients averaged)
    # up to float rounding, which Adam turns into +-lr steps wherever a gradient is ~0: compare losses and fields
    single = train(store, tmp_path / "single", TrainConfig.from_mapping({**_yaml(cfg), "batch_size": 2}),
                   device="cpu", progress=False)
    ref = load_checkpoint(tmp_path / "single" / "last.pt")
    assert last["history"][0]["train_loss"] == pytest.approx(single.history[0]["train_loss"], rel=1e-2)
    torch.manual_seed(0)
    init = build_model("deeptfus", ref["model_config"]).eval()
    ddp, one = model_from_checkpoint(last).eval(), model_from_checkpoint(ref).eval()
    item = StoreFieldDataset(store, "val", 64, Normalization(**ref["normalization"]))[0]
    with torch.no_grad():
        o_ddp, o_one, o_init = (m(item["ct"][None], item["points"][None]).field for m in (ddp, one, init))
    assert (o_ddp - o_one).abs().max() < 0.25 * (o_one - o_init).abs().max()


def test_a_killed_run_resumes_exactly(store, tmp_path):
    cfg = train_yaml(tmp_path / "kill.yaml", epochs=8)
    out = tmp_path / "killed"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "tfus.workflows.cli", "train", "--store", str(store), "--out", str(out),
           "--config", str(cfg), "--device", "cpu"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        while not (out / "log.csv").exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        proc.kill()
        proc.wait()
    killed_after = load_checkpoint(out / "last.pt")["epoch"]
    assert killed_after < 8, "the run finished before it could be killed"
    resumed = train(store, out, None, device="cpu", progress=False)
    assert resumed.resumed_from == killed_after and resumed.epoch == 8
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]  # no half-written files left
    straight = train(store, tmp_path / "straight", TrainConfig.from_mapping(_yaml(cfg)), device="cpu", progress=False)
    a, b = load_checkpoint(out / "last.pt"), load_checkpoint(tmp_path / "straight" / "last.pt")
    assert all(torch.equal(v, b["state_dict"][k]) for k, v in a["state_dict"].items())
    assert [r["train_loss"] for r in resumed.history] == [r["train_loss"] for r in straight.history]


def _yaml(path: Path) -> dict:
    import yaml

    return yaml.safe_load(path.read_text())


def test_help_lists_registered_models_and_conv_choices(cli):
    from tfus.surrogates.registry import model_names

    result = cli("train", "--help")
    assert result.exit_code == 0, result.output
    for word in [*model_names(), "sep4d", "deeptfus", "dense", "cp:R"]:
        assert word in result.output, word


def test_unknown_model_is_one_line_listing_registered_names(cli, user_error, nothing_written, store, tmp_path):
    result = cli("train", "--store", store, "--out", tmp_path / "run", "--model", "sep5d", "--device", "cpu")
    user_error(result, "unknown model 'sep5d'", "available: deeptfus, sep4d")
    nothing_written(tmp_path / "run")
