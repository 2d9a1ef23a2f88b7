"""``tfus generate`` with tone-burst snapshots (``simulation.kwave.snapshots`` + ``burst_cycles``): the store keeps
``n_snapshots``, the snapshots and their per-sample times, is valid, and feeds the time-resolved dataset."""

from __future__ import annotations

import numpy as np

from tests.helpers.tiny_dataset import write_tiny_dataset
from tfus.pipeline.store import open_store, validate_store
from tfus.surrogates.data.snapshots import StoreSnapshotDataset
from tfus.surrogates.normalization import Normalization


def test_tone_burst_snapshots_land_in_the_store(tmp_path, cli):
    kwave = {"pml_size": 8, "domain_crossings": 0.3, "cfl": 0.5, "ramp_periods": 0.0, "record_periods": 1,
             "burst_cycles": 2, "snapshots": 5}
    config = write_tiny_dataset(tmp_path, per_head=1, heads=1, splits={},
                                simulation={"engine": "kwave", "with_phase": False, "kwave": kwave},
                                cluster={"kind": "local", "workers": 1})
    store = tmp_path / "ds.zarr"
    result = cli("generate", config, "--store", store)
    assert result.exit_code == 0, (result.output, result.stderr, result.exception)
    group = open_store(store)
    assert group.attrs["n_snapshots"] == 5 and group["snapshots"].shape[:2] == (1, 5)
    assert validate_store(store) == []
    times, snaps = group["snapshot_times"][0], group["snapshots"][0]
    period = 1 / 1e5
    assert np.all(np.diff(times) > 0) and 0 < times[0] < 0.1 * period  # from the first step over the whole run
    assert np.abs(snaps).max() > 0 and np.abs(snaps[0]).max() < 1e-3 * np.abs(snaps).max()  # silent at t = dt
    item = StoreSnapshotDataset(store, "train", 64, Normalization())[0]
    assert item["target"].shape == (1, 5, *group["hu"].shape[1:][::-1])
