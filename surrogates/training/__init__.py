"""Training of the surrogates on a tfus store: config, the model adapter, epochs, checkpoints/resume, DDP.

Example:
    >>> from tfus.surrogates.training import TrainConfig, train
    >>> result = train("dataset.zarr", "runs/r1", TrainConfig(epochs=2))  # doctest: +SKIP
"""

from tfus.surrogates.training.adapter import ModelAdapter, adapter_class, adapter_for, enable_gradient_checkpointing
from tfus.surrogates.training.config import TrainConfig, load_train_config
from tfus.surrogates.training.run import TrainResult, train

__all__ = ["ModelAdapter", "TrainConfig", "TrainResult", "adapter_class", "adapter_for",
           "enable_gradient_checkpointing", "load_train_config", "train"]
