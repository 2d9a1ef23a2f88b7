"""``tfus generate`` with ``frame: beam``: every sample simulated in its beam box, the box's HU, labels and affine
stored beside its pressure on the box grid; the store validates, opens in xarray and reads as box samples."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.helpers.tiny_dataset import write_tiny_dataset
from tfus.pipeline.beam import BeamFrame
from tfus.pipeline.store import SampleStore, open_store, store_info, validate_store
from tfus.pipeline.transducers import Pose

BOX = {"lateral_margin_mm": 6.0, "behind_mm": 3.0, "beyond_focus_mm": 12.0}


@pytest.fixture(scope="module")
def beam_store(tmp_path_factory, cli):
    folder = tmp_path_factory.mktemp("beam")
    config = write_tiny_dataset(folder, frame="beam", box=BOX)
    store = folder / "beam.zarr"
    result = cli("generate", config, "--store", store, "--json")
    assert result.exit_code == 0, (result.output, result.stderr, result.exception)
    return store, json.loads(result.stdout)


def test_beam_store_is_valid_and_on_the_box_grid(beam_store):
    store, summary = beam_store
    assert summary["computed"] == 4 and summary["failed"] == 0
    assert validate_store(store) == []
    info = store_info(store)
    assert info["frame"] == "beam" and info["box_shape"] == [13, 13, 14]
    group = open_store(store)
    assert group["pressure"].shape == (4, 13, 13, 14)
    assert group["hu"].shape[1:] == tuple(info["grid_shape"])  # heads stay on the head grid


def test_box_affine_puts_the_bowl_on_the_box_axis(beam_store):
    store, _ = beam_store
    group = open_store(store)
    items = SampleStore(store)
    for i in range(len(items)):
        item = items[i]
        assert item["hu"].shape == item["pressure"].shape == (13, 13, 14)
        affine = np.asarray(item["affine"])
        pose = Pose(item["apex"], item["target"])
        frame = BeamFrame(affine, (13, 13, 14), 3.0, np.array([6.0, 6.0, 1.0]))
        np.testing.assert_allclose(frame.world_to_box(pose.apex), [6.0, 6.0, 1.0], atol=1e-6)
        np.testing.assert_allclose(frame.rotation[:, 2], pose.axis, atol=1e-9)
        # the box holds skull (the bowl sits over the scalp) and the field has its maximum in the box
        assert np.isin(item["labels"], [2, 3]).any()
        assert np.isfinite(item["pressure"]).all() and item["pressure"].max() > 1e3
    assert np.isfinite(np.asarray(group["box_affine"][:])).all()


def test_beam_store_opens_in_xarray(beam_store):
    import xarray as xr

    store, _ = beam_store
    ds = xr.open_zarr(store)
    assert ds["pressure"].dims == ("sample", "bx", "by", "bz")
    assert ds["box_hu"].dims == ("sample", "bx", "by", "bz") and ds["hu"].dims == ("head", "x", "y", "z")
