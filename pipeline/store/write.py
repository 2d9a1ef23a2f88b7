"""Writing into a store: heads, per-sample fields (in worker processes) and sample records (on the client).

Who writes what, so concurrent writers never touch the same chunk:

* :func:`write_sample_fields` runs in workers. It takes the store *path* (it pickles), opens the store itself and
  writes only the chunks of its own sample in ``pressure`` / ``phase`` / ``snapshots`` / ``snapshot_times`` (one
  chunk per sample).
* :func:`mark_samples` runs on the client only. It writes the small per-sample arrays (apex, target, focus,
  head_index, engine, peak_pressure_pa, sim_seconds) and then ``status``, so ``status == complete`` implies that
  everything else of the sample was written before.

Example:
    >>> import tempfile, pathlib, numpy as np
    >>> from tfus.pipeline.store import StoreSpec, SampleRecord, create_store, mark_samples, write_sample_fields
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "s.zarr"
    >>> g = create_store(path, StoreSpec(grid_shape=(4, 4, 4), spacing_mm=1.0, frequency_hz=5e5, with_phase=False),
    ...                  head_names=["h"], n_samples=1, splits={}, creation_config={})
    >>> write_sample_fields(path, 0, np.ones((4, 4, 4)))
    >>> mark_samples(g, [SampleRecord(0, 0, (0, 0, 0), (0, 0, 9), (0, 0, 8), "kwave", 1.0, 2.5)])
    >>> int(g["status"][0])
    1
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import zarr

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.store.schema import ENGINE_CODES, STATUS_CODES


def write_head(group: zarr.Group, index: int, hu: np.ndarray, labels: np.ndarray, affine: np.ndarray) -> None:
    """Write head ``index``: HU (float32), labels (uint8) and its 4x4 voxel -> RAS mm affine, on the store grid."""
    from tfus.pipeline.store.create import as_numpy_affine

    n_heads = group["hu"].shape[0]
    index = _index(index, n_heads, "head")
    grid = tuple(group["hu"].shape[1:])
    hu, labels = np.asarray(hu), np.asarray(labels)
    if hu.shape != grid or labels.shape != grid:
        raise TfusInputError(f"head {index}: hu {hu.shape} and labels {labels.shape} must both match the store grid "
                             f"{grid}; resample the head onto the store grid")
    if not np.isfinite(hu).all():
        raise TfusInputError(f"head {index}: hu has non-finite values; fix the head volume")
    group["hu"][index] = hu.astype(np.float32, copy=False)
    group["labels"][index] = labels.astype(np.uint8, copy=False)
    group["head_affine"][index] = as_numpy_affine(affine)


def write_sample_fields(path: str | Path, index: int, pressure: np.ndarray, phase: np.ndarray | None = None,
                        snapshots: np.ndarray | None = None, snapshot_times: np.ndarray | None = None,
                        box: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> None:
    """Write the fields of sample ``index`` (worker side; never touches ``status``).

    Args:
        path: the store folder (the store is opened here, so the call pickles cheaply).
        index: sample index.
        pressure: amplitude (Pa) on the store grid.
        phase: phase (rad) on the store grid; stored only if the store has ``phase``.
        snapshots: (T, X, Y, Z) pressure snapshots; required shape T = the store's ``n_snapshots``.
        snapshot_times: (T,) their times (s), from the engine's ``meta["snapshot_times_s"]``.
        box: ``(hu, labels, affine)`` of the sample's beam box; required in a beam-frame store, refused otherwise.
    """
    from tfus.pipeline.store.create import open_store

    group = open_store(path, mode="r+")
    n = group["pressure"].shape[0]
    index = _index(index, n, "sample")
    grid = tuple(group["pressure"].shape[1:])
    arrays = {"pressure": pressure, "phase": phase, "snapshots": snapshots, "snapshot_times": snapshot_times}
    beam = "box_hu" in group
    if beam != (box is not None):
        raise TfusInputError(f"sample {index}: " + ("a beam-frame store needs the sample's box (hu, labels, affine)"
                                                     if beam else "the store is not beam-frame; do not pass box"))
    if box is not None:
        from tfus.pipeline.store.create import as_numpy_affine

        hu, labels, affine = box
        arrays.update({"box_hu": hu, "box_labels": labels, "box_affine": as_numpy_affine(affine)})
    for name, value in arrays.items():
        if value is None:
            continue
        if name not in group:
            raise TfusInputError(f"the store at {path} has no {name!r} array (created with "
                                 f"{'with_phase=False' if name == 'phase' else 'n_snapshots=0'}); do not pass {name}"
                                 + (" (or re-create the store with this tfus)" if name == "snapshot_times" else ""))
        value = np.asarray(value)
        expected = tuple(group[name].shape[1:])
        if value.shape != expected:
            raise TfusInputError(f"sample {index}: {name} has shape {value.shape}, the store expects {expected} "
                                 f"(grid {grid})")
        group[name][index] = value.astype(group[name].dtype, copy=False)


@dataclass(frozen=True)
class SampleRecord:
    """What the client records about one finished (or failed) sample.

    Positions are world RAS mm: ``apex`` of the bowl, the ``target`` it was aimed at and the ``focus`` (position of
    the pressure maximum). ``status`` is ``complete`` or ``failed`` (``pending`` resets a sample).

    Example:
        >>> SampleRecord(3, 0, (0, 0, 0), (0, 0, 60), (0, 0, 58), "kwave", 1.2e6, 31.0).status
        'complete'
    """

    index: int
    head_index: int
    apex: tuple[float, float, float]
    target: tuple[float, float, float]
    focus: tuple[float, float, float]
    engine: str
    peak_pressure_pa: float
    sim_seconds: float
    status: str = "complete"


def mark_samples(group: zarr.Group, records: list[SampleRecord]) -> None:
    """Write the per-sample records (client side only): every small array first, ``status`` last."""
    if not records:
        return
    n = group["status"].shape[0]
    n_heads = group["hu"].shape[0]
    engines = list(group.attrs.get("engines", ENGINE_CODES))
    idx = np.array([_index(r.index, n, "sample") for r in records], dtype=np.int64)
    if len(set(idx.tolist())) != len(idx):
        raise TfusInputError("mark_samples got the same sample index twice in one call")
    for r in records:
        if r.status not in STATUS_CODES:
            raise TfusInputError(f"sample {r.index}: status {r.status!r} is not one of {sorted(STATUS_CODES)}")
        if r.engine not in engines:
            raise TfusInputError(f"sample {r.index}: engine {r.engine!r} is not one of this store's engines {engines}")
        _index(r.head_index, n_heads, "head")
    order = np.argsort(idx)
    idx, recs = idx[order], [records[i] for i in order]
    values = {
        "apex": np.array([_vec3(r.apex, "apex", r.index) for r in recs]),
        "target": np.array([_vec3(r.target, "target", r.index) for r in recs]),
        "focus": np.array([_vec3(r.focus, "focus", r.index) for r in recs]),
        "head_index": np.array([r.head_index for r in recs], np.int32),
        "engine": np.array([ENGINE_CODES[r.engine] for r in recs], np.int8),
        "peak_pressure_pa": np.array([r.peak_pressure_pa for r in recs], np.float32),
        "sim_seconds": np.array([r.sim_seconds for r in recs], np.float32),
    }
    for name, value in values.items():
        group[name].oindex[idx] = value
    group["status"].oindex[idx] = np.array([STATUS_CODES[r.status] for r in recs], np.uint8)


def _vec3(value, what: str, index: int) -> np.ndarray:
    v = np.asarray(value, dtype=np.float64)
    if v.shape != (3,):
        raise TfusInputError(f"sample {index}: {what} must be 3 numbers (world mm), got shape {v.shape}")
    return v


def _index(index: int, n: int, what: str) -> int:
    i = int(index)
    if not 0 <= i < n:
        raise TfusInputError(f"{what} index {index} is out of range (the store has {n} {what}s)")
    return i
