"""Whole networks: DeepTFUS."""

from tfus.surrogates.networks.nets.deeptfus import DeepTFUS, DeepTFUSOutput
from tfus.surrogates.networks.nets.deeptfus_config import PRESETS, DeepTFUSConfig

__all__ = ["PRESETS", "DeepTFUS", "DeepTFUSConfig", "DeepTFUSOutput"]
