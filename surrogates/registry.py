"""Surrogate models by name: the one place that says, per model, which config class validates its YAML mapping,
which network it builds, which dataset feeds it, which training adapter drives it and which predictor runs it. Adding
a model is one :class:`ModelEntry` here (nothing else picks per-model behaviour). Entries name their parts by import
path (``"module:attribute"``), resolved on first use, so importing this module stays light (no torch, no networks).

Example:
    >>> model = build_model("deeptfus", {"preset": "tiny", "spatial_dims": 2})
    >>> type(model).__name__
    'DeepTFUS'
    >>> model_entry("sep4d").predictor_class().__name__
    'Sep4dPredictor'
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tfus.pipeline.errors import TfusInputError

if TYPE_CHECKING:
    import torch

__all__ = ["MODELS", "ModelEntry", "build_model", "build_model_with_config", "model_entry", "model_from_checkpoint",
           "model_names", "register_model"]


def _resolve(path: str) -> Any:
    """``"package.module:Name"`` -> the object (imported now)."""
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


@dataclass(frozen=True)
class ModelEntry:
    """One registered surrogate; each part is an import path ``"module:Name"`` resolved when first used.

    Attributes:
        name: registry name (``--model``, the ``model`` key of checkpoints and training YAMLs).
        summary: one line for ``tfus train --help``.
        config: pydantic config class with ``from_mapping`` (presets, overrides) and ``model_dump``.
        network: ``nn.Module`` class built from a config instance.
        dataset: store dataset class that feeds training and validation.
        adapter: :class:`~tfus.surrogates.training.adapter.ModelAdapter` subclass (batch in, loss, metrics).
        predictor: :class:`~tfus.surrogates.inference.Predictor` subclass (``tfus predict`` / ``evaluate``).
    """

    name: str
    summary: str
    config: str
    network: str
    dataset: str
    adapter: str
    predictor: str

    def config_class(self) -> type:
        return _resolve(self.config)

    def network_class(self) -> type:
        return _resolve(self.network)

    def dataset_class(self) -> type:
        return _resolve(self.dataset)

    def adapter_class(self) -> type:
        return _resolve(self.adapter)

    def predictor_class(self) -> type:
        return _resolve(self.predictor)

    def build(self, config: Mapping[str, Any] | None = None) -> tuple[torch.nn.Module, dict]:
        """The network and its validated config (a plain dict, stored in checkpoints)."""
        cfg = self.config_class().from_mapping(dict(config or {}))
        return self.network_class()(cfg), cfg.model_dump(mode="json")


#: the registered models by name.
MODELS: dict[str, ModelEntry] = {}


def register_model(entry: ModelEntry) -> ModelEntry:
    """Add (or replace) a model entry; returns it."""
    MODELS[entry.name] = entry
    return entry


register_model(ModelEntry(
    name="deeptfus",
    summary="steady-state amplitude maps, conditioned 3D U-Net",
    config="tfus.surrogates.networks.nets.deeptfus_config:DeepTFUSConfig",
    network="tfus.surrogates.networks.nets.deeptfus:DeepTFUS",
    dataset="tfus.surrogates.data.dataset:StoreFieldDataset",
    adapter="tfus.surrogates.training.adapter:ModelAdapter",
    predictor="tfus.surrogates.inference:Predictor",
))
register_model(ModelEntry(
    name="sep4d",
    summary="time-resolved pressure snapshots, separable 4D U-Net",
    config="tfus.surrogates.networks.nets.sep4d_config:Sep4dConfig",
    network="tfus.surrogates.networks.nets.sep4d:Sep4dUNet",
    dataset="tfus.surrogates.data.snapshots:StoreSnapshotDataset",
    adapter="tfus.surrogates.training.sep4d_adapter:Sep4dAdapter",
    predictor="tfus.surrogates.inference_4d:Sep4dPredictor",
))


def model_names() -> list[str]:
    """The registered model names, sorted."""
    return sorted(MODELS)


def model_entry(name: str) -> ModelEntry:
    """The entry of model ``name``.

    Raises:
        TfusInputError: no such model (the line lists the registered ones).
    """
    if name not in MODELS:
        raise TfusInputError(f"unknown model {name!r}; available: {', '.join(model_names())}")
    return MODELS[name]


def build_model_with_config(name: str, config: Mapping[str, Any] | None = None) -> tuple[torch.nn.Module, dict]:
    """The network and its validated config (a plain dict, stored in checkpoints)."""
    return model_entry(name).build(config)


def build_model(name: str, config: Mapping[str, Any] | None = None) -> torch.nn.Module:
    """The network of model ``name`` built from a config mapping (presets and overrides)."""
    return build_model_with_config(name, config)[0]


def model_from_checkpoint(ckpt: Mapping[str, Any]) -> torch.nn.Module:
    """Rebuild the network of a loaded checkpoint and load its weights (a mismatch is a one-line error)."""
    model = build_model(str(ckpt["model"]), ckpt["model_config"])
    try:
        model.load_state_dict(ckpt["state_dict"])
    except RuntimeError as err:
        first = str(err).strip().splitlines()[0]
        raise TfusInputError(f"checkpoint weights do not fit its {ckpt['model']} config ({first[:100]}); the file "
                             "is from another model version, re-train it") from None
    return model
