"""``tfus generate`` on a LocalCluster: a complete store that xarray opens, resume, and a worker killed mid-run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from tests.helpers.tiny_dataset import write_tiny_dataset
from tfus.pipeline.store import STATUS_CODES, open_store, store_info, validate_store


@pytest.fixture(scope="module")
def generated(tmp_path_factory, cli):
    """One complete tiny store generated through the CLI (2 heads x 2 poses, 2 local workers)."""
    folder = tmp_path_factory.mktemp("gen")
    config = write_tiny_dataset(folder)
    store = folder / "ds.zarr"
    result = cli("generate", config, "--store", store, "--json")
    assert result.exit_code == 0, (result.output, result.stderr, result.exception)
    return config, store, json.loads(result.stdout)


def test_store_is_complete_and_valid(generated):
    config, store, summary = generated
    assert summary["computed"] == 4 and summary["failed"] == 0 and summary["already_complete"] == 0
    info = store_info(store)
    assert info["n_samples"] == 4 and info["n_complete"] == 4
    assert validate_store(store) == []
    group = open_store(store)
    assert group.attrs["prepared"] is True
    assert group.attrs["creation_config"]["name"] == "tiny"
    assert "versions" in group.attrs["creation_config"]
    # heads split by head: one train, one test, no head in two splits
    splits = group.attrs["splits"]
    assert sorted(splits["train"] + splits["test"] + splits["val"]) == [0, 1]
    p = np.asarray(group["pressure"][:])
    assert np.isfinite(p).all() and (p.reshape(4, -1).max(1) > 1e3).all()
    # the recorded focus is the world position of the field maximum beyond the near field: inside the grid
    focus = np.asarray(group["focus"][:])
    affine = np.asarray(group["head_affine"][0])
    ijk = (focus[0] - affine[:3, 3]) / np.diag(affine)[:3]
    assert np.all(ijk >= -0.5) and np.all(ijk <= np.array(p.shape[1:]) - 0.5)
    # distinct poses give distinct fields
    assert np.abs(p[0] - p[1]).max() > 0.1 * p[0].max()


def test_store_opens_in_xarray(generated):
    import xarray as xr

    _, store, _ = generated
    ds = xr.open_zarr(store)
    assert ds["pressure"].dims == ("sample", "x", "y", "z")
    assert ds.sizes["sample"] == 4
    assert float(ds["pressure"].isel(sample=0).max()) > 0


def test_rerun_resumes_and_computes_nothing(generated, cli):
    config, store, _ = generated
    before = np.asarray(open_store(store)["pressure"][0])
    result = cli("generate", config, "--store", store, "--json")
    assert result.exit_code == 0, (result.output, result.stderr)
    summary = json.loads(result.stdout)
    assert summary["already_complete"] == 4 and summary["computed"] == 0
    assert np.array_equal(np.asarray(open_store(store)["pressure"][0]), before)


def test_info_reports_the_generated_store(generated, cli):
    _, store, _ = generated
    result = cli("info", store, "--json")
    assert result.exit_code == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["n_samples"] == 4 and info["n_complete"] == 4


def test_worker_killed_mid_run_completes_every_sample(tmp_path):
    """SIGKILL one worker process while samples run: Dask reschedules its task, every sample ends complete."""
    import psutil

    from tfus.workflows.generate import load_config
    from tfus.workflows.generate.run import generate

    config = write_tiny_dataset(tmp_path, per_head=3)
    store = tmp_path / "ds.zarr"
    cfg = load_config(config)
    killed: list[int] = []

    def killer() -> None:
        deadline = time.time() + 300
        while time.time() < deadline and not killed:
            if store.exists() and (store / "status").exists():
                try:
                    status = np.asarray(open_store(store)["status"][:])
                except Exception:  # noqa: BLE001 - the store may be mid-write; look again
                    status = None
                if status is not None and open_store(store).attrs.get("prepared"):
                    workers = _worker_processes(psutil.Process())
                    busy = [w for w in workers if w.cpu_percent(interval=0.2) > 20]
                    if busy:
                        os.kill(busy[0].pid, signal.SIGKILL)
                        killed.append(busy[0].pid)
                        return
            time.sleep(0.5)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    summary = generate(cfg, store, say=lambda m: None)
    thread.join(timeout=5)
    assert killed, "no busy worker was found to kill"
    status = np.asarray(open_store(store)["status"][:])
    assert (status == STATUS_CODES["complete"]).all(), status
    assert summary.computed == 6 and summary.failed == 0
    assert validate_store(store) == []


def _worker_processes(me):
    """Dask worker processes below this process (the nanny's children run the tasks)."""
    out = []
    for child in me.children(recursive=True):
        try:
            cmd = " ".join(child.cmdline())
        except Exception:  # noqa: BLE001 - the process may have exited
            continue
        if "multiprocessing" in cmd or "spawn" in cmd:
            out.append(child)
    return out


def test_client_killed_then_rerun_recomputes_only_missing(tmp_path):
    """SIGKILL the generating process once some samples are complete; the same command finishes the store and
    recomputes exactly the samples that were not complete."""
    config = write_tiny_dataset(tmp_path, per_head=3)
    store = tmp_path / "ds.zarr"
    cmd = [sys.executable, "-m", "tfus.workflows.cli", "generate", str(config), "--store", str(store), "--json"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    complete_at_kill = None
    try:
        deadline = time.time() + 400
        while time.time() < deadline:
            if proc.poll() is not None:
                break
            if (store / "status").exists():
                try:
                    status = np.asarray(open_store(store)["status"][:])
                except Exception:  # noqa: BLE001 - mid-write
                    status = None
                if status is not None and 1 <= (status == 1).sum() < status.size:
                    os.kill(proc.pid, signal.SIGKILL)  # the client only; its workers lose their scheduler
                    proc.wait(timeout=30)
                    complete_at_kill = int((np.asarray(open_store(store)["status"][:]) == 1).sum())
                    break
            time.sleep(0.3)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert complete_at_kill is not None, f"the run ended before it could be killed: {proc.stderr.read()[-2000:]}"
    time.sleep(2)
    rerun = subprocess.run(cmd, capture_output=True, text=True, encoding="utf-8", errors="replace", timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    summary = json.loads(rerun.stdout)
    assert summary["already_complete"] == complete_at_kill
    assert summary["computed"] == 6 - complete_at_kill
    assert (np.asarray(open_store(store)["status"][:]) == 1).all()
    assert validate_store(store) == []


def test_second_generate_on_a_store_in_use_is_refused(tmp_path):
    config = write_tiny_dataset(tmp_path, per_head=2)
    store = tmp_path / "ds.zarr"
    cmd = [sys.executable, "-m", "tfus.workflows.cli", "generate", str(config), "--store", str(store)]
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.time() + 300
        while time.time() < deadline and not (store / ".tfus.lock").exists() and first.poll() is None:
            time.sleep(0.2)
        assert (store / ".tfus.lock").exists(), "the first run never took the lock"
        second = subprocess.run(cmd, capture_output=True, text=True, encoding="utf-8", errors="replace", timeout=300)
        assert second.returncode == 2, second.stderr
        assert "in use" in second.stderr and "Traceback" not in second.stderr
        assert len(second.stderr.strip().splitlines()) == 1
        assert first.wait(timeout=600) == 0
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    assert validate_store(store) == []
    assert store_info(store)["n_complete"] == 4


def test_module_cli_entry(tmp_path):
    """``python -m tfus.workflows.cli`` runs the same app (used by the subprocess tests above)."""
    out = subprocess.run([sys.executable, "-m", "tfus.workflows.cli", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("tfus ")
