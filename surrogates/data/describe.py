"""What a surrogate needs to know about the store it learns from: the transducer as an object, the training peaks
that fit the scale normalisation, and the ``data`` entry of a checkpoint (see the surrogate contract).

Example:
    >>> store_transducer({"name": "b", "radius_of_curvature_mm": 30.0, "aperture_mm": 25.0,
    ...                   "frequency_hz": 5e5}).aperture_diameter_mm
    25.0
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import zarr

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.store import open_store, split_samples, store_spec
from tfus.pipeline.transducers import BowlTransducer
from tfus.surrogates.normalization import Normalization

__all__ = ["data_description", "fit_normalization", "split_heads", "split_peaks", "store_transducer"]

#: source amplitude assumed when a store does not record one (TFUScapes); it does not enter the model inputs.
DEFAULT_SOURCE_AMPLITUDE_PA = 6e4


def store_transducer(attrs: Mapping[str, Any]) -> BowlTransducer:
    """The bowl of a store's ``transducer`` attribute (``aperture_mm`` or ``aperture_diameter_mm``)."""
    t = dict(attrs or {})
    aperture = t.get("aperture_mm", t.get("aperture_diameter_mm"))
    missing = [k for k, v in (("radius_of_curvature_mm", t.get("radius_of_curvature_mm")), ("aperture_mm", aperture),
                              ("frequency_hz", t.get("frequency_hz"))) if v is None]
    if missing:
        raise TfusInputError(f"the store's transducer attribute lacks {', '.join(missing)}; the store cannot feed a "
                             "surrogate (re-create or re-import it)")
    return BowlTransducer(str(t.get("name") or "store"), t["radius_of_curvature_mm"], aperture, t["frequency_hz"],
                          t.get("source_amplitude_pa") or DEFAULT_SOURCE_AMPLITUDE_PA)


def split_heads(group: zarr.Group, split: str) -> list[int]:
    """Head indices of ``split`` (train / val / test) in an open store."""
    return [int(h) for h in dict(group.attrs.get("splits") or {}).get(split, [])]


def split_peaks(store: str | Path, split: str = "train") -> np.ndarray:
    """Peak pressure (Pa) of every complete sample of ``split``: the field maximum, read from the field itself
    where the store's ``peak_pressure_pa`` record is missing. (``tfus generate`` records the *intracranial* focal
    peak, at most the field maximum the target uses; close enough to centre and scale the log peaks.)"""
    group = open_store(store)
    idx = split_samples(group, split)
    peaks = np.asarray(group["peak_pressure_pa"][:], float)[idx] if idx.size else np.zeros(0)
    for k in np.flatnonzero(~(np.isfinite(peaks) & (peaks > 0))):
        peaks[k] = float(np.nanmax(np.asarray(group["pressure"][int(idx[k])], float)))
    return peaks[np.isfinite(peaks) & (peaks > 0)]


def fit_normalization(store: str | Path, split: str = "train", base: Normalization | None = None) -> Normalization:
    """:class:`Normalization` with the log-peak mean/std fitted on the peaks of ``split`` (:func:`split_peaks`)."""
    peaks = split_peaks(store, split)
    if peaks.size == 0:
        raise TfusInputError(f"split {split!r} of {store} has no complete sample with a positive peak pressure; "
                             "nothing to fit the normalisation on")
    return (base or Normalization()).fit_peaks(peaks)


def data_description(store: str | Path, n_points: int, n_train_samples: int) -> dict:
    """The checkpoint's ``data`` entry: grid, physics, transducer, HU mapping, points and the heads of each split."""
    group = open_store(store)
    spec = store_spec(group)
    names = list(group.attrs.get("head_names") or [])
    heads = {s: [names[h] for h in split_heads(group, s)] for s in ("train", "val", "test")}
    # the training fields' grid: the head grid, or in a beam-frame store the beam box (then frame and box say so)
    return {"store": str(Path(store).resolve()), "grid_shape": list(spec.field_shape), "frame": spec.frame,
            "box": dict(spec.box), "spacing_mm": spec.spacing_mm,
            "frequency_hz": spec.frequency_hz, "transducer": dict(spec.transducer), "hu_mapping": spec.hu_mapping,
            "n_points": int(n_points), "train_heads": heads["train"], "val_heads": heads["val"],
            "test_heads": heads["test"], "n_train_samples": int(n_train_samples)}
