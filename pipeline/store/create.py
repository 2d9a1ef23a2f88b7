"""Create and open dataset stores.

:func:`create_store` builds the whole empty store (attributes and every array) in a temporary folder beside the
target and renames it into place, so a store either exists complete or not at all.

Example:
    >>> import tempfile, pathlib
    >>> from tfus.pipeline.store import StoreSpec, create_store, open_store, store_spec
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "demo.zarr"
    >>> spec = StoreSpec(grid_shape=(8, 8, 8), spacing_mm=2.0, frequency_hz=5e5)
    >>> _ = create_store(path, spec, head_names=["h0"], n_samples=2, splits={"train": [0]}, creation_config={})
    >>> store_spec(open_store(path)) == spec
    True
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import zarr
from zarr.codecs import BloscCodec

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.store.schema import (
    BOX_ARRAYS,
    ENGINE_CODES,
    FIELD_ARRAYS,
    HEAD_ARRAYS,
    SAMPLE_ARRAYS,
    SCHEMA_NAME,
    SCHEMA_VERSION,
    SMALL_CHUNK,
    SPLIT_NAMES,
    STATUS_CODES,
    StoreSpec,
    plain_json,
    spec_attrs,
    spec_from_attrs,
)
from tfus.pipeline.version import __version__, versions


def compressor() -> BloscCodec:
    """The codec of every array: Blosc with Zstandard level 3 and bit shuffling."""
    return BloscCodec(cname="zstd", clevel=3, shuffle="bitshuffle")


def create_store(path: str | Path, spec: StoreSpec, *, head_names: list[str], n_samples: int,
                 splits: dict[str, list[int]], creation_config: dict, overwrite: bool = False) -> zarr.Group:
    """Create an empty store (every sample pending) at ``path`` and return it opened read-write.

    Args:
        path: the store folder (conventionally ``*.zarr``); must not exist unless ``overwrite``.
        spec: grid, physics and what is stored per sample.
        head_names: one unique name per head (index = position).
        n_samples: number of samples (>= 1).
        splits: ``{"train": [head index], "val": [...], "test": [...]}``; missing names mean empty, a head may be in
            one split only.
        creation_config: the generating configuration, as plain JSON.
        overwrite: replace an existing tfus store at ``path`` (never a folder that is not one).

    Example:
        >>> create_store("/tmp/x.zarr", spec, head_names=["a"], n_samples=4, splits={},
        ...              creation_config={})  # doctest: +SKIP
    """
    path = Path(path)
    names = [str(n) for n in head_names]
    if not names or len(set(names)) != len(names):
        raise TfusInputError(f"head_names must be non-empty and unique, got {len(names)} names "
                             f"({len(set(names))} distinct)")
    if int(n_samples) < 1:
        raise TfusInputError(f"n_samples must be >= 1, got {n_samples}")
    split_lists = check_splits(splits, len(names))
    config = plain_json(creation_config, "creation_config")
    check_target(path, overwrite)

    tmp = path.parent / f".{path.name}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        _build(tmp, spec, names, int(n_samples), split_lists, config)
        replace_dir(tmp, path, overwrite=overwrite)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return zarr.open_group(path, mode="r+", use_consolidated=False)


def check_splits(splits: dict[str, list[int]], n_heads: int) -> dict[str, list[int]]:
    """``splits`` with all of train/val/test present, as lists of head indices; TfusInputError if invalid."""
    unknown = sorted(set(splits or {}) - set(SPLIT_NAMES))
    if unknown:
        raise TfusInputError(f"unknown split names {unknown}; use {list(SPLIT_NAMES)}")
    out, seen = {}, {}
    for name in SPLIT_NAMES:
        values = [int(i) for i in (splits or {}).get(name, [])]
        for i in values:
            if not 0 <= i < n_heads:
                raise TfusInputError(f"split {name!r} names head {i}, but there are {n_heads} heads")
            if i in seen:
                raise TfusInputError(f"head {i} is in both split {seen[i]!r} and {name!r}; splits must be disjoint")
            seen[i] = name
        out[name] = sorted(values)
    return out


def check_target(path: Path, overwrite: bool) -> None:
    """Refuse a store path that exists (unless ``overwrite`` and it is a tfus store) or whose parent is a file."""
    if path.exists() or path.is_symlink():
        if not overwrite:
            raise TfusInputError(f"{path} already exists; choose a new store path or pass --overwrite")
        if not path.is_dir() or not (path / "zarr.json").is_file() or _schema_of(path) != SCHEMA_NAME:
            raise TfusInputError(f"{path} exists and is not a tfus store; refusing to overwrite it, choose another "
                                 "path")
    for parent in path.absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                raise TfusInputError(f"cannot create {path}: {parent} is a file, not a folder")
            break


def _schema_of(path: Path) -> str | None:
    try:
        meta = json.loads((path / "zarr.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return (meta.get("attributes") or {}).get("tfus_schema") if isinstance(meta, dict) else None


def replace_dir(tmp: Path, final: Path, *, overwrite: bool) -> None:
    """Rename the finished folder ``tmp`` to ``final``; with ``overwrite`` the old ``final`` is moved aside first
    (under the store lock, so no writer is using it) and deleted after the new one is in place."""
    from tfus.pipeline.store.lock import StoreLock

    final.parent.mkdir(parents=True, exist_ok=True)
    if not (final.exists() and overwrite):
        try:
            os.rename(tmp, final)  # fails if final appeared meanwhile and is not empty
        except OSError as err:
            raise TfusInputError(f"cannot create {final}: {err.strerror}; choose a new store path") from None
        return
    old = final.parent / f".{final.name}.old-{uuid.uuid4().hex[:8]}"
    with StoreLock(final):
        os.rename(final, old)
    os.rename(tmp, final)
    shutil.rmtree(old, ignore_errors=True)


def _build(root: Path, spec: StoreSpec, names: list[str], n: int, splits: dict, config: dict) -> None:
    group = zarr.open_group(root, mode="w-", zarr_format=3)
    group.attrs.update({
        "tfus_schema": SCHEMA_NAME,
        "schema_version": SCHEMA_VERSION,
        **spec_attrs(spec),
        "tfus_version": __version__,
        "versions": versions(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "creation_config": config,
        "splits": splits,
        "head_names": names,
        "engine_codes": dict(ENGINE_CODES),
        "status_codes": dict(STATUS_CODES),
    })
    shapes = array_shapes(spec, len(names), n)
    for name, (dims, dtype, fill) in HEAD_ARRAYS.items():
        chunks = (1, *shapes[name][1:]) if name != "head_affine" else shapes[name]
        _array(group, name, shapes[name], chunks, dims, dtype, fill)
    for name, (dims, dtype, fill) in field_arrays(spec).items():
        chunks = (1, *shapes[name][1:]) if name != "box_affine" else (min(n, SMALL_CHUNK), 4, 4)
        _array(group, name, shapes[name], chunks, dims, dtype, fill)
    for name, (dims, dtype, fill) in SAMPLE_ARRAYS.items():
        shape = (n, 3) if len(dims) == 2 else (n,)
        _array(group, name, shape, (min(n, SMALL_CHUNK), *shape[1:]), dims, dtype, fill)


def field_arrays(spec: StoreSpec) -> dict:
    """Name -> (dims, dtype, fill) of the per-sample field arrays a store of ``spec`` has: pressure, phase and
    snapshots when stored; in a beam-frame store on the box dims (bx, by, bz), with the box arrays."""
    arrays = {}
    for name, (dims, dtype, fill) in FIELD_ARRAYS.items():
        if (name == "phase" and not spec.with_phase) or (name.startswith("snapshot") and spec.n_snapshots == 0):
            continue
        if spec.frame == "beam":
            dims = tuple({"x": "bx", "y": "by", "z": "bz"}.get(d, d) for d in dims)
        arrays[name] = (dims, dtype, fill)
    if spec.frame == "beam":
        arrays.update(BOX_ARRAYS)
    return arrays


def array_shapes(spec: StoreSpec, n_heads: int, n: int) -> dict[str, tuple[int, ...]]:
    """Name -> shape of every grid array of a store of ``spec`` with ``n_heads`` heads and ``n`` samples."""
    grid, fields = spec.grid_shape, spec.field_shape
    return {"hu": (n_heads, *grid), "labels": (n_heads, *grid), "head_affine": (n_heads, 4, 4),
            "pressure": (n, *fields), "phase": (n, *fields), "snapshots": (n, spec.n_snapshots, *fields),
            "snapshot_times": (n, spec.n_snapshots), "box_hu": (n, *fields), "box_labels": (n, *fields),
            "box_affine": (n, 4, 4)}


def _array(group, name, shape, chunks, dims, dtype, fill) -> None:
    group.create_array(name, shape=shape, chunks=chunks, dtype=dtype, fill_value=fill, compressors=compressor(),
                       dimension_names=dims)


def open_store(path: str | Path, mode: str = "r") -> zarr.Group:
    """Open an existing store; TfusInputError if ``path`` is missing, not a tfus store or of another schema version.

    ``mode="r"`` uses consolidated metadata when present; writable modes always read the metadata files themselves.
    """
    path = Path(path)
    if mode not in ("r", "r+", "a"):
        raise TfusInputError(f"open_store mode must be 'r', 'r+' or 'a', got {mode!r}")
    if not path.exists():
        raise TfusInputError(f"no store at {path}; check the path or create the store first")
    if not path.is_dir() or not (path / "zarr.json").is_file():
        raise TfusInputError(f"{path} is not a Zarr store (no zarr.json); pass the folder of a tfus dataset store")
    try:
        group = zarr.open_group(path, mode=mode, use_consolidated=None if mode == "r" else False)
    except (ValueError, TypeError, KeyError, OSError) as err:
        raise TfusInputError(f"{path} cannot be opened as a Zarr v3 group ({err}); pass a tfus dataset store") \
            from None
    attrs = group.attrs
    if attrs.get("tfus_schema") != SCHEMA_NAME:
        raise TfusInputError(f"{path} is a Zarr group but not a tfus store (tfus_schema is "
                             f"{attrs.get('tfus_schema')!r}, expected {SCHEMA_NAME!r})")
    found = attrs.get("schema_version")
    if str(found) != SCHEMA_VERSION:
        raise TfusInputError(f"{path} has store schema_version {found!r}, this tfus reads version "
                             f"{SCHEMA_VERSION!r}; re-create the store with this tfus or use a matching tfus version")
    return group


def store_spec(group: zarr.Group) -> StoreSpec:
    """The :class:`StoreSpec` recorded in an open store."""
    return spec_from_attrs(dict(group.attrs))


def finalize_store(path: str | Path) -> None:
    """Consolidate the metadata (one read opens the whole store); call again after any metadata change."""
    import warnings

    open_store(path)  # checks it is a store
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Consolidated metadata is currently not part")
        zarr.consolidate_metadata(str(path))


def as_numpy_affine(affine) -> np.ndarray:
    """A 4x4 float64 affine; TfusInputError otherwise."""
    a = np.asarray(affine, dtype=np.float64)
    if a.shape != (4, 4) or not np.isfinite(a).all():
        raise TfusInputError(f"affine must be a finite 4x4 matrix, got shape {a.shape}")
    return a
