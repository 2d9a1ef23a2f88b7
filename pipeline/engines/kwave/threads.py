"""Threads of the CPU k-Wave step (FFTs and the fused Numba updates).

Example:
    >>> cpu_threads() >= 1
    True
"""

from __future__ import annotations

import os


def cpu_threads() -> int:
    """Threads for the CPU step: ``TFUS_THREADS`` if set (dataset workers sharing a machine set it), else all
    cores this process may use."""
    value = os.environ.get("TFUS_THREADS", "")
    if value.strip():
        return max(1, int(value))
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1
