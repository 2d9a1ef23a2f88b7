"""What a surrogate needs to know about the store it learns from: the training peaks that fit the scale
normalisation and the ``data`` entry of a checkpoint (see the surrogate contract). The store facts themselves (the
heads of a split, the simulated bowl) are read by :mod:`tfus.pipeline.store` (:func:`~tfus.pipeline.store.read_split`,
:func:`~tfus.pipeline.store.read_transducer`).

Example:
    >>> data_description("dataset.zarr", n_points=2048, n_train_samples=120)["test_heads"]   # doctest: +SKIP
    ['head-07']
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.store import open_store, read_split, split_samples, store_spec
from tfus.surrogates.normalization import Normalization

__all__ = ["data_description", "fit_normalization", "split_peaks"]


def split_peaks(store: str | Path, split: str = "train", indices: np.ndarray | None = None) -> np.ndarray:
    """Peak pressure (Pa) of every complete sample of ``split``: in a beam-frame store the field maximum (the
    targets' peak); in a whole-head store the ``peak_pressure_pa`` record, read from the field itself where it is
    missing. (``tfus generate`` records the *intracranial* focal
    peak, at most the field maximum the target uses; close enough to centre and scale the log peaks.)"""
    group = open_store(store)
    idx = split_samples(group, split) if indices is None else np.asarray(indices, np.int64)
    if store_spec(group).frame == "beam":  # small boxes: the field maximum itself, exactly what the targets use
        peaks = np.array([float(np.nanmax(np.asarray(group["pressure"][int(s)], float))) for s in idx])
        return peaks[np.isfinite(peaks) & (peaks > 0)]
    peaks = np.asarray(group["peak_pressure_pa"][:], float)[idx] if idx.size else np.zeros(0)
    for k in np.flatnonzero(~(np.isfinite(peaks) & (peaks > 0))):
        peaks[k] = float(np.nanmax(np.asarray(group["pressure"][int(idx[k])], float)))
    return peaks[np.isfinite(peaks) & (peaks > 0)]


def fit_normalization(store: str | Path, split: str = "train", base: Normalization | None = None,
                      indices: np.ndarray | None = None) -> Normalization:
    """:class:`Normalization` with the log-peak mean/std fitted on the peaks of ``split`` (:func:`split_peaks`;
    ``indices``: of those samples only)."""
    peaks = split_peaks(store, split, indices)
    if peaks.size == 0:
        raise TfusInputError(f"split {split!r} of {store} has no complete sample with a positive peak pressure; "
                             "nothing to fit the normalisation on")
    return (base or Normalization()).fit_peaks(peaks)


def data_description(store: str | Path, n_points: int, n_train_samples: int) -> dict:
    """The checkpoint's ``data`` entry: grid, physics, transducer, HU mapping, points and the heads of each split."""
    group = open_store(store)
    spec = store_spec(group)
    names = list(group.attrs.get("head_names") or [])
    heads = {s: [names[h] for h in read_split(group, s)] for s in ("train", "val", "test")}
    # the training fields' grid: the head grid, or in a beam-frame store the beam box (then frame and box say so)
    return {"store": str(Path(store).resolve()), "grid_shape": list(spec.field_shape), "frame": spec.frame,
            "box": dict(spec.box), "spacing_mm": spec.spacing_mm,
            "frequency_hz": spec.frequency_hz, "transducer": dict(spec.transducer), "hu_mapping": spec.hu_mapping,
            "n_points": int(n_points), "train_heads": heads["train"], "val_heads": heads["val"],
            "test_heads": heads["test"], "n_train_samples": int(n_train_samples),
            # what reproduces a training simulation (``tfus predict --verify``): the engine, its settings, coupling
            "simulation": _simulation_record(group)}


def _simulation_record(group) -> dict:
    sim = dict((group.attrs.get("creation_config") or {}).get("simulation") or {})
    return {k: sim[k] for k in ("engine", "kwave", "coupling", "mapping") if k in sim}
