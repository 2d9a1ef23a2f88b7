"""``tfus head build``: happy paths on the phantom CT and the MNI T1, and one-line errors for every bad input."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest

from tfus.pipeline.io.nifti import write_nifti

# ----------------------------------------------------------------------------------------------------------- happy


def test_ct_build_json_summary(built_ct, stdout_json):
    out, result = built_ct
    summary = stdout_json(result)
    assert summary["modality"] == "ct"
    for key in ("skull_volume_ml", "skull_thickness_mm", "brain_volume_ml"):
        assert isinstance(summary[key], float) and summary[key] > 0, key
    # The phantom skull is 7 mm thick (2 + 3 + 2) on a 2 mm grid.
    assert summary["skull_thickness_mm"] == pytest.approx(7.0, abs=2.0)
    assert summary["out"] == str(out)
    assert summary["png"] == str(out / "head.png")
    assert "Traceback" not in result.output


def test_ct_build_writes_the_head_folder(built_ct):
    out, _ = built_ct
    for name in ("hu.nii.gz", "labels.nii.gz", "head.json", "head.png"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert (out / "head.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")], "temporary files left behind"


def test_ct_build_keeps_the_input_grid_and_labels(built_ct, phantom_2mm):
    out, _ = built_ct
    hu, labels = nib.load(str(out / "hu.nii.gz")), nib.load(str(out / "labels.nii.gz"))
    np.testing.assert_allclose(hu.affine, phantom_2mm.affine, atol=1e-4)
    np.testing.assert_allclose(labels.affine, phantom_2mm.affine, atol=1e-4)
    assert hu.shape == labels.shape == phantom_2mm.shape
    lab = np.asarray(labels.dataobj)
    assert set(np.unique(lab).tolist()) == {0, 1, 2, 3, 4}
    # The segmentation agrees with the phantom's known labels on most voxels.
    assert np.mean(lab == phantom_2mm.labels) > 0.95
    meta = json.loads((out / "head.json").read_text())
    assert meta["modality"] == "ct"
    np.testing.assert_allclose(meta["source_affine_ras"], phantom_2mm.affine, atol=1e-6)
    assert meta["summary"]["skull_volume_ml"] > 0


def test_non_ras_input_is_reoriented_and_png_goes_where_asked(cli, tmp_path, phantom_2mm, built_ct):
    """The phantom stored LPS (x and y flipped, same world positions) builds onto the same RAS grid; --png writes the
    overlay to the given path (its folder created) instead of OUT/head.png; without --json stdout stays empty."""
    flip = np.diag([-1.0, -1.0, 1.0, 1.0])
    affine = phantom_2mm.affine.copy()
    n = np.array(phantom_2mm.shape)
    affine[:3, 3] = phantom_2mm.affine[:3, :3] @ np.array([n[0] - 1, n[1] - 1, 0]) + phantom_2mm.affine[:3, 3]
    affine = affine @ flip
    path = tmp_path / "phantom_lps.nii.gz"
    write_nifti(path, phantom_2mm.hu[::-1, ::-1, :].astype(np.int16), affine)
    out, png = tmp_path / "out", tmp_path / "figs" / "overlay.png"
    result = cli("head", "build", path, "--out", out, "--spacing", 2, "--png", png)
    assert result.exit_code == 0, (result.exception, result.stderr)
    assert result.stdout == ""
    assert "wrote" in result.stderr and "skull volume" in result.stderr
    assert png.is_file() and png.read_bytes()[:4] == b"\x89PNG"
    assert not (out / "head.png").exists()
    labels = nib.load(str(out / "labels.nii.gz"))
    np.testing.assert_allclose(labels.affine, phantom_2mm.affine, atol=1e-4)
    reference = np.asarray(nib.load(str(built_ct[0] / "labels.nii.gz")).dataobj)
    np.testing.assert_array_equal(np.asarray(labels.dataobj), reference)


def test_t1_build(built_mni, stdout_json):
    out, result = built_mni
    summary = stdout_json(result)
    assert summary["modality"] == "t1"
    assert summary["skull_volume_ml"] > 0 and summary["skull_thickness_mm"] > 0
    for name in ("hu.nii.gz", "labels.nii.gz", "head.json", "head.png"):
        assert (out / name).is_file(), name
    lab = np.asarray(nib.load(str(out / "labels.nii.gz")).dataobj)
    assert set(np.unique(lab).tolist()) == {0, 1, 2, 3, 4}
    meta = json.loads((out / "head.json").read_text())
    assert meta["modality"] == "t1" and meta["config"]["spacing_mm"] == 2.0


# ----------------------------------------------------------------------------------------------------------- errors


@pytest.fixture(scope="module")
def bad(tmp_path_factory, phantom_2mm, phantom_ct_file):
    """Bad input files, by name."""
    d = tmp_path_factory.mktemp("bad_inputs")
    files = {"missing": d / "does_not_exist.nii.gz"}

    files["unknown_ext"] = d / "head.xyz"
    files["unknown_ext"].write_bytes(b"\x00" * 1024)

    full = phantom_ct_file.read_bytes()
    files["truncated"] = d / "truncated.nii.gz"
    files["truncated"].write_bytes(full[: len(full) // 2])

    grid = np.diag([2.0, 2.0, 2.0, 1.0])
    files["2d"] = d / "slice.nii.gz"
    write_nifti(files["2d"], np.zeros((40, 40), np.float32), grid)
    files["thin"] = d / "thin.nii.gz"
    write_nifti(files["thin"], np.zeros((40, 40, 1), np.float32), grid)
    files["4d"] = d / "series.nii.gz"
    write_nifti(files["4d"], np.zeros((40, 40, 40, 3), np.float32), grid)

    for name, value in (("nan", np.nan), ("inf", np.inf)):
        hu = phantom_2mm.hu.astype(np.float32).copy()
        hu[50, 60, 55] = value
        files[name] = d / f"{name}.nii.gz"
        write_nifti(files[name], hu, phantom_2mm.affine)

    raw = np.clip(phantom_2mm.hu + 1024.0, 0, None)
    for dtype in (np.int16, np.uint16):
        files[f"raw_{dtype.__name__}"] = d / f"raw_{dtype.__name__}.nii.gz"
        write_nifti(files[f"raw_{dtype.__name__}"], raw.astype(dtype), phantom_2mm.affine)

    def blob(background: float, value: float) -> np.ndarray:
        vol = np.full((60, 60, 60), background, np.float32)
        vol[28:33, 28:33, 28:33] = value
        return vol

    files["air_bone_blob"] = d / "air_bone_blob.nii.gz"  # -1000 HU with a tiny bright blob: CT, but no head
    write_nifti(files["air_bone_blob"], blob(-1000.0, 1000.0).astype(np.int16), grid)
    files["air_soft_blob"] = d / "air_soft_blob.nii.gz"  # -1000 HU with a tiny soft-tissue blob: CT without bone
    write_nifti(files["air_soft_blob"], blob(-1000.0, 40.0).astype(np.int16), grid)
    files["zero_blob"] = d / "zero_blob.nii.gz"  # zeros with a tiny blob: an MRI of nothing
    write_nifti(files["zero_blob"], blob(0.0, 100.0), grid)
    return files


HEAD_ERRORS = [
    pytest.param("missing", [], ["file not found", "does_not_exist.nii.gz"], id="missing-file"),
    pytest.param("unknown_ext", [], ["unsupported image type", "head.xyz"], id="unknown-extension"),
    pytest.param("truncated", [], ["truncated", "truncated.nii.gz"], id="truncated-nii-gz"),
    pytest.param("2d", [], ["2D"], id="2d-image"),
    pytest.param("thin", [], ["2D/too thin"], id="one-slice-3d-image"),
    pytest.param("4d", [], ["4D", "(40, 40, 40, 3)"], id="4d-image"),
    pytest.param("nan", ["--spacing", "2"], ["1 NaN"], id="nan-voxels"),
    pytest.param("inf", ["--spacing", "2"], ["1 inf"], id="inf-voxels"),
    pytest.param("raw_int16", ["--spacing", "2"], ["Hounsfield"], id="ct-not-hu-int16-auto"),
    pytest.param("raw_int16", ["--spacing", "2", "--modality", "ct"], ["Hounsfield"], id="ct-not-hu-int16-ct"),
    pytest.param("raw_uint16", ["--spacing", "2"], ["Hounsfield"], id="ct-not-hu-uint16-auto"),
    pytest.param("raw_uint16", ["--spacing", "2", "--modality", "ct"], ["Hounsfield"], id="ct-not-hu-uint16-ct"),
    pytest.param("air_bone_blob", ["--spacing", "2", "--modality", "ct"], ["no head found"], id="no-head-ct"),
    pytest.param("air_bone_blob", ["--spacing", "2"], ["no head found"], id="no-head-ct-auto"),
    pytest.param("air_soft_blob", ["--spacing", "2"], ["no bone"], id="no-bone-ct-auto"),
    pytest.param("zero_blob", ["--spacing", "2"], ["no head found"], id="no-head-auto"),
    pytest.param("zero_blob", ["--spacing", "2", "--modality", "t1"], ["no head found"], id="no-head-t1"),
    pytest.param("zero_blob", ["--spacing", "2", "--modality", "ct"], ["Hounsfield"], id="mri-as-ct"),
]


@pytest.mark.parametrize("name, extra, needles", HEAD_ERRORS)
def test_bad_input_is_one_line_error(cli, user_error, nothing_written, bad, tmp_path, name, extra, needles):
    out = tmp_path / "out"
    result = cli("head", "build", bad[name], "--out", out, *extra)
    user_error(result, *needles)
    nothing_written(out)


@pytest.mark.parametrize("extra, needles", [
    pytest.param(["--modality", "pet"], ["unknown modality", "'pet'", "auto, ct, t1"], id="bad-modality"),
    pytest.param(["--spacing", "0"], ["spacing 0.0 mm is out of range"], id="spacing-zero"),
    pytest.param(["--spacing", "0.05"], ["out of range"], id="spacing-too-fine"),
    pytest.param(["--spacing", "10"], ["spacing 10.0 mm is out of range"], id="spacing-too-coarse"),
    pytest.param(["--spacing", "-1"], ["out of range"], id="spacing-negative"),
])
def test_bad_option_is_one_line_error(cli, user_error, nothing_written, phantom_ct_file, tmp_path, extra, needles):
    out = tmp_path / "out"
    result = cli("head", "build", phantom_ct_file, "--out", out, *extra)
    user_error(result, *needles)
    nothing_written(out)


def test_bad_input_leaves_an_existing_out_dir_untouched(cli, user_error, bad, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    user_error(cli("head", "build", bad["truncated"], "--out", out), "truncated")
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


def test_missing_out_option_is_a_usage_error(cli, phantom_ct_file):
    result = cli("head", "build", phantom_ct_file)
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert "--out" in result.stderr and "Traceback" not in result.output


# ------------------------------------------------------------------------------------------- output paths


def test_out_is_an_existing_file(cli, user_error, phantom_ct_file, tmp_path):
    out = tmp_path / "a_file"
    out.write_text("not a folder")
    user_error(cli("head", "build", phantom_ct_file, "--out", out, "--spacing", 4), "a_file")


def test_unwritable_png(cli, user_error, nothing_written, phantom_ct_file, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    out = tmp_path / "out"
    user_error(cli("head", "build", phantom_ct_file, "--out", out, "--spacing", 4, "--png", blocker / "x.png"),
               "x.png")
    nothing_written(out)
