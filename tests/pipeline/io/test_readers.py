"""read_image: every format, RAS affines, world round trips and every bad-input case."""

from __future__ import annotations

import gzip

import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk

from tests.helpers.io_synth import (
    gaussian_blob,
    make_affine,
    to_sitk,
    world_centroid,
    write_dicom_series,
    write_image,
    write_sitk,
)
from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.io import Volume, read_image, resample_isotropic, to_ras, validate_volume

SHAPE = (12, 14, 10)


def _ramp(shape=SHAPE) -> np.ndarray:
    return np.arange(np.prod(shape), dtype=np.float32).reshape(shape) - 500.0


# ---------------------------------------------------------------- formats


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
def test_nifti_reads_data_affine(tmp_path, suffix):
    affine = make_affine(kind="oblique")
    path = write_image(tmp_path / f"x{suffix}", _ramp(), affine, suffix.lstrip("."))
    vol = read_image(path)
    assert isinstance(vol, Volume) and vol.data.dtype == np.float32
    np.testing.assert_array_equal(vol.data, _ramp())
    np.testing.assert_allclose(vol.affine, affine, atol=1e-5)
    np.testing.assert_allclose(vol.spacing_mm, (1.2, 0.9, 2.0), atol=1e-5)
    assert vol.modality is None and vol.source == str(path)


def test_nifti_applies_scl_slope_intercept(tmp_path):
    raw = np.arange(np.prod(SHAPE), dtype=np.int16).reshape(SHAPE)
    img = nib.Nifti1Image(raw, np.eye(4))
    img.header.set_slope_inter(2.0, -1024.0)
    nib.save(img, str(tmp_path / "s.nii.gz"))
    vol = read_image(tmp_path / "s.nii.gz")
    np.testing.assert_allclose(vol.data, raw * 2.0 - 1024.0)


def test_nifti_trailing_singleton_4th_axis_is_squeezed(tmp_path):
    nib.save(nib.Nifti1Image(_ramp()[..., None], np.eye(4)), str(tmp_path / "t.nii"))
    vol = read_image(tmp_path / "t.nii")
    assert vol.shape == SHAPE
    np.testing.assert_array_equal(vol.data, _ramp())


@pytest.mark.parametrize("suffix", [".nrrd", ".mha", ".mhd"])
@pytest.mark.parametrize("kind", ["lps", "oblique"])
def test_sitk_formats_match_itk_physical_points(tmp_path, suffix, kind):
    affine = make_affine(kind=kind)
    path = write_sitk(tmp_path / f"x{suffix}", _ramp(), affine)
    vol = read_image(path)
    np.testing.assert_array_equal(vol.data, _ramp())
    np.testing.assert_allclose(vol.affine, affine, atol=1e-5)
    img = sitk.ReadImage(str(path))  # independent check: ITK's own index -> LPS point, flipped to RAS
    for ijk in [(0, 0, 0), (11, 0, 3), (5, 13, 9)]:
        lps = np.asarray(img.TransformIndexToPhysicalPoint(ijk))
        np.testing.assert_allclose(vol.voxel_to_world(ijk), lps * [-1, -1, 1], atol=1e-5)
        assert vol.data[ijk] == sitk.GetArrayViewFromImage(img)[ijk[::-1]]


def test_handwritten_nrrd_lps_header(tmp_path):
    raw = np.arange(8 * 9 * 10, dtype="<i2")  # x fastest
    header = ("NRRD0004\ntype: short\ndimension: 3\nspace: left-posterior-superior\nsizes: 8 9 10\n"
              "space directions: (1.5,0,0) (0,2,0) (0,0,2.5)\nkinds: domain domain domain\nendian: little\n"
              "encoding: raw\nspace origin: (10,20,30)\n\n")
    (tmp_path / "h.nrrd").write_bytes(header.encode() + raw.tobytes())
    vol = read_image(tmp_path / "h.nrrd")
    expected = np.eye(4)
    expected[:3, :3] = np.diag([-1.5, -2.0, 2.5])
    expected[:3, 3] = [-10.0, -20.0, 30.0]
    np.testing.assert_allclose(vol.affine, expected)
    np.testing.assert_array_equal(vol.data, raw.reshape(10, 9, 8).transpose(2, 1, 0))


