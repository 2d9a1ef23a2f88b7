"""The run folder of ``tfus train`` and how a killed run resumes.

``RUN/last.pt`` (written after every epoch) holds everything an exact resume needs: weights, optimizer, scheduler,
gradient scaler, epoch, global step, best so far, history and every random state. ``RUN/best.pt`` holds the weights
of the best epoch (lowest validation loss, or training loss without a validation split) with the model config,
normalisation and data description only. Both are written atomically by the main process; ``RUN/log.csv`` and
``RUN/config.json`` likewise.

Resuming uses the configuration stored in ``last.pt``. A configuration given again must match it except for the
runtime keys :data:`RUNTIME_KEYS` (``epochs`` may be raised to train longer; the cosine schedule then stretches to
the new length); anything else is a one-line error asking for ``--overwrite`` or another ``--out``.

Example:
    >>> cfg = resolve_config(None, TrainConfig(epochs=3), epochs=5, where="RUN")
    >>> cfg.epochs
    5
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tfus.pipeline.errors import TfusInputError
from tfus.surrogates.checkpoint import load_checkpoint
from tfus.surrogates.training.config import TrainConfig

__all__ = ["RUNTIME_KEYS", "RUN_FILES", "check_same_data", "clear_run", "load_training_checkpoint",
           "remove_stale_temps", "resolve_config"]

#: training-config keys that may differ when a run is resumed.
RUNTIME_KEYS = ("epochs", "num_workers", "val_every", "val_metrics", "grad_checkpoint")
#: what a run writes into its folder (``--overwrite`` removes these and nothing else).
RUN_FILES = ("best.pt", "last.pt", "log.csv", "config.json", "tensorboard")
TRAINING_KEYS = ("train_config", "optimizer", "epoch", "step", "rng", "best", "history")


def clear_run(out: Path) -> None:
    """Remove the files of an earlier run from ``out`` (``--overwrite``)."""
    for name in RUN_FILES:
        path = out / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def remove_stale_temps(out: Path) -> None:
    """Remove half-written temporary files of run files that a killed process left (``.last.pt.tmp-PID``, ...)."""
    stems = tuple(f".{Path(name).stem}." for name in RUN_FILES)
    for path in out.glob(".*.tmp-*"):
        if path.is_file() and path.name.startswith(stems):
            path.unlink(missing_ok=True)


def load_training_checkpoint(path: Path) -> dict:
    """``last.pt`` of a run, checked to hold the training state (one-line errors otherwise)."""
    ckpt = load_checkpoint(path)
    missing = [k for k in TRAINING_KEYS if k not in ckpt]
    if missing:
        raise TfusInputError(f"{path} holds no training state (missing {', '.join(missing)}); it cannot be resumed, "
                             "pass --overwrite to train anew or choose another --out")
    return ckpt


def resolve_config(ckpt: dict | None, given: TrainConfig | None, epochs: int | None, where: str) -> TrainConfig:
    """The configuration of this run: ``given`` (or the defaults) for a new run; the stored one, checked against
    ``given`` and with its runtime keys taken from ``given``, for a resumed run; ``epochs`` overrides both."""
    if ckpt is None:
        cfg = given or TrainConfig()
    else:
        try:
            stored = TrainConfig.from_mapping(ckpt["train_config"])
        except TfusInputError as err:
            raise TfusInputError(f"{where}/last.pt holds a training config this tfus cannot read ({err}); pass "
                                 "--overwrite to train anew") from None
        if str(ckpt["model"]) != stored.model_name:
            raise TfusInputError(f"{where}/last.pt holds a {ckpt['model']} model but its config names "
                                 f"{stored.model_name}; the file is damaged, pass --overwrite")
        cfg = stored
        if given is not None:
            if given.model_name != stored.model_name:
                raise TfusInputError(f"{where} is a {stored.model_name} run, the config asks for {given.model_name}; "
                                     "pass --overwrite to replace it or choose another --out")
            a, b = given.public(), stored.public()
            differ = [k for k in a if k not in RUNTIME_KEYS and a[k] != b[k]]
            if differ:
                raise TfusInputError(f"{where} was trained with another config ({', '.join(differ)} differ); resume "
                                     "with the same config, pass --overwrite, or choose another --out")
            cfg = TrainConfig.from_mapping({**b, **{k: a[k] for k in RUNTIME_KEYS}})
    if epochs is not None:
        cfg = TrainConfig.from_mapping({**cfg.public(), "epochs": int(epochs)})
    return cfg


def check_same_data(stored: dict, current: dict, where: str) -> None:
    """A resumed run must read the same kind of data: grid, spacing, frequency, points and training heads."""
    for key in ("grid_shape", "spacing_mm", "frequency_hz", "n_points", "train_heads"):
        if stored.get(key) != current.get(key):
            raise TfusInputError(f"{where} was trained on other data ({key}: {stored.get(key)} in last.pt, "
                                 f"{current.get(key)} now); give the same --store, pass --overwrite, or choose "
                                 "another --out")
