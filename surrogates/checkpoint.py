"""Surrogate checkpoints: one file holds the weights and everything needed to use them (model config, normalisation,
the data the model was trained on, training state for an exact resume). Loaded with ``torch.load(weights_only=True)``
only: every entry is a tensor, a number, a string, a list or a dict of those.

Keys: ``format`` (``"tfus-surrogate"``), ``format_version``, ``model`` (registered name, e.g. ``"deeptfus"``),
``model_config`` (dict), ``normalization`` (dict), ``data`` (grid shape, spacing, frequency, transducer, HU mapping,
n_points, store path and heads it was trained on), ``state_dict``; for training: ``train_config``, ``optimizer``,
``scheduler``, ``epoch``, ``step``, ``best``, ``rng``, ``versions``.

Example:
    >>> import tempfile, pathlib, torch
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "m.pt"
    >>> save_checkpoint(path, {"model": "deeptfus", "model_config": {}, "normalization": {}, "data": {},
    ...                        "state_dict": {"w": torch.zeros(2)}})
    >>> load_checkpoint(path)["model"]
    'deeptfus'
"""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path

import torch

from tfus.pipeline.errors import TfusInputError

FORMAT = "tfus-surrogate"
FORMAT_VERSION = 1
REQUIRED = ("model", "model_config", "normalization", "data", "state_dict")


def save_checkpoint(path: str | Path, payload: dict) -> None:
    """Write ``payload`` (+ format tags) atomically: a temp file beside ``path``, then rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    missing = [k for k in REQUIRED if k not in payload]
    if missing:
        raise ValueError(f"checkpoint payload misses {missing}")
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        torch.save({"format": FORMAT, "format_version": FORMAT_VERSION, **payload}, tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """Read a checkpoint file, or ``RUN/best.pt`` when given a run folder; one-line errors for anything else."""
    path = Path(path)
    if path.is_dir():
        for name in ("best.pt", "last.pt"):
            if (path / name).is_file():
                path = path / name
                break
        else:
            raise TfusInputError(f"{path} holds no best.pt or last.pt; give a training run folder or a checkpoint "
                                 "file")
    if not path.is_file():
        raise TfusInputError(f"checkpoint {path} not found; give a training run folder or a .pt file")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, zipfile.BadZipFile, RuntimeError, EOFError, ValueError, OSError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise TfusInputError(f"{path} is not a readable tfus checkpoint ({first[:120]}); re-train or re-download "
                             "it") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise TfusInputError(f"{path} is not a tfus surrogate checkpoint (no format tag {FORMAT!r}); give a "
                             "checkpoint written by `tfus train`")
    if int(ckpt.get("format_version", -1)) > FORMAT_VERSION:
        raise TfusInputError(f"{path} has checkpoint format {ckpt.get('format_version')}, this tfus reads up to "
                             f"{FORMAT_VERSION}; upgrade tfus")
    missing = [k for k in REQUIRED if k not in ckpt]
    if missing:
        raise TfusInputError(f"{path} misses {', '.join(missing)}; the file is incomplete, re-train it")
    return ckpt
