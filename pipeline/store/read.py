"""Reading a store: sample status, the store facts other packages need (the heads of a split, :func:`read_split`;
the simulated bowl, :func:`read_transducer` / :func:`bowl_from_record`), a summary (:func:`store_info`) and
:class:`SampleStore`, a picklable per-sample reader for training (surrogates) that yields numpy arrays of complete
samples only.

Example:
    >>> from tfus.pipeline.store import SampleStore, read_split, read_transducer
    >>> read_split("dataset.zarr", "test"), read_transducer("dataset.zarr").frequency_hz   # doctest: +SKIP
    ([3, 7], 500000.0)
    >>> ds = SampleStore("dataset.zarr", split="train")   # doctest: +SKIP
    >>> item = ds[0]; item["pressure"].shape, item["hu"].shape   # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import zarr

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.store.create import open_store, store_spec
from tfus.pipeline.store.schema import SPLIT_NAMES, STATUS_CODES
from tfus.pipeline.transducers.bowl import BowlTransducer

#: source amplitude assumed when a store's transducer record has none (TFUScapes); it does not enter model inputs.
DEFAULT_SOURCE_AMPLITUDE_PA = 6e4


def sample_status(group: zarr.Group) -> np.ndarray:
    """Status code of every sample (uint8; see ``STATUS_CODES``: pending 0, complete 1, failed 2)."""
    return np.asarray(group["status"][:], dtype=np.uint8)


def complete_indices(group: zarr.Group) -> np.ndarray:
    """Indices of the complete samples, ascending."""
    return np.flatnonzero(sample_status(group) == STATUS_CODES["complete"])


def _group(store: str | Path | zarr.Group) -> zarr.Group:
    return store if isinstance(store, zarr.Group) else open_store(store)


def read_split(store: str | Path | zarr.Group, split: str) -> list[int]:
    """Head indices of ``split`` (train / val / test) of a store (path or open group); empty when it has none.

    Raises:
        TfusInputError: ``split`` is not one of train, val, test.

    Example:
        >>> read_split("dataset.zarr", "val")   # doctest: +SKIP
        [2]
    """
    if split not in SPLIT_NAMES:
        raise TfusInputError(f"unknown split {split!r}; use one of {', '.join(SPLIT_NAMES)}")
    return [int(h) for h in dict(_group(store).attrs.get("splits") or {}).get(split, [])]


def bowl_from_record(record: Mapping[str, Any], frequency_hz: float | None = None) -> BowlTransducer:
    """The bowl of a store's (or a checkpoint's) ``transducer`` record, at ``frequency_hz`` when given (a dataset
    config may override the preset's frequency; the store spec records the one simulated).

    The record names the aperture ``aperture_mm`` or ``aperture_diameter_mm``; a missing name becomes ``store`` and
    a missing source amplitude :data:`DEFAULT_SOURCE_AMPLITUDE_PA`.

    Raises:
        TfusInputError: the record lacks the radius of curvature, the aperture or the frequency.

    Example:
        >>> bowl_from_record({"name": "b", "radius_of_curvature_mm": 30, "aperture_mm": 20, "frequency_hz": 2.5e5},
        ...                  frequency_hz=2.25e5).frequency_hz
        225000.0
    """
    t = dict(record or {})
    aperture = t.get("aperture_mm", t.get("aperture_diameter_mm"))
    missing = [k for k, v in (("radius_of_curvature_mm", t.get("radius_of_curvature_mm")), ("aperture_mm", aperture),
                              ("frequency_hz", t.get("frequency_hz"))) if v is None]
    if missing:
        raise TfusInputError(f"the store's transducer attribute lacks {', '.join(missing)}; the store cannot feed a "
                             "surrogate (re-create or re-import it)")
    bowl = BowlTransducer(str(t.get("name") or "store"), t["radius_of_curvature_mm"], aperture, t["frequency_hz"],
                          t.get("source_amplitude_pa") or DEFAULT_SOURCE_AMPLITUDE_PA)
    return bowl if frequency_hz is None else replace(bowl, frequency_hz=float(frequency_hz))


def read_transducer(store: str | Path | zarr.Group) -> BowlTransducer:
    """The bowl a store (path or open group) was simulated with, at the simulated frequency (:func:`bowl_from_record`
    of its ``transducer`` record and spec).

    Example:
        >>> read_transducer("dataset.zarr").radius_of_curvature_mm   # doctest: +SKIP
        64.0
    """
    spec = store_spec(_group(store))
    return bowl_from_record(spec.transducer, spec.frequency_hz)


def split_samples(group: zarr.Group, split: str) -> np.ndarray:
    """Indices of the complete samples whose head is in ``split`` (train / val / test)."""
    heads = np.asarray(read_split(group, split), dtype=np.int64)
    done = complete_indices(group)
    return done[np.isin(np.asarray(group["head_index"][:])[done], heads)]


def folder_size(path: str | Path) -> int:
    """Bytes of all files under ``path``."""
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def store_info(path: str | Path) -> dict:
    """Summary of a store: heads, sample counts by status, grid, spacing, engines, splits, size on disk.

    Example:
        >>> store_info("dataset.zarr")["n_complete"]   # doctest: +SKIP
        2480
    """
    group = open_store(path)
    spec = store_spec(group)
    attrs = dict(group.attrs)
    status = sample_status(group)
    heads = np.asarray(group["head_index"][:])
    complete = status == STATUS_CODES["complete"]
    splits = {}
    for name in SPLIT_NAMES:
        members = read_split(group, name)
        splits[name] = {"heads": len(members), "samples": int(np.isin(heads[complete], members).sum())}
    by_engine = {}
    codes = {v: k for k, v in attrs["engine_codes"].items()}
    engine = np.asarray(group["engine"][:])
    for code in np.unique(engine[complete]):
        by_engine[codes.get(int(code), str(code))] = int((engine[complete] == code).sum())
    return {
        "path": str(path),
        "schema_version": attrs["schema_version"],
        "heads": len(attrs["head_names"]),
        "head_names": list(attrs["head_names"]),
        "n_samples": int(status.size),
        "n_complete": int(complete.sum()),
        "n_failed": int((status == STATUS_CODES["failed"]).sum()),
        "n_pending": int((status == STATUS_CODES["pending"]).sum()),
        "grid_shape": list(spec.grid_shape),
        "spacing_mm": spec.spacing_mm,
        "frequency_hz": spec.frequency_hz,
        "engines": list(spec.engines),
        "complete_by_engine": by_engine,
        "transducer": spec.transducer,
        "hu_mapping": spec.hu_mapping,
        "with_phase": spec.with_phase,
        "n_snapshots": spec.n_snapshots,
        "frame": spec.frame,
        "box_shape": None if spec.box_shape is None else list(spec.box_shape),
        "splits": splits,
        "created": attrs.get("created"),
        "tfus_version": attrs.get("tfus_version"),
        "size_bytes": folder_size(path),
    }


class SampleStore:
    """Complete samples of a store (optionally one split) as numpy arrays; picklable (re-opens in each process).

    ``store[i]`` returns a dict: ``index`` (sample index in the store), ``head_index``, ``hu``, ``labels``,
    ``affine`` (of the head; in a beam-frame store of the sample's box, on the field's grid), ``pressure``,
    ``phase`` / ``snapshots`` / ``snapshot_times`` when stored, ``apex``, ``target``, ``focus``,
    ``peak_pressure_pa``.
    """

    def __init__(self, path: str | Path, split: str | None = None) -> None:
        self.path = Path(path)
        self.split = split
        group = self._group = open_store(self.path)
        self.spec = store_spec(group)
        self.indices = complete_indices(group) if split is None else split_samples(group, split)
        self._heads = np.asarray(group["head_index"][:])

    def __len__(self) -> int:
        return int(self.indices.size)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_group"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    @property
    def group(self) -> zarr.Group:
        if self._group is None:
            self._group = open_store(self.path)
        return self._group

    def __getitem__(self, i: int) -> dict:
        if not -len(self) <= i < len(self):
            raise IndexError(f"sample {i} out of range ({len(self)} samples)")
        g, s = self.group, int(self.indices[i])
        h = int(self._heads[s])
        if self.spec.frame == "beam":  # the sample's own box: HU, labels and affine on the field's grid
            hu, labels, affine = g["box_hu"][s], g["box_labels"][s], g["box_affine"][s]
        else:
            hu, labels, affine = g["hu"][h], g["labels"][h], g["head_affine"][h]
        item = {"index": s, "head_index": h, "hu": hu, "labels": labels,
                "affine": affine, "pressure": g["pressure"][s], "apex": g["apex"][s],
                "target": g["target"][s], "focus": g["focus"][s], "peak_pressure_pa": float(g["peak_pressure_pa"][s])}
        for name in ("phase", "snapshots", "snapshot_times"):
            if name in g:
                item[name] = g[name][s]
        return item
