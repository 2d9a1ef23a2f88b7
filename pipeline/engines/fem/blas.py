"""Run the sparse LU with one BLAS thread.

SuperLU (``scipy.sparse.linalg.splu``) calls BLAS on small dense supernodes, which gain nothing from threads; on a
shared machine OpenBLAS's threads spin-wait for cores other processes hold and one factorisation measured here varied
from 0.03 s to 5 s. :func:`single_blas_thread` limits every loaded OpenBLAS to one thread for the duration: through
``threadpoolctl`` when it is installed, else through OpenBLAS's own ``*openblas_set_num_threads*`` entry point in the
libraries the process has loaded (Linux ``/proc/self/maps``). Anything unavailable is skipped (no-op).

Example:
    >>> import numpy as np
    >>> with single_blas_thread():
    ...     float(np.dot(np.ones(3), np.ones(3)))
    3.0
"""

from __future__ import annotations

import contextlib
import ctypes
import re
from collections.abc import Iterator

_NAMES = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads", "openblas_set_num_threads64_",
          "openblas_set_num_threads")


def _openblas_handles() -> list[tuple[object, object]]:
    """(setter, getter) pairs of the OpenBLAS libraries mapped into this process."""
    try:
        with open("/proc/self/maps", encoding="utf-8") as fh:
            paths = sorted(set(re.findall(r"(/\S*openblas\S*\.so\S*)", fh.read())))
    except OSError:
        return []
    out = []
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in _NAMES:
            getter = name.replace("set_num", "get_num")
            if hasattr(lib, name) and hasattr(lib, getter):
                out.append((getattr(lib, name), getattr(lib, getter)))
                break
    return out


@contextlib.contextmanager
def single_blas_thread() -> Iterator[None]:
    """Context in which BLAS runs on one thread (restored afterwards)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        threadpool_limits = None
    if threadpool_limits is not None:
        with threadpool_limits(limits=1, user_api="blas"):
            yield
        return
    handles = _openblas_handles()
    previous = [int(get()) for _, get in handles]
    for set_threads, _ in handles:
        set_threads(1)
    try:
        yield
    finally:
        for (set_threads, _), n in zip(handles, previous, strict=True):
            set_threads(n)
