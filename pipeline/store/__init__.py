"""The Zarr v3 dataset store: heads, per-sample pressure fields and poses in one folder that ``xarray`` opens.

Layout, status semantics and who writes what: see ``README.md`` (Dataset store) and the module docstrings. No dask
here: workers call :func:`write_sample_fields` with the store path, the client calls :func:`mark_samples`.

Example:
    >>> import tempfile, pathlib, numpy as np
    >>> from tfus.pipeline.store import StoreSpec, create_store, store_info
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "ds.zarr"
    >>> spec = StoreSpec(grid_shape=(8, 8, 8), spacing_mm=2.0, frequency_hz=5e5)
    >>> _ = create_store(path, spec, head_names=["h0", "h1"], n_samples=3, splits={"train": [0], "test": [1]},
    ...                  creation_config={"seed": 0})
    >>> info = store_info(path); info["n_samples"], info["n_complete"]
    (3, 0)
"""

from tfus.pipeline.store.bowl_fit import BowlFit, fit_bowl, fit_sphere
from tfus.pipeline.store.create import create_store, finalize_store, open_store, store_spec
from tfus.pipeline.store.lock import StoreLock
from tfus.pipeline.store.read import (
    DEFAULT_SOURCE_AMPLITUDE_PA,
    SampleStore,
    bowl_from_record,
    complete_indices,
    read_split,
    read_transducer,
    sample_status,
    split_samples,
    store_info,
)
from tfus.pipeline.store.schema import (
    ENGINE_CODES,
    SCHEMA_NAME,
    SCHEMA_VERSION,
    SPLIT_NAMES,
    STATUS_CODES,
    StoreSpec,
)
from tfus.pipeline.store.validate import validate_store
from tfus.pipeline.store.write import SampleRecord, mark_samples, write_head, write_sample_fields

__all__ = [
    "DEFAULT_SOURCE_AMPLITUDE_PA", "ENGINE_CODES", "SCHEMA_NAME", "SCHEMA_VERSION", "SPLIT_NAMES", "STATUS_CODES",
    "BowlFit", "SampleRecord", "SampleStore", "StoreLock", "StoreSpec", "bowl_from_record", "complete_indices",
    "create_store", "finalize_store", "fit_bowl", "fit_sphere", "mark_samples", "open_store", "read_split",
    "read_transducer", "sample_status", "split_samples", "store_info", "store_spec", "validate_store", "write_head",
    "write_sample_fields",
]
