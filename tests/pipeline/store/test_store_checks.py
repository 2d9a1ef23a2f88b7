"""Opening and creating stores: one-line errors for missing / foreign / other-version stores, spec compatibility,
atomic creation and overwrite rules."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import zarr

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.store import StoreLock, StoreSpec, create_store, open_store, store_spec
from tfus.pipeline.store import create as create_module


def _create(path, spec, **kw):
    args = {"head_names": ["a", "b"], "n_samples": 3, "splits": {"train": [0], "val": [1]}, "creation_config": {}}
    return create_store(path, spec, **(args | kw))


def test_missing_path_and_foreign_folders_are_refused(tmp_path):
    with pytest.raises(TfusInputError, match="no store at"):
        open_store(tmp_path / "nope.zarr")
    (tmp_path / "plain").mkdir()
    with pytest.raises(TfusInputError, match="not a Zarr store"):
        open_store(tmp_path / "plain")
    zarr.open_group(tmp_path / "other.zarr", mode="w").attrs["x"] = 1
    with pytest.raises(TfusInputError, match="not a tfus store"):
        open_store(tmp_path / "other.zarr")


def test_other_schema_version_names_found_and_expected(tmp_path, spec):
    path = tmp_path / "s.zarr"
    _create(path, spec)
    meta = json.loads((path / "zarr.json").read_text())
    meta["attributes"]["schema_version"] = "0"
    (path / "zarr.json").write_text(json.dumps(meta))
    with pytest.raises(TfusInputError) as err:
        open_store(path)
    message = str(err.value)
    assert "schema_version '0'" in message and "version '1'" in message and "\n" not in message


@pytest.mark.parametrize(("change", "needle"), [
    ({"grid_shape": (6, 7, 9)}, "grid_shape differs: (6, 7, 8) vs (6, 7, 9)"),
    ({"spacing_mm": 1.0}, "spacing_mm differs: 2 vs 1"),
    ({"frequency_hz": 2.5e5}, "frequency_hz differs: 500000 vs 250000"),
    ({"engines": ("kwave",)}, "engines differs"),
    ({"n_snapshots": 4}, "n_snapshots differs: 0 vs 4"),
    ({"with_phase": False}, "with_phase differs"),
    ({"hu_mapping": "kwave"}, "hu_mapping differs: itrusst vs kwave"),
    ({"transducer": {"name": "tiny", "radius_of_curvature_mm": 12.0, "aperture_mm": 8.0, "frequency_hz": 5e5}},
     "transducer differs in radius_of_curvature_mm (10.0 vs 12.0)"),
])
def test_spec_mismatch_gives_a_one_line_reason(spec, change, needle):
    other = replace(spec, **change)
    reason = spec.compatible_with(other)
    assert reason is not None and needle in reason and "\n" not in reason


def test_compatible_specs(spec, tmp_path):
    assert spec.compatible_with(replace(spec)) is None
    assert spec.compatible_with(replace(spec, engines=("fem", "kwave"))) is None  # order does not matter
    # a spec read back from a store (JSON attributes) is compatible with the one it was made from
    assert store_spec(_create(tmp_path / "s.zarr", spec)).compatible_with(spec) is None


@pytest.mark.parametrize(("kwargs", "needle"), [
    ({"grid_shape": (4, 4)}, "grid_shape"), ({"spacing_mm": 0}, "spacing_mm"), ({"frequency_hz": -1}, "frequency"),
    ({"engines": ("kwave", "bem")}, "engines"), ({"n_snapshots": -1}, "n_snapshots"),
    ({"transducer": {"f": object()}}, "transducer must be plain JSON"),
])
def test_bad_spec_values(kwargs, needle):
    base = {"grid_shape": (4, 4, 4), "spacing_mm": 1.0, "frequency_hz": 5e5}
    with pytest.raises(TfusInputError, match=needle):
        StoreSpec(**(base | kwargs))


@pytest.mark.parametrize(("kw", "needle"), [
    ({"head_names": ["a", "a"]}, "unique"), ({"n_samples": 0}, "n_samples"),
    ({"splits": {"train": [0], "test": [0]}}, "both split"), ({"splits": {"train": [2]}}, "names head 2"),
    ({"splits": {"holdout": [0]}}, "unknown split"), ({"creation_config": {"x": {1, 2}}}, "plain JSON"),
])
def test_bad_create_arguments_write_nothing(tmp_path, spec, kw, needle):
    with pytest.raises(TfusInputError, match=needle):
        _create(tmp_path / "s.zarr", spec, **kw)
    assert list(tmp_path.iterdir()) == []


def test_creation_is_atomic(tmp_path, spec, monkeypatch):
    """A failure half-way through building leaves neither the store nor its temporary folder."""
    calls = []
    real = create_module._array

    def failing(group, name, *args):
        calls.append(name)
        if len(calls) == 5:
            raise OSError("disk full")
        return real(group, name, *args)

    monkeypatch.setattr(create_module, "_array", failing)
    with pytest.raises(OSError, match="disk full"):
        _create(tmp_path / "s.zarr", spec)
    assert list(tmp_path.iterdir()) == []


def test_existing_store_is_refused_unless_overwrite(tmp_path, spec):
    path = tmp_path / "s.zarr"
    _create(path, spec)
    with pytest.raises(TfusInputError, match="already exists"):
        _create(path, spec)
    group = _create(path, replace(spec, spacing_mm=1.0), overwrite=True, n_samples=5)
    assert store_spec(open_store(path)).spacing_mm == 1.0 and group["status"].shape == (5,)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.zarr"]


def test_overwrite_never_replaces_a_folder_that_is_not_a_store(tmp_path, spec):
    folder = tmp_path / "precious"
    folder.mkdir()
    (folder / "thesis.tex").write_text("keep me")
    with pytest.raises(TfusInputError, match="not a tfus store"):
        _create(folder, spec, overwrite=True)
    assert (folder / "thesis.tex").read_text() == "keep me"


def test_overwrite_refused_while_a_writer_holds_the_lock(tmp_path, spec):
    path = tmp_path / "s.zarr"
    _create(path, spec)
    with StoreLock(path), pytest.raises(TfusInputError, match="in use by pid"):
        _create(path, replace(spec, spacing_mm=1.0), overwrite=True)
    assert store_spec(open_store(path)).spacing_mm == 2.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.zarr"]
