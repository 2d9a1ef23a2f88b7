"""Import k-wave-python safely: offline, without hanging, and without touching the root logger.

k-wave-python 0.6.2 runs code at import time that tfus cannot accept in a library or on a compute node:

* ``kwave/__init__.py`` ends with ``if not binaries_present(): install_binaries()``, which downloads the C++ solver
  binaries with ``urllib.request.urlretrieve`` (bound at import by ``from urllib.request import urlretrieve``). Its
  handler only catches :class:`TimeoutError`, so offline the import dies with ``URLError``; on a slow network it hangs.
  tfus uses the native NumPy/CuPy backend (``backend="python"``) and the conversion utilities, which need no binary.
* It logs through the module-level :mod:`logging` functions, which call :func:`logging.basicConfig` and so install a
  handler on the root logger of the host application when it has none.

:func:`import_kwave` performs the first ``import kwave`` under a lock with, for that moment only:

* ``urllib.request.urlretrieve`` replaced by a function raising :class:`TimeoutError` *without any network access*, so
  kwave's own handler skips the download (it then calls ``os.remove`` on the binary folder, which fails on a folder and
  only logs a warning);
* ``os.makedirs`` made tolerant of ``OSError`` for paths inside the kwave package (a read-only site-packages would
  otherwise abort the import); any other path behaves exactly as before;
* a :class:`logging.NullHandler` on the root logger, so ``basicConfig`` is a no-op, and a root-logger filter that drops
  the records logged from inside the kwave package (the "binaries not found" / "download timed out" messages);
* Python warnings silenced.

Everything is restored in ``finally``; the ``urlretrieve`` name inside the imported kwave module is pointed back at
the real function, so an explicit ``kwave.install_binaries()`` still downloads. Later calls return the cached module.
If the C++ binaries are already installed, kwave does not try to download and the guards change nothing.

Example:
    >>> from tfus.pipeline.kwave_compat import import_kwave, import_kwave_submodule
    >>> kwave = import_kwave()
    >>> conversion = import_kwave_submodule("utils.conversion")
    >>> callable(conversion.hounsfield2density)
    True
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import sys
import threading
import urllib.request
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

__all__ = ["import_kwave", "import_kwave_submodule", "kwave_quiet"]

_LOCK = threading.RLock()


def _offline_urlretrieve(url: str, *args: object, **kwargs: object) -> None:
    """Stand-in for ``urlretrieve`` during the kwave import: never connects, raises what kwave tolerates."""
    raise TimeoutError(f"tfus: network download of {url} skipped while importing kwave")


class _DropRecordsFrom(logging.Filter):
    """Drop log records emitted from files under one folder (used on the root logger during the kwave import)."""

    def __init__(self, *folders: Path) -> None:
        super().__init__()
        self._prefixes = tuple({os.path.normcase(str(folder)) + os.sep for folder in folders})

    def filter(self, record: logging.LogRecord) -> bool:
        return not os.path.normcase(record.pathname or "").startswith(self._prefixes)


def _kwave_package_dir() -> Path:
    """The kwave package folder as the import system sees it (found without executing kwave)."""
    spec = importlib.util.find_spec("kwave")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("k-wave-python is not installed; install it with `pip install k-wave-python>=0.6.2`")
    return Path(os.path.abspath(next(iter(spec.submodule_search_locations))))


def _within(path: object, folder: Path) -> bool:
    try:
        resolved = Path(os.fspath(path)).resolve()  # type: ignore[arg-type]
    except (TypeError, OSError, ValueError):
        return False
    return resolved == folder or folder in resolved.parents


def _guarded_first_import() -> ModuleType:
    package_dir = _kwave_package_dir()
    resolved_dir = package_dir.resolve()
    root = logging.getLogger()
    null_handler = logging.NullHandler()
    record_filter = _DropRecordsFrom(package_dir, resolved_dir)
    real_urlretrieve = urllib.request.urlretrieve
    real_makedirs = os.makedirs

    def tolerant_makedirs(name, mode=0o777, exist_ok=False):  # mirrors os.makedirs
        try:
            return real_makedirs(name, mode, exist_ok)
        except OSError:
            if _within(name, resolved_dir):
                return None
            raise

    root.addHandler(null_handler)
    root.addFilter(record_filter)
    urllib.request.urlretrieve = _offline_urlretrieve
    os.makedirs = tolerant_makedirs
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = importlib.import_module("kwave")
    finally:
        os.makedirs = real_makedirs
        urllib.request.urlretrieve = real_urlretrieve
        root.removeFilter(record_filter)
        root.removeHandler(null_handler)
    if getattr(module, "urlretrieve", None) is _offline_urlretrieve:
        module.urlretrieve = real_urlretrieve  # let an explicit kwave.install_binaries() download again
    return module


def import_kwave() -> ModuleType:
    """Return the ``kwave`` package, importing it offline-safely on first use.

    Thread-safe and idempotent: the first call does the guarded import described in the module docstring, later
    calls (or calls after someone else imported kwave) return ``sys.modules["kwave"]``.

    Returns:
        The imported ``kwave`` module.

    Raises:
        ImportError: k-wave-python is not installed.

    Example:
        >>> from tfus.pipeline.kwave_compat import import_kwave
        >>> import_kwave().__name__
        'kwave'
    """
    with _LOCK:
        module = sys.modules.get("kwave")
        if module is not None:
            return module
        return _guarded_first_import()


def import_kwave_submodule(name: str) -> ModuleType:
    """Import ``kwave.<name>`` (e.g. ``"utils.conversion"``) after the safe top-level import.

    Args:
        name: dotted path below ``kwave``.

    Returns:
        The submodule.

    Example:
        >>> from tfus.pipeline.kwave_compat import import_kwave_submodule
        >>> import_kwave_submodule("utils.conversion").__name__
        'kwave.utils.conversion'
    """
    import_kwave()
    with _LOCK:
        return importlib.import_module(f"kwave.{name.strip('.')}")


@contextmanager
def kwave_quiet() -> Iterator[None]:
    """Call k-wave-python functions that log or warn (e.g. its legacy ``kspaceFirstOrder3D``) without touching the
    host's root logger: for the duration, a :class:`logging.NullHandler` on the root logger makes ``basicConfig`` a
    no-op, records logged from inside the kwave package are dropped, and Python warnings are silenced.

    Example:
        >>> from tfus.pipeline.kwave_compat import kwave_quiet
        >>> with kwave_quiet():
        ...     pass
    """
    package_dir = _kwave_package_dir()
    root = logging.getLogger()
    null_handler = logging.NullHandler()
    record_filter = _DropRecordsFrom(package_dir, package_dir.resolve())
    root.addHandler(null_handler)
    root.addFilter(record_filter)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        root.removeFilter(record_filter)
        root.removeHandler(null_handler)