def test_mha_modality_tag(tmp_path):
    vol = read_image(write_sitk(tmp_path / "m.mha", _ramp(), np.eye(4), modality="MET_MOD_CT"))
    assert vol.modality in ("ct", None)  # MetaIO keeps it only in some ITK versions; never a wrong value


def test_dicom_series_hu_modality_geometry(tmp_path):
    affine = make_affine(spacing=(0.7, 0.8, 1.5), kind="lps", origin=(10.0, -20.0, 30.0))
    hu = np.round(_ramp() * 2.0).astype(np.int16)  # -1000 .. ~2360 HU
    directory = write_dicom_series(tmp_path / "dcm", hu, affine)
    vol = read_image(directory)
    assert vol.modality == "ct"
    np.testing.assert_array_equal(vol.data, hu.astype(np.float32))
    np.testing.assert_allclose(vol.affine, affine, atol=1e-4)
    # the slices carry RescaleIntercept -1024 / RescaleSlope 1 (stored pixel = HU + 1024), as CT scanners write them
    first = min(directory.iterdir())
    assert sitk.ReadImage(str(first)).GetMetaData("0028|1052").strip() == "-1024"
    raw = np.frombuffer(first.read_bytes()[-hu.shape[0] * hu.shape[1] * 2:], "<i2").reshape(hu.shape[1], hu.shape[0])
    np.testing.assert_array_equal(raw.T, hu[:, :, 0] + 1024)  # pixel data (rows = y) really is HU + 1024


def test_dicom_dir_picks_largest_series(tmp_path):
    affine = make_affine(kind="lps")
    write_dicom_series(tmp_path / "dcm", _ramp(), affine)
    small = sitk.GetImageFromArray(np.zeros((12, 12), np.int16))
    small.SetMetaData("0020|000e", "1.2.3.4.5.999")
    small.SetMetaData("0008|0060", "MR")
    sitk.WriteImage(small, str(tmp_path / "dcm" / "other.dcm"))
    vol = read_image(tmp_path / "dcm")
    assert vol.shape == SHAPE and vol.modality == "ct"


@pytest.mark.parametrize("damage", ["remove", "truncate"])
def test_dicom_series_with_missing_or_broken_slice(tmp_path, damage):
    directory = write_dicom_series(tmp_path / "dcm", _ramp(), make_affine(kind="lps"))
    victim = sorted(directory.iterdir())[4]
    if damage == "remove":
        victim.unlink()
    else:  # GDCM skips an unreadable slice, which leaves a gap
        victim.write_bytes(victim.read_bytes()[:-100])
    _raises(directory, "missing slices")


def test_nifti_and_mha_of_same_volume_agree(tmp_path):
    affine = make_affine(kind="oblique")
    a = read_image(write_image(tmp_path / "v.nii.gz", _ramp(), affine, "nii.gz"))
    b = read_image(write_image(tmp_path / "v.mha", _ramp(), affine, "mha"))
    np.testing.assert_allclose(a.affine, b.affine, atol=1e-6)
    np.testing.assert_array_equal(a.data, b.data)
    ra, rb = to_ras(a), to_ras(b)
    np.testing.assert_allclose(ra.affine, rb.affine, atol=1e-6)
    np.testing.assert_array_equal(ra.data, rb.data)


