"""``tfus data import-tfuscapes``: a tiny synthetic release in the public layout imports into a store that
``tfus info`` and xarray read; bad input gives one line, exit 2, and leaves the target untouched."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from tests.helpers.tfuscapes_synth import ROUNDING_VOXELS, SPACING_MM, make_release, write_npz


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    root = tmp_path_factory.mktemp("tfuscapes")
    truth = make_release(root, subjects=("A00000001", "A00000002", "A00000003"), per_subject=1)
    (root / "splits").mkdir()
    (root / "splits" / "train.txt").write_text("A00000001/exp_0.npz\nA00000002/exp_0.npz\n")
    (root / "splits" / "test.txt").write_text("A00000003/exp_0.npz\n")
    return root, truth


def test_import_json_then_info_and_xarray(cli, release, tmp_path, stdout_json):
    root, truth = release
    store = tmp_path / "t.zarr"
    result = cli("data", "import-tfuscapes", root, "--store", store, "--spacing", SPACING_MM, "--json")
    assert result.exit_code == 0, result.output + result.stderr
    summary = stdout_json(result)
    assert summary["n_samples"] == 3 and summary["n_complete"] == 3 and summary["heads"] == 3
    assert summary["splits"] == {"train": 2, "val": 0, "test": 1}  # found root/splits by itself
    assert summary["transducer"]["radius_of_curvature_mm"] == pytest.approx(truth[0]["radius_mm"],
                                                                           abs=ROUNDING_VOXELS * SPACING_MM)
    info = stdout_json(cli("info", store, "--json"))
    assert info["n_samples"] == 3 and info["n_complete"] == 3 and info["spacing_mm"] == SPACING_MM
    import xarray as xr

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = xr.open_zarr(store)
    assert ds["pressure"].dims == ("sample", "x", "y", "z") and ds.sizes["sample"] == 3
    np.testing.assert_allclose(ds["focus"].values, [t["focus"] for t in truth])


def test_import_table_output_and_overwrite(cli, release, tmp_path):
    root, _ = release
    store = tmp_path / "t.zarr"
    first = cli("data", "import-tfuscapes", root, "--store", store, "--spacing", 4.0)
    assert first.exit_code == 0, first.output + first.stderr
    message = " ".join(first.stderr.split())  # rich wraps lines at the terminal width
    assert "wrote" in message and "3 samples (3 complete, 0 failed) over 3 heads" in message and first.stdout == ""
    again = cli("data", "import-tfuscapes", root, "--store", store, "--spacing", SPACING_MM, "--overwrite")
    assert again.exit_code == 0, again.output + again.stderr
    from tfus.pipeline.store import store_info

    assert store_info(store)["spacing_mm"] == SPACING_MM
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.zarr"]


def test_existing_store_without_overwrite_is_untouched(cli, release, tmp_path, user_error):
    root, _ = release
    store = tmp_path / "t.zarr"
    assert cli("data", "import-tfuscapes", root, "--store", store, "--spacing", 4.0).exit_code == 0
    before = {p: p.stat().st_mtime_ns for p in store.rglob("*")}
    user_error(cli("data", "import-tfuscapes", root, "--store", store, "--spacing", SPACING_MM),
               "already exists", "--overwrite")
    assert {p: p.stat().st_mtime_ns for p in store.rglob("*")} == before


def test_empty_folder(cli, tmp_path, user_error, nothing_written):
    (tmp_path / "empty").mkdir()
    user_error(cli("data", "import-tfuscapes", tmp_path / "empty", "--store", tmp_path / "s.zarr", "--spacing", 1),
               "no .npz files")
    nothing_written(tmp_path / "s.zarr")


def test_missing_key_is_named(cli, tmp_path, user_error, nothing_written):
    ct = np.zeros((8, 8, 8), np.float32)
    write_npz(tmp_path / "in" / "A1" / "exp_0.npz", ct=ct, pmap=ct + 1)
    user_error(cli("data", "import-tfuscapes", tmp_path / "in", "--store", tmp_path / "s.zarr", "--spacing", 1),
               "no key 'tr_coords'", "exp_0.npz")
    nothing_written(tmp_path / "s.zarr")


def test_inconsistent_shapes(cli, tmp_path, user_error, nothing_written):
    ct = np.zeros((8, 8, 8), np.float32)
    write_npz(tmp_path / "in" / "A1" / "exp_0.npz", ct=ct, pmap=np.ones((8, 8, 7)), tr_coords=np.eye(4, 3))
    user_error(cli("data", "import-tfuscapes", tmp_path / "in", "--store", tmp_path / "s.zarr", "--spacing", 1),
               "pmap has shape (8, 8, 7) but ct has (8, 8, 8)")
    nothing_written(tmp_path / "s.zarr")


@pytest.mark.parametrize(("args", "needle"), [
    (["--spacing", "0"], "--spacing must be a positive"),
    (["--spacing", "1", "--labels", "magic"], "--labels must be one of"),
    (["--spacing", "1", "--splits", "nowhere.txt"], "split file nowhere.txt does not exist"),
])
def test_bad_options(cli, release, tmp_path, user_error, nothing_written, args, needle):
    root, _ = release
    user_error(cli("data", "import-tfuscapes", root, "--store", tmp_path / "s.zarr", *args), needle)
    nothing_written(tmp_path / "s.zarr")


def test_missing_directory(cli, tmp_path, user_error):
    user_error(cli("data", "import-tfuscapes", tmp_path / "nope", "--store", tmp_path / "s.zarr", "--spacing", 1),
               "is not a folder")
