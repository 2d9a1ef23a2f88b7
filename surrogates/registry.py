"""Surrogate models by name: one place that turns ``(name, config mapping)`` into a network, used by training,
checkpoint loading, evaluation and prediction (no parallel copies of that logic).

Example:
    >>> model = build_model("deeptfus", {"preset": "tiny", "spatial_dims": 2})
    >>> type(model).__name__
    'DeepTFUS'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch

from tfus.pipeline.errors import TfusInputError

_BUILDERS: dict[str, Callable[[Mapping[str, Any]], tuple[torch.nn.Module, dict]]] = {}


def register_model(name: str):
    """Decorator: ``builder(config_mapping) -> (module, validated config as a plain dict)``."""

    def wrap(builder):
        _BUILDERS[name] = builder
        return builder

    return wrap


@register_model("deeptfus")
def _deeptfus(config: Mapping[str, Any]):
    from tfus.surrogates.networks.nets import DeepTFUS, DeepTFUSConfig

    cfg = DeepTFUSConfig.from_mapping(dict(config))
    return DeepTFUS(cfg), cfg.model_dump(mode="json")


@register_model("sep4d")
def _sep4d(config: Mapping[str, Any]):
    from tfus.surrogates.networks.nets import Sep4dConfig, Sep4dUNet

    cfg = Sep4dConfig.from_mapping(dict(config))
    return Sep4dUNet(cfg), cfg.model_dump(mode="json")


def model_names() -> list[str]:
    return sorted(_BUILDERS)


def build_model_with_config(name: str, config: Mapping[str, Any] | None = None) -> tuple[torch.nn.Module, dict]:
    """The network and its validated config (a plain dict, stored in checkpoints)."""
    if name not in _BUILDERS:
        raise TfusInputError(f"unknown model {name!r}; available: {', '.join(model_names())}")
    return _BUILDERS[name](dict(config or {}))


def build_model(name: str, config: Mapping[str, Any] | None = None) -> torch.nn.Module:
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
