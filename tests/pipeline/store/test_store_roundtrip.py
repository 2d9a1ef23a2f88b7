"""Store round trip: create -> heads, worker field writes, client records -> read back, via zarr, xarray and
SampleStore; and what workers and the client may and may not write."""

from __future__ import annotations

import json
import pickle
import warnings

import numpy as np
import pytest
import xarray as xr
import zarr

from tests.helpers.store import GRID, field, record
from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.store import (
    SCHEMA_VERSION,
    SampleStore,
    complete_indices,
    finalize_store,
    mark_samples,
    open_store,
    sample_status,
    store_info,
    store_spec,
    write_head,
    write_sample_fields,
)


def _fill(path, group, n_done=3):
    for h in range(group["hu"].shape[0]):
        write_head(group, h, field(100 + h) * 1000.0, np.full(GRID, h + 1, np.uint8), np.diag([2.0, 2.0, 2.0, 1.0]))
    for i in range(n_done):
        write_sample_fields(path, i, field(i), phase=field(50 + i) - 1.5)
    mark_samples(group, [record(i, head=i % 2, engine=("kwave", "fem")[i % 2]) for i in range(n_done)])


def test_created_store_has_the_contract_attributes(make_store, spec):
    path, group = make_store(n_samples=4, n_heads=2)
    attrs = dict(open_store(path).attrs)
    assert attrs["tfus_schema"] == "tfus-store" and attrs["schema_version"] == SCHEMA_VERSION == "1"
    assert attrs["grid_shape"] == list(GRID) and attrs["spacing_mm"] == 2.0 and attrs["frequency_hz"] == 5e5
    assert attrs["engines"] == ["kwave", "fem"] and attrs["engine_codes"] == {"kwave": 0, "fem": 1}
    assert attrs["status_codes"] == {"pending": 0, "complete": 1, "failed": 2}
    assert attrs["head_names"] == ["head0", "head1"]
    assert attrs["splits"] == {"train": [0], "val": [], "test": [1]}
    assert attrs["creation_config"] == {"seed": 3, "note": "test"}
    assert attrs["transducer"]["radius_of_curvature_mm"] == 10.0
    assert attrs["n_snapshots"] == 0 and attrs["with_phase"] is True and attrs["hu_mapping"] == "itrusst"
    assert attrs["versions"]["zarr"] == zarr.__version__ and attrs["tfus_version"] and attrs["created"]
    assert store_spec(group) == spec
    # every sample starts pending, every field unwritten (NaN)
    assert sample_status(group).tolist() == [0, 0, 0, 0]
    assert np.isnan(group["pressure"][2]).all()
    # nothing but the store itself was left in the parent folder
    assert sorted(p.name for p in path.parent.iterdir()) == ["s.zarr"]


def test_round_trip_values(make_store):
    path, group = make_store(n_samples=4, n_heads=2)
    _fill(path, group, n_done=3)
    g = open_store(path)
    np.testing.assert_array_equal(g["pressure"][1], field(1))
    np.testing.assert_array_equal(g["phase"][2], field(52) - 1.5)
    np.testing.assert_array_equal(g["hu"][1], (field(101) * 1000.0).astype(np.float32))
    assert g["labels"][1].dtype == np.uint8 and (g["labels"][1] == 2).all()
    np.testing.assert_array_equal(g["head_affine"][0], np.diag([2.0, 2.0, 2.0, 1.0]))
    np.testing.assert_array_equal(g["apex"][2], [2.0, 0.0, 0.0])
    np.testing.assert_array_equal(g["focus"][1], [1.0, 0.5, 19.0])
    assert g["head_index"][:].tolist() == [0, 1, 0, -1]
    assert g["engine"][:].tolist() == [0, 1, 0, -1]
    assert g["sim_seconds"][1] == pytest.approx(1.5)
    assert g["peak_pressure_pa"][2] == pytest.approx(1e5 + 2)
    assert sample_status(g).tolist() == [1, 1, 1, 0]
    assert complete_indices(g).tolist() == [0, 1, 2]


def test_store_info_counts(make_store):
    path, group = make_store(n_samples=5, n_heads=2)
    _fill(path, group, n_done=3)
    mark_samples(group, [record(3, status="failed")])
    info = store_info(path)
    assert (info["n_samples"], info["n_complete"], info["n_failed"], info["n_pending"]) == (5, 3, 1, 1)
    assert info["heads"] == 2 and info["grid_shape"] == list(GRID) and info["spacing_mm"] == 2.0
    assert info["engines"] == ["kwave", "fem"] and info["complete_by_engine"] == {"kwave": 2, "fem": 1}
    # train = head 0 (samples 0, 2 complete), test = head 1 (sample 1)
    assert info["splits"] == {"train": {"heads": 1, "samples": 2}, "val": {"heads": 0, "samples": 0},
                              "test": {"heads": 1, "samples": 1}}
    on_disk = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    assert info["size_bytes"] == on_disk > 0
    json.dumps(info)  # plain JSON


