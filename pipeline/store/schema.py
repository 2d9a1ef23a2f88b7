"""The dataset store schema: constants, the :class:`StoreSpec` of a store, and the layout of its arrays.

A store is one Zarr v3 group with every array at the root, so ``xarray.open_zarr(path)`` opens the whole store as
one Dataset (dimensions from each array's ``dimension_names``).

Example:
    >>> spec = StoreSpec(grid_shape=(32, 32, 32), spacing_mm=1.0, frequency_hz=5e5)
    >>> spec.compatible_with(StoreSpec(grid_shape=(32, 32, 32), spacing_mm=0.5, frequency_hz=5e5))
    'spacing_mm differs: 1 vs 0.5'
    >>> spec_from_attrs(spec_attrs(spec)) == spec
    True
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from tfus.pipeline.errors import TfusInputError

SCHEMA_NAME = "tfus-store"  #: value of the root attribute ``tfus_schema``
SCHEMA_VERSION = "1"  #: value of the root attribute ``schema_version``
ENGINE_CODES = {"kwave": 0, "fem": 1}  #: ``engine`` array values
STATUS_CODES = {"pending": 0, "complete": 1, "failed": 2}  #: ``status`` array values
SPLIT_NAMES = ("train", "val", "test")
LOCK_NAME = ".tfus.lock"  #: lock file inside the store folder (see :class:`tfus.pipeline.store.StoreLock`)
SMALL_CHUNK = 65536  #: samples per chunk of the small per-sample arrays

#: Fill values of the arrays (what a never-written chunk reads as).
NAN = float("nan")
#: name -> (dimension names, dtype, fill value); the grid dims are x, y, z.
HEAD_ARRAYS = {
    "hu": (("head", "x", "y", "z"), "float32", NAN),
    "labels": (("head", "x", "y", "z"), "uint8", 0),
    "head_affine": (("head", "row", "col"), "float64", NAN),
}
FIELD_ARRAYS = {
    "pressure": (("sample", "x", "y", "z"), "float32", NAN),
    "phase": (("sample", "x", "y", "z"), "float32", NAN),
    "snapshots": (("sample", "t", "x", "y", "z"), "float32", NAN),
    # times (s from the source start) of each sample's snapshots: the spacing depends on the run length, which
    # depends on the medium and grid of the sample (a store written before this array existed lacks it)
    "snapshot_times": (("sample", "t"), "float64", NAN),
}
#: beam-frame stores (``frame="beam"``): each sample's head resampled into its beam box and the box's affine; the
#: field arrays then live on the box grid (dims bx, by, bz) instead of the head grid (x, y, z)
BOX_ARRAYS = {
    "box_hu": (("sample", "bx", "by", "bz"), "float32", NAN),
    "box_labels": (("sample", "bx", "by", "bz"), "uint8", 0),
    "box_affine": (("sample", "row", "col"), "float64", NAN),
}
FRAMES = ("grid", "beam")
SAMPLE_ARRAYS = {  # written by the client only (mark_samples); status last
    "apex": (("sample", "xyz"), "float64", NAN),
    "target": (("sample", "xyz"), "float64", NAN),
    "focus": (("sample", "xyz"), "float64", NAN),
    "head_index": (("sample",), "int32", -1),
    "engine": (("sample",), "int8", -1),
    "peak_pressure_pa": (("sample",), "float32", NAN),
    "sim_seconds": (("sample",), "float32", NAN),
    "status": (("sample",), "uint8", STATUS_CODES["pending"]),
}


@dataclass(frozen=True)
class StoreSpec:
    """What every sample of a store shares: the grid, the physics and what is stored per sample.

    Args:
        grid_shape: (X, Y, Z) voxels of every head and field.
        spacing_mm: isotropic voxel size.
        frequency_hz: driving frequency of every simulation.
        engines: wave engines whose samples the store may hold (keys of ``ENGINE_CODES``).
        transducer: the bowl (plain JSON: name, radius_of_curvature_mm, aperture_mm, frequency_hz, ...).
        hu_mapping: acoustic property mapping used (``tfus.pipeline.acoustics``).
        n_snapshots: pressure snapshots per sample, over the last period of a continuous wave or the whole run of a
            tone burst, with their times in ``snapshot_times`` (0 = none stored).
        with_phase: whether a ``phase`` array is stored.
        frame: ``grid`` (fields on the head grid) or ``beam`` (fields in a box aligned with the bowl axis,
            :mod:`tfus.pipeline.beam`, with the box's HU, labels and affine per sample).
        box_shape: the beam box grid (``frame="beam"``).
        box: the beam box extents (plain JSON of :class:`tfus.pipeline.beam.BeamBox`).

    Example:
        >>> StoreSpec(grid_shape=(8, 8, 8), spacing_mm=2.0, frequency_hz=5e5).engines
        ('kwave',)
    """

    grid_shape: tuple[int, int, int]
    spacing_mm: float
    frequency_hz: float
    engines: tuple[str, ...] = ("kwave",)
    transducer: dict = field(default_factory=dict)
    hu_mapping: str = "itrusst"
    n_snapshots: int = 0
    with_phase: bool = True
    frame: str = "grid"
    box_shape: tuple[int, int, int] | None = None
    box: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        try:
            shape = tuple(int(s) for s in self.grid_shape)
        except (TypeError, ValueError):
            raise TfusInputError(f"grid_shape must be three positive integers, got {self.grid_shape!r}") from None
        if len(shape) != 3 or min(shape) < 1:
            raise TfusInputError(f"grid_shape must be three positive integers, got {self.grid_shape!r}")
        object.__setattr__(self, "grid_shape", shape)
        for name in ("spacing_mm", "frequency_hz"):
            value = float(getattr(self, name))
            if not math.isfinite(value) or value <= 0:
                raise TfusInputError(f"{name} must be a positive number, got {getattr(self, name)!r}")
            object.__setattr__(self, name, value)
        engines = (self.engines,) if isinstance(self.engines, str) else tuple(str(e) for e in self.engines)
        unknown = [e for e in engines if e not in ENGINE_CODES]
        if not engines or unknown or len(set(engines)) != len(engines):
            raise TfusInputError(f"engines must be distinct names from {sorted(ENGINE_CODES)}, got {self.engines!r}")
        object.__setattr__(self, "engines", engines)
        if int(self.n_snapshots) < 0:
            raise TfusInputError(f"n_snapshots must be >= 0, got {self.n_snapshots}")
        object.__setattr__(self, "n_snapshots", int(self.n_snapshots))
        object.__setattr__(self, "with_phase", bool(self.with_phase))
        object.__setattr__(self, "hu_mapping", str(self.hu_mapping))
        object.__setattr__(self, "transducer", plain_json(dict(self.transducer), "transducer"))
        if self.frame not in FRAMES:
            raise TfusInputError(f"frame must be one of {', '.join(FRAMES)}, got {self.frame!r}")
        if self.frame == "beam":
            try:
                box_shape = tuple(int(v) for v in self.box_shape)
            except (TypeError, ValueError):
                box_shape = ()
            if len(box_shape) != 3 or min(box_shape) < 1:
                raise TfusInputError(f"a beam-frame store needs box_shape, three positive integers, got "
                                     f"{self.box_shape!r}")
            object.__setattr__(self, "box_shape", box_shape)
        else:
            object.__setattr__(self, "box_shape", None)
        object.__setattr__(self, "box", plain_json(dict(self.box), "box"))

    @property
    def field_shape(self) -> tuple[int, int, int]:
        """The grid of the stored fields: the beam box, or the head grid."""
        return self.box_shape if self.frame == "beam" else self.grid_shape

    def compatible_with(self, other: StoreSpec) -> str | None:
        """None if samples made under ``other`` can go into a store of ``self``, else a one-line reason."""
        for name in ("grid_shape", "engines", "hu_mapping", "n_snapshots", "with_phase", "frame", "box_shape", "box"):
            a, b = getattr(self, name), getattr(other, name)
            if name == "engines":
                a, b = sorted(a), sorted(b)
            if a != b:
                return f"{name} differs: {_show(a)} vs {_show(b)}"
        for name in ("spacing_mm", "frequency_hz"):
            a, b = getattr(self, name), getattr(other, name)
            if not math.isclose(a, b, rel_tol=1e-9):
                return f"{name} differs: {a:g} vs {b:g}"
        if self.transducer != other.transducer:
            keys = sorted(k for k in set(self.transducer) | set(other.transducer)
                          if self.transducer.get(k) != other.transducer.get(k))
            return "transducer differs in " + ", ".join(
                f"{k} ({_show(self.transducer.get(k))} vs {_show(other.transducer.get(k))})" for k in keys)
        return None


def _show(value: Any) -> str:
    return str(tuple(value)) if isinstance(value, list | tuple) else str(value)


def plain_json(value: Any, what: str) -> Any:
    """``value`` as plain JSON types (tuples become lists); TfusInputError if it cannot be stored as JSON."""
    try:
        return json.loads(json.dumps(value, allow_nan=True))
    except (TypeError, ValueError) as err:
        raise TfusInputError(f"{what} must be plain JSON (numbers, strings, lists, dicts): {err}") from None


def spec_attrs(spec: StoreSpec) -> dict:
    """The root attributes that hold ``spec``."""
    return {
        "grid_shape": list(spec.grid_shape),
        "spacing_mm": spec.spacing_mm,
        "frequency_hz": spec.frequency_hz,
        "engines": list(spec.engines),
        "transducer": spec.transducer,
        "hu_mapping": spec.hu_mapping,
        "n_snapshots": spec.n_snapshots,
        "with_phase": spec.with_phase,
        "frame": spec.frame,
        "box_shape": None if spec.box_shape is None else list(spec.box_shape),
        "box": spec.box,
    }


def spec_from_attrs(attrs: dict) -> StoreSpec:
    """Rebuild the :class:`StoreSpec` from root attributes (inverse of :func:`spec_attrs`)."""
    try:
        return StoreSpec(grid_shape=tuple(attrs["grid_shape"]), spacing_mm=attrs["spacing_mm"],
                         frequency_hz=attrs["frequency_hz"], engines=tuple(attrs["engines"]),
                         transducer=dict(attrs.get("transducer") or {}), hu_mapping=attrs.get("hu_mapping", "itrusst"),
                         n_snapshots=attrs.get("n_snapshots", 0), with_phase=attrs.get("with_phase", True),
                         frame=attrs.get("frame", "grid"), box_shape=attrs.get("box_shape"),
                         box=dict(attrs.get("box") or {}))
    except KeyError as err:
        raise TfusInputError(f"store attributes lack {err}; the store is damaged, re-create it") from None
