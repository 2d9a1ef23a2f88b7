"""The training configuration (``tfus train --config FILE``): a frozen pydantic model, validated at the boundary, so
an unknown key or a bad value is one :class:`TfusInputError` line.

The model is a registry name (``model_name``, :mod:`tfus.surrogates.registry`) plus overrides of its config keys
(``model``); the loss weights are :class:`tfus.surrogates.losses.LossConfig` keys (``loss``). Defaults follow
DeepTFUS (batch 4, lr 1e-3, 50 epochs) with a cosine schedule.

Example:
    >>> cfg = TrainConfig.from_mapping({"epochs": 3, "model": {"preset": "tiny"}, "loss": {"focal_weight": 0.1}})
    >>> cfg.epochs, cfg.model_name, cfg.model, cfg.loss_config.focal_weight
    (3, 'deeptfus', {'preset': 'tiny'}, 0.1)
    >>> TrainConfig.from_mapping({"model": {"name": "deeptfus", "conv": "cp:4"}}).model
    {'conv': 'cp:4'}
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tfus.pipeline.errors import TfusInputError, validation_message
from tfus.pipeline.io.yaml_file import read_yaml
from tfus.surrogates.losses import LossConfig

__all__ = ["TrainConfig", "load_train_config"]

_LOSS_KEYS = tuple(f.name for f in dataclasses.fields(LossConfig))


class TrainConfig(BaseModel):
    """Everything a training run depends on (recorded in ``RUN/config.json`` and in every checkpoint).

    Attributes:
        epochs: passes over the training split.
        batch_size: samples per step and process (DDP: the global batch is ``batch_size * world_size``).
        lr: peak learning rate (AdamW).
        weight_decay: AdamW weight decay.
        scheduler: ``cosine`` (per step, from ``lr`` to ``min_lr`` over all epochs, after ``warmup_steps``) or
            ``none``.
        min_lr: final learning rate of the cosine schedule.
        warmup_steps: linear warm-up steps.
        grad_clip: clip the gradient norm to this value (0: off).
        seed: seeds the model init, data order and augmentation.
        num_workers: DataLoader worker processes per training process.
        amp: mixed precision on CUDA (ignored on CPU).
        amp_dtype: ``float16`` (with a gradient scaler) or ``bfloat16``.
        grad_checkpoint: recompute the model's blocks in the backward pass (less memory, ~30 % slower).
        n_points: transducer points per sample (default: the model config's ``n_points``, else 2048).
        augment: random left-right mirror of head, field and pose.
        model_name: registered model (``tfus.surrogates.registry``).
        model: overrides of the model's config keys (e.g. ``{preset: tiny}``, ``{conv: "cp:4"}``); a ``name`` key
            sets ``model_name``.
        loss: overrides of the loss weights (:class:`~tfus.surrogates.losses.LossConfig` keys).
        train_split: store split to train on.
        val_split: store split to validate on (None: none; best = lowest training loss).
        val_heads: heads of the training split to validate on instead of a store split: their samples leave the
            training set and ``best.pt`` follows their loss (a validation head for early stopping in a store whose
            splits have none; replaces ``val_split``).
        val_every: validate every this many epochs (and after the last).
        val_metrics: also compute rel. L2 / focal / peak errors in Pa during validation.
        deterministic: deterministic algorithms on CPU (bit-identical reruns; CUDA: seeded, cuDNN deterministic).
        stage: ``full`` (train on whole samples) or ``2d+t``: "Tetris" stage 1 of a time-resolved model (``sep4d``):
            the model's z-branch is off and every item is a z-slab of ``slab`` slices (validation stays on whole
            samples). Stage 2 is a ``full`` run with ``init_from`` the stage-1 run.
        slab: z slices per item in stage ``2d+t`` (1: single slices, the 2D+t case).
        max_train_samples: train on this many of the split's samples (a seeded draw spread over its heads:
            learning curves; None: all).
        time_limit_min: stop after the epoch that would otherwise end past this many minutes of training (summed
            over resumes; the next epoch is estimated from the last one), keeping ``best.pt``/``last.pt`` as usual:
            "trained in <= 60 minutes" as a setting, not a hope (None: no limit).
        init_from: run folder or checkpoint whose weights start a new run (not a resume: optimizer and schedule
            start fresh). Every weight must fit, except the z-branches of a 4D ``sep4d`` started from a 2D+t run:
            they start at zero, so the network starts as the 2D+t one.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    epochs: int = Field(50, ge=1)
    batch_size: int = Field(4, ge=1)
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    scheduler: Literal["cosine", "none"] = "cosine"
    min_lr: float = Field(0.0, ge=0)
    warmup_steps: int = Field(0, ge=0)
    grad_clip: float = Field(0.0, ge=0)
    seed: int = 0
    num_workers: int = Field(2, ge=0)
    amp: bool = True
    amp_dtype: Literal["float16", "bfloat16"] = "float16"
    grad_checkpoint: bool = False
    n_points: int | None = Field(None, ge=1)
    augment: bool = True
    model_name: str = "deeptfus"
    model: dict[str, Any] = Field(default_factory=dict)
    loss: dict[str, float] = Field(default_factory=dict)
    train_split: Literal["train", "val", "test"] = "train"
    val_split: Literal["train", "val", "test"] | None = "val"
    val_heads: tuple[str, ...] | None = None
    val_every: int = Field(1, ge=1)
    val_metrics: bool = True
    deterministic: bool = True
    stage: Literal["full", "2d+t"] = "full"
    slab: int = Field(1, ge=1)
    max_train_samples: int | None = Field(None, ge=1)
    time_limit_min: float | None = Field(None, gt=0)
    init_from: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _model_name_in_model(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and isinstance(data.get("model"), Mapping) and "name" in data["model"]:
            data = dict(data)
            model = dict(data["model"])
            name = model.pop("name")
            if "model_name" in data and data["model_name"] != name:
                raise ValueError(f"model.name {name!r} and model_name {data['model_name']!r} disagree; give one")
            data["model_name"], data["model"] = name, model
        return data

    @field_validator("model")
    @classmethod
    def _plain_model(cls, value: dict[str, Any]) -> dict[str, Any]:
        try:
            return json.loads(json.dumps(value))
        except (TypeError, ValueError) as err:
            raise ValueError(f"model overrides must be plain YAML values: {err}") from None

    @field_validator("loss")
    @classmethod
    def _loss(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(_LOSS_KEYS))
        if unknown:
            raise ValueError(f"unknown loss key {unknown[0]!r}; allowed keys: {', '.join(_LOSS_KEYS)}")
        if not all(math.isfinite(v) for v in value.values()):
            raise ValueError("loss weights must be finite numbers")
        try:
            LossConfig(**value)
        except TfusInputError as err:
            raise ValueError(str(err)) from None
        return dict(value)

    @model_validator(mode="after")
    def _checks(self) -> TrainConfig:
        if self.val_split is not None and self.val_split == self.train_split:
            raise ValueError(f"val_split {self.val_split!r} is the training split; choose another or null")
        if self.min_lr > self.lr:
            raise ValueError(f"min_lr {self.min_lr:g} exceeds lr {self.lr:g}")
        if self.stage == "2d+t" and self.model.get("z_branch") is True:
            raise ValueError("stage 2d+t trains with the z-branch off; drop model.z_branch or use stage full")
        return self

    @property
    def loss_config(self) -> LossConfig:
        return LossConfig(**self.loss)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None = None, **overrides: Any) -> TrainConfig:
        """Validate a parsed YAML mapping (plus keyword overrides, e.g. from CLI options)."""
        if data is not None and not isinstance(data, Mapping):
            raise TfusInputError(f"the training config must be a YAML mapping of settings, got {type(data).__name__}")
        values = {**dict(data or {}), **{k: v for k, v in overrides.items() if v is not None}}
        try:
            return cls.model_validate(values)
        except ValidationError as err:
            raise TfusInputError(validation_message(err, cls, root="training config",
                                                    unknown="unknown training config key", limit=1)) from None

    def public(self) -> dict:
        """Plain JSON (stored in checkpoints and ``config.json``)."""
        return self.model_dump(mode="json")


def load_train_config(path: str | Path | None = None, **overrides: Any) -> TrainConfig:
    """Read a training YAML (``yaml.safe_load``; None: defaults) and apply ``overrides`` (None values ignored)."""
    data: Any = None if path is None else read_yaml(path, "training config")
    return TrainConfig.from_mapping(data, **overrides)