@pytest.mark.parametrize("fmt", ["nii.gz", "nrrd", "mha", "dicom"])
@pytest.mark.parametrize("kind", ["lps", "oblique"])
def test_world_point_survives_read_to_ras_resample(tmp_path, fmt, kind):
    shape = (20, 24, 16)
    affine = make_affine(kind=kind)
    target = affine[:3, :3] @ [9.3, 13.7, 7.4] + affine[:3, 3]
    blob = gaussian_blob(shape, affine, target, sigma_mm=3.0, amplitude=1500.0, background=-1000.0)
    name = "img" if fmt == "dicom" else f"img.{fmt}"
    vol = read_image(write_image(tmp_path / name, blob, affine, fmt))
    np.testing.assert_allclose(world_centroid(vol.data, vol.affine), target, atol=0.25)
    ras = to_ras(vol)
    assert nib.aff2axcodes(ras.affine) == ("R", "A", "S")
    np.testing.assert_allclose(world_centroid(ras.data, ras.affine), target, atol=0.25)
    iso = resample_isotropic(ras, 1.0)
    np.testing.assert_allclose(iso.spacing_mm, (1.0, 1.0, 1.0), atol=1e-9)
    np.testing.assert_allclose(world_centroid(iso.data, iso.affine), target, atol=0.3)
    peak = iso.voxel_to_world(np.unravel_index(np.argmax(iso.data), iso.shape))
    assert np.linalg.norm(peak - target) < 1.0


# ---------------------------------------------------------------- bad input


def _raises(path, *fragments):
    with pytest.raises(TfusInputError) as info:
        read_image(path)
    msg = str(info.value)
    assert "\n" not in msg
    for fragment in fragments:
        assert fragment in msg, msg
    return msg


def test_missing_file(tmp_path):
    _raises(tmp_path / "nope.nii.gz", "not found", "nope.nii.gz")


def test_unknown_extension_lists_supported(tmp_path):
    (tmp_path / "scan.png").write_bytes(b"\x89PNG")
    _raises(tmp_path / "scan.png", "unsupported", ".nii.gz", ".nrrd", ".mha", ".inv3", "DICOM")


def test_single_dicom_file_asks_for_directory(tmp_path):
    (tmp_path / "a.dcm").write_bytes(b"x")
    _raises(tmp_path / "a.dcm", "directory")


def test_empty_directory_is_not_a_dicom_series(tmp_path):
    _raises(tmp_path, "no DICOM series")


