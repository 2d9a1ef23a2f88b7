"""The installed tfus version and the versions of the libraries a run depends on (recorded next to outputs)."""

from __future__ import annotations

import platform
from importlib import metadata

try:
    __version__ = metadata.version("tfus")
except metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

_RECORDED = ("numpy", "scipy", "nibabel", "SimpleITK", "torch", "monai", "k-wave-python", "zarr", "dask", "scikit-fem")


def versions() -> dict[str, str]:
    """Versions of tfus, Python and the scientific libraries, for provenance records.

    Example:
        >>> "tfus" in versions()
        True
    """
    out = {"tfus": __version__, "python": platform.python_version()}
    for name in _RECORDED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out
