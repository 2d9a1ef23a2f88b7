"""Where data lives: presets and small head volumes shipped in ``data/`` (installed as ``tfus.data``), volumes built at
setup time (``built_data_dir``) and on-disk caches (``cache_dir``).

Example:
    >>> from tfus.pipeline.resources import data_path
    >>> data_path("transducers").name
    'transducers'
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import platformdirs


def data_root() -> Path:
    """The bundled ``data/`` folder (the installed ``tfus.data`` package)."""
    return Path(str(resources.files("tfus.data")))


def data_path(*parts: str) -> Path:
    """Path of a bundled data file or folder, e.g. ``data_path("transducers", "itrusst-sc1.yaml")``."""
    return data_root().joinpath(*parts)


def built_data_dir() -> Path:
    """Folder of volumes built at setup (real CT, pycortex T1, Colin27).

    ``$TFUS_DATA_DIR`` if set; else ``data/heads/built`` when ``tfus.data`` is a writable source tree (an editable
    install of a checkout); else the user's data folder (``platformdirs``, e.g. ``~/.local/share/tfus/heads``), so a
    regular ``pip install`` into any environment finds what ``python -m tfus.data.build_heads`` built.
    """
    env = os.environ.get("TFUS_DATA_DIR")
    if env:
        return Path(env)
    root = data_root()
    if is_source_tree(root):
        return root / "heads" / "built"
    return Path(platformdirs.user_data_dir("tfus")) / "heads"


def cache_dir() -> Path:
    """Folder of on-disk caches (e.g. the free-field bowl tables): ``$TFUS_CACHE_DIR`` if set, else the user's cache
    folder (``platformdirs``, e.g. ``~/.cache/tfus``)."""
    env = os.environ.get("TFUS_CACHE_DIR")
    return Path(env) if env else Path(platformdirs.user_cache_dir("tfus"))


def is_source_tree(data_folder: Path) -> bool:
    """Whether ``data_folder`` (the ``tfus.data`` folder) sits in a writable checkout rather than an installed
    package: its parent holds the project's ``pyproject.toml`` and the folder can be written."""
    return (data_folder.parent / "pyproject.toml").is_file() and os.access(data_folder, os.W_OK)


def bundled_heads() -> dict[str, Path]:
    """Name -> image path of every head available offline: the committed T1s and the volumes built at setup."""
    heads = {"mni152_t1": data_path("heads", "mni152_t1_2mm.nii.gz"), "itk_t1": data_path("heads", "itk_t1.nii.gz")}
    built = built_data_dir()
    for name, file in [("cranium_ct", "cranium_ct.nii.gz"), ("colin27_t1", "colin27_t1.nii.gz"),
                       ("pycortex_s1_t1", "pycortex_s1_t1.nii.gz")]:
        if (built / file).is_file():
            heads[name] = built / file
    return heads


def preset_or_path(name_or_path: str | Path, folder: str, what: str) -> Path:
    """The YAML file a user means: a preset of ``data/<folder>/`` by name (``"itrusst-sc1"``), or a path (a ``Path``,
    a ``.yaml``/``.yml`` suffix or a folder separator). An unknown preset is a one-line error listing the presets.

    Example:
        >>> preset_or_path("itrusst-sc1", "transducers", "transducer").name
        'itrusst-sc1.yaml'
    """
    from tfus.pipeline.errors import TfusInputError

    text = str(name_or_path)
    path = Path(text).expanduser()
    if isinstance(name_or_path, Path) or path.suffix in (".yaml", ".yml") or "/" in text or "\\" in text:
        return path
    presets = sorted(p.stem for p in data_path(folder).glob("*.yaml")) if data_path(folder).is_dir() else []
    if text not in presets:
        raise TfusInputError(f"unknown {what} preset {text!r}; available presets: {', '.join(presets)}; "
                             "or pass the path of a YAML file")
    return data_path(folder, f"{text}.yaml")


def cached_array(name: str, compute, *, ndim: int | None = None):
    """A numpy array cached as ``<cache_dir>/<name>.npy``: read when present and sound (a missing, unreadable or
    wrong-rank file is recomputed), else ``compute()`` and written atomically (a read-only cache is not an error).

    Example:
        >>> import numpy as np
        >>> cached_array("doc-example-v1", lambda: np.arange(3)).tolist()  # doctest: +SKIP
        [0, 1, 2]
    """
    import numpy as np

    from tfus.pipeline.io.atomic import atomic_path

    path = cache_dir() / f"{name}.npy"
    if path.is_file():
        try:
            arr = np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            arr = None
        if arr is not None and (ndim is None or arr.ndim == ndim):
            return arr
    arr = np.asarray(compute())
    try:
        with atomic_path(path) as tmp:
            np.save(tmp, arr, allow_pickle=False)
    except OSError:
        pass
    return arr

