"""``tfus generate --cluster slurm`` on the real single-node SLURM: samples simulated by Dask workers in sbatch jobs,
and a worker job cancelled mid-run (``scancel``) is replaced while every sample still ends complete exactly once."""

from __future__ import annotations

import json
import subprocess
import threading
import time

import numpy as np
import pytest

from tests.helpers.tiny_dataset import write_tiny_dataset
from tfus.pipeline.store import open_store, validate_store
from tfus.workflows.cluster.local_slurm import ensure_local_slurm

pytestmark = pytest.mark.slurm


@pytest.fixture(scope="module")
def slurm():
    reason = ensure_local_slurm()
    if reason:
        pytest.skip(f"SLURM cannot run here: {reason}")


def _running_jobs() -> list[str]:
    out = subprocess.run(["squeue", "-h", "-t", "RUNNING", "-o", "%i"], capture_output=True, text=True, check=False)
    return out.stdout.split()


def test_generate_through_sbatch_jobs_survives_a_cancelled_job(slurm, tmp_path, cli):
    config = write_tiny_dataset(tmp_path, per_head=3, cluster={
        "memory": "3GiB", "walltime": "00:30:00", "worker_timeout": 180, "log_directory": str(tmp_path / "logs")})
    store = tmp_path / "ds.zarr"
    cancelled: list[str] = []

    def cancel_one_job_mid_run() -> None:
        deadline = time.time() + 600
        while time.time() < deadline:
            try:
                group = open_store(store)
                busy = group.attrs.get("prepared") and int((np.asarray(group["status"][:]) == 1).sum()) >= 1
            except Exception:  # noqa: BLE001 - store not there yet or mid-write
                busy = False
            jobs = _running_jobs()
            if busy and len(jobs) >= 2:
                subprocess.run(["scancel", jobs[0]], check=True)
                cancelled.append(jobs[0])
                return
            time.sleep(0.5)

    thread = threading.Thread(target=cancel_one_job_mid_run, daemon=True)
    thread.start()
    result = cli("generate", config, "--store", store, "--cluster", "slurm", "--jobs", 2, "--json")
    thread.join(timeout=5)
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    summary = json.loads(result.stdout)
    assert cancelled, "no SLURM job was running mid-run to cancel"
    assert summary["computed"] == 6 and summary["failed"] == 0
    status = np.asarray(open_store(store)["status"][:])
    assert (status == 1).all()
    assert validate_store(store) == []
    assert list((tmp_path / "logs").glob("*")), "the worker jobs wrote no logs where the config said"
    deadline = time.time() + 60  # jobs leave the queue a little after their workers close
    while [j for j in _running_jobs() if j not in cancelled] and time.time() < deadline:
        time.sleep(1)
    assert not [j for j in _running_jobs() if j not in cancelled], "worker jobs outlived the run"