@pytest.mark.parametrize("suffix", [".nii.gz", ".nii"])
def test_truncated_nifti(tmp_path, suffix):
    rng = np.random.default_rng(0)
    path = write_image(tmp_path / f"t{suffix}", rng.normal(size=(16, 16, 16)), np.eye(4), suffix.lstrip("."))
    blob = path.read_bytes()
    path.write_bytes(blob[: len(blob) // 2])
    _raises(path, "corrupt or truncated", "t" + suffix)


def test_garbage_nifti(tmp_path):
    (tmp_path / "g.nii.gz").write_bytes(gzip.compress(b"not a nifti header" * 3))
    _raises(tmp_path / "g.nii.gz", "corrupt or truncated")
    (tmp_path / "r.nii.gz").write_bytes(b"\x00\x01garbage")
    _raises(tmp_path / "r.nii.gz", "corrupt or truncated")


def test_corrupt_and_truncated_nrrd_mha(tmp_path):
    (tmp_path / "bad.nrrd").write_bytes(b"NRRD0004\nthis is: not a header\n\n\x00\x01")
    _raises(tmp_path / "bad.nrrd", "NRRD", "corrupt or truncated")
    path = write_sitk(tmp_path / "cut.mha", _ramp(), np.eye(4))
    blob = path.read_bytes()
    path.write_bytes(blob[: len(blob) - 200])
    _raises(path, "MetaImage", "corrupt or truncated")
    path = write_sitk(tmp_path / "cut.nrrd", _ramp(), np.eye(4))
    blob = path.read_bytes()
    path.write_bytes(blob[: len(blob) - 200])
    _raises(path, "NRRD", "corrupt or truncated")


def test_mhd_without_raw(tmp_path):
    path = write_sitk(tmp_path / "x.mhd", _ramp(), np.eye(4))
    for f in tmp_path.glob("x.*raw"):
        f.unlink()
    _raises(path, "corrupt or truncated", "data file")


def test_2d_and_thin_images(tmp_path):
    nib.save(nib.Nifti1Image(np.zeros((16, 16), np.float32), np.eye(4)), str(tmp_path / "flat.nii"))
    _raises(tmp_path / "flat.nii", "2D", "3D volume")
    nib.save(nib.Nifti1Image(np.zeros((16, 16, 1), np.float32), np.eye(4)), str(tmp_path / "one.nii"))
    _raises(tmp_path / "one.nii", "2D/too thin", "(16, 16, 1)")
    nib.save(nib.Nifti1Image(np.zeros((16, 16, 4), np.float32), np.eye(4)), str(tmp_path / "four.nii"))
    _raises(tmp_path / "four.nii", "too thin")
    sitk.WriteImage(sitk.GetImageFromArray(np.zeros((16, 16), np.int16)), str(tmp_path / "flat.mha"))
    _raises(tmp_path / "flat.mha", "2D")


def test_4d_images(tmp_path):
    nib.save(nib.Nifti1Image(np.zeros((10, 10, 10, 3), np.float32), np.eye(4)), str(tmp_path / "t.nii.gz"))
    _raises(tmp_path / "t.nii.gz", "4D", "one 3D volume")
    img = sitk.GetImageFromArray(np.zeros((2, 10, 10, 10), np.int16), isVector=False)
    sitk.WriteImage(img, str(tmp_path / "t.mha"))
    _raises(tmp_path / "t.mha", "4D", "one 3D volume")
    single = sitk.GetImageFromArray(np.ones((1, 10, 11, 12), np.int16), isVector=False)
    sitk.WriteImage(single, str(tmp_path / "s.nrrd"))
    assert read_image(tmp_path / "s.nrrd").shape == (12, 11, 10)


def test_colour_image_refused(tmp_path):
    sitk.WriteImage(sitk.GetImageFromArray(np.zeros((10, 10, 10, 3), np.uint8), isVector=True),
                    str(tmp_path / "rgb.mha"))
    _raises(tmp_path / "rgb.mha", "values per voxel")


@pytest.mark.parametrize("bad, word", [(np.nan, "NaN"), (np.inf, "inf"), (-np.inf, "inf")])
def test_non_finite_voxels(tmp_path, bad, word):
    data = _ramp()
    data[3, 4, 5] = bad
    write_image(tmp_path / "n.nii.gz", data, np.eye(4), "nii.gz")
    msg = _raises(tmp_path / "n.nii.gz", word, "replace them")
    assert f"1 {word}" in msg


def test_singular_affine(tmp_path):
    affine = np.diag([1.0, 1.0, 1.0, 1.0])
    affine[:3, 2] = 0.0
    img = nib.Nifti1Image(_ramp(), None)  # no qform; the (singular) sform is what readers use
    img.set_sform(affine, code="scanner")
    nib.save(img, str(tmp_path / "s.nii"))
    _raises(tmp_path / "s.nii", "singular")
    with pytest.raises(TfusInputError, match="singular"):
        validate_volume(Volume(_ramp(), np.diag([1.0, 1.0, 0.0, 1.0]), "mem"))
    parallel = np.eye(4)
    parallel[:3, 1] = [1.0, 0.0, 0.0]
    with pytest.raises(TfusInputError, match="singular"):
        validate_volume(Volume(_ramp(), parallel, "mem"))


def test_validate_volume_accepts_good_and_returns_it():
    vol = Volume(_ramp(), make_affine(), "mem", "ct")
    assert validate_volume(vol) is vol
    with pytest.raises(TfusInputError, match="4D"):
        validate_volume(Volume(np.zeros((8, 8, 8, 2)), np.eye(4), "mem"))


def test_dicom_sitk_helper_roundtrip_geometry():
    affine = make_affine(kind="oblique")
    img = to_sitk(_ramp(), affine)
    from tfus.pipeline.io.readers import sitk_to_volume

    vol = sitk_to_volume(img, "mem")
    np.testing.assert_allclose(vol.affine, affine, atol=1e-9)
    np.testing.assert_array_equal(vol.data, _ramp())
