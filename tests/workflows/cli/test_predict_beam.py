"""``tfus predict`` with a beam-frame model: without RUN it uses the model shipped for ``--transducer``
(:mod:`tfus.surrogates.shipped`, here a tiny model laid out in ``$TFUS_MODELS_DIR``), predicts in the pose's beam box
and maps back; ``--verify`` simulates the same box with k-Wave and writes ``OUT_sim.nii.gz`` and a ``verify`` block.
A frequency no shipped model covers is a one-line error naming the shipped models, with nothing written."""

from __future__ import annotations

import json

import numpy as np
import yaml

from tfus.pipeline.store import open_store, read_transducer
from tfus.surrogates.shipped import ship_run


def test_predict_without_run_uses_the_shipped_model_and_verifies(tiny_beam_store, tiny_beam_run, tmp_path, cli,
                                                                   user_error, monkeypatch):
    """``tfus predict`` without RUN picks the shipped model for --transducer; --verify simulates the same box."""
    group = open_store(tiny_beam_store)
    bowl = read_transducer(group)
    models = tmp_path / "models"
    ship_run(tiny_beam_run, models / "tiny-model", bowl.name)
    bowl_file = tmp_path / "bowl.yaml"
    bowl_file.write_text(yaml.safe_dump(bowl.to_dict()), encoding="utf-8")
    monkeypatch.setenv("TFUS_MODELS_DIR", str(models))
    folder = tiny_beam_store.parent
    head_dir = tmp_path / "head"
    built = cli("head", "build", folder / "head0.nii.gz", "--out", head_dir, "--spacing", "3")
    assert built.exit_code == 0, built.output
    s = int(np.flatnonzero(np.asarray(group["status"][:]) == 1)[0])
    apex, target = np.asarray(group["apex"][s], float), np.asarray(group["target"][s], float)
    out = tmp_path / "pred.nii.gz"
    args = ["predict", "--transducer", bowl_file, "--head", head_dir, "--position", *map(str, apex), "--target",
            *map(str, target), "--out", out, "--json"]
    result = cli(*args, "--verify")
    assert result.exit_code == 0, (result.output, result.stderr)
    record = json.loads(result.stdout)
    verify = record["verify"]
    assert set(verify) >= {"rel_l2", "focal_error_mm", "peak_error", "predict_s", "simulate_s"}
    assert verify["compared_on"] == "beam box" and np.isfinite(verify["rel_l2"])
    assert (tmp_path / "pred_sim.nii.gz").is_file() and out.is_file()
    saved = json.loads(out.with_suffix("").with_suffix(".json").read_text())
    assert saved["surrogate"]["checkpoint"] == "shipped:tiny-model" and "verify" in saved
    # another frequency: one line naming the shipped models, nothing written
    out2 = tmp_path / "other.nii.gz"
    bad = cli("predict", "--transducer", bowl_file, "--frequency", str(bowl.frequency_hz * 2), "--head", head_dir,
              "--position", *map(str, apex), "--target", *map(str, target), "--out", out2)
    user_error(bad, "no shipped model", "tiny-model")
    assert not out2.exists()
