"""The store facts other packages read: the heads of a split and the simulated bowl (one reader each)."""

from __future__ import annotations

import dataclasses

import pytest

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.store import DEFAULT_SOURCE_AMPLITUDE_PA, bowl_from_record, read_split, read_transducer
from tfus.pipeline.transducers import BowlTransducer


def test_read_split_from_path_or_group(make_store):
    path, group = make_store(n_heads=3)
    assert read_split(path, "train") == [0] and read_split(group, "test") == [1, 2]
    assert read_split(path, "val") == []
    assert all(isinstance(h, int) for h in read_split(path, "test"))
    with pytest.raises(TfusInputError, match="unknown split 'holdout'; use one of train, val, test"):
        read_split(path, "holdout")


def test_read_transducer_is_the_recorded_bowl_at_the_simulated_frequency(make_store, spec):
    path, group = make_store()
    bowl = read_transducer(path)
    assert bowl == read_transducer(group)
    assert (bowl.name, bowl.radius_of_curvature_mm, bowl.aperture_diameter_mm) == ("tiny", 10.0, 8.0)
    assert bowl.frequency_hz == spec.frequency_hz and bowl.source_amplitude_pa == DEFAULT_SOURCE_AMPLITUDE_PA
    other = dataclasses.replace(spec, frequency_hz=4e5)
    path2, _ = make_store(name="f.zarr", spec_obj=other)
    assert read_transducer(path2).frequency_hz == 4e5     # the simulated frequency, not the record's 5e5


def test_bowl_from_record_accepts_either_aperture_key_and_a_bowl_dict():
    bowl = BowlTransducer("b", 30.0, 20.0, 5e5, 1e5)
    assert bowl_from_record(bowl.to_dict()) == dataclasses.replace(bowl, description="", source="")
    record = {"radius_of_curvature_mm": 30, "aperture_mm": 20, "frequency_hz": 5e5, "source_amplitude_pa": 1e5}
    assert bowl_from_record(record) == dataclasses.replace(bowl, name="store")
    assert bowl_from_record(record, frequency_hz=2.5e5).frequency_hz == 2.5e5
    with pytest.raises(TfusInputError, match="lacks aperture_mm, frequency_hz"):
        bowl_from_record({"radius_of_curvature_mm": 30})
