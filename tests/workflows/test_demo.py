"""``tfus demo``: the shipped model (here a tiny beam-frame model laid out in ``$TFUS_MODELS_DIR``) on a head it did
not train on, one pose verified against k-Wave, the training path on a tiny beam store, the report; a rerun with the
same --workdir resumes; a transducer no shipped model covers is a one-line error with nothing written."""

from __future__ import annotations

import json
import shutil

import nibabel as nib
import numpy as np
import pytest

from tfus.pipeline.resources import bundled_heads
from tfus.pipeline.store import open_store, read_transducer
from tfus.surrogates.shipped import ship_run
from tfus.workflows.demo import HELD_OUT_HEADS, choose_head, same_head


@pytest.fixture()
def shipped_tiny(tiny_beam_store, tiny_beam_run, tmp_path, monkeypatch):
    """The tiny beam model shipped for the tiny bowl in a private models folder; the bowl's YAML."""
    bowl = read_transducer(open_store(tiny_beam_store))
    ship_run(tiny_beam_run, tmp_path / "models" / "tiny-model", bowl.name)
    monkeypatch.setenv("TFUS_MODELS_DIR", str(tmp_path / "models"))
    return tiny_beam_store.parent / "tiny-bowl.yaml"


def _nifti(path):
    return np.asarray(nib.load(str(path)).dataobj, np.float32)


@pytest.mark.slow
def test_demo_predicts_with_the_shipped_model_verifies_trains_and_resumes(cli, shipped_tiny, tiny_beam_store,
                                                                           tmp_path):
    workdir = tmp_path / "demo"
    workdir.mkdir()
    shutil.copytree(tiny_beam_store, workdir / "train.zarr")  # the training store is resumed, not simulated again
    args = ["demo", "--workdir", workdir, "--transducer", shipped_tiny, "--dataset",
            tiny_beam_store.parent / "dataset.yaml", "--poses", 2, "--epochs", 1, "--workers", 1]
    result = cli(*args)
    assert result.exit_code == 0, (result.exception, result.output, result.stderr)
    record = json.loads((workdir / "demo.json").read_text(encoding="utf-8"))

    # the shipped model, on a head it did not train on (colin27 when built at setup, else the ITK T1)
    assert record["shipped_model"]["name"] == "tiny-model"
    expected = next(n for n in HELD_OUT_HEADS if n in bundled_heads())
    assert record["head"]["name"] == expected and record["head"]["trained_on"] is False
    assert not any(same_head(expected, t) for t in record["shipped_model"]["train_heads"])

    # poses predicted on the head grid, written with their figures
    assert [p["pose"] for p in record["predictions"]] == [1, 2]
    for i in (1, 2):
        assert (workdir / "fields" / f"pose{i}_predicted.nii.gz").is_file()
        assert (workdir / "figures" / f"pose{i}_predicted.png").is_file()
    pred = _nifti(workdir / "fields" / "pose1_predicted.nii.gz")
    head_shape = tuple(record["head"]["shape"])
    assert pred.shape == head_shape
    first = record["predictions"][0]
    assert np.isclose(pred.max(), first["global_peak_pressure_pa"], rtol=1e-5)
    ijk = np.rint(np.linalg.solve(nib.load(str(workdir / "fields" / "pose1_predicted.nii.gz")).affine,
                                  [*first["focus_mm"], 1.0])[:3]).astype(int)
    assert np.isclose(pred[tuple(ijk)], first["peak_pressure_pa"], rtol=1e-5)  # the intracranial focus

    # pose 1 against k-Wave: the record is the comparison of the written prediction with the written simulation
    v = record["verification"]
    sim = _nifti(workdir / "fields" / "pose1_simulated.nii.gz")
    assert sim.shape == head_shape and np.isclose(sim.max(), v["sim_peak_pa"], rtol=1e-5)
    assert v["record"]["compared_on"] == "beam box" and v["reused"] is False
    assert v["record"]["simulate_s"] > 0 and v["record"]["predict_s"] == record["predictions"][0]["predict_s"]
    # compared in the box; mapped back onto the head grid (same spacing, linear interpolation) each peak can drop by
    # at most 1 - cos(pi h / lambda) (a half-voxel offset of a standing lobe), so the peak ratio stays within that
    model = record["shipped_model"]
    spacing_mm, wavelength_mm = model["spacing_mm"], 1500.0 / model["frequency_hz"] * 1e3
    keep = np.cos(np.pi * spacing_mm / wavelength_mm)
    ratio = (pred.max() / sim.max()) / (1 + v["record"]["peak_error"])
    assert keep <= ratio <= 1 / keep, (ratio, keep)
    assert set(v["prior"]) == {"rel_l2", "focal_error_mm", "peak_error", "focal_dice", "kind"}
    assert v["prior"]["kind"] == "water"  # the tiny shipped model's prior
    for name in ("pose1_simulated.png", "pose1_error.png", f"head_{expected}.png"):
        assert (workdir / "figures" / name).stat().st_size > 0, name

    # the training path: the copied store resumed (nothing simulated), one epoch, evaluated on the held-out head
    t = record["training"]
    assert t["generate"]["computed"] == 0 and t["generate"]["already_complete"] == 6
    assert t["train"]["epochs"] == 1 and t["train"]["resumed_from"] is None
    assert (workdir / "train-run" / "best.pt").is_file()
    assert t["n_test_samples"] == 3 and np.isfinite(t["evaluation"]["rel_l2"]["median"])
    # the training path's model is the beam-has preset, scored beside its own prior (the angular spectrum)
    assert t["prior_kind"] == "angular-spectrum" and np.isfinite(t["prior"]["rel_l2"]["median"])

    text = (workdir / "report.md").read_text(encoding="utf-8")
    for needle in ("## The shipped model", "## Head", "held out (not trained on)", "## Predictions with the shipped "
                   "model", "## Pose 1 against k-Wave", "water field alone", "angular spectrum alone",
                   "figures/pose1_error.png",
                   "## Is it safe? (pose 1, predicted)", "## The training path (not the shipped model)",
                   "## Timings"):
        assert needle in text, needle
    plan = (workdir / "plan.html").read_text(encoding="utf-8")  # the planning report of pose 1's prediction
    assert "<td class='flag " in plan and "data-verdict=" in plan

    # a rerun resumes: the head, the k-Wave verification and the training run are reused
    again = cli(*args)
    assert again.exit_code == 0, (again.exception, again.output, again.stderr)
    second = json.loads((workdir / "demo.json").read_text(encoding="utf-8"))
    assert second["head"]["reused"] is True and second["verification"]["reused"] is True
    assert second["verification"]["record"]["simulate_s"] == v["record"]["simulate_s"]
    assert second["training"]["train"]["resumed_from"] == 1 and second["training"]["train"]["epochs"] == 1
    assert [p["apex_mm"] for p in second["predictions"]] == [p["apex_mm"] for p in record["predictions"]]
    assert "reused from the previous run" in (workdir / "report.md").read_text(encoding="utf-8")


