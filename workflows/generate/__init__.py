"""Dataset generation: heads x transducer poses simulated by Dask workers into a Zarr v3 store, resumable.

Example:
    >>> from tfus.workflows.generate import load_config
    >>> load_config("demo").name
    'demo'
"""

from __future__ import annotations

from tfus.workflows.generate.config import GenerateConfig, load_config

__all__ = ["GenerateConfig", "load_config"]
