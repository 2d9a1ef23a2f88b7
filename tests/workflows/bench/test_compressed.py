"""``tfus bench compressed`` on a tiny synthetic store (1 epoch, dense vs cp:1), its one-line user errors, and
``tfus train --conv``."""

from __future__ import annotations

import io
import math

import pytest
from rich.console import Console

from tests.helpers.synthetic_store import build_store, train_yaml
from tfus.surrogates.checkpoint import load_checkpoint
from tfus.surrogates.networks.layers import CompressedConv
from tfus.surrogates.registry import model_from_checkpoint
from tfus.workflows.bench.compressed import compressed_table

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    # heads 0, 1 train (4 samples), head 2 val, head 3 test (2 samples)
    return build_store(tmp_path_factory.mktemp("bench_cp") / "s.zarr", n_heads=4)


def test_bench_compressed_one_epoch(cli, stdout_json, store, tmp_path):
    work, out = tmp_path / "runs", tmp_path / "res.json"
    result = cli("bench", "compressed", "--store", store, "--ranks", "1", "--epochs", 1, "--preset", "tiny",
                 "--repeats", 1, "--workdir", work, "--out", out, "--json")
    assert result.exit_code == 0, (result.output, result.stderr)
    res = stdout_json(result)
    assert out.is_file() and [r["variant"] for r in res["rows"]] == ["dense", "cp:1"]
    assert (res["epochs"], res["n_train"], res["n_test"], res["grid"]) == (1, 4, 2, [16, 16, 16])
    dense, cp = res["rows"]
    assert dense["vs_dense"]["parameters"] == 1.0 and cp["parameters"] < dense["parameters"]
    assert math.isclose(cp["vs_dense"]["parameters"], cp["parameters"] / dense["parameters"])
    for row in res["rows"]:
        assert row["peak_train_bytes"] > 0 and row["saved_activation_bytes"] > 0 and row["infer_ms"] > 0
        assert row["rel_l2"]["n"] == 2 and math.isfinite(row["rel_l2"]["mean"])
        assert math.isfinite(row["focal_error_mm"]["mean"]) and math.isfinite(row["peak_error"]["mean"])
    ckpt = load_checkpoint(work / "cp1" / "best.pt")
    assert ckpt["model_config"]["conv"] == "cp:1" and ckpt["train_config"]["epochs"] == 1
    assert any(isinstance(m, CompressedConv) for m in model_from_checkpoint(ckpt).modules())
    assert load_checkpoint(work / "dense" / "best.pt")["model_config"]["conv"] == "dense"
    table, note = compressed_table(res)  # what the command prints without --json
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(table)
    text = console.export_text()
    assert "cp:1" in text and "dense" in text and f"{cp['parameters']:,}" in text and "2 test samples" in note


def test_bench_compressed_user_errors(cli, user_error, store, tmp_path):
    user_error(cli("bench", "compressed", "--store", store, "--ranks", "0"), "--ranks", "positive")
    user_error(cli("bench", "compressed", "--store", store, "--ranks", "2,x"), "--ranks")
    user_error(cli("bench", "compressed", "--store", store, "--preset", "huge"), "--preset")
    user_error(cli("bench", "compressed", "--store", tmp_path / "nope.zarr"), "no store at")
    no_test = build_store(tmp_path / "no_test.zarr")  # 3 heads: train, train, val
    user_error(cli("bench", "compressed", "--store", no_test, "--workdir", tmp_path / "w"), "'test'", "--split")


def test_train_conv_option(cli, stdout_json, user_error, store, tmp_path):
    cfg = train_yaml(tmp_path / "train.yaml", epochs=1)
    out = tmp_path / "run"
    result = cli("train", "--store", store, "--out", out, "--config", cfg, "--conv", "cp:2", "--device", "cpu",
                 "--quiet", "--json")
    assert result.exit_code == 0, (result.output, result.stderr)
    ckpt = load_checkpoint(out / "best.pt")
    assert ckpt["model_config"]["conv"] == "cp:2" and ckpt["train_config"]["model"]["conv"] == "cp:2"
    assert ckpt["model_config"]["n_points"] == 64  # the rest of the config's model section is kept
    user_error(cli("train", "--store", store, "--out", tmp_path / "bad", "--conv", "cp:0"), "cp:0", "rank")
