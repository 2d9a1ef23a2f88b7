"""Where bundled data lives: presets and small head volumes shipped in ``data/`` (installed as ``tfus.data``), and
volumes built at setup time (``data/heads/built/`` or ``$TFUS_DATA_DIR``).

Example:
    >>> from tfus.pipeline.resources import data_path
    >>> data_path("transducers").name
    'transducers'
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path


def data_root() -> Path:
    """The bundled ``data/`` folder (the installed ``tfus.data`` package)."""
    return Path(str(resources.files("tfus.data")))


def data_path(*parts: str) -> Path:
    """Path of a bundled data file or folder, e.g. ``data_path("transducers", "itrusst-sc1.yaml")``."""
    return data_root().joinpath(*parts)


def built_data_dir() -> Path:
    """Folder of volumes built at setup (real CT, pycortex T1, Colin27): ``$TFUS_DATA_DIR`` if set, else
    ``data/heads/built`` inside the (editable) source tree."""
    env = os.environ.get("TFUS_DATA_DIR")
    return Path(env) if env else data_path("heads", "built")


def bundled_heads() -> dict[str, Path]:
    """Name -> image path of every head available offline: the committed T1s and the volumes built at setup."""
    heads = {"mni152_t1": data_path("heads", "mni152_t1_2mm.nii.gz"), "itk_t1": data_path("heads", "itk_t1.nii.gz")}
    built = built_data_dir()
    for name, file in [("cranium_ct", "cranium_ct.nii.gz"), ("colin27_t1", "colin27_t1.nii.gz"),
                       ("pycortex_s1_t1", "pycortex_s1_t1.nii.gz")]:
        if (built / file).is_file():
            heads[name] = built / file
    return heads
