"""Check a store for damage: shapes against the attributes, and every complete sample's data.

A complete sample must have its pressure chunk (and phase / snapshots chunks when the store keeps them) on disk,
finite and not all zero, finite apex / target / focus, a known engine and a head that was written. Pending and
failed samples are not checked (they are allowed to be empty).

Example:
    >>> from tfus.pipeline.store import validate_store
    >>> validate_store("dataset.zarr")   # doctest: +SKIP
    []
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tfus.pipeline.store.create import array_shapes, field_arrays, open_store, store_spec
from tfus.pipeline.store.schema import HEAD_ARRAYS, SAMPLE_ARRAYS, STATUS_CODES

MAX_LISTED = 50  #: problems listed per kind before they are summarised


def validate_store(path: str | Path) -> list[str]:
    """Problems found in the store at ``path`` (empty list = healthy). Raises TfusInputError if it is no store."""
    path = Path(path)
    group = open_store(path)
    spec = store_spec(group)
    attrs = dict(group.attrs)
    problems: list[str] = []
    n_heads = len(attrs.get("head_names", []))

    present = set(group.array_keys())
    fields = field_arrays(spec)
    if "snapshot_times" not in present:  # optional: stores written before it existed lack it
        fields.pop("snapshot_times", None)
    wanted = dict(HEAD_ARRAYS) | dict(SAMPLE_ARRAYS) | fields
    missing = sorted(set(wanted) - present)
    if missing:
        return [f"arrays missing: {', '.join(missing)}"]
    n = group["status"].shape[0]
    expected = array_shapes(spec, n_heads, n)
    for name, (dims, _, _) in wanted.items():
        shape = expected.get(name, (n, 3) if len(dims) == 2 else (n,))
        arr = group[name]
        if tuple(arr.shape) != shape:
            problems.append(f"{name}: shape {tuple(arr.shape)}, expected {shape}")
        if tuple(arr.metadata.dimension_names or ()) != dims:
            problems.append(f"{name}: dimension_names {arr.metadata.dimension_names}, expected {dims}")
    if problems:
        return problems

    status = np.asarray(group["status"][:])
    bad = np.flatnonzero(~np.isin(status, list(STATUS_CODES.values())))
    _add(problems, [f"sample {i}: unknown status code {status[i]}" for i in bad])
    complete = np.flatnonzero(status == STATUS_CODES["complete"])
    heads = np.asarray(group["head_index"][:])
    engines = np.asarray(group["engine"][:])
    codes = {attrs["engine_codes"][e] for e in spec.engines}
    listed: list[str] = []
    for name in ("apex", "target", "focus"):
        values = np.asarray(group[name][:])[complete]
        listed += [f"sample {i}: {name} is not finite" for i in complete[~np.isfinite(values).all(axis=1)]]
    listed += [f"sample {i}: head_index {heads[i]} out of range (0..{n_heads - 1})"
               for i in complete if not 0 <= heads[i] < n_heads]
    listed += [f"sample {i}: engine code {engines[i]} is not one of this store's engines" for i in complete
               if int(engines[i]) not in codes]
    _add(problems, listed)

    used = sorted({int(h) for h in heads[complete] if 0 <= h < n_heads})
    for h in used:
        if not _chunk_exists(path, group["hu"], (h, 0, 0, 0)):
            problems.append(f"head {h}: hu was never written but complete samples use it")
        elif not np.isfinite(group["head_affine"][h]).all():
            problems.append(f"head {h}: head_affine is not finite")

    listed = []
    for i in complete:
        for name in [k for k in ("pressure", "phase", "snapshots", "snapshot_times", "box_hu") if k in wanted]:
            listed += _check_field(path, group[name], name, int(i))
        if "box_affine" in wanted and not np.isfinite(group["box_affine"][i]).all():
            listed.append(f"sample {i}: box_affine is not finite")
    _add(problems, listed)
    return problems


def _check_field(path: Path, arr, name: str, i: int) -> list[str]:
    if not _chunk_exists(path, arr, (i,) + (0,) * (arr.ndim - 1)):
        return [f"sample {i}: status complete but its {name} chunk is missing"]
    data = np.asarray(arr[i])
    if data.size == 0:
        return [f"sample {i}: {name} is empty"]
    n_bad = int((~np.isfinite(data)).sum())
    if n_bad:
        return [f"sample {i}: {name} has {n_bad} NaN/inf voxels"]
    if name != "phase" and not np.any(data):
        return [f"sample {i}: {name} is all zero"]
    return []


def _chunk_exists(path: Path, arr, coords: tuple[int, ...]) -> bool:
    """Whether the chunk at ``coords`` is stored (a never-written chunk reads as the fill value)."""
    key = arr.metadata.encode_chunk_key(coords)
    return (path / arr.basename / key).is_file()


def _add(problems: list[str], items: list[str]) -> None:
    problems.extend(items[:MAX_LISTED])
    if len(items) > MAX_LISTED:
        problems.append(f"... and {len(items) - MAX_LISTED} more like these")
