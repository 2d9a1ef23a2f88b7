"""A lock file that keeps two writers (generation runs, imports, overwrites) off one store.

``with StoreLock(path):`` creates ``path/.tfus.lock`` with ``O_CREAT | O_EXCL`` (atomic on local and NFSv3+ file
systems) holding the host, pid and time. A lock held by a live process, or by any process on another host (whose pid
cannot be checked from here), is refused with a one-line error; a lock left by a process that is dead on this host is
taken over. Readers never need the lock.

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

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.store.schema import LOCK_NAME


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host (a process we may not signal still counts as alive)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class StoreLock:
    """Exclusive writer lock on a store folder (not re-entrant)."""

    def __init__(self, path: str | Path) -> None:
        self.store = Path(path)
        self.path = self.store / LOCK_NAME
        self._token: str | None = None

    def __enter__(self) -> StoreLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def acquire(self) -> None:
        """Take the lock or raise TfusInputError naming the holder."""
        if not self.store.is_dir():
            raise TfusInputError(f"cannot lock {self.store}: no such store folder")
        token = json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "time": time.time()})
        for _ in range(50):  # retries after removing a stale lock
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = self._holder()
                if not self._stale(holder):
                    raise TfusInputError(
                        f"store {self.store} is in use by pid {holder.get('pid', '?')} on {holder.get('host', '?')} "
                        f"(since {_when(holder)}); wait for it or remove the stale lock {self.path} if that process "
                        "is gone") from None
                self._remove_stale(holder)
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(token)
                f.flush()
                os.fsync(f.fileno())
            self._token = token
            return
        raise TfusInputError(f"store {self.store} is being locked by another process; try again")

    def release(self) -> None:
        """Remove the lock file if it is still ours."""
        if self._token is None:
            return
        try:
            if self.path.read_text(encoding="utf-8") == self._token:
                self.path.unlink()
        except FileNotFoundError:
            pass
        self._token = None

    def _remove_stale(self, holder: dict) -> None:
        """Remove the stale lock of ``holder`` under a short-lived guard file, so two processes taking over at once
        cannot delete each other's fresh lock."""
        guard = self.path.with_name(LOCK_NAME + ".takeover")
        try:
            fd = os.open(guard, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                if time.time() - guard.stat().st_mtime > 10.0:  # a taker that died mid-takeover
                    guard.unlink()
            except FileNotFoundError:
                pass
            time.sleep(0.05)
            return
        try:
            os.close(fd)
            if self._holder() == holder:
                self.path.unlink(missing_ok=True)
        finally:
            guard.unlink(missing_ok=True)

    def _holder(self) -> dict:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}  # being written right now, or garbled: treat as held

    @staticmethod
    def _stale(holder: dict) -> bool:
        if holder.get("host") != socket.gethostname():
            return False
        try:
            pid = int(holder.get("pid"))
        except (TypeError, ValueError):
            return False
        return not pid_alive(pid)


def _when(holder: dict) -> str:
    try:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(holder["time"])))
    except (KeyError, TypeError, ValueError):
        return "unknown time"
