"""StoreLock: exclusive across processes, refused with the holder named, stale locks of dead processes taken over."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.store import StoreLock

HOLD = """
import sys, time
from tfus.pipeline.store import StoreLock
with StoreLock(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(60)
"""


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_lock_file_content_and_release(tmp_path):
    with StoreLock(tmp_path) as lock:
        assert lock.path == tmp_path / ".tfus.lock"
        data = json.loads(lock.path.read_text())
        assert data["host"] == socket.gethostname() and data["pid"] == os.getpid() and data["time"] <= time.time()
    assert not (tmp_path / ".tfus.lock").exists()


def test_second_process_is_refused(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        with pytest.raises(TfusInputError) as err:
            with StoreLock(tmp_path):
                pass
        message = str(err.value)
        assert f"in use by pid {proc.pid} on {socket.gethostname()}" in message
        assert "stale lock" in message and "\n" not in message
    finally:
        proc.kill()
        proc.wait()
    # the holder was killed without releasing: its lock is stale now and is taken over
    assert (tmp_path / ".tfus.lock").exists()
    with StoreLock(tmp_path):
        assert json.loads((tmp_path / ".tfus.lock").read_text())["pid"] == os.getpid()


def test_stale_lock_of_a_dead_pid_is_taken_over(tmp_path):
    (tmp_path / ".tfus.lock").write_text(json.dumps({"host": socket.gethostname(), "pid": _dead_pid(), "time": 0}))
    with StoreLock(tmp_path):
        assert json.loads((tmp_path / ".tfus.lock").read_text())["pid"] == os.getpid()
    assert not (tmp_path / ".tfus.lock").exists()


def test_lock_from_another_host_is_not_taken_over(tmp_path):
    (tmp_path / ".tfus.lock").write_text(json.dumps({"host": "node-elsewhere", "pid": _dead_pid(), "time": 0}))
    with pytest.raises(TfusInputError, match="on node-elsewhere"):
        StoreLock(tmp_path).acquire()
    assert json.loads((tmp_path / ".tfus.lock").read_text())["host"] == "node-elsewhere"


def test_not_reentrant_and_needs_the_folder(tmp_path):
    with StoreLock(tmp_path), pytest.raises(TfusInputError, match="in use"):
        StoreLock(tmp_path).acquire()
    with pytest.raises(TfusInputError, match="no such store folder"):
        StoreLock(tmp_path / "missing").acquire()


def test_record_without_an_os_lock_on_this_host_is_taken_over(tmp_path):
    # the OS lock is the truth on this host: a record whose process holds no lock (here: a live pid) is stale
    (tmp_path / ".tfus.lock").write_text(json.dumps({"host": socket.gethostname(), "pid": os.getppid(), "time": 0}))
    with StoreLock(tmp_path):
        assert json.loads((tmp_path / ".tfus.lock").read_text())["pid"] == os.getpid()
    (tmp_path / ".tfus.lock").write_text("garbled{")
    with StoreLock(tmp_path):
        assert json.loads((tmp_path / ".tfus.lock").read_text())["pid"] == os.getpid()


RACE = """
import sys
from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.store import StoreLock
lock = StoreLock(sys.argv[1])
try:
    lock.acquire()
except TfusInputError:
    print("refused", flush=True)
else:
    print("locked", flush=True)
    sys.stdin.readline()
    lock.release()
"""


def test_only_one_of_several_racing_processes_gets_the_lock(tmp_path):
    procs = [subprocess.Popen([sys.executable, "-c", RACE, str(tmp_path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True) for _ in range(4)]
    try:
        answers = [proc.stdout.readline().strip() for proc in procs]
        assert sorted(answers) == ["locked"] + ["refused"] * 3
    finally:
        for proc in procs:
            proc.stdin.close()
            proc.wait()
    assert not (tmp_path / ".tfus.lock").exists()
