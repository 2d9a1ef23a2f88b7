"""``tfus info``: the summary table and JSON of a store, and one-line errors for anything that is not one."""

from __future__ import annotations

import json

import numpy as np
import pytest
import zarr

from tfus.pipeline.store import SampleRecord, StoreSpec, create_store, mark_samples, write_sample_fields

GRID = (4, 5, 6)


@pytest.fixture
def store(tmp_path):
    path = tmp_path / "ds.zarr"
    spec = StoreSpec(grid_shape=GRID, spacing_mm=1.5, frequency_hz=5e5, engines=("kwave", "fem"),
                     transducer={"name": "bowl", "radius_of_curvature_mm": 20.0, "aperture_mm": 16.0})
    group = create_store(path, spec, head_names=["h0", "h1", "h2"], n_samples=6,
                         splits={"train": [0, 1], "val": [], "test": [2]}, creation_config={})
    for i in range(4):
        write_sample_fields(path, i, np.full(GRID, 1.0 + i, np.float32))
    mark_samples(group, [SampleRecord(i, i % 3, (0, 0, 0), (0, 0, 1), (0, 0, 1), "kwave", 1.0, 1.0,
                                      status="failed" if i == 3 else "complete") for i in range(4)])
    return path


def test_json_summary(cli, store, stdout_json):
    result = cli("info", store, "--json")
    assert result.exit_code == 0, result.output + result.stderr
    info = stdout_json(result)
    assert info["n_samples"] == 6 and info["n_complete"] == 3 and info["n_failed"] == 1 and info["n_pending"] == 2
    assert info["heads"] == 3 and info["grid_shape"] == list(GRID) and info["spacing_mm"] == 1.5
    assert info["engines"] == ["kwave", "fem"]
    assert info["splits"]["train"] == {"heads": 2, "samples": 2} and info["splits"]["test"]["samples"] == 1
    assert info["size_bytes"] == sum(p.stat().st_size for p in store.rglob("*") if p.is_file())


def test_table(cli, store):
    result = cli("info", store)
    assert result.exit_code == 0, result.output + result.stderr
    out = result.stdout
    for needle in ("heads", "samples", "complete", "failed", "4 x 5 x 6", "1.5 mm", "kwave (3 complete)",
                   "fem (0 complete)", "split train", "2 heads, 2 complete samples", "1 heads, 1 complete samples",
                   "size on disk", "R 20.00 mm, aperture 16.00 mm"):
        assert needle in out, (needle, out)


def test_missing_path(cli, tmp_path, user_error):
    user_error(cli("info", tmp_path / "nope.zarr"), "no store at")


def test_not_a_tfus_store(cli, tmp_path, user_error):
    zarr.open_group(tmp_path / "other.zarr", mode="w").attrs["x"] = 1
    user_error(cli("info", tmp_path / "other.zarr", "--json"), "not a tfus store")
    (tmp_path / "plain").mkdir()
    user_error(cli("info", tmp_path / "plain"), "not a Zarr store")


def test_other_schema_version(cli, store, user_error):
    meta = json.loads((store / "zarr.json").read_text())
    meta["attributes"]["schema_version"] = "99"
    (store / "zarr.json").write_text(json.dumps(meta))
    user_error(cli("info", store), "schema_version '99'", "version '1'")
