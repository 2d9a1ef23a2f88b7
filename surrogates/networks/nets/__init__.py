"""Whole networks: DeepTFUS (steady-state amplitude) and Sep4dUNet (time-resolved snapshots)."""

from tfus.surrogates.networks.nets.deeptfus import DeepTFUS, DeepTFUSOutput
from tfus.surrogates.networks.nets.deeptfus_config import PRESETS, DeepTFUSConfig
from tfus.surrogates.networks.nets.sep4d import Sep4dOutput, Sep4dUNet
from tfus.surrogates.networks.nets.sep4d_config import SEP4D_PRESETS, Sep4dConfig

__all__ = ["PRESETS", "SEP4D_PRESETS", "DeepTFUS", "DeepTFUSConfig", "DeepTFUSOutput", "Sep4dConfig", "Sep4dOutput",
           "Sep4dUNet"]
