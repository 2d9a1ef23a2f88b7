"""``augment:`` in a dataset config: augmented copies of the training heads are new store heads (``NAME_augK``),
simulated like real heads, only in the train split, with parameters and seed recorded so each copy is rebuilt
exactly from the store alone; resume works; bad augmentation settings are one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from tests.helpers.tiny_dataset import write_tiny_dataset
from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.head import HeadModel, SkullAugmentation, augment_head
from tfus.pipeline.store import open_store, store_info, validate_store
from tfus.workflows.generate import GenerateConfig, load_config
from tfus.workflows.generate.plan import planned_heads, planned_splits

#: the tiny phantoms have a 3 mm scalp (one voxel) and a 6 mm skull (two voxels) at 3 mm: thickening grows inward
AUGMENT = {"copies": 2, "elastic_amplitude_mm": [1.0, 2.0], "elastic_length_mm": 20.0, "thickness_mm": 3.0,
           "hu_scale": [0.9, 1.1], "porosity_hu_std": 60.0, "porosity_length_mm": 6.0}


def _config(**changes) -> dict:
    base = {"heads": [{"name": n, "image": "bundled:mni152_t1"} for n in ("a", "b", "c", "d")],
            "grid": {"shape": [64, 64, 64], "spacing_mm": 3.0}, "transducer": "neurofus-ctx250",
            "poses": {"per_head": 3}, "splits": {"val": 0.25, "test": 0.25}, "augment": {"copies": 2}}
    return {**base, **changes}


def test_only_training_heads_are_augmented():
    cfg = GenerateConfig.from_mapping(_config())
    heads, splits = planned_heads(cfg), planned_splits(cfg)
    train_real = [h.name for h in heads[:4] if heads.index(h) in splits["train"]]
    assert len(train_real) == 2
    assert [h.name for h in heads[4:]] == [f"{n}_aug{k}" for n in train_real for k in (1, 2)]
    copies = set(range(4, 8))
    assert copies <= set(splits["train"]) and not copies & set(splits["val"] + splits["test"])
    assert cfg.n_samples == 8 * 3
    # held-out heads stay real and keep the split they have without augmentation
    plain = planned_splits(GenerateConfig.from_mapping(_config(augment=None)))
    assert plain["val"] == splits["val"] and plain["test"] == splits["test"]


def test_copies_are_seeded_and_drawn_inside_the_ranges():
    ranges = {"copies": 3, "elastic_amplitude_mm": [1.0, 3.0], "thickness_mm": [-1.5, 1.5], "hu_scale": [0.9, 1.1],
              "porosity_hu_std": [0.0, 100.0]}
    cfg = GenerateConfig.from_mapping(_config(augment=ranges))
    again = planned_heads(GenerateConfig.from_mapping(_config(augment=ranges)))
    copies = [h for h in planned_heads(cfg) if h.copy]
    assert [h.record() for h in copies] == [h.record() for h in again if h.copy]
    assert len({h.seed for h in copies}) == len(copies)
    for h in copies:
        a = h.augmentation
        assert 1.0 <= a.elastic_amplitude_mm <= 3.0 and -1.5 <= a.thickness_mm <= 1.5
        assert 0.9 <= a.hu_scale <= 1.1 and 0.0 <= a.porosity_hu_std <= 100.0
    other = planned_heads(GenerateConfig.from_mapping(_config(augment=ranges, seed=1)))
    assert [h.seed for h in other if h.copy] != [h.seed for h in copies]


@pytest.mark.parametrize("augment, words", [
    ({"copies": 0}, ["augment.copies", "greater than or equal to 1"]),
    ({"copies": 1, "hu_scale": [1.2, 0.8]}, ["augment.hu_scale", "empty"]),
    ({"copies": 1, "hu_scale": [0.2, 1.0]}, ["augment", "hu_scale"]),
    ({"copies": 1, "elastic_amplitude_mm": 9.0, "elastic_length_mm": 10.0}, ["augment", "fold"]),
    ({"copies": 1, "thickness_mm": [1, 2, 3]}, ["augment.thickness_mm", "range"]),
    ({"copies": 1, "thickness": 1.0}, ["'thickness'", "allowed keys", "thickness_mm"]),
])
def test_bad_augment_settings_are_one_line_errors(augment, words):
    with pytest.raises(TfusInputError) as err:
        GenerateConfig.from_mapping(_config(augment=augment))
    message = str(err.value)
    assert "\n" not in message
    for word in words:
        assert word in message, message


def test_augmented_names_may_not_collide():
    heads = [{"name": "a", "image": "bundled:mni152_t1"}, {"name": "a_aug1", "image": "bundled:mni152_t1"}]
    with pytest.raises(TfusInputError, match="a_aug1 are reserved"):
        GenerateConfig.from_mapping(_config(heads=heads, splits={}))


@pytest.fixture(scope="module")
def augmented_store(tmp_path_factory, cli):
    """Two phantom heads (one train, one test) + two augmented copies of the train head, one pose each."""
    folder = tmp_path_factory.mktemp("aug")
    config = write_tiny_dataset(folder, per_head=1, augment=AUGMENT)
    store = folder / "aug.zarr"
    result = cli("generate", config, "--store", store, "--json")
    assert result.exit_code == 0, (result.output, result.stderr, result.exception)
    return config, store, json.loads(result.stdout)


def test_augmented_heads_are_simulated_in_train_only(augmented_store):
    config, store, summary = augmented_store
    assert summary["computed"] == 4 and summary["failed"] == 0
    assert validate_store(store) == []
    group = open_store(store)
    names = list(group.attrs["head_names"])
    splits = group.attrs["splits"]
    (source,) = [i for i in splits["train"] if i < 2]
    assert names[2:] == [f"{names[source]}_aug1", f"{names[source]}_aug2"]
    assert sorted(splits["train"]) == sorted([source, 2, 3]) and len(splits["test"]) == 1 and not splits["val"]
    assert store_info(store)["n_complete"] == 4
    assert sorted(np.asarray(group["head_index"][:]).tolist()) == [0, 1, 2, 3]  # one pose per head, each simulated


def test_augmented_heads_are_reproducible_from_the_store(augmented_store):
    """Each copy equals augment_head(stored source head, recorded parameters, recorded seed)."""
    _, store, _ = augmented_store
    group = open_store(store)
    records = group.attrs["augmented_heads"]
    assert [r["name"] for r in records] == list(group.attrs["head_names"])[2:]
    for j, record in enumerate(records, start=2):
        src = record["source"]
        source = HeadModel(hu=np.asarray(group["hu"][src]), labels=np.asarray(group["labels"][src]),
                           affine=np.asarray(group["head_affine"][src]))
        redo = augment_head(source, SkullAugmentation(**record["augmentation"]), seed=record["seed"])
        assert np.array_equal(redo.labels, np.asarray(group["labels"][j]))
        assert np.allclose(redo.hu, np.asarray(group["hu"][j]))
        assert np.array_equal(np.asarray(group["head_affine"][j]), source.affine)
        assert not np.array_equal(redo.labels, source.labels)  # a different skull
        assert 1.0 <= record["augmentation"]["elastic_amplitude_mm"] <= 2.0
    assert group.attrs["creation_config"]["augment"]["copies"] == 2


def test_rerun_resumes_and_a_changed_augment_is_refused(augmented_store, cli, user_error, tmp_path):
    config, store, _ = augmented_store
    result = cli("generate", config, "--store", store, "--json")
    assert result.exit_code == 0, (result.output, result.stderr)
    assert json.loads(result.stdout)["computed"] == 0
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    for head in data["heads"]:
        head["image"] = str(config.parent / head["image"])
    data["transducer"] = str(config.parent / "tiny-bowl.yaml")
    data["augment"] = {**AUGMENT, "porosity_hu_std": 90.0}
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    user_error(cli("generate", changed, "--store", store), "augment")
    data["augment"] = {**AUGMENT, "copies": 1}
    changed.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    user_error(cli("generate", changed, "--store", store), "holds heads")


def test_the_augmented_preset_loads():
    cfg = load_config("beam-ctx250-aug")
    real = load_config("beam-ctx250")
    heads = planned_heads(cfg)
    assert cfg.augment is not None and cfg.augment.copies == 2
    assert len(heads) == len(real.heads) + 2 * len(real.splits.names["train"])
    test = [heads.index(h) for h in heads if h.name == "colin27"]
    assert planned_splits(cfg)["test"] == test and not any(h.name.startswith("colin27_aug") for h in heads)


def test_cli_refuses_a_bad_augment_section_before_anything_is_written(cli, user_error, tmp_path):
    config = write_tiny_dataset(tmp_path, augment={"copies": 1, "thickness_mm": [2.0, -2.0]})
    store = tmp_path / "ds.zarr"
    user_error(cli("generate", config, "--store", store), "augment.thickness_mm", "empty")
    assert not store.exists()
