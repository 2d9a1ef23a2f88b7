"""Import the TFUScapes release (one ``.npz`` per k-Wave simulation) into a tfus dataset store.

Assumptions (TFUScapes stores no geometry besides voxel indices):

* Spacing: given by the user (``spacing_mm``); the files do not record it.
* Affine: voxel index (i, j, k) -> RAS mm is ``spacing * (index - (shape - 1) / 2)``: array axes 0, 1, 2 point to
  R, A, S and the grid centre is the world origin. The orientation is not documented upstream; positions are
  consistent within the store (heads, poses and foci share this affine) whatever the true orientation.
* Pose: ``tr_coords`` (voxel indices of the bowl surface) are mapped to mm and fitted with a sphere
  (:mod:`tfus.pipeline.store.bowl_fit`): target = geometric focus = sphere centre, apex = centre - R * axis.
  The store's ``transducer`` attribute records the median fitted radius of curvature and aperture and their range.
* ``focus`` = world position of the ``pmap`` maximum, ``peak_pressure_pa`` = that maximum; ``sim_seconds`` is NaN
  (not released); the engine is k-Wave; no phase is stored. A sample whose ``pmap`` is not finite or not positive
  is imported as failed.
* Heads: samples of one subject whose ``ct`` are byte-identical (same zip CRC and size) share one head; a subject
  with several distinct CTs gets one head per CT, named ``SUBJECT#k``. Labels come from
  :func:`tfus.pipeline.head.ct.segment_ct`; where it finds no head or cranial cavity (cropped volumes) a threshold
  labelling is used (-300 HU soft tissue -> scalp, >= 300 HU bone, >= 1000 HU cortical else trabecular; no brain
  label), and the method per head is recorded in the ``import_report`` attribute.

The whole import is built in a temporary folder beside the target and renamed into place at the end, so a failed or
interrupted import leaves the target untouched.

Example:
    >>> from tfus.pipeline.store.tfuscapes import import_tfuscapes
    >>> summary = import_tfuscapes("TFUScapes/", "tfuscapes.zarr", spacing_mm=0.5)   # doctest: +SKIP
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.store.bowl_fit import fit_bowl
from tfus.pipeline.store.create import check_target, create_store, finalize_store, replace_dir
from tfus.pipeline.store.lock import StoreLock
from tfus.pipeline.store.read import complete_indices, folder_size
from tfus.pipeline.store.schema import SPLIT_NAMES, StoreSpec
from tfus.pipeline.store.tfuscapes_scan import assign_splits, read_split_entries, scan_tfuscapes
from tfus.pipeline.store.write import SampleRecord, mark_samples, write_head, write_sample_fields

LABEL_METHODS = ("auto", "segment_ct", "threshold")
TFUSCAPES_FREQUENCY_HZ = 500e3


def grid_affine(shape: tuple[int, int, int], spacing_mm: float) -> np.ndarray:
    """Voxel index -> RAS mm with the grid centre at the origin (see the module docstring)."""
    a = np.diag([spacing_mm] * 3 + [1.0])
    a[:3, 3] = -spacing_mm * (np.asarray(shape, dtype=float) - 1.0) / 2.0
    return a


def threshold_labels(hu: np.ndarray) -> np.ndarray:
    """Labels by HU thresholds only: > -300 scalp (1), >= 300 bone: >= 1000 cortical (2), else trabecular (3)."""
    from tfus.pipeline.head.ct import BONE_HU, CORTICAL_HU, SOFT_TISSUE_HU
    from tfus.pipeline.head.labels import Label

    labels = np.zeros(hu.shape, np.uint8)
    labels[hu > SOFT_TISSUE_HU] = Label.SCALP
    labels[hu >= BONE_HU] = Label.TRABECULAR
    labels[hu >= CORTICAL_HU] = Label.CORTICAL
    return labels


def head_labels(hu: np.ndarray, spacing_mm: float, method: str) -> tuple[np.ndarray, str]:
    """(labels, method used) for a pseudo-CT; ``auto`` tries ``segment_ct`` and falls back to thresholds."""
    from tfus.pipeline.head.ct import segment_ct

    if method == "threshold":
        return threshold_labels(hu), "threshold"
    try:
        return segment_ct(hu, spacing_mm), "segment_ct"
    except TfusInputError:
        if method == "segment_ct":
            raise
        return threshold_labels(hu), "threshold"


def import_tfuscapes(directory: str | Path, store: str | Path, spacing_mm: float, *,
                     splits: list[Path] | None = None, overwrite: bool = False,
                     frequency_hz: float = TFUSCAPES_FREQUENCY_HZ, labels: str = "auto",
                     progress: Callable[[int, int], None] | None = None) -> dict:
    """Import every TFUScapes ``.npz`` under ``directory`` into a new store at ``store``; returns a summary.

    Args:
        directory: folder searched recursively for ``.npz`` files (``data/<SUBJECT>/exp_<k>.npz``).
        store: the store folder to create.
        spacing_mm: voxel size of the TFUScapes grid.
        splits: split files (see :func:`read_split_entries`); default ``directory/splits/`` if it exists, else
            every head goes to ``train``.
        overwrite: replace an existing tfus store at ``store``.
        frequency_hz: driving frequency recorded in the store (TFUScapes: 500 kHz).
        labels: ``auto`` (segment_ct, thresholds where it fails), ``segment_ct`` or ``threshold``.
        progress: called as ``progress(done, total)`` after each sample.
    """
    t0 = time.perf_counter()
    store, directory = Path(store), Path(directory)
    _check_arguments(store, spacing_mm, labels, overwrite)
    plan = _plan(directory, splits, spacing_mm)
    transducer = _fitted_transducer(plan.fits, frequency_hz)
    spec = StoreSpec(grid_shape=plan.grid, spacing_mm=spacing_mm, frequency_hz=frequency_hz, engines=("kwave",),
                     transducer=transducer, hu_mapping="tfuscapes", n_snapshots=0, with_phase=False)
    config = {"source": "tfuscapes", "directory": str(directory.resolve()), "spacing_mm": float(spacing_mm),
              "frequency_hz": float(frequency_hz), "labels": labels,
              "split_files": [str(Path(p).resolve()) for p in plan.split_paths],
              "affine": "voxel index -> RAS mm, axes 0/1/2 = R/A/S, grid centre at the origin",
              "samples": [f.sample for f in plan.files]}

    tmp = store.parent / f".{store.name}.import-{uuid.uuid4().hex[:8]}"
    try:
        group = create_store(tmp, spec, head_names=plan.head_names, n_samples=len(plan.files),
                             splits=plan.head_splits, creation_config=config)
        methods = _write_heads_and_samples(group, tmp, plan, spacing_mm, labels, progress)
        group.attrs["import_report"] = _import_report(plan, methods)
        n_complete = int(complete_indices(group).size)
        finalize_store(tmp)
        replace_dir(tmp, store, overwrite=overwrite)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)

    return {
        "store": str(store),
        "n_samples": len(plan.files),
        "n_complete": n_complete,
        "n_failed": len(plan.files) - n_complete,
        "heads": len(plan.head_names),
        "subjects": len(set(plan.head_subject)),
        "grid_shape": list(plan.grid),
        "spacing_mm": float(spacing_mm),
        "transducer": transducer,
        "splits": {n: len(v) for n, v in plan.head_splits.items()},
        "split_source": [str(p) for p in plan.split_paths] or "none: every head in train",
        "split_entries_not_found": plan.unmatched,
        "label_methods": {m: sum(1 for v in methods.values() if v == m) for m in ("segment_ct", "threshold")},
        "size_bytes": folder_size(store),
        "seconds": round(time.perf_counter() - t0, 2),
    }


@dataclass(frozen=True)
class _Plan:
    """What the import writes, decided before anything is written: the files and their bowl fits, the heads (one per
    distinct CT of a subject) and their splits, the grid and its affine."""

    files: list
    fits: list
    grid: tuple[int, int, int]
    affine: np.ndarray
    head_of: dict[tuple, int]  # (subject, ct signature) -> head index
    head_names: list[str]
    head_subject: list[str]
    head_splits: dict[str, list[int]]
    subject_splits: dict[str, list[str]]
    has_split_entries: bool
    unmatched: int
    split_paths: list[Path]


def _check_arguments(store: Path, spacing_mm: float, labels: str, overwrite: bool) -> None:
    """One-line errors for bad arguments; refuse a target held by another writer now, before the work."""
    if not np.isfinite(spacing_mm) or spacing_mm <= 0:
        raise TfusInputError(f"--spacing must be a positive number of mm, got {spacing_mm}")
    if labels not in LABEL_METHODS:
        raise TfusInputError(f"--labels must be one of {', '.join(LABEL_METHODS)}, got {labels!r}")
    check_target(store, overwrite)
    if store.exists():
        with StoreLock(store):  # refuse now, before the work, if a writer holds the old store
            pass


def _plan(directory: Path, splits: list[Path] | None, spacing_mm: float) -> _Plan:
    """Scan ``directory``, read the split files, fit every bowl and group the samples into heads."""
    files = scan_tfuscapes(directory)
    split_paths = list(splits or [])
    if not split_paths and (directory / "splits").is_dir():
        split_paths = [directory / "splits"]
    entries = read_split_entries(split_paths) if split_paths else {}
    subject_splits, unmatched = assign_splits(entries, files) if entries else ({"train": [], "val": [], "test": []}, 0)

    grid = files[0].grid_shape
    affine = grid_affine(grid, spacing_mm)
    fits = [fit_bowl(f.tr_coords @ affine[:3, :3].T + affine[:3, 3]) for f in files]
    head_of, head_names, head_subject = _group_heads(files)
    if entries:
        head_splits = {n: [h for h, s in enumerate(head_subject) if s in subject_splits[n]] for n in SPLIT_NAMES}
    else:
        head_splits = {"train": list(range(len(head_names))), "val": [], "test": []}
    return _Plan(files, fits, grid, affine, head_of, head_names, head_subject, head_splits, subject_splits,
                 bool(entries), unmatched, split_paths)


def _group_heads(files) -> tuple[dict[tuple, int], list[str], list[str]]:
    """One head per distinct CT of a subject: (subject, signature) -> index, names (``SUBJECT`` or ``SUBJECT#k``)
    and the subject of each head."""
    heads: dict[tuple, int] = {}
    head_names: list[str] = []
    head_subject: list[str] = []
    for f in files:
        key = (f.subject, f.ct_signature)
        if key not in heads:
            n_same = sum(1 for s in head_subject if s == f.subject)
            heads[key] = len(head_names)
            head_names.append(f.subject if n_same == 0 else f"{f.subject}#{n_same}")
            head_subject.append(f.subject)
    for i, subject in enumerate(head_subject):  # rename the first CT of a subject that turned out to have several
        if head_names[i] == subject and head_subject.count(subject) > 1:
            head_names[i] = f"{subject}#0"
    return heads, head_names, head_subject


def _fitted_transducer(fits: list, frequency_hz: float) -> dict:
    """The store's ``transducer`` record from per-sample bowl fits: median radius and aperture, and their ranges."""
    radii = np.array([f.radius_of_curvature_mm for f in fits])
    apertures = np.array([f.aperture_mm for f in fits])
    return {
        "name": "tfuscapes-fitted",
        "radius_of_curvature_mm": round(float(np.median(radii)), 4),
        "aperture_mm": round(float(np.median(apertures)), 4),
        "aperture_diameter_mm": round(float(np.median(apertures)), 4),
        "frequency_hz": float(frequency_hz),
        "fitted_from": "tr_coords (least-squares sphere fit per sample)",
        "radius_of_curvature_mm_range": [round(float(radii.min()), 4), round(float(radii.max()), 4)],
        "aperture_mm_range": [round(float(apertures.min()), 4), round(float(apertures.max()), 4)],
        "fit_rms_residual_mm_max": round(float(max(f.rms_residual_mm for f in fits)), 4),
    }


def _write_heads_and_samples(group, tmp: Path, plan: _Plan, spacing_mm: float, labels: str,
                             progress: Callable[[int, int], None] | None) -> dict[str, str]:
    """Write each head (at its first sample) and every sample's field and record; returns the label method per
    head."""
    methods: dict[str, str] = {}
    records = []
    for i, (f, fit) in enumerate(zip(plan.files, plan.fits, strict=True)):
        h = plan.head_of[(f.subject, f.ct_signature)]
        with np.load(f.path, allow_pickle=False) as data:
            if plan.head_names[h] not in methods:
                methods[plan.head_names[h]] = _write_head_of(group, h, f.path, data, plan.affine, spacing_mm, labels)
            pmap = np.asarray(data["pmap"], dtype=np.float32)
        write_sample_fields(tmp, i, pmap)
        records.append(_sample_record(i, h, fit, pmap, plan))
        del pmap
        if progress is not None:
            progress(i + 1, len(plan.files))
    mark_samples(group, records)
    return methods


def _write_head_of(group, h: int, path: Path, data, affine: np.ndarray, spacing_mm: float, labels: str) -> str:
    """Write head ``h`` from a sample's ``ct``; returns the label method used."""
    hu = np.asarray(data["ct"], dtype=np.float32)
    if not np.isfinite(hu).all():
        raise TfusInputError(f"{path}: ct has non-finite values; fix or remove the file")
    lab, method = head_labels(hu, spacing_mm, labels)
    write_head(group, h, hu, lab, affine)
    return method


def _sample_record(i: int, h: int, fit, pmap: np.ndarray, plan: _Plan) -> SampleRecord:
    """The record of sample ``i``: pose from the bowl fit, focus at the ``pmap`` maximum, failed if not finite or
    not positive."""
    ok = bool(np.isfinite(pmap).all() and pmap.max() > 0)
    peak_ijk = np.unravel_index(int(np.nanargmax(np.where(np.isfinite(pmap), pmap, -np.inf))), plan.grid)
    focus = plan.affine[:3, :3] @ np.asarray(peak_ijk, float) + plan.affine[:3, 3]
    return SampleRecord(index=i, head_index=h, apex=tuple(fit.apex), target=tuple(fit.centre), focus=tuple(focus),
                        engine="kwave", peak_pressure_pa=float(np.nanmax(pmap)) if ok else float("nan"),
                        sim_seconds=float("nan"), status="complete" if ok else "failed")


def _import_report(plan: _Plan, methods: dict[str, str]) -> dict:
    """The ``import_report`` attribute: label method per head, split mismatches and the per-sample fit quality."""
    in_split = {s for members in plan.subject_splits.values() for s in members}
    return {"label_methods": methods, "split_entries_not_found": plan.unmatched,
            "subjects_in_no_split": sorted(set(plan.head_subject) - in_split) if plan.has_split_entries else [],
            "fit_per_sample": {k: [round(float(getattr(f, k)), 4) for f in plan.fits]
                               for k in ("radius_of_curvature_mm", "aperture_mm", "rms_residual_mm")}}