def test_demo_without_a_shipped_model_is_one_line_and_writes_nothing(cli, user_error, tmp_path, monkeypatch):
    monkeypatch.setenv("TFUS_MODELS_DIR", str(tmp_path / "no-models"))
    workdir = tmp_path / "demo"
    result = cli("demo", "--workdir", workdir, "--transducer", "itrusst-sc1")
    user_error(result, "shipped", "itrusst-sc1", "500 kHz", "TFUS_MODELS_DIR")
    assert not workdir.exists()


def test_head_choice_skips_the_training_heads():
    heads = bundled_heads()
    first = next(n for n in HELD_OUT_HEADS if n in heads)
    assert choose_head(None, []) == (first, heads[first])
    # every preferred head trained on: another bundled head, never a training one
    name, _ = choose_head(None, ["colin27", "itk_t1"])
    assert not any(same_head(name, t) for t in ["colin27", "itk_t1"])
    assert choose_head("itk_t1", ["itk_t1"])[0] == "itk_t1"  # asked for: used (the report says it was trained on)


def test_head_choice_errors(tmp_path):
    from tfus.pipeline.errors import TfusInputError

    with pytest.raises(TfusInputError, match="trained on every available head"):
        choose_head(None, [n.removesuffix("_t1") for n in bundled_heads()])
    with pytest.raises(TfusInputError, match="neither a bundled head"):
        choose_head(str(tmp_path / "missing.nii.gz"), [])
