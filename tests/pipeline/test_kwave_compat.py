"""import_kwave(): offline, fast, and the host's root logger untouched (fresh interpreters, sockets blocked)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

# Runs in a fresh interpreter: every way out to the network raises (and is recorded) before anything imports kwave.
_SCRIPT = textwrap.dedent(
    """
    import json, logging, socket, sys, threading, time, urllib.request
    attempts = []
    def blocked(*args, **kwargs):
        attempts.append(repr(args[:2]))
        raise OSError("network blocked by test")
    socket.socket.connect = blocked
    socket.socket.connect_ex = blocked
    socket.getaddrinfo = blocked
    socket.create_connection = blocked
    if sys.argv[1] == "configured":
        logging.basicConfig(level=logging.DEBUG, stream=sys.stdout, format="LOG %(message)s")
    root = logging.getLogger()
    before = (list(root.handlers), root.level, list(root.filters))
    real_urlretrieve = urllib.request.urlretrieve

    from tfus.pipeline.kwave_compat import import_kwave, import_kwave_submodule
    start = time.monotonic()
    results = []
    threads = [threading.Thread(target=lambda: results.append(import_kwave())) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start

    import numpy as np
    conversion = import_kwave_submodule("utils.conversion")
    rho = conversion.hounsfield2density(np.array([[1000.0]]))
    print("RESULT " + json.dumps({
        "elapsed_s": elapsed,
        "same_module": all(m is results[0] for m in results) and len(results) == 4 and import_kwave() is results[0],
        "name": results[0].__name__,
        "root_unchanged": before == (list(root.handlers), root.level, list(root.filters)),
        "n_root_handlers": len(root.handlers),
        "urlretrieve_restored": urllib.request.urlretrieve is real_urlretrieve,
        "kwave_urlretrieve_real": results[0].urlretrieve is real_urlretrieve,
        "rho_water": float(rho[0, 0]),
        "network_attempts": attempts,
    }))
    """
)


@pytest.mark.parametrize("root_logging", ["unconfigured", "configured"])
def test_import_kwave_offline_in_fresh_interpreter(root_logging: str) -> None:
    command = [sys.executable, "-c", _SCRIPT, root_logging]
    proc = subprocess.run(command, check=False, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert len(lines) == 1, proc.stdout[-3000:]
    result = json.loads(lines[0][len("RESULT "):])
    assert result["network_attempts"] == []
    assert result["elapsed_s"] < 20.0  # typically ~0.05 s; no download attempt, no network timeout
    assert result["same_module"] and result["name"] == "kwave"
    assert result["root_unchanged"]
    assert result["n_root_handlers"] == (0 if root_logging == "unconfigured" else 1)
    assert result["urlretrieve_restored"] and result["kwave_urlretrieve_real"]
    # k-Wave's soft-tissue segment 0.9082709691264 * 1000 + 103.6151457847139 (CT number 1000 = water)
    assert result["rho_water"] == pytest.approx(1011.886115, abs=1e-5)
    # kwave's "binaries not found" / "download timed out" records must not reach the host's handlers or stderr
    assert "LOG" not in proc.stdout.replace("RESULT", "")
    assert "binar" not in (proc.stdout + proc.stderr).lower()


def test_import_kwave_in_process_is_idempotent() -> None:
    from tfus.pipeline.kwave_compat import import_kwave, import_kwave_submodule

    first = import_kwave()
    assert import_kwave() is first is sys.modules["kwave"]
    assert import_kwave_submodule("utils.conversion") is sys.modules["kwave.utils.conversion"]
