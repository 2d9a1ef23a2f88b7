"""validate_store: a healthy store has no problems; damaged complete samples are each reported."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from tests.helpers.store import GRID, field, record
from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.store import mark_samples, validate_store, write_head, write_sample_fields


@pytest.fixture
def healthy(make_store):
    path, group = make_store(n_samples=5, n_heads=2)
    for h in range(2):
        write_head(group, h, field(h) * 100, np.ones(GRID, np.uint8), np.eye(4))
    for i in range(3):
        write_sample_fields(path, i, field(i), phase=field(i + 10))
    mark_samples(group, [record(i, head=i % 2) for i in range(3)])
    return path, group


def test_healthy_store_has_no_problems(healthy):
    path, group = healthy
    assert validate_store(path) == []
    mark_samples(group, [record(3, status="failed")])  # failed and pending samples may be empty
    assert validate_store(path) == []


def test_nan_in_a_complete_sample(healthy):
    path, _ = healthy
    bad = field(1)
    bad[2, 3, 4] = np.nan
    bad[0, 0, 0] = np.inf
    write_sample_fields(path, 1, bad, phase=field(11))
    assert validate_store(path) == ["sample 1: pressure has 2 NaN/inf voxels"]


def test_all_zero_pressure(healthy):
    path, _ = healthy
    write_sample_fields(path, 2, np.zeros(GRID), phase=field(12))
    assert validate_store(path) == ["sample 2: pressure is all zero"]


def test_complete_without_written_fields(healthy):
    path, group = healthy
    mark_samples(group, [record(3)])  # the client says complete, the worker never wrote
    assert validate_store(path) == ["sample 3: status complete but its pressure chunk is missing",
                                    "sample 3: status complete but its phase chunk is missing"]


def test_all_nan_write_counts_as_missing(healthy):
    path, group = healthy
    write_sample_fields(path, 3, np.full(GRID, np.nan), phase=field(13))
    mark_samples(group, [record(3)])
    assert validate_store(path) == ["sample 3: status complete but its pressure chunk is missing"]


def test_head_never_written(make_store):
    path, group = make_store(n_samples=2, n_heads=2)
    write_head(group, 0, field(0), np.ones(GRID, np.uint8), np.eye(4))
    write_sample_fields(path, 0, field(0), phase=field(1))
    mark_samples(group, [record(0, head=1)])
    assert validate_store(path) == ["head 1: hu was never written but complete samples use it"]


def test_non_finite_pose(healthy):
    path, group = healthy
    write_sample_fields(path, 3, field(3), phase=field(13))
    mark_samples(group, [replace(record(3), focus=(np.nan, 0.0, 0.0))])
    assert validate_store(path) == ["sample 3: focus is not finite"]


def test_shape_mismatch_is_reported(healthy):
    path, group = healthy
    group["pressure"].resize((6, *GRID))
    problems = validate_store(path)
    assert problems == ["pressure: shape (6, 6, 7, 8), expected (5, 6, 7, 8)"]


def test_missing_array_is_reported(healthy):
    path, group = healthy
    del group["phase"]
    assert validate_store(path) == ["arrays missing: phase"]


def test_not_a_store(tmp_path):
    with pytest.raises(TfusInputError, match="no store"):
        validate_store(tmp_path / "x.zarr")
