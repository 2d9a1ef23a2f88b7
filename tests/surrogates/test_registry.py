"""The model registry: one entry per model names every per-model part, resolved lazily."""

import subprocess
import sys

import pytest

from tfus.pipeline.errors import TfusInputError
from tfus.surrogates.inference import Predictor, predictor_class
from tfus.surrogates.registry import MODELS, ModelEntry, build_model_with_config, model_entry, model_names
from tfus.surrogates.training.adapter import ModelAdapter, adapter_class


def test_registered_models_and_their_parts():
    assert model_names() == ["deeptfus", "sep4d"]
    for name, entry in MODELS.items():
        assert entry.name == name and entry.summary
        assert issubclass(entry.adapter_class(), ModelAdapter)
        assert issubclass(entry.predictor_class(), Predictor)
        assert adapter_class(name) is entry.adapter_class()
        assert predictor_class(name) is entry.predictor_class()
        assert hasattr(entry.config_class(), "from_mapping")
        assert hasattr(entry.dataset_class(), "__getitem__")
        # the adapter builds the dataset its entry names (a drift guard: the return annotation is the class name)
        assert entry.adapter_class().dataset.__annotations__["return"] == entry.dataset_class().__name__
    assert model_entry("sep4d").predictor_class().__name__ == "Sep4dPredictor"
    assert model_entry("sep4d").adapter_class().__name__ == "Sep4dAdapter"
    assert model_entry("deeptfus").dataset_class().__name__ == "StoreFieldDataset"
    assert model_entry("sep4d").dataset_class().__name__ == "StoreSnapshotDataset"


def test_build_uses_entry_config_and_network():
    model, cfg = build_model_with_config("sep4d", {"preset": "tiny"})
    assert type(model) is model_entry("sep4d").network_class()
    assert cfg == model_entry("sep4d").config_class().from_mapping({"preset": "tiny"}).model_dump(mode="json")


@pytest.mark.parametrize("lookup", [model_entry, adapter_class, predictor_class])
def test_unknown_model_is_one_line_listing_names(lookup):
    with pytest.raises(TfusInputError, match=r"unknown model 'nope'; available: deeptfus, sep4d"):
        lookup("nope")


def test_entry_is_frozen():
    entry = model_entry("deeptfus")
    with pytest.raises(AttributeError):
        entry.name = "other"  # type: ignore[misc]
    assert isinstance(entry, ModelEntry)


def test_registry_import_is_light_and_inference_does_not_import_training():
    code = ("import sys, tfus.surrogates.registry; assert 'torch' not in sys.modules, 'torch'; "
            "import tfus.surrogates.inference, tfus.surrogates.inference_4d; "
            "bad = [m for m in sys.modules if m.startswith('tfus.surrogates.training')]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)
