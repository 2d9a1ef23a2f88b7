"""Physics and data: image I/O, head/skull models, acoustic properties, transducers, wave engines, the store schema.

No Dask here; orchestration lives in :mod:`tfus.workflows`.
"""

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.version import __version__

__all__ = ["TfusInputError", "__version__"]
