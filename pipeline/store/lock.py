"""A lock file that keeps two writers (generation runs, imports, overwrites) off one store.

``with StoreLock(path):`` takes an OS lock (``filelock``, ``flock`` underneath, also over NFS) on
``path/.tfus.lock`` and writes the host, pid and time into it. The OS drops the lock when its process dies, so a lock
file left by a killed writer on this host is simply taken over. A lock held by a live process is refused with a
one-line error naming it; a record left by a process on another host is refused too (whether it is gone cannot be
checked from here). Readers never need the lock.

Example:
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> with StoreLock(folder) as lock:
    ...     lock.path.name
    '.tfus.lock'
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

from filelock import FileLock, Timeout

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.store.schema import LOCK_NAME


class StoreLock:
    """Exclusive writer lock on a store folder (not re-entrant)."""

    def __init__(self, path: str | Path) -> None:
        self.store = Path(path)
        self.path = self.store / LOCK_NAME
        self._lock: FileLock | None = None

    def __enter__(self) -> StoreLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def acquire(self) -> None:
        """Take the lock or raise TfusInputError naming the holder."""
        if not self.store.is_dir():
            raise TfusInputError(f"cannot lock {self.store}: no such store folder")
        # thread_local=False: one hold per StoreLock; a second StoreLock (even in this process) opens its own
        # descriptor and is refused by flock.
        lock = FileLock(self.path, blocking=False, thread_local=False, on_acquired=self._claim)
        try:
            lock.acquire()
        except Timeout:
            holder = self._holder()
            raise TfusInputError(
                f"store {self.store} is in use by pid {holder.get('pid', '?')} on {holder.get('host', '?')} "
                f"(since {_when(holder)}); wait for it or remove the stale lock {self.path} if that process "
                "is gone") from None
        self._lock = lock

    def release(self) -> None:
        """Remove the lock file (while still holding it, so a waiter never takes an unlinked file) and unlock."""
        if self._lock is None:
            return
        try:
            self.path.unlink(missing_ok=True)
        finally:
            self._lock.release()
            self._lock = None

    def _claim(self, fd: int) -> None:
        """Called by filelock with the locked descriptor: refuse a record left on another host, else write ours.

        A record left by a process on this host is stale by now: had that process been alive, it would still hold
        the OS lock and we would not be here.
        """
        old = _parse(os.pread(fd, 1 << 16, 0))
        if old and old.get("host") != socket.gethostname():
            raise TfusInputError(
                f"store {self.store} is in use by pid {old.get('pid', '?')} on {old.get('host', '?')} "
                f"(since {_when(old)}); wait for it or remove the stale lock {self.path} if that process is gone")
        token = json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "time": time.time()}).encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, token, 0)
        os.fsync(fd)

    def _holder(self) -> dict:
        try:
            return _parse(self.path.read_bytes())
        except OSError:
            return {}


def _parse(data: bytes) -> dict:
    """The holder record in a lock file's bytes; {} while it is being written, empty or garbled."""
    try:
        record = json.loads(data.decode("utf-8"))
    except ValueError:
        return {}
    return record if isinstance(record, dict) else {}


def _when(holder: dict) -> str:
    try:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(holder["time"])))
    except (KeyError, TypeError, ValueError):
        return "unknown time"