@pytest.mark.parametrize("consolidated", [False, True])
def test_xarray_opens_the_store_with_dimension_names(make_store, consolidated):
    path, group = make_store(n_samples=4, n_heads=2)
    _fill(path, group, n_done=3)
    if consolidated:
        finalize_store(path)
        assert "consolidated_metadata" in json.loads((path / "zarr.json").read_text())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # xarray warns when it falls back from consolidated metadata
        ds = xr.open_zarr(path)
    assert ds["pressure"].dims == ("sample", "x", "y", "z") and ds["pressure"].shape == (4, *GRID)
    assert ds["phase"].dims == ("sample", "x", "y", "z")
    assert ds["hu"].dims == ("head", "x", "y", "z") and ds["labels"].dims == ("head", "x", "y", "z")
    assert ds["head_affine"].dims == ("head", "row", "col")
    assert ds["apex"].dims == ("sample", "xyz") and ds["status"].dims == ("sample",)
    assert "snapshots" not in ds  # n_snapshots = 0
    assert ds.sizes["sample"] == 4 and ds.sizes["head"] == 2
    np.testing.assert_array_equal(ds["pressure"].isel(sample=1).values, field(1))
    assert ds["status"].values.tolist() == [1, 1, 1, 0]  # pending stays 0, not masked to NaN
    assert ds["head_index"].values.tolist() == [0, 1, 0, -1]
    assert np.isnan(ds["pressure"].isel(sample=3).values).all()
    assert ds.attrs["tfus_schema"] == "tfus-store"
    if consolidated:
        xr.open_zarr(path, consolidated=True)  # really consolidated (raises otherwise)


def test_snapshots_array_and_no_phase(make_store, spec):
    from dataclasses import replace

    s = replace(spec, n_snapshots=3, with_phase=False)
    path, group = make_store(n_samples=2, spec_obj=s)
    assert "phase" not in group and group["snapshots"].shape == (2, 3, *GRID)
    assert tuple(group["snapshots"].metadata.dimension_names) == ("sample", "t", "x", "y", "z")
    assert group["snapshots"].chunks == (1, 3, *GRID)
    snaps = np.stack([field(i) for i in range(3)])
    write_sample_fields(path, 1, field(9), snapshots=snaps)
    np.testing.assert_array_equal(open_store(path)["snapshots"][1], snaps)
    times = np.array([1e-6, 2.5e-6, 4.000001e-6])  # float64: microsecond times survive exactly
    write_sample_fields(path, 1, field(9), snapshots=snaps, snapshot_times=times)
    assert tuple(group["snapshot_times"].metadata.dimension_names) == ("sample", "t")
    np.testing.assert_array_equal(open_store(path)["snapshot_times"][1], times)
    with pytest.raises(TfusInputError, match="no 'phase' array"):
        write_sample_fields(path, 0, field(0), phase=field(1))
    with pytest.raises(TfusInputError, match="snapshots has shape"):
        write_sample_fields(path, 0, field(0), snapshots=snaps[:2])


def test_worker_writes_only_its_own_chunks_and_never_status(make_store):
    path, group = make_store(n_samples=4)
    before = {p.relative_to(path) for p in path.rglob("*") if p.is_file()}
    write_sample_fields(path, 2, field(2), phase=field(3))
    after = {p.relative_to(path) for p in path.rglob("*") if p.is_file()}
    new = sorted(str(p) for p in after - before)
    assert new == ["phase/c/2/0/0/0", "pressure/c/2/0/0/0"], new
    assert sample_status(group).tolist() == [0, 0, 0, 0]  # partial write: not complete
    assert complete_indices(group).size == 0


def test_field_shape_and_index_are_checked(make_store):
    path, _ = make_store(n_samples=2)
    with pytest.raises(TfusInputError, match=r"pressure has shape \(6, 7, 9\)"):
        write_sample_fields(path, 0, np.ones((6, 7, 9)))
    with pytest.raises(TfusInputError, match="sample index 2 is out of range"):
        write_sample_fields(path, 2, field(0))


def test_mark_samples_checks_records(make_store):
    path, group = make_store(n_samples=2)
    with pytest.raises(TfusInputError, match="engine 'spectral'"):
        mark_samples(group, [record(0, engine="spectral")])
    with pytest.raises(TfusInputError, match="status 'done'"):
        mark_samples(group, [record(0, status="done")])
    with pytest.raises(TfusInputError, match="head index 5"):
        mark_samples(group, [record(0, head=5)])
    with pytest.raises(TfusInputError, match="same sample index twice"):
        mark_samples(group, [record(1), record(1)])
    assert sample_status(group).tolist() == [0, 0]  # nothing was half-marked


def test_sample_store_reads_complete_samples_by_split_and_pickles(make_store):
    path, group = make_store(n_samples=4, n_heads=2)
    _fill(path, group, n_done=3)
    everything = SampleStore(path)
    assert len(everything) == 3
    train, test = SampleStore(path, split="train"), SampleStore(path, split="test")
    assert train.indices.tolist() == [0, 2] and test.indices.tolist() == [1]
    item = pickle.loads(pickle.dumps(train))[1]
    assert item["index"] == 2 and item["head_index"] == 0
    np.testing.assert_array_equal(item["pressure"], field(2))
    np.testing.assert_array_equal(item["hu"], (field(100) * 1000.0).astype(np.float32))
    assert item["phase"].shape == GRID and item["affine"].shape == (4, 4)
    with pytest.raises(IndexError):
        train[2]
    with pytest.raises(TfusInputError, match="unknown split"):
        SampleStore(path, split="holdout")
