"""TFUScapes import: poses from tr_coords, foci from pmap, heads per subject, splits, and bad input refused before
anything is written."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from tests.helpers.tfuscapes_synth import (
    ROUNDING_VOXELS,
    SPACING_MM,
    cap_points,
    focus_field,
    make_release,
    phantom_ct,
    write_npz,
)
from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.head.ct import segment_ct
from tfus.pipeline.store import STATUS_CODES, open_store, store_info, validate_store
from tfus.pipeline.store.tfuscapes import grid_affine, import_tfuscapes, threshold_labels
from tfus.pipeline.store.tfuscapes_scan import assign_splits, read_split_entries, scan_tfuscapes, subject_of


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    root = tmp_path_factory.mktemp("tfuscapes")
    return root, make_release(root)


@pytest.fixture(scope="module")
def imported(release, tmp_path_factory):
    root, truth = release
    store = tmp_path_factory.mktemp("out") / "t.zarr"
    summary = import_tfuscapes(root, store, SPACING_MM)
    return store, summary, truth


def test_affine_puts_the_grid_centre_at_the_origin():
    a = grid_affine((5, 6, 7), 0.5)
    centre = a[:3, :3] @ np.array([2.0, 2.5, 3.0]) + a[:3, 3]
    np.testing.assert_allclose(centre, 0.0)
    np.testing.assert_allclose(np.diag(a)[:3], 0.5)


def test_poses_foci_and_peaks_match_the_generating_geometry(imported):
    store, _, truth = imported
    g = open_store(store)
    tol = ROUNDING_VOXELS * SPACING_MM  # tr_coords are rounded voxel indices
    for i, t in enumerate(truth):
        assert np.linalg.norm(g["apex"][i] - t["apex"]) <= tol, (i, g["apex"][i], t["apex"])
        assert np.linalg.norm(g["target"][i] - t["centre"]) <= tol, (i, g["target"][i], t["centre"])
        np.testing.assert_allclose(g["focus"][i], t["focus"])  # the argmax voxel, exactly
        assert g["peak_pressure_pa"][i] == pytest.approx(t["peak_pa"], rel=1e-6)
        assert np.isnan(g["sim_seconds"][i])
    transducer = dict(g.attrs["transducer"])
    assert transducer["radius_of_curvature_mm"] == pytest.approx(truth[0]["radius_mm"], abs=tol)
    assert transducer["aperture_mm"] == pytest.approx(truth[0]["aperture_mm"], abs=2 * tol)
    assert transducer["frequency_hz"] == 5e5 and transducer["name"] == "tfuscapes-fitted"
    per_sample = dict(g.attrs["import_report"])["fit_per_sample"]
    for i, t in enumerate(truth):
        assert per_sample["radius_of_curvature_mm"][i] == pytest.approx(t["radius_mm"], abs=tol)
        assert per_sample["aperture_mm"][i] == pytest.approx(t["aperture_mm"], abs=2 * tol)


def test_store_layout_heads_and_fields(imported, release):
    store, summary, truth = imported
    root, _ = release
    g = open_store(store)
    assert list(g.attrs["head_names"]) == ["A00000001", "A00000002"]
    assert g["head_index"][:].tolist() == [0, 0, 1, 1]
    assert g["status"][:].tolist() == [STATUS_CODES["complete"]] * 4
    assert g["engine"][:].tolist() == [0] * 4 and "phase" not in g
    ct = phantom_ct()
    np.testing.assert_array_equal(g["hu"][1], ct + 7.0)
    np.testing.assert_array_equal(g["labels"][0], segment_ct(ct, SPACING_MM))  # segment_ct works on the phantom
    assert dict(g.attrs["import_report"])["label_methods"] == {"A00000001": "segment_ct", "A00000002": "segment_ct"}
    np.testing.assert_array_equal(g["head_affine"][0], grid_affine(ct.shape, SPACING_MM))
    with np.load(root / "data" / "A00000002" / "exp_1.npz") as data:
        np.testing.assert_array_equal(g["pressure"][3], data["pmap"])
    assert g.attrs["creation_config"]["samples"] == [t["sample"] for t in truth]
    assert validate_store(store) == []
    info = store_info(store)
    assert (info["n_samples"], info["n_complete"], info["heads"]) == (4, 4, 2)
    assert summary["n_samples"] == 4 and summary["splits"] == {"train": 2, "val": 0, "test": 0}
    assert "consolidated_metadata" in json.loads((store / "zarr.json").read_text())
    assert sorted(p.name for p in store.parent.iterdir()) == ["t.zarr"]  # no temporary folders left


def test_split_folder_is_found_and_applied(release, tmp_path):
    root, _ = release
    splits = tmp_path / "splits"
    splits.mkdir()
    (splits / "train.txt").write_text("A00000001/exp_0.npz\nA00000001/exp_1.npz\nA09999999/exp_0.npz\n")
    (splits / "test.txt").write_text("# held out\nA00000002\n")
    summary = import_tfuscapes(root, tmp_path / "s.zarr", SPACING_MM, splits=[splits])
    g = open_store(tmp_path / "s.zarr")
    assert dict(g.attrs["splits"]) == {"train": [0], "val": [], "test": [1]}
    assert summary["split_entries_not_found"] == 1  # a sample of a subject that was not downloaded


def test_subject_split_across_splits_is_refused(release, tmp_path):
    root, _ = release
    path = tmp_path / "splits.json"
    path.write_text(json.dumps({"train": ["A00000001/exp_0"], "val": ["A00000001/exp_1"]}))
    with pytest.raises(TfusInputError, match="'A00000001' is listed in both split 'train' and 'val'"):
        import_tfuscapes(root, tmp_path / "s.zarr", SPACING_MM, splits=[path])
    assert not (tmp_path / "s.zarr").exists()


def test_flat_layout_subjects_and_distinct_cts(tmp_path):
    ct = phantom_ct()
    pmap = focus_field(ct.shape, (13, 16, 14))
    tr = cap_points((13, 16, 14), (1, 0, 0), 10.0, 12.0)
    write_npz(tmp_path / "in" / "subj01_0.npz", ct=ct, pmap=pmap, tr_coords=tr)
    write_npz(tmp_path / "in" / "subj01_1.npz", ct=ct + 1.0, pmap=pmap, tr_coords=tr)  # another CT, same subject
    write_npz(tmp_path / "in" / "subj02_0.npz", ct=ct, pmap=np.zeros_like(pmap), tr_coords=tr)  # a failed sim
    assert subject_of(tmp_path / "in" / "subj01_1.npz", tmp_path / "in") == "subj01"
    summary = import_tfuscapes(tmp_path / "in", tmp_path / "s.zarr", SPACING_MM, labels="threshold")
    g = open_store(tmp_path / "s.zarr")
    assert list(g.attrs["head_names"]) == ["subj01#0", "subj01#1", "subj02"]
    assert g["status"][:].tolist() == [1, 1, 2] and summary["n_failed"] == 1
    np.testing.assert_array_equal(g["labels"][2], threshold_labels(ct))
    assert validate_store(tmp_path / "s.zarr") == []  # failed samples are not checked


def test_exp_files_directly_in_a_subject_folder(tmp_path):
    ct = phantom_ct()
    folder = tmp_path / "A00000042"
    write_npz(folder / "exp_0.npz", ct=ct, pmap=focus_field(ct.shape, (13, 16, 14)),
              tr_coords=np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]]))
    assert scan_tfuscapes(folder)[0].sample == "A00000042/exp_0"


def test_threshold_labels_classes():
    hu = np.array([-1000.0, -200.0, 299.0, 300.0, 999.0, 1000.0, 2000.0]).reshape(7, 1, 1)
    assert threshold_labels(hu).ravel().tolist() == [0, 1, 1, 3, 3, 2, 2]


@pytest.mark.parametrize(("content", "name", "needle"), [
    ({"train": ["a"], "holdout": ["b"]}, "s.json", "unknown split names ['holdout']"),
    (["a", "b"], "s.json", "must map split names"),
    ("a\nb\n", "mine.txt", "cannot tell which split"),
])
def test_bad_split_files(tmp_path, content, name, needle):
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    with pytest.raises(TfusInputError, match=re.escape(needle)):
        read_split_entries([path])


@pytest.mark.parametrize(("make", "needle"), [
    (lambda d, ct, pm, tr: write_npz(d / "x_0.npz", ct=ct, tr_coords=tr), "no key 'pmap'"),
    (lambda d, ct, pm, tr: write_npz(d / "x_0.npz", ct=ct, pmap=pm[:-1], tr_coords=tr), "pmap has shape"),
    (lambda d, ct, pm, tr: write_npz(d / "x_0.npz", ct=ct[0], pmap=pm[0], tr_coords=tr), "must be a 3D volume"),
    (lambda d, ct, pm, tr: write_npz(d / "x_0.npz", ct=ct, pmap=pm, tr_coords=tr[:, :2]), "N x 3"),
    (lambda d, ct, pm, tr: (d / "x_0.npz").write_bytes(b"not a zip"), "not a readable .npz"),
    (lambda d, ct, pm, tr: None, "no .npz files"),
])
def test_bad_input_is_refused_before_writing(tmp_path, make, needle):
    folder = tmp_path / "in"
    folder.mkdir()
    ct = np.zeros((8, 8, 8), np.float32)
    tr = np.argwhere(np.ones((2, 2, 2)))
    make(folder, ct, np.ones_like(ct), tr)
    with pytest.raises(TfusInputError, match=re.escape(needle)):
        import_tfuscapes(folder, tmp_path / "s.zarr", 1.0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


def test_grids_must_agree(tmp_path):
    tr = np.argwhere(np.ones((2, 2, 2)))
    write_npz(tmp_path / "in" / "a_0.npz", ct=np.zeros((8, 8, 8)), pmap=np.ones((8, 8, 8)), tr_coords=tr)
    write_npz(tmp_path / "in" / "b_0.npz", ct=np.zeros((8, 8, 9)), pmap=np.ones((8, 8, 9)), tr_coords=tr)
    with pytest.raises(TfusInputError, match="share one grid"):
        import_tfuscapes(tmp_path / "in", tmp_path / "s.zarr", 1.0)


def test_failure_during_the_import_leaves_an_existing_store_untouched(release, tmp_path):
    """A damaged CT is only found while importing (the scan reads headers): the old store survives --overwrite and no
    temporary folder is left behind."""
    root, _ = release
    store = tmp_path / "s.zarr"
    import_tfuscapes(root, store, SPACING_MM)
    before = {p.relative_to(store): p.read_bytes() for p in store.rglob("*") if p.is_file()}
    bad = tmp_path / "bad"
    ct = phantom_ct()
    ct[3, 3, 3] = np.nan
    write_npz(bad / "data" / "A1" / "exp_0.npz", ct=ct, pmap=focus_field(ct.shape, (13, 16, 14)),
              tr_coords=cap_points((13, 16, 14), (1, 0, 0), 10.0, 12.0))
    with pytest.raises(TfusInputError, match="ct has non-finite values"):
        import_tfuscapes(bad, store, SPACING_MM, overwrite=True)
    assert {p.relative_to(store): p.read_bytes() for p in store.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad", "s.zarr"]


def test_split_entries_of_missing_subjects_never_match_by_file_stem(tmp_path):
    """Only A1 was downloaded: ``A2/exp_0`` must not match A1's ``exp_0`` just because the stem is the same."""
    ct = phantom_ct()
    tr = cap_points((13, 16, 14), (1, 0, 0), 10.0, 12.0)
    write_npz(tmp_path / "in" / "A1" / "exp_0.npz", ct=ct, pmap=focus_field(ct.shape, (13, 16, 14)), tr_coords=tr)
    files = scan_tfuscapes(tmp_path / "in")
    splits, unmatched = assign_splits({"train": ["data/A1/exp_0.npz"], "test": ["A2/exp_0"]}, files)
    assert splits == {"train": ["A1"], "val": [], "test": []} and unmatched == 1
    splits, _ = assign_splits({"val": ["A1"]}, files)
    assert splits["val"] == ["A1"]
